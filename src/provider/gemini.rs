//! Gemini API-key accounts: `POST {base}/v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse` and `:countTokens`, key in `x-goog-api-key`.

use super::{Call, Decoder};
use crate::canonical::Request;
use crate::error::{Error, Kind};
use crate::protocol::gemini;

fn post(call: &Call, method: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
    let url = super::method_url(&call.acc.base_url, "/v1beta/models/", &call.model, method);
    call.client()
        .post(url)
        .header("x-goog-api-key", call.acc.secret.expose())
        .header("content-type", "application/json")
        .body(body)
}

/// Sends a generate request; returns the response head and its decoder.
pub async fn send(
    call: &Call,
    req: &Request,
    stream: bool,
) -> Result<(reqwest::Response, Decoder), Error> {
    let method = if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    let builder = post(call, method, gemini::encode_request(req, &call.model));
    let resp = super::send(builder, call.host(), call.timeout, call.acc.kind).await?;
    let decoder = gemini::StreamDecoder::new(call.id.clone(), &call.model);
    Ok((resp, Box::new(decoder)))
}

/// Gemini's own token count for everything the request would send.
pub async fn count_tokens(call: &Call, req: &Request) -> Result<u64, Error> {
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
}

/// Sends a Gemini client's body as it is (auth replaced) to `method`.
pub async fn forward(call: &Call, body: Vec<u8>, method: &str) -> Result<reqwest::Response, Error> {
    let builder = post(call, method, body);
    super::send(builder, call.host(), call.timeout, call.acc.kind).await
}
