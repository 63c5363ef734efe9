//! The client side of Responses: requests decoded to canonical (opening the
//! reasoning levity sealed), canonical answers, event streams, errors and
//! compaction items encoded for the client.

mod decode;
mod encode;
mod stream;
mod types;

pub use decode::decode_request;
pub use encode::{
    compaction_answer, compaction_item, encode_error, encode_response, failed_stream,
};
pub use stream::{EventEncoder, stream_error};

/// Seals and opens the reasoning state levity hands to stateless clients.
pub trait Vault {
    fn seal(&self, plain: &[u8]) -> String;
    fn open(&self, sealed: &str) -> Option<Vec<u8>>;
}

/// A vault that opens nothing, for tests of what does not need one.
#[cfg(test)]
struct NoVault;

#[cfg(test)]
impl Vault for NoVault {
    fn seal(&self, plain: &[u8]) -> String {
        String::from_utf8_lossy(plain).into_owned()
    }
    fn open(&self, _: &str) -> Option<Vec<u8>> {
        None
    }
}
