//! OpenAI Chat Completions (`POST /v1/chat/completions`): the protocol of the
//! OpenAI SDK, Cursor and most tools.
//!
//! `client/` is the side levity serves (requests in, answers and chunk streams
//! out); `upstream/` is the side it speaks to OpenAI-compatible hosts
//! (requests out, answers and streams in).

mod client;
mod upstream;

pub use client::{ChunkEncoder, decode_request, encode_error, encode_response, stream_error};
pub use upstream::{UpstreamDecoder, decode_error, encode_request, usage_of, usage_only_chunk};
