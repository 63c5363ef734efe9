//! Anthropic API-key accounts: `POST {base}/v1/messages` and
//! `/v1/messages/count_tokens`, key in `x-api-key`. Anthropic clients pass
//! through with their `anthropic-version` and `anthropic-beta` headers.

use super::{Call, Decoder, Forward};
use crate::canonical::Request;
use crate::error::{Error, Kind};
use crate::protocol::anthropic;
use crate::store::{Account, ProviderKind};

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
pub async fn send(
    call: &Call,
    req: &Request,
    stream: bool,
) -> Result<(reqwest::Response, Decoder), Error> {
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
        Box::new(anthropic::UpstreamDecoder::new(call.id.clone())),
    ))
}

/// Sends a Messages body as the client wrote it (model renamed, history cleaned).
pub async fn forward(
    call: &Call,
    body: Vec<u8>,
    headers: &Forward,
) -> Result<reqwest::Response, Error> {
    let builder = post(&call.client(), &call.acc, "/v1/messages", body, headers);
    super::send(builder, call.host(), call.timeout, ProviderKind::Anthropic).await
}

/// Anthropic's own count for the client's request.
pub async fn count_tokens(call: &Call, req: &Request) -> Result<u64, Error> {
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
}
