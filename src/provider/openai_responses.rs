//! OpenAI's Responses API (`levity account add openai --wire responses`):
//! `POST {base}/responses` with a bearer key, built as the Chat upstream
//! builds its URL. Responses clients pass through with only the model
//! renamed and `encrypted_content` tagged with its account; other clients
//! are translated.

use super::{Call, Decoder, hints, openai::post, taxonomy};
use crate::canonical::Request;
use crate::error::Error;
use crate::protocol::openai_responses::{self as wire, provenance};
use crate::store::{Account, ProviderKind};
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
pub async fn send(
    call: &Call,
    req: &Request,
    stream: bool,
) -> Result<(reqwest::Response, Decoder), Error> {
    let body = wire::encode_request(req, &call.model, stream, &call.acc.id);
    let builder = post(&call.client(), &call.acc, PATH, body);
    let resp = super::send(builder, call.host(), call.timeout, KIND).await?;
    let decoder = wire::UpstreamDecoder::new(call.id.clone(), call.acc.id.clone(), judge);
    Ok((resp, Box::new(decoder)))
}

/// Sends a Responses body as the client wrote it (model renamed), with the
/// reasoning this account made untagged and any other account's dropped.
pub async fn forward(call: &Call, body: Vec<u8>) -> Result<reqwest::Response, Error> {
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
}

/// Tags the `encrypted_content` of a native answer with `acc`.
pub fn tagger(acc: &Account) -> super::Rewrite {
    let account = acc.id.clone();
    Arc::new(move |data: &[u8]| provenance::tag_answer(&account, data))
}
