//! The proxy routes: decode the client's protocol, pick accounts with the
//! scheduler, call the upstream, encode the answer back, streaming as bytes
//! arrive. An attempt that fails before anything reached the client moves to
//! another account; after that, the stream ends with an error event.

use super::AppState;
use super::attempts::Plan;
use super::auth;
use super::log::{Capture, RequestLog, Start};
use super::resume::{Resume, Tracker};
use super::stream::{pipe_response, sse_response};
use super::wire::Wire;
use crate::canonical::{Request as CRequest, Usage};
use crate::error::{Error, Kind};
use crate::protocol::anthropic;
use crate::provider::{self, Forward};
use crate::scheduler::{self, session_key};
use bytes::Bytes;
use futures_util::StreamExt;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::warn;

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) fn json_response(body: Vec<u8>) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(body)
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
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
pub async fn responses(req: &Request, body: Bytes, Data(state): Data<&Arc<AppState>>) -> Response {
    handle(Wire::OpenAiResponses, req, body, state).await
}

#[handler]
pub async fn messages(req: &Request, body: Bytes, Data(state): Data<&Arc<AppState>>) -> Response {
    handle(Wire::Anthropic, req, body, state).await
}

/// `POST /v1beta/models/{model}:{method}` (and `/v1/models/...`, as the
/// google-genai SDK sends with a custom base URL).
#[handler]
pub async fn gemini(
    req: &Request,
    Path(rest): Path<String>,
    body: Bytes,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let sse = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
    let wire = Wire::Gemini { sse };
    let Some((model, method)) = rest.rsplit_once(':') else {
        return wire.error(&Error::new(
            Kind::NotFound,
            format!("no such Gemini method: `{rest}`; use {{model}}:generateContent"),
        ));
    };
    let model = model.trim_start_matches("models/");
    match method {
        "generateContent" => serve(wire, req, body, state, model, false, None).await,
        "streamGenerateContent" => {
            let method = if sse { "streamGenerateContent?alt=sse" } else { "streamGenerateContent" };
            serve(wire, req, body, state, model, true, Some(method.to_string())).await
        }
        "countTokens" => gemini_count(req, body, state, model).await,
        "embedContent" => super::embeddings::gemini(req, &body, state, model, false).await,
        "batchEmbedContents" => super::embeddings::gemini(req, &body, state, model, true).await,
        other => wire.error(&Error::new(Kind::NotFound, format!("Gemini method `{other}` is not served; use generateContent, streamGenerateContent, countTokens, embedContent or batchEmbedContents"))),
    }
}

async fn gemini_count(req: &Request, body: Bytes, state: &Arc<AppState>, model: &str) -> Response {
    let wire = Wire::Gemini { sse: false };
    if let Err(msg) = auth::check_client(state, req) {
        return wire.error(&Error::new(Kind::Authentication, msg));
    }
    // countTokens takes `contents` alone, or a whole `generateContentRequest`.
    let mut value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return wire.error(&Error::from_json(&e)),
    };
    let inner = value
        .get_mut("generateContentRequest")
        .map(std::mem::take)
        .unwrap_or(value);
    let creq = match wire.decode(inner.to_string().as_bytes(), state.as_ref(), model, false) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    count(wire, req, &body, state, creq, gemini_encode_count).await
}

fn gemini_encode_count(n: u64) -> Vec<u8> {
    crate::protocol::gemini::client::encode_count(n)
}

