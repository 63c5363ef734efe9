//! Anthropic API-key accounts: `POST {base}/v1/messages` and
//! `/v1/messages/count_tokens`, key in `x-api-key`. Anthropic clients pass
//! through with their `anthropic-version` and `anthropic-beta` headers.

use super::kind::{Descriptor, Sent};
use super::{Call, Decoder, Forward, ProviderKind, taxonomy};
use crate::canonical::Request;
use crate::catalogue::Family;
use crate::error::{Error, Kind};
use crate::protocol::{Protocol, anthropic};
use crate::scheduler::Zone;
use crate::store::{Account, Tier};
use futures_util::future::BoxFuture;

const DEFAULT_VERSION: &str = "2023-06-01";

fn post(
    client: &reqwest::Client,
    acc: &Account,
    path: &str,
    body: Vec<u8>,
    headers: &Forward,
) -> reqwest::RequestBuilder {
    let mut builder = client
        .post(format!("{}{path}", acc.base_url))
        .header("x-api-key", acc.secret.expose())
        .header(
            "anthropic-version",
            headers
                .anthropic_version
                .as_deref()
                .unwrap_or(DEFAULT_VERSION),
        )
        .header("content-type", "application/json")
        .body(body);
    if let Some(beta) = &headers.anthropic_beta {
        builder = builder.header("anthropic-beta", beta);
    }
    builder
}

/// Sends a translated request; returns the response head and its decoder.
fn send<'a>(call: &'a Call, req: &'a Request, stream: bool) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let body = anthropic::encode_request(req, &call.model, stream);
        let builder = post(
            &call.client(),
            &call.acc,
            "/v1/messages",
            body,
            &Forward::default(),
        );
        let resp = super::send(builder, call.host(), call.timeout, ProviderKind::Anthropic).await?;
        Ok((
            resp,
            Box::new(anthropic::UpstreamDecoder::new(call.id.clone())) as Decoder,
        ))
    })
}

/// Sends a Messages body as the client wrote it (model renamed, history cleaned).
fn forward<'a>(
    call: &'a Call,
    body: Vec<u8>,
    headers: &'a Forward,
) -> BoxFuture<'a, Result<reqwest::Response, Error>> {
    Box::pin(async move {
        let builder = post(&call.client(), &call.acc, "/v1/messages", body, headers);
        super::send(builder, call.host(), call.timeout, ProviderKind::Anthropic).await
    })
}

/// Anthropic's own count for the client's request.
fn count_tokens<'a>(call: &'a Call, req: &'a Request) -> BoxFuture<'a, Result<u64, Error>> {
    Box::pin(async move {
        let body = anthropic::encode_request(req, &call.model, false);
        let mut value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).expect("just encoded");
        // The counter takes what shapes the prompt, not sampling settings.
        for field in [
            "max_tokens",
            "temperature",
            "top_p",
            "top_k",
            "stop_sequences",
        ] {
            value.remove(field);
        }
        let body = serde_json::to_vec(&value).expect("serializable");
        let builder = post(
            &call.client(),
            &call.acc,
            "/v1/messages/count_tokens",
            body,
            &Forward::default(),
        );
        let resp = super::send(builder, call.host(), call.timeout, ProviderKind::Anthropic).await?;
        let body = super::read_whole(call, resp).await?;
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["input_tokens"].as_u64())
            .ok_or_else(|| {
                Error::new(
                    Kind::Upstream,
                    "Anthropic sent a token count levity cannot read",
                )
            })
    })
}

/// Anthropic's limits apply per organization (docs.claude.com/en/api/
/// rate-limits), so keys grouped under one `--project` share them.
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::Anthropic,
    name: "anthropic",
    label: crate::config::table::Text {
        en: "Anthropic API key",
        zh: "Anthropic API 密钥",
    },
    default_base_url: "https://api.anthropic.com",
    needs_base_url: false,
    default_tier: Tier::Paid,
    free_limits: None,
    protocol: Protocol::Anthropic,
    passes_through: true,
    lists_models: false,
    family: Some(Family::Claude),
    zone: Zone::Utc,
    quota_per_model: false,
    shares_project_quota: Some(crate::config::table::Text {
        en: "Keys of one Anthropic organization share its limits: give them the same name.",
        zh: "同一 Anthropic 组织的密钥共享该组织的限额：请给它们填同一个名称。",
    }),
    signs_in: false,
    reports_quota: false,
    needs_images_inline: false,
    // "Prefill Claude's response": the answer continues the last
    // assistant turn (docs.anthropic.com, prompt engineering guide).
    continues_prefill: true,
    errors: &[taxonomy::ANTHROPIC],
    send,
    forward: Some(forward),
    count_tokens,
    embed: None,
    native_rewrite: None,
};
