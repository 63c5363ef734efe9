//! The client protocols the server speaks, and the one place that dispatches
//! to their `protocol/` modules. A new client protocol is one more arm here.

use crate::canonical::{Event, Request, Response, Usage};
use crate::error::Error;
use crate::protocol::openai_responses::Vault;
use crate::protocol::{anthropic, openai_chat, openai_responses};
use crate::store::ProviderKind;
use poem::http::StatusCode;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
}

/// What protocols need beyond the request itself: the vault for reasoning
/// state handed to stateless clients.
pub type SharedVault = Arc<dyn Vault + Send + Sync>;

impl Wire {
    pub fn name(self) -> &'static str {
        match self {
            Wire::OpenAiChat => "openai-chat",
            Wire::OpenAiResponses => "openai-responses",
            Wire::Anthropic => "anthropic",
        }
    }

    /// The upstream kind that speaks this protocol natively: requests to it
    /// pass through instead of being translated. Responses is always
    /// translated: most OpenAI-compatible hosts only speak Chat Completions.
    pub fn native(self) -> Option<ProviderKind> {
        match self {
            Wire::OpenAiChat => Some(ProviderKind::Openai),
            Wire::OpenAiResponses => None,
            Wire::Anthropic => Some(ProviderKind::Anthropic),
        }
    }

    pub fn decode(self, body: &[u8], vault: &dyn Vault) -> Result<Request, Error> {
        match self {
            Wire::OpenAiChat => openai_chat::decode_request(body),
            Wire::OpenAiResponses => openai_responses::decode_request(body, vault),
            Wire::Anthropic => anthropic::decode_request(body),
        }
    }

    pub fn encode_response(self, resp: &Response, created: u64, vault: &dyn Vault) -> Vec<u8> {
        match self {
            Wire::OpenAiChat => openai_chat::encode_response(resp, created),
            Wire::OpenAiResponses => openai_responses::encode_response(resp, created, vault),
            Wire::Anthropic => anthropic::encode_response(resp),
        }
    }

    /// An error in this protocol's shape, with `Retry-After` when known.
    pub fn error(self, err: &Error) -> poem::Response {
        let body = match self {
            Wire::OpenAiChat => openai_chat::encode_error(err),
            Wire::OpenAiResponses => openai_responses::encode_error(err),
            Wire::Anthropic => anthropic::encode_error(err),
        };
        let mut resp = poem::Response::builder()
            .status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_GATEWAY))
            .content_type("application/json")
            .body(body);
        if let Some(secs) = err.retry_after_ms.map(|ms| ms.div_ceil(1000)) {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().expect("digits"));
        }
        resp
    }

    pub fn encoder(self, model: &str, req: &Request, created: u64, vault: SharedVault) -> Encoder {
        match self {
            Wire::OpenAiChat => Encoder::OpenAi(openai_chat::ChunkEncoder::new(
                model,
                created,
                req.stream_usage,
            )),
            Wire::OpenAiResponses => {
                Encoder::Responses(openai_responses::EventEncoder::new(model, created, vault))
            }
            Wire::Anthropic => Encoder::Anthropic(anthropic::EventEncoder::new(model)),
        }
    }
}

/// A stream encoder for one client protocol.
pub enum Encoder {
    OpenAi(openai_chat::ChunkEncoder),
    Responses(openai_responses::EventEncoder),
    Anthropic(anthropic::EventEncoder),
}

impl Encoder {
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.event(ev, out),
            Encoder::Responses(e) => e.event(ev, out),
            Encoder::Anthropic(e) => e.event(ev, out),
        }
    }

    pub fn done(&mut self, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.done(out),
            Encoder::Responses(e) => e.done(out),
            Encoder::Anthropic(e) => e.done(out),
        }
    }

    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.error(err, out),
            Encoder::Responses(e) => e.error(err, out),
            Encoder::Anthropic(e) => e.error(err, out),
        }
    }

    /// Keeps the connection visibly alive while the upstream is silent.
    pub fn ping(&self, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(_) | Encoder::Responses(_) => {
                out.extend_from_slice(b": keep-alive\n\n")
            }
            Encoder::Anthropic(_) => anthropic::EventEncoder::ping(out),
        }
    }

    pub fn usage(&self) -> Usage {
        match self {
            Encoder::OpenAi(e) => e.usage(),
            Encoder::Responses(e) => e.usage(),
            Encoder::Anthropic(e) => e.usage(),
        }
    }
}
