//! The client side of Gemini: a `generateContent` request from a Gemini
//! client (the google-genai SDK) → canonical, and canonical answers → Gemini
//! responses, whole or streamed (SSE or the JSON-array form).

mod decode;
mod encode;
mod stream;
mod types;

pub use decode::decode_request;
pub use encode::{encode_count, encode_error, encode_response};
pub use stream::StreamEncoder;
