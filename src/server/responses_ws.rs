//! OpenAI Responses over a WebSocket (`GET /v1/responses`, upgraded), as
//! Codex's built-in OpenAI provider speaks it: each text frame from the
//! client is `{"type": "response.create", ...}` with a Responses body inline
//! (plus `previous_response_id`, `generate`, `client_metadata`), and each
//! answer is the same events as the SSE stream, one JSON event per text
//! frame, ending with `response.completed`. One response at a time; many
//! over one connection. Sources: codex-rs/codex-api/src/common.rs
//! (`ResponsesWsRequest`), endpoint/responses_websocket.rs.
//!
//! With `store: false`, Codex continues on the same connection with
//! `previous_response_id` and only the new input items: the connection
//! keeps the last request's full input and the output items it answered
//! with, and puts them back in front. `generate: false` is a warm-up: it is
//! answered with an empty response and becomes that baseline.
//!
//! Each request goes through the same code as `POST /v1/responses`, so
//! scheduling, translation, compaction and the request log are the same.
//! The client key and the Origin are checked before the upgrade.

use super::AppState;
use super::auth;
use super::wire::Wire;
use crate::error::{Error, Kind};
use crate::protocol::sse;
use futures_util::{SinkExt, StreamExt};
use poem::http::{HeaderMap, HeaderValue, Method, header};
use poem::web::Data;
use poem::web::websocket::{CloseCode, Message, WebSocket, WebSocketStream};
use poem::{IntoResponse, Request, Response, handler};
use serde_json::{Value, json};
use std::sync::Arc;

/// Headers of the upgrade request that each request on the socket carries
/// on (the client key, Codex's session ids for stickiness).
const CARRIED: &[&str] = &[
    "authorization",
    "x-api-key",
    "session-id",
    "session_id",
    "thread-id",
    "x-client-request-id",
    "user-agent",
    "host",
];

#[handler]
pub async fn responses_ws(
    req: &Request,
    ws: Result<WebSocket, poem::Error>,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let wire = Wire::OpenAiResponses;
    if let Err(msg) = auth::check_client(state, req) {
        return wire.error(&Error::new(Kind::Authentication, msg));
    }
    let Ok(ws) = ws else {
        return wire.error(&Error::new(
            Kind::InvalidRequest,
            "GET /v1/responses is the Responses WebSocket: open it with `Upgrade: websocket`, \
             or POST the request",
        ));
    };
    let mut headers = HeaderMap::new();
    for name in CARRIED {
        if let Some(v) = req.headers().get(*name) {
            headers.insert(*name, v.clone());
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let state = state.clone();
    ws.on_upgrade(move |socket| serve_socket(socket, headers, state))
        .into_response()
}

/// Marks a request that came over the WebSocket (a request extension, which
/// no client can set), for the request log.
#[derive(Clone, Copy)]
pub struct OverWebSocket;

/// The last answer on a connection: what `previous_response_id` refers to.
struct Last {
    id: String,
    /// Its full input, then the output items it answered with.
    history: Vec<Value>,
}

type Sink = futures_util::stream::SplitSink<WebSocketStream, Message>;

async fn serve_socket(socket: WebSocketStream, headers: HeaderMap, state: Arc<AppState>) {
    let (mut sink, mut stream) = socket.split();
    let mut last: Option<Last> = None;
    while let Some(msg) = stream.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Binary(_)) => {
                let _ = sink
                    .send(Message::close_with(
                        CloseCode::Unsupported,
                        "send response.create as a text frame",
                    ))
                    .await;
                return;
            }
            Ok(Message::Close(_)) | Err(_) => return,
            Ok(_) => continue,
        };
        if text.len() as u64 > super::MAX_BODY {
            let _ = sink
                .send(Message::close_with(
                    CloseCode::Size,
                    "the request is larger than levity takes",
                ))
                .await;
            return;
        }
        let sent = match answer(&text, &headers, &state, &mut last, &mut sink).await {
            Ok(sent) => sent,
            Err(e) => sink.send(Message::Text(error_frame(&e))).await.is_ok(),
        };
        if !sent {
            return;
        }
    }
}

/// An error as Codex reads it on the socket: `type: error` with the HTTP
/// status it would have had (without one, Codex ignores the frame).
fn error_frame(e: &Error) -> String {
    json!({"type": "error", "status": e.status(),
        "error": {"type": error_type(e.kind), "code": error_type(e.kind), "message": e.message}})
    .to_string()
}

fn error_type(kind: Kind) -> &'static str {
    match kind {
        Kind::InvalidRequest | Kind::NotJson | Kind::TooLarge => "invalid_request_error",
        Kind::Authentication => "invalid_api_key",
        Kind::RateLimited => "rate_limit_exceeded",
        Kind::NotFound => "model_not_found",
        _ => "server_error",
    }
}

