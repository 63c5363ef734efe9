//! Anthropic Messages (`POST /v1/messages`): the protocol of Claude Code and
//! the Anthropic SDKs.
//!
//! Thinking signatures cross this boundary with their provenance: an
//! Anthropic signature travels as it is; a signature another upstream made is
//! wrapped (`lvt1:<provider>:<kind>:<model>:<value>`) so that, when the client
//! sends the history back, levity knows who can verify it and never hands it
//! to anyone else.

//!
//! `client/` is the side levity serves (requests in, answers, event streams
//! and errors out); `upstream/` is the side it speaks to Anthropic accounts
//! (requests out, answers and streams in). `signature.rs` is shared: both
//! sides, and the other protocols, read and write wrapped signatures.

mod client;
pub mod signature;
mod upstream;

pub use client::{
    EventEncoder, decode_request, encode_error, encode_response, is_background_task, stream_error,
};
pub use upstream::{UpstreamDecoder, decode_error, encode_request, sanitize_native, usage_of};
