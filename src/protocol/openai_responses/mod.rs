//! OpenAI Responses (`POST /v1/responses`): the protocol of Codex CLI and the
//! OpenAI SDK's `responses` API.
//!
//! Clients that keep no server-side state (`store: false`) hand reasoning
//! back as `reasoning` items with `encrypted_content`. levity puts each
//! upstream signature, with its provenance, into that blob, sealed with
//! levity's own key (see [`Vault`]), so it is opaque and tamper-evident and
//! returns to the part it belongs to on the next turn.
//!
//! `client/` is the side levity serves (requests in, answers, event streams
//! and errors out, compaction items); `upstream/` is the side it speaks to
//! OpenAI's own Responses API (requests out, answers and streams in), with
//! `provenance.rs`, which tags the reasoning passed through natively with its
//! account. `NAMESPACE_SEP` is shared by both sides.

mod client;
mod upstream;

pub use client::{
    EventEncoder, Vault, compaction_answer, compaction_item, decode_request, encode_error,
    encode_response, failed_stream, stream_error,
};
pub use upstream::provenance;
pub use upstream::{Judge, UpstreamDecoder, encode_request, usage_of};

/// Tool names inside a `namespace` tool are flattened as `ns__name`, which
/// round-trips: the answer's `function_call` gets its namespace back.
pub const NAMESPACE_SEP: &str = "__";
