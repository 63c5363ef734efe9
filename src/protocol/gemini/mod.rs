//! Gemini `generateContent` / `streamGenerateContent`: the request levity sends
//! to Gemini upstreams and the responses it reads back.

pub mod client;
pub mod code_assist;
mod decode;
mod encode;
mod schema;
mod types;

pub use decode::{StreamDecoder, decode_error, decode_response, usage_of};
pub use encode::{
    decode_count_tokens, encode_count_contents, encode_count_tokens, encode_request, search_dropped,
};
pub use schema::clean_schema;
