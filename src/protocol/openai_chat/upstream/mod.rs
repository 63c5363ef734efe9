//! The upstream side of Chat Completions: canonical request → the body an
//! OpenAI-compatible host takes, and its answers and streams → canonical.
//! Used when the client speaks another protocol (Claude Code to DeepSeek).

mod decode;
mod encode;
mod types;

pub use decode::{UpstreamDecoder, decode_error, usage_of, usage_only_chunk};
pub use encode::encode_request;