/// A response with no model call (a warm-up): created, then completed.
fn empty_response(id: &str, model: &Value) -> [String; 2] {
    let response = |status: &str| {
        json!({"id": id, "object": "response", "status": status, "model": model, "output": [],
            "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}})
    };
    [
        json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress")}).to_string(),
        json!({"type": "response.completed", "sequence_number": 1, "response": response("completed")}).to_string(),
    ]
}

/// Answers one `response.create`, frame by frame as the answer arrives;
/// whether the socket still takes frames. An error before the answer
/// starts is returned, for an error frame.
async fn answer(
    text: &str,
    headers: &HeaderMap,
    state: &Arc<AppState>,
    last: &mut Option<Last>,
    sink: &mut Sink,
) -> Result<bool, Error> {
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(text) else {
        return Err(Error::invalid("each frame must be a JSON object"));
    };
    match body.get("type").and_then(Value::as_str) {
        Some("response.create") => {}
        // Codex's acknowledgement of a finished response: nothing to do.
        Some("response.processed") => return Ok(true),
        other => {
            return Err(Error::invalid_param(
                "type",
                format!("unknown frame type {other:?}; send `response.create`"),
            ));
        }
    }
    for k in ["type", "client_metadata"] {
        body.remove(k);
    }
    let previous = body
        .remove("previous_response_id")
        .and_then(|v| v.as_str().map(str::to_string));
    let generate = body.remove("generate").and_then(|v| v.as_bool()) != Some(false);
    let new_input = match body.remove("input") {
        Some(Value::Array(items)) => items,
        Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
        _ => Vec::new(),
    };
    let mut input = match (&previous, last.take()) {
        (None, _) => Vec::new(),
        (Some(p), Some(l)) if *p == l.id => l.history,
        (Some(p), _) => {
            return Err(Error::invalid_param(
                "previous_response_id",
                format!(
                    "previous response `{p}` is not the last one on this connection; send the \
                     whole input"
                ),
            ));
        }
    };
    input.extend(new_input);
    if !generate {
        let id = format!(
            "resp_{}",
            crate::util::hex(&crate::store::random_bytes::<12>())
        );
        for frame in empty_response(&id, body.get("model").unwrap_or(&Value::Null)) {
            if sink.send(Message::Text(frame)).await.is_err() {
                return Ok(false);
            }
        }
        *last = Some(Last { id, history: input });
        return Ok(true);
    }
    body.insert("input".into(), Value::Array(input.clone()));
    body.insert("stream".into(), Value::Bool(true));
    let body = Value::Object(body).to_string();
    // The history a connection keeps grows with every continuation: the
    // whole request is held to the cap a POSTed body has, so a client
    // cannot grow it without bound.
    if body.len() as u64 > super::MAX_BODY {
        return Err(Error::new(
            Kind::TooLarge,
            "the conversation on this connection is larger than levity takes; start a new one",
        ));
    }
    let mut req = Request::builder()
        .method(Method::POST)
        .uri_str("/v1/responses")
        .finish();
    *req.headers_mut() = headers.clone();
    req.extensions_mut().insert(OverWebSocket);
    let resp = super::proxy::serve_responses(&req, body.into(), state).await;
    let status = resp.status().as_u16();
    if status != 200 {
        let error: Value =
            serde_json::from_slice(&resp.into_body().into_vec().await.unwrap_or_default())
                .unwrap_or_default();
        let frame = json!({"type": "error", "status": status, "error": error["error"]});
        return Ok(sink.send(Message::Text(frame.to_string())).await.is_ok());
    }
    // The SSE stream as it comes, one event per frame; the output items and
    // the response id are kept for a continuation.
    let mut parser = sse::Parser::default();
    let (mut datas, mut output, mut completed) = (Vec::new(), Vec::new(), None);
    let mut stream = resp.into_body().into_bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        if parser.feed(&chunk, &mut datas).is_err() {
            break;
        }
        for data in datas.drain(..) {
            if let Ok(event) = serde_json::from_slice::<Event>(&data) {
                match event.kind.as_str() {
                    "response.output_item.done" => output.extend(event.item),
                    "response.completed" => completed = event.response.and_then(|r| r.id),
                    _ => {}
                }
            }
            let frame = String::from_utf8_lossy(&data).into_owned();
            if sink.send(Message::Text(frame)).await.is_err() {
                return Ok(false);
            }
        }
    }
    if let Some(id) = completed {
        input.extend(output);
        *last = Some(Last { id, history: input });
    }
    Ok(true)
}

/// The parts of a stream event a continuation needs.
#[derive(serde::Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    item: Option<Value>,
    response: Option<EventResponse>,
}

#[derive(serde::Deserialize)]
struct EventResponse {
    id: Option<String>,
}
