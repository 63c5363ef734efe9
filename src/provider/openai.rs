//! OpenAI-compatible hosts (OpenAI, DeepSeek, GLM, Ollama, ...): `POST
//! {base}/chat/completions` with a bearer key. Chat Completions clients pass
//! through with only the model renamed; other clients are translated.

use super::kind::{Descriptor, Sent};
use super::{Call, Decoder, Forward, ProviderKind, taxonomy};
use crate::canonical::{EmbedRequest, Embeddings, Request};
use crate::error::Error;
use crate::protocol::{Protocol, openai_chat, openai_embeddings};
use crate::scheduler::Zone;
use crate::store::{Account, Tier};
use futures_util::future::BoxFuture;

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
fn send<'a>(call: &'a Call, req: &'a Request, stream: bool) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let body = openai_chat::encode_request(req, &call.model, stream);
        let builder = post(&call.client(), &call.acc, PATH, body);
        let resp = super::send(builder, call.host(), call.timeout, ProviderKind::Openai).await?;
        Ok((
            resp,
            Box::new(openai_chat::UpstreamDecoder::new(call.id.clone())) as Decoder,
        ))
    })
}

/// Sends a Chat Completions body as the client wrote it (model renamed).
fn forward<'a>(
    call: &'a Call,
    body: Vec<u8>,
    _: &'a Forward,
) -> BoxFuture<'a, Result<reqwest::Response, Error>> {
    Box::pin(async move {
        let builder = post(&call.client(), &call.acc, PATH, body);
        super::send(builder, call.host(), call.timeout, ProviderKind::Openai).await
    })
}

/// `POST {base}/embeddings`; the host counts the tokens.
pub(super) fn embed<'a>(
    call: &'a Call,
    req: &'a EmbedRequest,
) -> BoxFuture<'a, Result<Embeddings, Error>> {
    Box::pin(async move {
        let body = openai_embeddings::upstream::encode(req, &call.model);
        let builder = post(&call.client(), &call.acc, "/embeddings", body);
        let resp = super::send(builder, call.host(), call.timeout, call.acc.kind).await?;
        let answer = super::read_whole(call, resp).await?;
        openai_embeddings::upstream::decode(&answer, req.inputs.len())
            .map_err(|why| super::unreadable(call, &why))
    })
}

/// OpenAI-compatible hosts have no counter: an estimate of the body.
fn count_tokens<'a>(call: &'a Call, req: &'a Request) -> BoxFuture<'a, Result<u64, Error>> {
    let body = openai_chat::encode_request(req, &call.model, false);
    Box::pin(async move { Ok(super::estimate_tokens(&body)) })
}

/// What a `--project` groups at a host levity knows nothing more of.
pub(super) const SHARED_AT_THE_HOST: crate::config::table::Text = crate::config::table::Text {
    en: "Keys that share one quota at their provider: give them the same name.",
    zh: "在服务商处共享同一配额的密钥：请给它们填同一个名称。",
};

/// Any host speaking Chat Completions; the user names it and its models.
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::Openai,
    name: "openai",
    label: crate::config::table::Text {
        en: "OpenAI-compatible",
        zh: "OpenAI 兼容",
    },
    default_base_url: "https://api.openai.com/v1",
    needs_base_url: true,
    default_tier: Tier::Paid,
    free_limits: None,
    protocol: Protocol::OpenAiChat,
    passes_through: true,
    lists_models: true,
    family: None,
    zone: Zone::Utc,
    quota_per_model: false,
    shares_project_quota: Some(SHARED_AT_THE_HOST),
    signs_in: false,
    reports_quota: false,
    needs_images_inline: false,
    // Chat Completions has no prefill but DeepSeek's beta `prefix`; the
    // kind covers every compatible host, so none is assumed.
    continues_prefill: false,
    errors: &[taxonomy::OPENAI],
    send,
    forward: Some(forward),
    count_tokens,
    embed: Some(embed),
    native_rewrite: None,
};
