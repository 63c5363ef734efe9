//! The upstream side of Gemini: canonical request → `generateContent` body
//! (with the schema cleaning in `schema.rs`), its answers and streams →
//! canonical, and the Code Assist envelope Google OAuth accounts speak
//! (`code_assist.rs`).

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
