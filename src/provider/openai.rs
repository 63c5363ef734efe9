//! OpenAI-compatible hosts (OpenAI, DeepSeek, GLM, Ollama, ...): `POST
//! {base}/chat/completions` with a bearer key. Chat Completions clients pass
//! through with only the model renamed; other clients are translated.

use super::{Call, Decoder};
use crate::canonical::Request;
use crate::error::Error;
use crate::protocol::openai_chat;
use crate::store::{Account, ProviderKind};

const PATH: &str = "/chat/completions";

/// `POST {base}{path}` with the account's bearer key; `path` is levity's
/// own (never a model name), so nothing a client sends steers the URL.
pub(super) fn post(
    client: &reqwest::Client,
    acc: &Account,
    path: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{}{path}", acc.base_url))
        .bearer_auth(acc.secret.expose())
        .header("content-type", "application/json")
        .body(body)
}

/// Sends a translated request; returns the response head and its decoder.
pub async fn send(
    call: &Call,
    req: &Request,
    stream: bool,
) -> Result<(reqwest::Response, Decoder), Error> {
    let body = openai_chat::encode_request(req, &call.model, stream);
    let builder = post(&call.client(), &call.acc, PATH, body);
    let resp = super::send(builder, call.host(), call.timeout, ProviderKind::Openai).await?;
    Ok((
        resp,
        Box::new(openai_chat::UpstreamDecoder::new(call.id.clone())),
    ))
}

/// Sends a Chat Completions body as the client wrote it (model renamed).
pub async fn forward(call: &Call, body: Vec<u8>) -> Result<reqwest::Response, Error> {
    let builder = post(&call.client(), &call.acc, PATH, body);
    super::send(builder, call.host(), call.timeout, ProviderKind::Openai).await
}
