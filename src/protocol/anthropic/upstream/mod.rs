//! The upstream side of Anthropic Messages: canonical request → the body the
//! Anthropic API takes, its answers and streams → canonical, and the cleaning
//! of a native client's history before it passes through.

mod decode;
mod encode;
mod types;

pub use decode::{UpstreamDecoder, decode_error, usage_of};
pub use encode::{encode_request, sanitize_native};
