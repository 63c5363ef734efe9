//! The proxy routes: decode the client's protocol, route, call the upstream,
//! encode the answer back, streaming as bytes arrive.

use super::AppState;
use super::auth;
use crate::canonical::{Request as CRequest, Usage};
use crate::error::{Error, Kind};
use crate::protocol::{hex, openai_chat};
use crate::provider::{self, EventStream};
use crate::scheduler::{self, Route};
use crate::store::{Account, ProviderKind, random_bytes};
use bytes::Bytes;
use futures_util::StreamExt;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{info, warn};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn json_response(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY))
        .content_type("application/json")
        .body(body)
}

/// An error in the OpenAI shape, with `Retry-After` when the upstream gave one.
fn openai_error(err: &Error) -> Response {
    let mut resp = json_response(err.status(), openai_chat::encode_error(err));
    if let Some(secs) = err.retry_after {
        resp.headers_mut()
            .insert("retry-after", secs.to_string().parse().expect("digits"));
    }
    resp
}

/// One request's log lines: a start line now, an end line when it finishes
/// (or a cancel line if the client goes away first).
struct RequestLog {
    id: String,
    model: String,
    upstream_model: String,
    account: String,
    started: Instant,
    ended: bool,
}

impl RequestLog {
    fn start(id: String, model: &str, route: &Route, stream: bool) -> Self {
        info!(req = %id, protocol = "openai-chat", model, upstream = %route.model, stream, "request start");
        RequestLog {
            id,
            model: model.to_string(),
            upstream_model: route.model.clone(),
            account: String::new(),
            started: Instant::now(),
            ended: false,
        }
    }

    fn end(&mut self, status: u16, usage: Option<Usage>) {
        self.ended = true;
        let u = usage.unwrap_or_default();
        info!(
            req = %self.id,
            model = %self.model,
            upstream = %self.upstream_model,
            account = %self.account,
            status,
            latency_ms = self.started.elapsed().as_millis() as u64,
            input_tokens = u.input_tokens,
            output_tokens = u.output_tokens,
            "request end"
        );
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if !self.ended {
            info!(req = %self.id, account = %self.account, latency_ms = self.started.elapsed().as_millis() as u64, "request cancelled by the client");
        }
    }
}

#[handler]
pub async fn chat_completions(
    req: &Request,
    body: Bytes,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return openai_error(&Error::new(Kind::Authentication, msg));
    }
    let creq = match openai_chat::decode_request(&body) {
        Ok(r) => r,
        Err(e) => return openai_error(&e),
    };
    let snap = state.snapshot.load_full();
    let route = match state.scheduler.route(&snap, &creq.model) {
        Ok(r) => r,
        Err(e) => return openai_error(&e),
    };
    let id = hex(&random_bytes::<12>());
    let mut log = RequestLog::start(id.clone(), &creq.model, &route, creq.stream);
    let timeout = Duration::from_secs(snap.settings.request_timeout_secs);
    let result = match route.kind {
        ProviderKind::Openai => {
            passthrough(state, &route, &body, creq.stream, timeout, &mut log).await
        }
        _ => via_gemini(state, &route, creq, timeout, id, &mut log).await,
    };
    match result {
        Ok(Reply::Done(resp, usage)) => {
            log.end(resp.status().as_u16(), usage);
            resp
        }
        Ok(Reply::Streaming(resp)) => resp,
        Err(e) => {
            log.end(e.status(), None);
            openai_error(&e)
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
) -> Result<(T, String), Error>
where
    F: FnMut(Arc<Account>) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut last = None;
    for acc in &route.accounts {
        log.account.clone_from(&acc.name);
        match attempt(acc.clone()).await {
            Ok(v) => return Ok((v, acc.name.clone())),
            Err(e) if e.retryable() => {
                warn!(req = %log.id, account = %acc.name, status = e.status(), error = %e, "upstream failed; another account may serve");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(Kind::Unavailable, "no account could serve the request")))
}

async fn via_gemini(
    state: &Arc<AppState>,
    route: &Route,
    creq: CRequest,
    timeout: Duration,
    id: String,
    log: &mut RequestLog,
) -> Result<Reply, Error> {
    let up = &state.upstream;
    let model = route.model.as_str();
    if creq.stream {
        let (events, _) = try_accounts(route, log, |acc| {
            let (creq, id) = (&creq, id.clone());
            async move { provider::gemini::stream(up, &acc, model, creq, timeout, id).await }
        })
        .await?;
        let encoder = openai_chat::ChunkEncoder::new(model, unix_now(), creq.stream_usage);
        let log = std::mem::replace(log, detached(log));
        return Ok(Reply::Streaming(sse_response(events, encoder, log)));
    }
    let (resp, _) = try_accounts(route, log, |acc| {
        let (creq, id) = (&creq, id.clone());
        async move { provider::gemini::generate(up, &acc, model, creq, timeout, id).await }
    })
    .await?;
    let usage = resp.usage;
    Ok(Reply::Done(
        json_response(200, openai_chat::encode_response(&resp, unix_now())),
        Some(usage),
    ))
}

/// A log handle left behind when the real one moves into a stream body.
fn detached(log: &RequestLog) -> RequestLog {
    RequestLog {
        id: log.id.clone(),
        model: String::new(),
        upstream_model: String::new(),
        account: String::new(),
        started: log.started,
        ended: true,
    }
}

struct SseState {
    events: EventStream,
    encoder: openai_chat::ChunkEncoder,
    log: RequestLog,
    done: bool,
}

/// Encodes upstream events into the client's stream as they arrive.
fn sse_response(
    events: EventStream,
    encoder: openai_chat::ChunkEncoder,
    log: RequestLog,
) -> Response {
    let state = SseState {
        events,
        encoder,
        log,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let mut out = Vec::new();
        while out.is_empty() && !st.done {
            match st.events.next().await {
                Some(Ok(events)) => {
                    for ev in &events {
                        st.encoder.event(ev, &mut out);
                    }
                }
                Some(Err(e)) => {
                    // Headers are gone already: the error travels in the stream.
                    st.done = true;
                    crate::protocol::sse::write_data(&mut out, &openai_chat::encode_error(&e));
                    warn!(req = %st.log.id, error = %e, "stream failed after it started");
                    st.log.end(e.status(), st.encoder.usage());
                }
                None => {
                    st.done = true;
                    st.encoder.done(&mut out);
                    st.log.end(200, st.encoder.usage());
                }
            }
        }
        (!out.is_empty()).then(|| (Ok::<_, std::io::Error>(Bytes::from(out)), st))
    });
    Response::builder()
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_bytes_stream(body))
}

