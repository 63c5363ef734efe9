//! The upstream side of Responses: canonical request → the body OpenAI's
//! Responses API takes, its answers and streams → canonical, and the
//! provenance tags on reasoning that passes through natively.

mod decode;
mod encode;
pub mod provenance;
mod types;

pub use decode::{Judge, UpstreamDecoder, usage_of};
pub use encode::encode_request;
