//! Anthropic Messages (`POST /v1/messages`): the protocol of Claude Code and
//! the Anthropic SDKs.
//!
//! Thinking signatures cross this boundary with their provenance: an
//! Anthropic signature travels as it is; a signature another upstream made is
//! wrapped (`lvt1:<provider>:<kind>:<model>:<value>`) so that, when the client
//! sends the history back, levity knows who can verify it and never hands it
//! to anyone else.

mod decode;
mod encode;
pub mod signature;
mod stream;
mod types;
mod upstream;

pub use decode::{decode_request, is_background_task};
pub use encode::{encode_error, encode_response};
pub use stream::{EventEncoder, stream_error};
pub use upstream::{UpstreamDecoder, decode_error, encode_request, sanitize_native, usage_of};
