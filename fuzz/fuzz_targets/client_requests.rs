//! Every client protocol's request decoder on arbitrary bytes (the first
//! byte picks the protocol), then validation and every upstream encoder on
//! whatever decoded: none may panic.
#![no_main]

use levity::canonical::Request;
use levity::protocol::openai_responses::Vault;
use levity::protocol::{anthropic, gemini, openai_chat, openai_responses};
use libfuzzer_sys::fuzz_target;

/// Seals nothing: reasoning blobs from the fuzzer never open.
struct NoVault;

impl Vault for NoVault {
    fn seal(&self, plain: &[u8]) -> String {
        levity::util::hex(plain)
    }
    fn open(&self, _sealed: &str) -> Option<Vec<u8>> {
        None
    }
}

fn encode_everywhere(req: &Request) {
    if req.validate().is_err() {
        return;
    }
    let _ = gemini::encode_request(req, "gemini-2.5-flash");
    let _ = anthropic::encode_request(req, "claude-sonnet-4-5", req.stream);
    let _ = openai_chat::encode_request(req, "gpt-4o", req.stream);
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let decoded = match pick % 4 {
        0 => openai_chat::decode_request(body),
        1 => openai_responses::decode_request(body, &NoVault),
        2 => anthropic::decode_request(body),
        _ => gemini::client::decode_request(body, "gemini-2.5-flash", pick & 4 != 0),
    };
    if let Ok(req) = decoded {
        encode_everywhere(&req);
    }
});
