//! OpenAI's Responses API (`levity account add openai --wire responses`):
//! `POST {base}/responses` with a bearer key, built as the Chat upstream
//! builds its URL. Responses clients pass through with only the model
//! renamed and `encrypted_content` tagged with its account; other clients
//! are translated.

use super::kind::{Descriptor, Sent};
use super::{Call, Decoder, Forward, Rewrite, hints, openai::post, taxonomy};
use crate::canonical::Request;
use crate::error::Error;
use crate::protocol::Protocol;
use crate::protocol::openai_responses::{self as wire, provenance};
use crate::scheduler::Zone;
use crate::store::{Account, ProviderKind, Tier};
use futures_util::future::BoxFuture;
use std::sync::Arc;

const KIND: ProviderKind = ProviderKind::OpenaiResponses;
const PATH: &str = "/responses";

/// A failure reported inside an answer (`response.failed`, `error`), judged
/// by the taxonomy as the same failure over HTTP, with its retry hint.
fn judge(status: u16, body: &[u8]) -> Error {
    let mut err = taxonomy::upstream_error(KIND, status, body);
    err.retry_after_ms = hints::retry_in_body(body);
    err
}

/// Sends a translated request; returns the response head and its decoder.
fn send<'a>(call: &'a Call, req: &'a Request, stream: bool) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let body = wire::encode_request(req, &call.model, stream, &call.acc.id);
        let builder = post(&call.client(), &call.acc, PATH, body);
        let resp = super::send(builder, call.host(), call.timeout, KIND).await?;
        let decoder = wire::UpstreamDecoder::new(call.id.clone(), call.acc.id.clone(), judge);
        Ok((resp, Box::new(decoder) as Decoder))
    })
}

/// Sends a Responses body as the client wrote it (model renamed), with the
/// reasoning this account made untagged and any other account's dropped.
fn forward<'a>(
    call: &'a Call,
    body: Vec<u8>,
    _: &'a Forward,
) -> BoxFuture<'a, Result<reqwest::Response, Error>> {
    Box::pin(async move {
        let body = if body.windows(5).any(|w| w == b"lvt1:") {
            let mut value: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&body).map_err(|e| Error::from_json(&e))?;
            let dropped = provenance::untag_request(&call.acc.id, &mut value);
            if dropped > 0 {
                tracing::debug!(account = %call.acc.name, dropped, "reasoning made by other accounts left out");
            }
            serde_json::to_vec(&value).expect("serializable")
        } else {
            body
        };
        let builder = post(&call.client(), &call.acc, PATH, body);
        super::send(builder, call.host(), call.timeout, KIND).await
    })
}

/// Tags the `encrypted_content` of a native answer with `acc`.
fn tagger(acc: &Account) -> Rewrite {
    let account = acc.id.clone();
    Arc::new(move |data: &[u8]| provenance::tag_answer(&account, data))
}

/// No counter here either: an estimate of the body.
fn count_tokens<'a>(call: &'a Call, req: &'a Request) -> BoxFuture<'a, Result<u64, Error>> {
    let body = wire::encode_request(req, &call.model, false, "");
    Box::pin(async move { Ok(super::estimate_tokens(&body)) })
}

pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: KIND,
    name: "openai-responses",
    label: crate::config::table::Text {
        en: "OpenAI Responses (GPT-5, codex)",
        zh: "OpenAI Responses（GPT-5、codex）",
    },
    default_base_url: "https://api.openai.com/v1",
    needs_base_url: false,
    default_tier: Tier::Paid,
    free_limits: None,
    protocol: Protocol::OpenAiResponses,
    passes_through: true,
    lists_models: true,
    family: None,
    zone: Zone::Utc,
    quota_per_model: false,
    shares_project_quota: Some(super::openai::SHARED_AT_THE_HOST),
    signs_in: false,
    reports_quota: false,
    needs_images_inline: false,
    // No prefill: a trailing assistant item is history, not a start.
    continues_prefill: false,
    // Responses fails over HTTP as Chat does (the same envelope).
    errors: &[taxonomy::OPENAI],
    send,
    forward: Some(forward),
    count_tokens,
    embed: Some(super::openai::embed),
    // Reasoning is tagged with the account that made it.
    native_rewrite: Some(tagger),
};
