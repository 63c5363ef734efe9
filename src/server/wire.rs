//! The client protocols the server speaks, and the one place that dispatches
//! to their `protocol/` modules. A new client protocol is one more arm here.

use crate::canonical::{Event, Request, Response, Usage};
use crate::error::Error;
use crate::protocol::openai_responses::Vault;
use crate::protocol::{Protocol, anthropic, gemini, openai_chat, openai_responses};
use crate::store::ProviderKind;
use poem::http::StatusCode;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
    /// Gemini's own API; `sse` when the client streams with `alt=sse`.
    Gemini {
        sse: bool,
    },
}

/// What protocols need beyond the request itself: the vault for reasoning
/// state handed to stateless clients.
pub type SharedVault = Arc<dyn Vault + Send + Sync>;

impl Wire {
    /// The protocol a proxy path speaks (`None`: the admin API or the
    /// dashboard), for the checks and errors that come before its handler:
    /// the one reading of which paths are the proxy's.
    pub fn of_path(path: &str) -> Option<Wire> {
        let unversioned = matches!(
            path,
            "/chat/completions" | "/responses" | "/messages" | "/models"
        );
        if !(path.starts_with("/v1/") || path.starts_with("/v1beta/") || unversioned) {
            return None;
        }
        let path = path.trim_start_matches("/v1");
        Some(if path.starts_with("/messages") {
            Wire::Anthropic
        } else if path.starts_with("/responses") {
            Wire::OpenAiResponses
        } else if path.starts_with("beta/models") || path.starts_with("/models/") {
            Wire::Gemini { sse: false }
        } else {
            Wire::OpenAiChat
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Wire::OpenAiChat => "openai-chat",
            Wire::OpenAiResponses => "openai-responses",
            Wire::Anthropic => "anthropic",
            Wire::Gemini { .. } => "gemini",
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Wire::OpenAiChat => Protocol::OpenAiChat,
            Wire::OpenAiResponses => Protocol::OpenAiResponses,
            Wire::Anthropic => Protocol::Anthropic,
            Wire::Gemini { .. } => Protocol::Gemini,
        }
    }

    /// The checker of a stream passed through to this client.
    pub fn inspector(self) -> crate::protocol::passthrough::Inspector {
        let json_array = self == Wire::Gemini { sse: false };
        crate::protocol::passthrough::Inspector::new(self.protocol(), json_array)
    }

    /// The upstream kind that speaks this protocol natively: requests to it
    /// pass through instead of being translated.
    pub fn native(self) -> Option<ProviderKind> {
        ProviderKind::speaking(self.protocol())
    }

    /// Decodes a body; Gemini takes the model and streaming from the path.
    pub fn decode(
        self,
        body: &[u8],
        vault: &dyn Vault,
        path_model: &str,
        stream: bool,
    ) -> Result<Request, Error> {
        let req = match self {
            Wire::OpenAiChat => openai_chat::decode_request(body),
            Wire::OpenAiResponses => openai_responses::decode_request(body, vault),
            Wire::Anthropic => anthropic::decode_request(body),
            Wire::Gemini { .. } => gemini::client::decode_request(body, path_model, stream),
        }?;
        req.validate()?;
        Ok(req)
    }

    pub fn encode_response(self, resp: &Response, created: u64, vault: &dyn Vault) -> Vec<u8> {
        match self {
            Wire::OpenAiChat => openai_chat::encode_response(resp, created),
            Wire::OpenAiResponses => openai_responses::encode_response(resp, created, vault),
            Wire::Anthropic => anthropic::encode_response(resp),
            Wire::Gemini { .. } => gemini::client::encode_response(resp),
        }
    }

    /// An error in this protocol's shape, with `Retry-After` when known.
    pub fn error(self, err: &Error) -> poem::Response {
        let body = match self {
            Wire::OpenAiChat => openai_chat::encode_error(err),
            Wire::OpenAiResponses => openai_responses::encode_error(err),
            Wire::Anthropic => anthropic::encode_error(err),
            Wire::Gemini { .. } => gemini::client::encode_error(err),
        };
        let mut resp = poem::Response::builder()
            .status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_GATEWAY))
            .content_type("application/json")
            .body(body);
        // Capped again here, so no path to the client can say "for ever".
        if let Some(secs) = err
            .retry_after_ms
            .map(|ms| crate::scheduler::capped(ms).div_ceil(1000))
        {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().expect("digits"));
        }
        resp
    }

    /// An error as the last event of a stream in this protocol, for streams
    /// levity passes through rather than encodes. In Gemini's JSON array it
    /// is the last element and the array's end; what goes before it (a
    /// comma) is the caller's to write.
    pub fn stream_error(self, err: &Error) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Wire::OpenAiChat => openai_chat::stream_error(err, &mut out),
            Wire::OpenAiResponses => openai_responses::stream_error(err, &mut out),
            Wire::Anthropic => anthropic::stream_error(err, &mut out),
            Wire::Gemini { sse: true } => {
                crate::protocol::sse::write_data(&mut out, &gemini::client::encode_error(err))
            }
            Wire::Gemini { sse: false } => {
                out.extend_from_slice(&gemini::client::encode_error(err));
                out.push(b']');
            }
        }
        out
    }

    /// What a streamed answer is: events, or Gemini's JSON array.
    pub fn stream_content_type(self) -> &'static str {
        match self {
            Wire::Gemini { sse: false } => "application/json",
            _ => "text/event-stream",
        }
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
            Wire::Gemini { sse } => Encoder::Gemini(gemini::client::StreamEncoder::new(model, sse)),
        }
    }

    /// Whether the body names the model (Gemini puts it in the path).
    pub fn model_in_body(self) -> bool {
        !matches!(self, Wire::Gemini { .. })
    }
}

