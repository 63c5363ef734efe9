//! The proxy routes: decode the client's protocol, route, call the upstream,
//! encode the answer back, streaming as bytes arrive.

use super::AppState;
use super::auth;
use super::log::RequestLog;
use super::stream::{pipe_response, sse_response};
use super::wire::Wire;
use crate::canonical::{Request as CRequest, Usage};
use crate::error::{Error, Kind};
use crate::protocol::{anthropic, hex};
use crate::provider::{self, Call, Forward};
use crate::scheduler::{self, Route};
use crate::store::{Account, random_bytes};
use bytes::Bytes;
use poem::web::Data;
use poem::{Request, Response, handler};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::warn;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn json_response(body: Vec<u8>) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(body)
}

#[handler]
pub async fn chat_completions(
    req: &Request,
    body: Bytes,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    handle(Wire::OpenAiChat, req, body, state).await
}

#[handler]
pub async fn messages(req: &Request, body: Bytes, Data(state): Data<&Arc<AppState>>) -> Response {
    handle(Wire::Anthropic, req, body, state).await
}

/// Headers a native upstream should see as the client sent them.
fn forwarded(req: &Request) -> Forward {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Forward {
        anthropic_version: header("anthropic-version"),
        anthropic_beta: header("anthropic-beta"),
    }
}

async fn handle(wire: Wire, req: &Request, body: Bytes, state: &Arc<AppState>) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return wire.error(&Error::new(Kind::Authentication, msg));
    }
    let mut creq = match wire.decode(&body) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    let snap = state.snapshot.load_full();
    let settings = &snap.settings;
    let background = settings.background_downgrade
        && wire == Wire::Anthropic
        && anthropic::is_background_task(&creq, &settings.background_markers);
    let route = if background {
        // A cheap model answers; tools and thinking would only cost time.
        creq.reasoning = None;
        state.scheduler.route(&snap, &settings.background_model)
    } else {
        state.scheduler.route(&snap, &creq.model)
    };
    let route = match route {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    let id = hex(&random_bytes::<12>());
    let mut log = RequestLog::start(
        id.clone(),
        wire.name(),
        &creq.model,
        &route,
        creq.stream,
        background,
    );
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let native = route.kind == wire.native() && !background;
    let result = if native {
        passthrough(
            state,
            wire,
            &route,
            &body,
            forwarded(req),
            creq.stream,
            timeout,
            &mut log,
        )
        .await
    } else {
        translated(state, wire, &route, creq, timeout, id, &mut log).await
    };
    match result {
        Ok(Reply::Done(resp, usage)) => {
            log.end(resp.status().as_u16(), usage);
            resp
        }
        Ok(Reply::Streaming(resp)) => resp,
        Err(e) => {
            log.end(e.status(), None);
            wire.error(&e)
        }
    }
}

enum Reply {
    /// A complete answer; the log line can be written now.
    Done(Response, Option<Usage>),
    /// A stream whose body writes the end line when it finishes.
    Streaming(Response),
}