/// The Gemini model list (`GET /v1beta/models`).
#[handler]
pub async fn gemini_models(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return Wire::Gemini { sse: false }.error(&Error::new(Kind::Authentication, msg));
    }
    let snap = state.snapshot.load();
    let list: Vec<serde_json::Value> = scheduler::model_ids(&snap)
        .into_iter()
        .map(|id| serde_json::json!({"name": format!("models/{id}"), "displayName": id,
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"]}))
        .collect();
    json_response(serde_json::json!({"models": list}).to_string().into_bytes())
}

/// The client's own session id, from the headers clients send it in.
pub(super) fn session_header(req: &Request) -> Option<&str> {
    [
        "x-claude-code-session-id",
        "session-id",
        "session_id",
        "x-session-id",
    ]
    .iter()
    .find_map(|h| header(req, h))
}

async fn handle(wire: Wire, req: &Request, body: Bytes, state: &Arc<AppState>) -> Response {
    serve(wire, req, body, state, "", false, None).await
}

/// A Responses request from the WebSocket, served as if it were POSTed.
pub(super) async fn serve_responses(req: &Request, body: Bytes, state: &Arc<AppState>) -> Response {
    handle(Wire::OpenAiResponses, req, body, state).await
}

/// Serves one request: `path_model` and `stream` come from the path for
/// Gemini clients; `method` is the Gemini method a native upstream gets.
async fn serve(
    wire: Wire,
    req: &Request,
    body: Bytes,
    state: &Arc<AppState>,
    path_model: &str,
    stream: bool,
    method: Option<String>,
) -> Response {
    // Refusals are logged too: the Monitor shows what was turned away.
    let refuse = |model: &str, client_key: Option<String>, e: Error| {
        RequestLog::refused(state, wire.name(), model, client_key, &e);
        wire.error(&e)
    };
    let key = match auth::client_key(state, req) {
        Ok(k) => k,
        Err(msg) => return refuse(path_model, None, Error::new(Kind::Authentication, msg)),
    };
    let client_key = key.as_ref().map(|k| k.name.clone());
    let mut creq = match wire.decode(&body, state.as_ref(), path_model, stream) {
        Ok(r) => r,
        Err(e) => return refuse(path_model, client_key, e),
    };
    if let Some(key) = &key
        && let Err(e) = super::auth::admit_key(state, key, &creq.model).await
    {
        return refuse(&creq.model, client_key, e);
    }
    // `model-online`: the model, grounded on a web search.
    if let Some(base) = creq.model.strip_suffix("-online") {
        creq.model = base.to_string();
        creq.tools.push(crate::canonical::Tool::web_search());
    }
    let snap = state.snapshot.load_full();
    let settings = &snap.settings;
    let background = settings.background_downgrade
        && wire == Wire::Anthropic
        && anthropic::is_background_task(&creq, &settings.background_markers);
    let route = if background {
        // A cheap model answers; tools and thinking would only cost time.
        creq.reasoning = None;
        state.scheduler.resolve(&snap, &settings.background_model)
    } else {
        state.scheduler.resolve(&snap, &creq.model)
    };
    let route = match route {
        Ok(r) => r,
        Err(e) => return refuse(&creq.model, client_key, e),
    };
    let id = crate::util::request_id();
    if route.kind.descriptor().protocol == crate::protocol::Protocol::Gemini
        && crate::protocol::gemini::search_dropped(&creq, &route.model)
    {
        warn!(req = %id, model = %route.model, "web search dropped: this Gemini model cannot search beside function tools");
    }
    let session = session_key(session_header(req), &creq);
    let over_ws = req
        .extensions()
        .get::<super::responses_ws::OverWebSocket>()
        .is_some();
    let start = Start {
        protocol: if over_ws {
            "openai-responses-ws"
        } else {
            wire.name()
        },
        model: &creq.model,
        stream: creq.stream,
        background,
        client_key,
        session: &session,
        capture: Capture::new(&settings.log, req.headers(), &body),
    };
    let mut log = RequestLog::start(state.clone(), id.clone(), &route, start);
    // Native only when every account speaks the client's protocol (a Gemini
    // family may hold Code Assist accounts, which need the wrapping).
    // Gemini cannot fetch image addresses and no upstream can read the
    // client's files: levity fetches them, within its guard.
    let policy = provider::fetch::Policy {
        allow_hosts: settings.image_fetch_allow.clone(),
        files: settings.image_allow_files
            && req
                .remote_addr()
                .as_socket_addr()
                .is_some_and(|a| a.ip().is_loopback()),
        fetch_urls: route.kind.descriptor().needs_images_inline,
    };
    if let Err(e) = provider::fetch::inline_images(&mut creq, &policy).await {
        log.fail(&e, None);
        return wire.error(&e);
    }
    let native = wire.native() == Some(route.kind)
        && route.accounts.iter().all(|a| a.kind == route.kind)
        && !background;
    let forward = Forward {
        anthropic_version: header(req, "anthropic-version").map(str::to_string),
        anthropic_beta: header(req, "anthropic-beta").map(str::to_string),
        gemini_method: method.or_else(|| Some("generateContent".into())),
    };
    let plan = Plan::new(state, snap.clone(), route, session, id);
    let streamed = creq.stream;
    if creq.compaction {
        return match super::compact::compact(&plan, creq, &mut log).await {
            Ok(resp) => resp,
            Err(e) => {
                log.fail(&e, None);
                wire.error(&e)
            }
        };
    }
    let result = if native {
        passthrough(&plan, wire, &body, forward, creq, &mut log).await
    } else {
        translated(&plan, wire, creq, &mut log).await
    };
    match result {
        Ok(Reply::Done(body, usage)) => {
            log.response(&body);
            log.end(200, usage);
            json_response(body)
        }
        Ok(Reply::Streaming(resp)) => resp,
        // A prompt past the window, told to a streaming Responses client the
        // way it acts on: a failed response, so Codex compacts and retries.
        Err(e) if e.overflow.is_some() && wire == Wire::OpenAiResponses && streamed => {
            log.fail(&e, None);
            let body = crate::protocol::openai_responses::failed_stream(
                &plan.id,
                &plan.route.model,
                unix_now(),
                &e,
            );
            Response::builder()
                .content_type("text/event-stream")
                .header("cache-control", "no-cache")
                .body(body)
        }
        Err(e) => {
            log.fail(&e, None);
            wire.error(&e)
        }
    }
}

enum Reply {
    /// A complete answer (JSON); the log line can be written now.
    Done(Vec<u8>, Option<Usage>),
    /// A stream whose body writes the end line when it finishes.
    Streaming(Response),
}

/// Through the canonical model: any client protocol to any upstream kind.
async fn translated(
    plan: &Plan,
    wire: Wire,
    mut creq: CRequest,
    log: &mut RequestLog,
) -> Result<Reply, Error> {
    let model = plan.route.model.clone();
    let mut stripped = false;
    loop {
        let attempt = if creq.stream {
            match super::resume::open(plan, &creq, log).await {
                Ok((account, events)) => {
                    let encoder = wire.encoder(&model, &creq, unix_now(), plan.state.clone());
                    let kind = wire.stream_content_type();
                    // The request stays with the stream, to ask for the rest if it breaks.
                    // Not tracked at all when resuming is off.
                    let resume = (plan.snap.settings.stream_resumes > 0)
                        .then(|| Resume::new(plan.clone(), creq, account));
                    return Ok(Reply::Streaming(sse_response(
                        events,
                        encoder,
                        kind,
                        log.take(),
                        resume,
                    )));
                }
                Err(e) => Err(e),
            }
        } else {
            plan.run(log, |call| provider::generate(call, &creq))
                .await
                .map(|resp| {
                    let body = wire.encode_response(&resp, unix_now(), plan.state.as_ref());
                    Reply::Done(body, Some(resp.usage))
                })
        };
        match attempt {
            // Signatures are only sent where they came from, so this should not
            // happen; if an upstream refuses one anyway, retry once without.
            Err(e) if e.is_signature_refusal() && !stripped => {
                warn!(req = %plan.id, error = %e, "upstream refused a thinking signature; retrying without reasoning history");
                creq.strip_reasoning();
                stripped = true;
            }
            other => return other,
        }
    }
}

/// The client speaks the upstream's own protocol: its body goes through with
/// only the model renamed (and, for Anthropic, foreign signatures removed).
async fn passthrough(
    plan: &Plan,
    wire: Wire,
    body: &[u8],
    headers: Forward,
    creq: CRequest,
    log: &mut RequestLog,
) -> Result<Reply, Error> {
    let stream = creq.stream;
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| Error::from_json(&e))?;
    if wire.model_in_body() {
        value.insert(
            "model".into(),
            serde_json::Value::String(plan.route.model.clone()),
        );
    }
    if wire == Wire::Anthropic {
        anthropic::sanitize_native(&mut value);
    }
    // OpenAI-compatible hosts report a stream's usage only when asked
    // (`stream_options.include_usage`): levity asks, to count the tokens,
    // and keeps the extra chunk from a client that did not.
    let strip_usage = wire == Wire::OpenAiChat && stream && {
        let options = value
            .entry("stream_options")
            .or_insert_with(|| serde_json::json!({}));
        match options.as_object_mut() {
            Some(o) if o.get("include_usage") != Some(&serde_json::Value::Bool(true)) => {
                o.insert("include_usage".into(), true.into());
                true
            }
            _ => false,
        }
    };
    let body = serde_json::to_vec(&value).expect("serializable");
    let timeout = plan.timeout;
    let resumes = plan.snap.settings.stream_resumes > 0;
    if stream {
        let (inspector, head, bytes, account) = plan
            .run(log, |call| {
                let (body, headers) = (body.clone(), headers.clone());
                async move {
                    let resp = provider::forward(&call, body, &headers).await?;
                    expect_type(&resp, wire.stream_content_type())?;
                    let mut bytes = resp.bytes_stream();
                    // The first bytes decide whether this attempt worked.
                    match tokio::time::timeout(timeout, bytes.next()).await {
                        Ok(Some(Ok(first))) => {
                            // Unreadable from the start: another account may do better.
                            let mut inspector = wire.inspector();
                            if strip_usage {
                                inspector = inspector.without_usage_chunk();
                            }
                            if let Some(rewrite) = provider::native_rewrite(&call.acc) {
                                inspector = inspector.rewriting(rewrite);
                            }
                            if wire == Wire::Anthropic && resumes {
                                inspector = inspector.holding_tool_calls();
                            }
                            let head = inspector.feed(first)?;
                            Ok((inspector, head, bytes, call.acc.clone()))
                        }
                        Ok(Some(Err(e))) => {
                            Err(provider::transport_error(call.acc.name.as_str(), &e))
                        }
                        Ok(None) => Err(Error::new(
                            Kind::Upstream,
                            "the upstream closed the stream before sending anything",
                        )),
                        Err(_) => Err(Error::new(
                            Kind::Timeout,
                            "the upstream sent nothing in time",
                        )),
                    }
                }
            })
            .await?;
        // Gemini's SSE elements each stand alone, and Anthropic's blocks are
        // numbered (its tool-use blocks held back until whole): a break is
        // resumed in the client's own events. OpenAI's streams and Gemini's
        // JSON array end in the client's error event.
        let decoder: Option<Box<dyn crate::protocol::StreamDecode + Send>> = match wire {
            _ if !resumes => None,
            Wire::Gemini { sse: true } => Some(Box::new(
                crate::protocol::gemini::StreamDecoder::new(plan.id.clone(), &plan.route.model),
            )),
            Wire::Anthropic => Some(Box::new(anthropic::UpstreamDecoder::new(plan.id.clone()))),
            _ => None,
        };
        let tracker = decoder.map(|decoder| {
            let encoder = wire.encoder(&plan.route.model, &creq, unix_now(), plan.state.clone());
            Tracker::new(decoder, encoder, Resume::new(plan.clone(), creq, account))
        });
        return Ok(Reply::Streaming(pipe_response(
            wire,
            inspector,
            head,
            Box::pin(bytes),
            timeout,
            log.take(),
            tracker,
        )));
    }
    let (bytes, usage) = plan
        .run(log, |call| {
            let (body, headers) = (body.clone(), headers.clone());
            async move {
                let resp = provider::forward(&call, body, &headers).await?;
                expect_type(&resp, "application/json")?;
                let bytes = provider::read_whole(&call, resp).await?;
                // Passed through unparsed, but never unreadable.
                let usage = crate::protocol::passthrough::whole_answer(
                    call.acc.kind.descriptor().protocol,
                    &bytes,
                )?;
                let bytes = provider::native_rewrite(&call.acc)
                    .and_then(|rewrite| rewrite(&bytes))
                    .unwrap_or(bytes);
                Ok((bytes, usage))
            }
        })
        .await?;
    Ok(Reply::Done(bytes, usage))
}

/// An upstream answer of another kind than asked for (an HTML page from a
/// proxy or a captive portal) fails the attempt, so another account can try.
fn expect_type(resp: &reqwest::Response, expected: &str) -> Result<(), Error> {
    let got = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // No type at all is taken at its word; a different one is not.
    if got.is_empty() || got.starts_with(expected) {
        Ok(())
    } else {
        Err(Error::new(
            Kind::Upstream,
            format!("the upstream answered {got} where {expected} was expected"),
        ))
    }
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
    let creq = match wire.decode(&body, state.as_ref(), "", false) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    count(wire, req, &body, state, creq, |n| {
        serde_json::json!({"input_tokens": n})
            .to_string()
            .into_bytes()
    })
    .await
}

/// Counts a request's input tokens on an account that serves its model.
async fn count(
    wire: Wire,
    req: &Request,
    body: &[u8],
    state: &Arc<AppState>,
    creq: CRequest,
    encode: impl Fn(u64) -> Vec<u8>,
) -> Response {
    let client_key = auth::check_client(state, req).ok().flatten();
    let plan = match Plan::resolve(state, &creq.model, session_key(session_header(req), &creq)) {
        Ok(p) => p,
        Err(e) => return wire.error(&e),
    };
    let start = Start {
        protocol: "count-tokens",
        model: &creq.model,
        stream: false,
        background: false,
        client_key,
        session: &plan.session,
        capture: Capture::new(&plan.snap.settings.log, req.headers(), body),
    };
    let mut log = RequestLog::start(state.clone(), plan.id.clone(), &plan.route, start);
    match plan
        .run(&mut log, |call| provider::count_tokens(call, &creq))
        .await
    {
        Ok(n) => {
            let answer = encode(n);
            log.response(&answer);
            log.end(200, None);
            json_response(answer)
        }
        Err(e) => {
            log.fail(&e, None);
            wire.error(&e)
        }
    }
}

/// Claude Code posts its telemetry to the base URL it is given (`POST
/// /api/event_logging/batch`, seen in users' logs:
/// router-for-me/CLIProxyAPI#510, fuergaosi233/claude-code-proxy#65).
/// levity keeps none of it and calls no upstream; it answers, so the client
/// neither retries nor fills levity's log with 404s.
#[handler]
pub async fn event_logging() -> Response {
    json_response(b"{}".to_vec())
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