/// A stream encoder for one client protocol.
pub enum Encoder {
    OpenAi(openai_chat::ChunkEncoder),
    Responses(openai_responses::EventEncoder),
    Anthropic(anthropic::EventEncoder),
    Gemini(gemini::client::StreamEncoder),
}

impl Encoder {
    /// Content blocks opened so far, in protocols that number them.
    pub fn blocks(&self) -> Option<usize> {
        match self {
            Encoder::Anthropic(e) => Some(e.blocks()),
            _ => None,
        }
    }

    /// The client was given the upstream's own event of type `kind`.
    pub fn passed(&mut self, kind: &str) {
        if let Encoder::Anthropic(e) = self {
            e.passed(kind);
        }
    }

    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.event(ev, out),
            Encoder::Responses(e) => e.event(ev, out),
            Encoder::Anthropic(e) => e.event(ev, out),
            Encoder::Gemini(e) => e.event(ev, out),
        }
    }

    pub fn done(&mut self, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.done(out),
            Encoder::Responses(e) => e.done(out),
            Encoder::Anthropic(e) => e.done(out),
            Encoder::Gemini(e) => e.done(out),
        }
    }

    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.error(err, out),
            Encoder::Responses(e) => e.error(err, out),
            Encoder::Anthropic(e) => e.error(err, out),
            Encoder::Gemini(e) => e.error(err, out),
        }
    }

    /// Keeps the connection visibly alive while the upstream is silent.
    pub fn ping(&self, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(_) | Encoder::Responses(_) => {
                out.extend_from_slice(b": keep-alive\n\n")
            }
            Encoder::Anthropic(_) => anthropic::EventEncoder::ping(out),
            // A blank line: an empty SSE event, or whitespace in the JSON array.
            Encoder::Gemini(_) => out.extend_from_slice(b"\n"),
        }
    }

    pub fn usage(&self) -> Usage {
        match self {
            Encoder::OpenAi(e) => e.usage(),
            Encoder::Responses(e) => e.usage(),
            Encoder::Anthropic(e) => e.usage(),
            Encoder::Gemini(e) => e.usage(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Wire;

    #[test]
    fn proxy_paths_name_their_protocol_and_nothing_else_is_proxy() {
        for (path, wire) in [
            ("/v1/chat/completions", Some(Wire::OpenAiChat)),
            ("/chat/completions", Some(Wire::OpenAiChat)),
            ("/v1/responses", Some(Wire::OpenAiResponses)),
            ("/v1/responses/compact", Some(Wire::OpenAiResponses)),
            ("/messages", Some(Wire::Anthropic)),
            ("/v1/messages/count_tokens", Some(Wire::Anthropic)),
            (
                "/v1beta/models/gemini-2.5-flash:generateContent",
                Some(Wire::Gemini { sse: false }),
            ),
            ("/v1/models", Some(Wire::OpenAiChat)),
            ("/api/config", None),
            ("/oauth2callback", None),
            ("/assets/index.js", None),
            ("/", None),
        ] {
            assert_eq!(Wire::of_path(path), wire, "{path}");
        }
    }
}
