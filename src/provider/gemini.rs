//! Gemini API-key accounts: `POST {base}/v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse` and `:countTokens`, key in `x-goog-api-key`.

use super::kind::{Descriptor, Sent};
use super::{Call, Decoder, Forward, ProviderKind, taxonomy};
use crate::canonical::{EmbedRequest, Embeddings, Request};
use crate::catalogue::Family;
use crate::error::{Error, Kind};
use crate::protocol::{Protocol, gemini};
use crate::scheduler::Zone;
use crate::store::Tier;
use futures_util::future::BoxFuture;

fn post(call: &Call, method: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
    let url = super::method_url(&call.acc.base_url, "/v1beta/models/", &call.model, method);
    call.client()
        .post(url)
        .header("x-goog-api-key", call.acc.secret.expose())
        .header("content-type", "application/json")
        .body(body)
}

/// Sends a generate request; returns the response head and its decoder.
fn send<'a>(call: &'a Call, req: &'a Request, stream: bool) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        let builder = post(call, method, gemini::encode_request(req, &call.model));
        let resp = super::send(builder, call.host(), call.timeout, call.acc.kind).await?;
        let decoder = gemini::StreamDecoder::new(call.id.clone(), &call.model);
        Ok((resp, Box::new(decoder) as Decoder))
    })
}

/// Gemini's own token count for everything the request would send.
fn count_tokens<'a>(call: &'a Call, req: &'a Request) -> BoxFuture<'a, Result<u64, Error>> {
    Box::pin(async move {
        let builder = post(
            call,
            "countTokens",
            gemini::encode_count_tokens(req, &call.model),
        );
        let resp = super::send(builder, call.host(), call.timeout, call.acc.kind).await?;
        let body = super::read_whole(call, resp).await?;
        gemini::decode_count_tokens(&body).ok_or_else(|| {
            Error::new(
                Kind::Upstream,
                format!("{} sent a token count levity cannot read", call.host()),
            )
        })
    })
}

/// Embeddings through `batchEmbedContents` (what Google's SDKs call),
/// `gemini::embed::BATCH` texts a call; Gemini counts no tokens there, so
/// they are estimated.
fn embed<'a>(call: &'a Call, req: &'a EmbedRequest) -> BoxFuture<'a, Result<Embeddings, Error>> {
    Box::pin(async move {
        let texts = req.texts().map_err(|m| Error::invalid_param("input", m))?;
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(gemini::embed::BATCH) {
            let body = gemini::embed::upstream::encode(req, chunk, &call.model);
            let builder = post(call, "batchEmbedContents", body);
            let resp = super::send(builder, call.host(), call.timeout, call.acc.kind).await?;
            let answer = super::read_whole(call, resp).await?;
            let got = gemini::embed::upstream::decode(&answer, chunk.len())
                .map_err(|why| super::unreadable(call, &why))?;
            vectors.extend(got);
        }
        Ok(Embeddings {
            vectors,
            input_tokens: req.estimated_tokens(),
        })
    })
}

/// Sends a Gemini client's body as it is (auth replaced) to `method`.
fn forward<'a>(
    call: &'a Call,
    body: Vec<u8>,
    headers: &'a Forward,
) -> BoxFuture<'a, Result<reqwest::Response, Error>> {
    // The method the Gemini client called (`streamGenerateContent?alt=sse`, ...).
    let method = headers
        .gemini_method
        .as_deref()
        .unwrap_or("generateContent");
    Box::pin(async move {
        let builder = post(call, method, body);
        super::send(builder, call.host(), call.timeout, call.acc.kind).await
    })
}

/// Gemini's limits apply per Google Cloud project, not per key, and per
/// model (ai.google.dev/gemini-api/docs/rate-limits); its day starts at
/// midnight Pacific.
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::Gemini,
    name: "gemini",
    label: crate::config::table::Text {
        en: "Gemini API key",
        zh: "Gemini API 密钥",
    },
    default_base_url: "https://generativelanguage.googleapis.com",
    needs_base_url: false,
    default_tier: Tier::Free,
    free_limits: None,
    protocol: Protocol::Gemini,
    passes_through: true,
    lists_models: false,
    family: Some(Family::Gemini),
    zone: Zone::Pacific,
    quota_per_model: true,
    shares_project_quota: Some(crate::config::table::Text {
        en: "Keys of one Google Cloud project share its quota: give them the same name.",
        zh: "同一 Google Cloud 项目的密钥共享该项目的配额：请给它们填同一个名称。",
    }),
    signs_in: false,
    reports_quota: false,
    needs_images_inline: true,
    // A trailing `model` turn is continued, as Anthropic's prefill is.
    continues_prefill: true,
    errors: &[taxonomy::GEMINI],
    send,
    forward: Some(forward),
    count_tokens,
    embed: Some(embed),
    native_rewrite: None,
};
