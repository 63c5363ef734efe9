//! The client side of Chat Completions: requests decoded to canonical,
//! canonical answers, chunk streams and errors encoded for the client.

mod decode;
mod encode;
mod stream;
mod types;

pub use decode::decode_request;
pub use encode::{encode_error, encode_response};
pub use stream::{ChunkEncoder, stream_error};
