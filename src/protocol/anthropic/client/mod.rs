//! The client side of Anthropic Messages: requests decoded to canonical,
//! canonical answers, event streams and errors encoded for the client.

mod decode;
mod encode;
mod stream;
mod types;

pub use decode::{decode_request, is_background_task};
pub use encode::{encode_error, encode_response};
pub use stream::{EventEncoder, stream_error};
