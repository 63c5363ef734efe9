//! Embeddings over the pool: OpenAI's `POST /v1/embeddings` and Gemini's
//! `:embedContent` / `:batchEmbedContents`, decoded to one
//! `canonical::EmbedRequest`, scheduled like every request (client key and
//! its limits, mapping, failover, cool-downs, the log, usage and metrics) over
//! the accounts whose kind embeds (`Descriptor::embed`).

use super::AppState;
use super::attempts::Plan;
use super::auth;
use super::log::{RequestLog, Start};
use super::proxy::json_response;
use super::wire::Wire;
use crate::canonical::{EmbedRequest, Embeddings, Usage};
use crate::error::{Error, Kind};
use crate::protocol::{gemini, openai_embeddings};
use crate::provider;
use bytes::Bytes;
use poem::web::Data;
use poem::{Request, Response, handler};
use std::sync::Arc;

/// Embeddings keep no conversation: every request is scheduled afresh, by
/// headroom, under this one session name.
const SESSION: &str = "embeddings";

/// `POST /v1/embeddings`.
#[handler]
pub async fn openai(req: &Request, body: Bytes, Data(state): Data<&Arc<AppState>>) -> Response {
    let wire = Wire::OpenAiChat;
    let (ereq, base64) = match openai_embeddings::client::decode(&body) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    match embed(req, state, &ereq, "openai-embeddings").await {
        Ok((out, model)) => json_response(openai_embeddings::client::encode(out, &model, base64)),
        Err(e) => wire.error(&e),
    }
}

/// Gemini's `models/{model}:embedContent` (`batch` false) and
/// `:batchEmbedContents`.
pub async fn gemini(
    req: &Request,
    body: &[u8],
    state: &Arc<AppState>,
    model: &str,
    batch: bool,
) -> Response {
    let wire = Wire::Gemini { sse: false };
    let ereq = match gemini::embed::client::decode(body, model, batch) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    match embed(req, state, &ereq, "gemini-embed").await {
        Ok((out, _)) => json_response(gemini::embed::client::encode(out, batch)),
        Err(e) => wire.error(&e),
    }
}

/// Runs `ereq` over the accounts that serve its model and can embed; the
/// vectors and the upstream model that made them.
async fn embed(
    req: &Request,
    state: &Arc<AppState>,
    ereq: &EmbedRequest,
    protocol: &'static str,
) -> Result<(Embeddings, String), Error> {
    let client_key = auth::admit(state, req, &ereq.model).await?;
    let mut plan = Plan::resolve(state, &ereq.model, SESSION.to_string())?;
    // Refused here: the upstream's 404 would rest the account for the
    // model, and chat with it too.
    if crate::catalogue::is_chat_model(&plan.route.model) {
        return Err(Error::new(
            Kind::NotFound,
            format!(
                "`{}` is a chat model, not an embedding model; use one such as gemini-embedding-001 \
                 or text-embedding-3-small",
                plan.route.model
            ),
        ));
    }
    let kinds: Vec<&str> = plan
        .route
        .accounts
        .iter()
        .map(|a| a.kind.as_str())
        .collect();
    plan.route
        .accounts
        .retain(|a| a.kind.descriptor().embed.is_some());
    let Some(first) = plan.route.accounts.first() else {
        return Err(Error::new(
            Kind::InvalidRequest,
            format!(
                "`{}` is served here by {} account(s), and none of them can embed; add a Gemini API \
                 key or an OpenAI-compatible host that serves it",
                plan.route.model,
                kinds.join(", ")
            ),
        ));
    };
    plan.route.kind = first.kind;
    let start = Start {
        protocol,
        model: &ereq.model,
        stream: false,
        background: false,
        client_key,
        session: SESSION,
        capture: None,
    };
    let mut log = RequestLog::start(state.clone(), plan.id.clone(), &plan.route, start);
    match plan
        .run(&mut log, |call| async move {
            provider::embed(&call, ereq).await
        })
        .await
    {
        Ok(out) => {
            let usage = Usage {
                input_tokens: out.input_tokens,
                ..Usage::default()
            };
            log.end(200, Some(usage));
            Ok((out, plan.route.model.clone()))
        }
        Err(e) => {
            log.fail(&e, None);
            Err(e)
        }
    }
}
