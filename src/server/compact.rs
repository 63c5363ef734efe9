//! Remote compaction, as Codex's built-in OpenAI provider asks for it when
//! its context fills: a Responses request ending in a `compaction_trigger`
//! item (compaction v2, over HTTP or the WebSocket), or `POST
//! /v1/responses/compact` (v1). levity asks the upstream model, whatever it
//! is, for a summary of the conversation, seals it in the one `compaction`
//! item Codex expects, and on the next turn opens it again as the start of
//! the conversation (`protocol::openai_responses::decode_request`).

use super::AppState;
use super::attempts::Plan;
use super::auth;
use super::log::{Capture, RequestLog, Start};
use super::proxy::{json_response, session_header, unix_now};
use super::wire::Wire;
use crate::canonical::{Message, Part, Request as CRequest, Role, ToolChoice};
use crate::error::{Error, Kind};
use crate::protocol::openai_responses;
use crate::provider;
use crate::scheduler::session_key;
use bytes::Bytes;
use poem::web::Data;
use poem::{Request, Response, handler};
use std::sync::Arc;

/// What levity asks the model for: everything the next turn needs, since
/// the summary is all that remains of the turns it replaces.
const ASK: &str = "Write a summary of this conversation so far that lets it continue without \
the earlier messages. Keep: the user's goals, instructions and preferences; decisions made and \
why; the state of the work (files changed, commands run and what they showed); errors met and \
how they were handled; what remains to do next. Be concise, keep exact names, paths and values, \
and answer with the summary only.";

/// Summarizes the conversation of `creq` on the plan's accounts; the
/// compaction item and the summary's usage.
async fn summarize(
    plan: &Plan,
    mut creq: CRequest,
    log: &mut RequestLog,
) -> Result<(serde_json::Value, crate::canonical::Usage), Error> {
    creq.messages.push(Message {
        role: Role::User,
        parts: vec![Part::Text(ASK.into())],
    });
    // Tools stay declared (histories with calls need them) but unused.
    creq.tool_choice = Some(ToolChoice::None);
    creq.stream = false;
    creq.compaction = false;
    let resp = plan
        .run(log, |call| provider::generate(call, &creq))
        .await?;
    let summary = resp.text();
    if summary.trim().is_empty() {
        return Err(Error::new(
            Kind::Upstream,
            "the upstream model answered the compaction with no summary; try again",
        ));
    }
    let id = format!("cmp_{}", plan.id);
    let item = openai_responses::compaction_item(&id, plan.state.as_ref(), &summary);
    Ok((item, resp.usage))
}

/// Answers a Responses request that asks for a compaction (v2): one
/// compaction item, streamed as events when the request streams.
pub(super) async fn compact(
    plan: &Plan,
    creq: CRequest,
    log: &mut RequestLog,
) -> Result<Response, Error> {
    let stream = creq.stream;
    let (item, usage) = summarize(plan, creq, log).await?;
    let body = openai_responses::compaction_answer(
        &plan.id,
        &plan.route.model,
        unix_now(),
        item,
        &usage,
        stream,
    );
    log.response(&body);
    log.end(200, Some(usage));
    Ok(if stream {
        Response::builder()
            .content_type("text/event-stream")
            .header("cache-control", "no-cache")
            .body(body)
    } else {
        json_response(body)
    })
}

/// `POST /v1/responses/compact` (compaction v1): `{"output": [...]}`, the
/// history that replaces the input: its user messages, then the compaction.
#[handler]
pub async fn responses_compact(
    req: &Request,
    body: Bytes,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let wire = Wire::OpenAiResponses;
    if let Err(msg) = auth::check_client(state, req) {
        return wire.error(&Error::new(Kind::Authentication, msg));
    }
    let creq = match openai_responses::decode_request(&body, state.as_ref()) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    let client_key = match auth::admit(state, req, &creq.model).await {
        Ok(k) => k,
        Err(e) => return wire.error(&e),
    };
    let plan = match Plan::resolve(state, &creq.model, session_key(session_header(req), &creq)) {
        Ok(p) => p,
        Err(e) => return wire.error(&e),
    };
    let start = Start {
        protocol: "openai-responses-compact",
        model: &creq.model,
        stream: false,
        background: false,
        client_key,
        session: &plan.session,
        capture: Capture::new(&plan.snap.settings.log, req.headers(), &body),
    };
    let mut log = RequestLog::start(state.clone(), plan.id.clone(), &plan.route, start);
    let kept: Vec<serde_json::Value> = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["input"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i["type"].as_str().unwrap_or("message") == "message" && i["role"] == "user")
        .collect();
    match summarize(&plan, creq, &mut log).await {
        Ok((item, usage)) => {
            let mut output = kept;
            output.push(item);
            let answer = serde_json::json!({"output": output})
                .to_string()
                .into_bytes();
            log.response(&answer);
            log.end(200, Some(usage));
            json_response(answer)
        }
        Err(e) => {
            log.fail(&e, None);
            wire.error(&e)
        }
    }
}