/// Tries the route's accounts in order while failures are ones another account
/// might not have; nothing has reached the client before an attempt fails.
async fn try_accounts<T, F, Fut>(
    route: &Route,
    log: &mut RequestLog,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut(Arc<Account>) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut last = None;
    for acc in &route.accounts {
        log.account.clone_from(&acc.name);
        match attempt(acc.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable() => {
                warn!(req = %log.id, account = %acc.name, status = e.status(), error = %e, "upstream failed; another account may serve");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(Kind::Unavailable, "no account could serve the request")))
}

/// Through the canonical model: any client protocol to any upstream kind.
async fn translated(
    state: &Arc<AppState>,
    wire: Wire,
    route: &Route,
    mut creq: CRequest,
    timeout: Duration,
    id: String,
    log: &mut RequestLog,
) -> Result<Reply, Error> {
    let up = &state.upstream;
    let model = route.model.as_str();
    let call = |acc: Arc<Account>| Call {
        up: up.clone(),
        acc,
        model: model.to_string(),
        timeout,
        id: id.clone(),
    };
    let mut stripped = false;
    loop {
        let attempt = if creq.stream {
            try_accounts(route, log, |acc| provider::stream(call(acc), &creq))
                .await
                .map(|events| {
                    let encoder = wire.encoder(model, &creq, unix_now());
                    Reply::Streaming(sse_response(events, encoder, log.take()))
                })
        } else {
            try_accounts(route, log, |acc| provider::generate(call(acc), &creq))
                .await
                .map(|resp| {
                    let body = json_response(wire.encode_response(&resp, unix_now()));
                    Reply::Done(body, Some(resp.usage))
                })
        };
        match attempt {
            // Signatures are only sent where they came from, so this should not
            // happen; if an upstream refuses one anyway, retry once without.
            Err(e) if e.is_signature_refusal() && !stripped => {
                warn!(req = %log.id, error = %e, "upstream refused a thinking signature; retrying without reasoning history");
                creq.strip_reasoning();
                stripped = true;
            }
            other => return other,
        }
    }
}

/// The client speaks the upstream's own protocol: its body goes through with
/// only the model renamed (and, for Anthropic, foreign signatures removed).
#[allow(clippy::too_many_arguments)]
async fn passthrough(
    state: &Arc<AppState>,
    wire: Wire,
    route: &Route,
    body: &[u8],
    headers: Forward,
    stream: bool,
    timeout: Duration,
    log: &mut RequestLog,
) -> Result<Reply, Error> {
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| Error::from_json(&e))?;
    value.insert(
        "model".into(),
        serde_json::Value::String(route.model.clone()),
    );
    if wire == Wire::Anthropic {
        anthropic::sanitize_native(&mut value);
    }
    let body = serde_json::to_vec(&value).expect("serializable");
    let up = &state.upstream;
    let resp = try_accounts(route, log, |acc| {
        let (body, headers) = (body.clone(), headers.clone());
        async move { provider::forward(up, &acc, body, &headers, timeout).await }
    })
    .await?;
    if stream {
        return Ok(Reply::Streaming(pipe_response(resp, timeout, log.take())));
    }
    let bytes = tokio::time::timeout(timeout, resp.bytes())
        .await
        .map_err(|_| Error::new(Kind::Timeout, "the upstream stopped sending its answer"))?
        .map_err(|e| {
            Error::new(
                Kind::Upstream,
                format!("reading the upstream answer failed: {e}"),
            )
        })?;
    let usage = provider::usage_of(wire.native(), &bytes);
    Ok(Reply::Done(json_response(bytes.to_vec()), usage))
}

#[handler]
pub async fn count_tokens(
    req: &Request,
    body: Bytes,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let wire = Wire::Anthropic;
    if let Err(msg) = auth::check_client(state, req) {
        return wire.error(&Error::new(Kind::Authentication, msg));
    }
    let creq = match wire.decode(&body) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    let snap = state.snapshot.load_full();
    let route = match state.scheduler.route(&snap, &creq.model) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    let timeout = Duration::from_secs(snap.settings.request_timeout_secs);
    let mut last = None;
    for acc in &route.accounts {
        let call = Call {
            up: state.upstream.clone(),
            acc: acc.clone(),
            model: route.model.clone(),
            timeout,
            id: String::new(),
        };
        match provider::count_tokens(call, &creq, &body).await {
            Ok(n) => {
                return json_response(
                    serde_json::json!({"input_tokens": n})
                        .to_string()
                        .into_bytes(),
                );
            }
            Err(e) if e.retryable() => last = Some(e),
            Err(e) => return wire.error(&e),
        }
    }
    wire.error(
        &last.unwrap_or_else(|| Error::new(Kind::Unavailable, "no account could count tokens")),
    )
}

#[handler]
pub async fn models(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return Wire::OpenAiChat.error(&Error::new(Kind::Authentication, msg));
    }
    let snap = state.snapshot.load();
    let data: Vec<serde_json::Value> = scheduler::model_ids(&snap)
        .into_iter()
        .map(|id| serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": "levity"}))
        .collect();
    json_response(
        serde_json::to_vec(&serde_json::json!({"object": "list", "data": data}))
            .expect("serializable"),
    )
}
