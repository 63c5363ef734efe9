//! Gemini `generateContent` / `streamGenerateContent`: the request levity sends
//! to Gemini upstreams and the responses it reads back, and the same protocol
//! served to Gemini clients.
//!
//! `client/` is the side levity serves (requests in, answers, streams and
//! errors out); `upstream/` is the side it speaks to Gemini and Code Assist
//! accounts (requests out, answers and streams in), with the JSON Schema
//! cleaning and the Code Assist wrapping. `types.rs` holds the wire types
//! both sides share (`Content` and its parts).

pub mod client;
pub mod embed;
mod types;
mod upstream;

pub use upstream::code_assist;
pub use upstream::{
    StreamDecoder, clean_schema, decode_count_tokens, decode_error, decode_response,
    encode_count_contents, encode_count_tokens, encode_request, search_dropped, usage_of,
};
