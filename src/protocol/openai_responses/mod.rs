//! OpenAI Responses (`POST /v1/responses`): the protocol of Codex CLI and the
//! OpenAI SDK's `responses` API.
//!
//! Clients that keep no server-side state (`store: false`) hand reasoning
//! back as `reasoning` items with `encrypted_content`. levity puts each
//! upstream signature, with its provenance, into that blob, sealed with
//! levity's own key (see [`Vault`]), so it is opaque and tamper-evident and
//! returns to the part it belongs to on the next turn.
//!
//! The upstream side (`upstream.rs`, `answer.rs`) speaks to OpenAI's own
//! Responses API; `provenance.rs` tags the reasoning passed through natively.

mod answer;
mod decode;
mod encode;
pub mod provenance;
mod stream;
mod types;
mod upstream;

pub use answer::{Judge, UpstreamDecoder, usage_of};
pub use upstream::encode_request;

pub use decode::decode_request;
pub use encode::{
    compaction_answer, compaction_item, encode_error, encode_response, failed_stream,
};
pub use stream::{EventEncoder, stream_error};

/// Seals and opens the reasoning state levity hands to stateless clients.
pub trait Vault {
    fn seal(&self, plain: &[u8]) -> String;
    fn open(&self, sealed: &str) -> Option<Vec<u8>>;
}

/// Tool names inside a `namespace` tool are flattened as `ns__name`, which
/// round-trips: the answer's `function_call` gets its namespace back.
pub const NAMESPACE_SEP: &str = "__";
