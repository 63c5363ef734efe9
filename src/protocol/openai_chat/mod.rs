//! OpenAI Chat Completions (`POST /v1/chat/completions`): the protocol of the
//! OpenAI SDK, Cursor and most tools.

mod decode;
mod encode;
mod types;
mod upstream;

pub use decode::decode_request;
pub use encode::{ChunkEncoder, encode_error, encode_response, stream_error};
pub use upstream::{UpstreamDecoder, decode_error, encode_request, usage_of, usage_only_chunk};