/// Hands a Chat Completions request to an OpenAI-compatible host with only the
/// model renamed, and its answer back untouched.
async fn passthrough(
    state: &Arc<AppState>,
    route: &Route,
    body: &[u8],
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
    let body = serde_json::to_vec(&value).expect("serializable");
    let up = &state.upstream;
    let (resp, _) = try_accounts(route, log, |acc| {
        let body = body.clone();
        async move { provider::openai::forward_chat(up, &acc, body, timeout).await }
    })
    .await?;
    if stream {
        let log = std::mem::replace(log, detached(log));
        return Ok(Reply::Streaming(pipe_response(resp, timeout, log)));
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
    let usage = serde_json::from_slice::<UsageOnly>(&bytes)
        .ok()
        .and_then(|u| u.usage);
    Ok(Reply::Done(
        json_response(200, bytes.to_vec()),
        usage.map(|u| Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            ..Usage::default()
        }),
    ))
}

#[derive(serde::Deserialize)]
struct UsageOnly {
    usage: Option<OpenAiUsage>,
}

#[derive(serde::Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

struct PipeState {
    bytes: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>,
    log: RequestLog,
    idle: Duration,
    done: bool,
}

/// Copies an upstream stream to the client byte for byte, as it arrives.
fn pipe_response(resp: reqwest::Response, idle: Duration, log: RequestLog) -> Response {
    let state = PipeState {
        bytes: Box::pin(resp.bytes_stream()),
        log,
        idle,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let failure = match tokio::time::timeout(st.idle, st.bytes.next()).await {
            Ok(Some(Ok(b))) => return Some((Ok(b), st)),
            Ok(None) => {
                st.log.end(200, None);
                return None;
            }
            Ok(Some(Err(e))) => std::io::Error::other(e),
            Err(_) => std::io::Error::other("the upstream stopped sending mid-stream"),
        };
        st.done = true;
        warn!(req = %st.log.id, error = %failure, "stream failed after it started");
        st.log.end(502, None);
        Some((Err(failure), st))
    });
    Response::builder()
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_bytes_stream(body))
}

#[handler]
pub async fn models(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return openai_error(&Error::new(Kind::Authentication, msg));
    }
    let snap = state.snapshot.load();
    let data: Vec<serde_json::Value> = scheduler::model_ids(&snap)
        .into_iter()
        .map(|id| serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": "levity"}))
        .collect();
    json_response(
        200,
        serde_json::to_vec(&serde_json::json!({"object": "list", "data": data}))
            .expect("serializable"),
    )
}
