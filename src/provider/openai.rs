//! OpenAI-compatible hosts (OpenAI, DeepSeek, GLM, Ollama, ...): `POST
//! {base}/chat/completions` with a bearer key. Chat Completions clients are
//! passed through with only the model renamed, so every field the host
//! understands survives.

use super::{Upstream, host_of, read_failure, transport_error};
use crate::error::{Error, from_upstream};
use crate::store::Account;
use serde::Deserialize;
use std::time::Duration;

/// Sends a Chat Completions body as it is; returns the upstream's successful
/// answer once its head arrived (the caller reads or streams the body).
pub async fn forward_chat(
    up: &Upstream,
    acc: &Account,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<reqwest::Response, Error> {
    let host = host_of(&acc.base_url);
    let builder = up
        .client()
        .post(format!("{}/chat/completions", acc.base_url))
        .bearer_auth(acc.secret.expose())
        .header("content-type", "application/json")
        .body(body);
    let resp = tokio::time::timeout(timeout, builder.send())
        .await
        .map_err(|_| {
            Error::new(
                crate::error::Kind::Timeout,
                format!("{host} did not answer in time"),
            )
        })?
        .map_err(|e| transport_error(host, &e))?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let (status, retry_after, body) = read_failure(resp).await;
    let message = match serde_json::from_slice::<Envelope>(&body) {
        Ok(env) => env.error.message,
        Err(_) => crate::protocol::summarize(&body),
    };
    let mut err = from_upstream(status, format!("{host} answered {status}: {message}"));
    err.retry_after = retry_after;
    Err(err)
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    message: String,
}
