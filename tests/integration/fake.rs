//! Fake upstreams on loopback: a Gemini API, an OpenAI-compatible host and
//! OpenAI's Responses API (`fake_responses.rs`) in one small hand-written
//! HTTP/1.1 server, so tests control every byte,
//! including the ways real upstreams fail (status codes with retry hints,
//! dropped connections, streams cut short or stalled).
//!
//! Replies follow the last user text: `reply X` answers X, `call NAME {json}`
//! calls a tool, anything else is echoed. A tool result is answered with
//! `tool result: {json}`. An API key containing `fail429`, `fail500`,
//! `fail401` or `failhtml` makes that account fail that way every time.
//!
//! Like the real services, the fake checks thinking signatures: Gemini 3
//! models refuse a current-turn function call without one, and both Gemini
//! and Anthropic refuse a signature they did not issue.

use crate::fake_responses as responses;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The body as text (form-encoded token requests are not JSON).
    pub raw: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted misbehaviour for the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    Status {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// Answer this status and body with these headers, written as given
    /// (a `Retry-After` of any form, however malformed).
    Headers {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Answer 200 with a JSON body this many bytes long, in chunks and
    /// without a length, as an upstream generating a huge answer does.
    Huge(usize),
    /// Close the connection without answering.
    Drop,
    /// Wait this long before answering.
    Delay(Duration),
    /// Send part of a stream, then close without a finish reason.
    Truncate,
    /// Send the first stream chunk, then wait for `Fake::release`.
    Gate,
    /// Answer 200 for a stream, then close before the first event.
    EmptyStream,
    /// Answer exactly this (status, content type, raw body), stream or not.
    Raw {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Promise a longer body than is sent, then close (a reset mid-answer).
    Partial,
    /// Send the first stream chunk (or half the body), then go silent for
    /// this long without closing.
    Stall(Duration),
    /// Wait this long before every stream chunk.
    Trickle(Duration),
    /// Wait, then fail as the inner fault says (requests that fail together).
    After(Duration, Box<Fault>),
    /// Send this many stream events, then close the connection: a reset
    /// in the middle of a long answer.
    CutAfter(usize),
    /// Send this many stream events, then the error event the provider
    /// documents for a failure mid-stream, then close.
    ErrorAfter(usize),
}

#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<VecDeque<Fault>>>,
    gate: Arc<Notify>,
    accepting: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
}

impl Fake {
    pub async fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Fake {
            addr: listener.local_addr().unwrap(),
            log: Arc::default(),
            script: Arc::default(),
            gate: Arc::new(Notify::new()),
            accepting: Arc::default(),
        };
        let f = fake.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let f = f.clone();
                tokio::spawn(async move { f.serve(sock).await });
            }
        });
        *fake.accepting.lock().unwrap() = Some(accepting.abort_handle());
        fake
    }

    /// Stops taking connections and closes the listener.
    pub fn stop(&self) {
        if let Some(h) = self.accepting.lock().unwrap().take() {
            h.abort();
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push(&self, fault: Fault) {
        self.script.lock().unwrap().push_back(fault);
    }

    pub fn release(&self) {
        self.gate.notify_one();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the fake upstream received a request")
    }

    async fn serve(&self, mut sock: TcpStream) {
        let Some(req) = read_request(&mut sock).await else {
            return;
        };
        if req.path == "/_requests" {
            let list: Vec<Value> = self
                .requests()
                .into_iter()
                .map(|r| json!({"method": r.method, "path": r.path, "headers": r.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), json!(v))).collect::<serde_json::Map<_, _>>(), "body": r.body}))
                .collect();
            return respond_json(&mut sock, 200, &json!(list)).await;
        }
        // Static files for image fetching.
        if req.method == "GET"
            && ["/image.png", "/page.html", "/moved", "/elsewhere"].contains(&req.path.as_str())
        {
            let (head, body): (String, &[u8]) = match req.path.as_str() {
                "/image.png" => ("200 OK\r\ncontent-type: image/png".into(), PNG),
                "/moved" => ("302 Found\r\nlocation: /image.png".into(), b""),
                // To another host name for the same machine.
                "/elsewhere" => (
                    format!(
                        "302 Found\r\nlocation: http://127.0.0.1:{}/image.png",
                        self.addr.port()
                    ),
                    b"",
                ),
                _ => ("200 OK\r\ncontent-type: text/html".into(), b"<html></html>"),
            };
            let head = format!(
                "HTTP/1.1 {head}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body).await;
            return;
        }
        if req.path == "/_reset" {
            self.log.lock().unwrap().clear();
            self.script.lock().unwrap().clear();
            return respond_json(&mut sock, 200, &json!({})).await;
        }
        self.log.lock().unwrap().push(req.clone());

        let key = req
            .header("x-goog-api-key")
            .or(req.header("x-api-key"))
            .or(req.header("authorization"))
            .unwrap_or("")
            .to_string();
        // OAuth and Code Assist setup calls answer before any scripted fault,
        // so a fault always hits the call a test aims it at.
        if req.path.ends_with("/token") {
            let (status, body) = token_answer(&req.raw);
            return respond_json(&mut sock, status, &body).await;
        }
        let code_assist = req.path.contains("/v1internal:");
        if code_assist && !key.starts_with("Bearer at-") {
            let body = json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}});
            return respond_json(&mut sock, 401, &body).await;
        }
        if code_assist && let Some(body) = code_assist_setup(&req.path, &key) {
            return respond_json(&mut sock, 200, &body).await;
        }
        let mut fault = self.script.lock().unwrap().pop_front();
        if fault.is_none() {
            fault = key_fault(&key).or_else(|| broken_key(&key, &req.path));
        }
        if let Some(Fault::After(wait, inner)) = fault {
            tokio::time::sleep(wait).await;
            fault = Some(*inner);
        }
        // Code Assist wraps the Gemini request; everything else reads it as is.
        let req = if code_assist {
            Recorded {
                body: req.body["request"].clone(),
                ..req
            }
        } else {
            req
        };
        let openai = req.path.ends_with("/chat/completions");
        let anthropic = req.path.starts_with("/v1/messages");
        let responses = responses::is_responses(&req.path);
        if responses && let Some(body) = responses::refusal(&req.body, &key) {
            return respond_json(&mut sock, 400, &body).await;
        }
        if req.path.contains(":countTokens") {
            let n = req.body.to_string().len() / 4;
            return respond_json(&mut sock, 200, &json!({"totalTokens": n})).await;
        }
        if req.path.starts_with("/v1/messages/count_tokens") {
            let n = req.body.to_string().len() / 4;
            return respond_json(&mut sock, 200, &json!({"input_tokens": n})).await;
        }
        let refusal = if anthropic {
            anthropic_refusal(&req.body)
        } else if openai || responses {
            None
        } else {
            gemini_refusal(&req.path, &req.body)
        };
        if let Some(message) = refusal {
            let body = if anthropic {
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
            } else {
                json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})
            };
            return respond_json(&mut sock, 400, &body).await;
        }
        match fault {
            Some(Fault::Drop) => return,
            Some(Fault::Raw {
                status,
                content_type,
                body,
            }) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                return;
            }
            Some(Fault::Status {
                status,
                body,
                retry_after,
            }) => {
                let headers = retry_after
                    .map(|s| ("retry-after", s.to_string()))
                    .into_iter()
                    .collect();
                return respond_raw(&mut sock, status, headers, &body).await;
            }
            Some(Fault::Headers {
                status,
                headers,
                body,
            }) => return respond_raw(&mut sock, status, headers, &body).await,
            Some(Fault::Huge(len)) => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"pad\": \"";
                let _ = sock.write_all(head.as_bytes()).await;
                let chunk = [b'x'; 64 * 1024];
                let mut left = len.saturating_sub(11);
                while left > 0 {
                    let n = left.min(chunk.len());
                    if sock.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = sock.write_all(b"\"}").await;
                return;
            }
            Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
            _ => {}
        }
        // Embeddings fail as scripted, like every call an account makes.
        if let Some((status, body)) = embeddings(&req.path, &req.body) {
            return respond_json(&mut sock, status, &body).await;
        }
        let streaming =
            req.path.contains(":streamGenerateContent") || req.body["stream"] == json!(true);
        let reply = if anthropic {
            let (before, prefill) = prefilled(&req.body, "messages", "assistant");
            continued(anthropic_reply(&before), &prefill)
        } else if responses {
            responses::reply(&req.body)
        } else if openai {
            reply_for(&req.body, openai)
        } else {
            let (before, prefill) = prefilled(&req.body, "contents", "model");
            continued(reply_for(&before, openai), &prefill)
        };
        if !streaming {
            if let Some(Fault::Partial | Fault::Stall(_)) = &fault {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n{\"candidates\": [";
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.flush().await;
                if let Some(Fault::Stall(d)) = fault {
                    tokio::time::sleep(d).await;
                }
                return;
            }
            let body = if openai {
                openai_body(&req.body, &reply)
            } else if responses {
                responses::body(&req.body, &reply, &key)
            } else if anthropic {
                anthropic_body(&req.body, &reply)
            } else if code_assist {
                json!({"response": gemini_body(&reply, &req.body), "traceId": "fake-trace"})
            } else {
                gemini_body(&reply, &req.body)
            };
            return respond_with(&mut sock, 200, &body, &quota_headers(&key)).await;
        }
        let events = if openai {
            openai_events(&req.body, &reply)
        } else if responses {
            responses::events(&req.body, &reply, &key)
        } else if anthropic {
            anthropic_events(&req.body, &reply)
        } else if code_assist {
            gemini_events(&reply, &req.body)
                .into_iter()
                .map(|e| format!("{{\"response\":{e},\"traceId\":\"fake-trace\"}}"))
                .collect()
        } else {
            gemini_events(&reply, &req.body)
        };
        // Gemini without `alt=sse` streams one JSON array, element by element.
        let array = !openai && !anthropic && !responses && !req.path.contains("alt=sse");
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {}\r\nconnection: close\r\n{}\r\n",
            if array {
                "application/json; charset=UTF-8"
            } else if responses {
                "text/event-stream; charset=utf-8"
            } else {
                "text/event-stream"
            },
            quota_headers(&key)
        );
        if sock.write_all(head.as_bytes()).await.is_err()
            || matches!(fault, Some(Fault::EmptyStream))
        {
            return;
        }
        let n = events.len();
        for (i, ev) in events.into_iter().enumerate() {
            if matches!(fault, Some(Fault::Truncate | Fault::Partial)) && i + 1 == n {
                return;
            }
            // A break comes a moment after the events before it, which the
            // client has by then.
            if matches!(fault, Some(Fault::CutAfter(k) | Fault::ErrorAfter(k)) if k == i) {
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            if matches!(fault, Some(Fault::CutAfter(k)) if k == i) {
                return;
            }
            if matches!(fault, Some(Fault::ErrorAfter(k)) if k == i) {
                let frame = mid_stream_error(anthropic, openai || responses);
                let _ = sock.write_all(frame.as_bytes()).await;
                return;
            }
            if let Some(Fault::Stall(d)) = fault
                && i == 1
            {
                tokio::time::sleep(d).await;
                return;
            }
            if let Some(Fault::Trickle(d)) = fault {
                tokio::time::sleep(d).await;
            }
            // Anthropic and Responses name each event on an `event:` line.
            let frame = if anthropic || responses {
                let kind: Value = serde_json::from_str(&ev).unwrap();
                format!("event: {}\ndata: {ev}\n\n", kind["type"].as_str().unwrap())
            } else if array {
                format!("{}{ev}\n", if i == 0 { "[" } else { ",\r\n" })
            } else {
                format!("data: {ev}\r\n\r\n")
            };
            if sock.write_all(frame.as_bytes()).await.is_err() {
                return;
            }
            let _ = sock.flush().await;
            if i == 0 && matches!(fault, Some(Fault::Gate)) {
                self.gate.notified().await;
            }
        }
        if openai {
            let _ = sock.write_all(b"data: [DONE]\n\n").await;
        } else if array {
            let _ = sock.write_all(b"]").await;
        }
    }
}

/// The fake OAuth token endpoint: refresh tokens containing `revoked` are
/// refused as Google refuses them; any other is good for an hour.
fn token_answer(form: &str) -> (u16, Value) {
    let field = |name: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .unwrap_or("")
            .to_string()
    };
    match field("grant_type").as_str() {
        "refresh_token" if field("refresh_token").contains("revoked") => (
            400,
            json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
        ),
        "refresh_token" => (
            200,
            json!({"access_token": format!("at-{}", field("refresh_token")), "expires_in": 3599, "token_type": "Bearer"}),
        ),
        "authorization_code" => (
            200,
            json!({"access_token": "at-new", "refresh_token": format!("rt-from-{}", field("code")), "expires_in": 3599}),
        ),
        _ => (400, json!({"error": "unsupported_grant_type"})),
    }
}

/// Code Assist's setup and quota calls. A token from a refresh token
/// containing `fresh` belongs to an account not yet onboarded; `lowquota`
/// has little quota left.
fn code_assist_setup(path: &str, key: &str) -> Option<Value> {
    let method = path.split("v1internal:").nth(1)?.split('?').next()?;
    Some(match method {
        "loadCodeAssist" if key.contains("fresh") => {
            json!({"allowedTiers": [{"id": "free-tier", "isDefault": true}]})
        }
        "loadCodeAssist" => {
            json!({"currentTier": {"id": "free-tier"}, "cloudaicompanionProject": "fake-project"})
        }
        "onboardUser" => {
            json!({"name": "operations/1", "done": true, "response": {"cloudaicompanionProject": {"id": "onboarded-project"}}})
        }
        "retrieveUserQuota" => {
            let fraction = if key.contains("lowquota") { 0.1 } else { 0.9 };
            json!({"buckets": [{"modelId": "gemini-2.5-flash", "tokenType": "REQUESTS", "remainingFraction": fraction, "resetTime": "2099-01-01T00:00:00Z"}]})
        }
        _ => return None,
    })
}

/// Rate-limit headers as OpenAI-style hosts send them, by key.
fn quota_headers(key: &str) -> String {
    let left = if key.contains("lowquota") {
        5
    } else if key.contains("highquota") {
        90
    } else {
        return String::new();
    };
    format!(
        "x-ratelimit-limit-requests: 100\r\nx-ratelimit-remaining-requests: {left}\r\nx-ratelimit-reset-requests: 60s\r\n"
    )
}

fn key_fault(key: &str) -> Option<Fault> {
    let google = |code: u16, status: &str| {
        json!({"error": {"code": code, "message": format!("scripted {status}"), "status": status,
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}})
        .to_string()
    };
    if key.contains("fail429") {
        Some(Fault::Status {
            status: 429,
            body: google(429, "RESOURCE_EXHAUSTED"),
            retry_after: None,
        })
    } else if key.contains("fail500") {
        Some(Fault::Status {
            status: 500,
            body: google(500, "INTERNAL"),
            retry_after: None,
        })
    } else if key.contains("fail401") {
        Some(Fault::Status {
            status: 401,
            body: google(401, "UNAUTHENTICATED"),
            retry_after: None,
        })
    } else if key.contains("failhtml") {
        Some(Fault::Status {
            status: 502,
            body: "<html><body>Bad gateway</body></html>".into(),
            retry_after: None,
        })
    } else {
        None
    }
}

/// A vector for `text`, `dims` long: its first value is the text's length
/// (so a test can tell which input a vector is for), the rest derive from
/// its bytes.
pub fn fake_vector(text: &str, dims: usize) -> Vec<f32> {
    let seed = text
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    (0..dims)
        .map(|i| match i {
            0 => text.len() as f32,
            _ => {
                ((seed.wrapping_add((i as u32).wrapping_mul(2_654_435_761)) % 1000) as f32) / 1000.0
                    - 0.5
            }
        })
        .collect()
}

/// Embedding calls, answered as the providers document them: Gemini's
/// `batchEmbedContents` (ai.google.dev/api/embeddings: each request names
/// the model of the path; at most 100; no token counts; 3,072 values by
/// default for gemini-embedding-001) and OpenAI's `/embeddings`
/// (platform.openai.com/docs/api-reference/embeddings: `data` with an
/// index each, `usage.prompt_tokens`; 1,536 values by default for
/// text-embedding-3-small). A model that is not an embedding model gets
/// Gemini's 404.
fn embeddings(path: &str, body: &Value) -> Option<(u16, Value)> {
    let invalid = |message: String| {
        (
            400,
            json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}),
        )
    };
    if let Some(model) = path
        .strip_suffix(":batchEmbedContents")
        .and_then(|p| p.rsplit_once("/models/"))
        .map(|(_, m)| m)
    {
        if !model.contains("embedding") {
            return Some((
                404,
                json!({"error": {"code": 404, "message": format!("models/{model} is not found for API version v1beta, or is not supported for batchEmbedContents. Call ListModels to see the list of available models and their supported methods."), "status": "NOT_FOUND"}}),
            ));
        }
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        if requests.len() > 100 {
            return Some(invalid(
                "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch"
                    .into(),
            ));
        }
        let mut out = Vec::new();
        // Each request names the path's model too; embeddings.rs checks what
        // levity sent rather than have the fake invent Gemini's refusal.
        for r in &requests {
            let dims = r["outputDimensionality"].as_u64().unwrap_or(3072) as usize;
            out.push(json!({"values": fake_vector(&content_text(&r["content"]["parts"][0]["text"]), dims)}));
        }
        return Some((200, json!({"embeddings": out})));
    }
    if !path.ends_with("/embeddings") {
        return None;
    }
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect(),
        // OpenAI's answer to an input of the wrong type, in its own envelope.
        _ => {
            return Some((
                400,
                json!({"error": {"message": "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "type": "invalid_request_error", "param": null, "code": null}}),
            ));
        }
    };
    let dims = body["dimensions"].as_u64().unwrap_or(1536) as usize;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_vector(t, dims)}))
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.len().div_ceil(4)).sum();
    Some((
        200,
        json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
    ))
}

/// Accounts broken the ways real upstreams report it, chosen by a word in
/// the key, answered with the bodies the providers send (the sources are
/// cited in `src/provider/taxonomy/`, whose tests hold the same bodies).
fn broken_key(key: &str, path: &str) -> Option<Fault> {
    let anthropic = path.starts_with("/v1/messages");
    // Responses fails over HTTP with Chat's envelope.
    let openai = path.ends_with("/chat/completions")
        || path.ends_with("/embeddings")
        || responses::is_responses(path);
    let (status, body): (u16, Value) = if key.contains("revoked") {
        if anthropic {
            (
                401,
                json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}, "request_id": "req_011CaJCR7Pm2Jh2LbWpBH5Y6"}),
            )
        } else if openai {
            (
                401,
                json!({"error": {"message": "Incorrect API key provided: sk-VKMIs***wjh3. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
            )
        } else {
            (
                400,
                json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT", "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": "API key not valid. Please pass a valid API key."}]}}),
            )
        }
    } else if key.contains("nocredit") {
        if anthropic {
            (
                400,
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}, "request_id": "req_011CbrFTcXhtiMzr3s6EocF7"}),
            )
        } else {
            // OpenAI's empty balance is a 429 (NextChat#3664); DeepSeek's a 402.
            (
                429,
                json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}),
            )
        }
    } else if key.contains("nobalance") {
        (
            402,
            json!({"error": {"message": "Insufficient Balance", "type": "unknown_error", "param": null, "code": "invalid_request_error"}}),
        )
    } else if key.contains("region") {
        (
            400,
            json!({"error": {"code": 400, "message": "User location is not supported for the API use.", "status": "FAILED_PRECONDITION"}}),
        )
    } else if key.contains("noapi") {
        (
            403,
            json!({"error": {"code": 403, "message": "Generative Language API has not been used in project 123 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123 then retry.", "status": "PERMISSION_DENIED", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com", "metadata": {"consumer": "projects/123", "service": "generativelanguage.googleapis.com"}}]}}),
        )
    } else if key.contains("perday") {
        (
            429,
            json!({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.", "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"}, "quotaValue": "250"}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "22s"}]}}),
        )
    } else if key.contains("toolong") {
        if anthropic {
            (
                400,
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 208310 tokens > 200000 maximum"}, "request_id": "req_011CVQe1dLrGNMJyE1ghG1av"}),
            )
        } else if openai {
            (
                400,
                json!({"error": {"message": "This model's maximum context length is 4096 tokens. However, you requested 4118 tokens (3000 in the messages, 1118 in the completion).", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
            )
        } else {
            (
                400,
                json!({"error": {"code": 400, "message": "The input token count (1196265) exceeds the maximum number of tokens allowed (1048575).", "status": "INVALID_ARGUMENT"}}),
            )
        }
    } else if key.contains("nomodel") {
        if anthropic {
            (
                404,
                json!({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-3-5-sonnet-20241022 "}}),
            )
        } else if openai {
            (
                404,
                json!({"error": {"message": "The model `gpt-4o` does not exist or you do not have access to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}}),
            )
        } else {
            (
                404,
                json!({"error": {"code": 404, "message": "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", "status": "NOT_FOUND"}}),
            )
        }
    } else {
        return None;
    };
    Some(Fault::Status {
        status,
        body: body.to_string(),
        retry_after: None,
    })
}

/// What the fake model says, decided by the conversation's last turn.
#[derive(Debug)]
pub enum Reply {
    Text(String),
    Call { name: String, args: Value },
}

/// The newest command in a block of text: a line that starts with one
/// (clients put their context around the prompt, in the same block or not).
pub fn command_in(text: &str) -> Option<Reply> {
    text.lines().rev().find_map(|l| command(l.trim_end()))
}

pub fn command(text: &str) -> Option<Reply> {
    if let Some(rest) = text.strip_prefix("call ") {
        let (name, args) = rest.split_once(' ').unwrap_or((rest, "{}"));
        return Some(Reply::Call {
            name: name.into(),
            args: serde_json::from_str(args).unwrap_or(json!({})),
        });
    }
    text.strip_prefix("reply ")
        .map(|rest| Reply::Text(rest.into()))
}

/// A message's text in the OpenAI shapes: a string, or parts with `text`.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn reply_for(body: &Value, openai: bool) -> Reply {
    if openai {
        let last = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .unwrap_or_default();
        if last["role"] == "tool" {
            return Reply::Text(format!(
                "tool result: {}",
                last["content"].as_str().unwrap_or("")
            ));
        }
        let text = content_text(&last["content"]);
        return command(&text).unwrap_or_else(|| Reply::Text(format!("openai echo: {text}")));
    }
    let last = body["contents"]
        .as_array()
        .and_then(|c| c.last())
        .cloned()
        .unwrap_or_default();
    let parts = last["parts"].as_array().cloned().unwrap_or_default();
    if let Some(resp) = parts.iter().find_map(|p| p.get("functionResponse")) {
        return Reply::Text(format!("tool result: {}", resp["response"]));
    }
    let text: String = parts
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let images = parts
        .iter()
        .filter(|p| p.get("inlineData").is_some() || p.get("fileData").is_some())
        .count();
    // Clients wrap the prompt in context parts (Claude Code's reminders): a
    // command is any part that starts with one; the newest one counts (a
    // compacted history keeps the user's earlier messages in the same turn).
    if let Some(reply) = parts
        .iter()
        .rev()
        .filter_map(|p| p["text"].as_str())
        .find_map(command_in)
    {
        return reply;
    }
    if body["generationConfig"]["responseMimeType"] == "application/json" {
        return Reply::Text(json!({"echo": text}).to_string());
    }
    let mut out = format!("echo: {text}");
    if images > 0 {
        out.push_str(&format!(" [images: {images}]"));
    }
    Reply::Text(out)
}

/// A conversation holding this word reports a context nearly full (190,000
/// input tokens), so that clients compact as they would in a long session.
pub const BIG_CONTEXT: &str = "BIGCONTEXT";
const BIG_INPUT: u64 = 995_000;

fn input_tokens(body: &Value, normal: u64) -> u64 {
    if body.to_string().contains(BIG_CONTEXT) {
        BIG_INPUT
    } else {
        normal
    }
}

fn usage(body: &Value, reply_len: usize) -> Value {
    let thinking = body["generationConfig"]["thinkingConfig"].is_object();
    let input = input_tokens(body, (body.to_string().len() / 4) as u64);
    json!({
        "promptTokenCount": input,
        "candidatesTokenCount": reply_len / 4 + 1,
        "thoughtsTokenCount": if thinking { 5 } else { 0 },
        "totalTokenCount": input + (reply_len / 4 + 1) as u64,
    })
}

/// The bytes the fake serves as `/image.png` (a PNG signature and a header).
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRfake";

/// Search grounding, when the request asked for Google Search.
fn grounding(req: &Value) -> Option<Value> {
    let searched = req["tools"]
        .as_array()?
        .iter()
        .any(|t| t.get("googleSearch").is_some());
    searched.then(|| json!({"groundingChunks": [{"web": {"uri": "https://example.org/levity", "title": "example.org"}}],
        "groundingSupports": [{"segment": {"text": "cited"}, "groundingChunkIndices": [0]}]}))
}

/// Signatures this fake Gemini issues, and so accepts back.
pub const GEMINI_CALL_SIG: &str = "c2lnbmF0dXJl";
pub const GEMINI_TEXT_SIG: &str = "dGV4dHNpZw==";
pub const ANTHROPIC_SIG: &str = "EqQBCkgIAhABGAIiQFAKE";

fn thinking(body: &Value) -> bool {
    body["generationConfig"]["thinkingConfig"]["includeThoughts"] == json!(true)
}

fn thought_parts(body: &Value) -> Vec<Value> {
    if thinking(body) {
        vec![json!({"text": "thinking it over", "thought": true})]
    } else {
        Vec::new()
    }
}

fn text_part(body: &Value, text: &str) -> Value {
    if thinking(body) {
        json!({"text": text, "thoughtSignature": GEMINI_TEXT_SIG})
    } else {
        json!({"text": text})
    }
}

/// What real Gemini refuses about signatures in a request, if anything.
fn gemini_refusal(path: &str, body: &Value) -> Option<String> {
    let contents = body["contents"].as_array()?;
    for c in contents {
        for p in c["parts"].as_array().into_iter().flatten() {
            if let Some(sig) = p["thoughtSignature"].as_str()
                && ![
                    GEMINI_CALL_SIG,
                    GEMINI_TEXT_SIG,
                    "skip_thought_signature_validator",
                ]
                .contains(&sig)
            {
                return Some("Thought signature is not valid.".into());
            }
        }
    }
    if !path.contains("gemini-3") {
        return None;
    }
    // The current turn: everything after the last user message with text.
    let start = contents
        .iter()
        .rposition(|c| {
            c["role"] == "user"
                && c["parts"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p.get("text").is_some()))
        })
        .unwrap_or(0);
    for (i, c) in contents.iter().enumerate().skip(start) {
        let parts = c["parts"].as_array().cloned().unwrap_or_default();
        if let Some(first_call) = parts.iter().find(|p| p.get("functionCall").is_some())
            && first_call.get("thoughtSignature").is_none()
        {
            return Some(format!(
                "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:x` , position {i}."
            ));
        }
    }
    None
}

fn gemini_body(reply: &Reply, req: &Value) -> Value {
    let mut parts = thought_parts(req);
    // Image models draw when asked for the IMAGE modality.
    let modalities = req["generationConfig"]["responseModalities"].to_string();
    if modalities.contains("IMAGE") {
        use base64::Engine;
        parts.push(json!({"inlineData": {"mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(PNG)}}));
    }
    let len = match reply {
        Reply::Text(t) => {
            parts.push(text_part(req, t));
            t.len()
        }
        Reply::Call { name, args } => {
            parts.push(json!({"functionCall": {"name": name, "args": args}, "thoughtSignature": GEMINI_CALL_SIG}));
            10
        }
    };
    let mut candidate =
        json!({"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0});
    if let Some(g) = grounding(req) {
        candidate["groundingMetadata"] = g;
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": usage(req, len),
        "modelVersion": "gemini-fake-001",
        "responseId": response_id(),
    })
}

/// A new id for each answer, as Gemini's `responseId` and Anthropic's
/// message id are (every chunk of one stream carries the same): Claude Code
/// groups a conversation's messages by id when it resumes one.
fn response_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!(
        "fakeresp{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn gemini_events(reply: &Reply, req: &Value) -> Vec<String> {
    let mut events = Vec::new();
    let id = response_id();
    let chunk = |parts: Vec<Value>, finish: Option<&str>, usage: Option<Value>| {
        let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}], "modelVersion": "gemini-fake-001", "responseId": id});
        if let Some(f) = finish {
            if let Some(g) = grounding(req) {
                c["candidates"][0]["groundingMetadata"] = g;
            }
            c["candidates"][0]["finishReason"] = json!(f);
        }
        if let Some(u) = usage {
            c["usageMetadata"] = u;
        }
        c.to_string()
    };
    let thoughts = thought_parts(req);
    if !thoughts.is_empty() {
        events.push(chunk(thoughts, None, None));
    }
    match reply {
        Reply::Text(t) => {
            let chars: Vec<char> = t.chars().collect();
            let pieces: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
            let n = pieces.len();
            for (i, p) in pieces.into_iter().enumerate() {
                let last = i + 1 == n;
                let part = if i == 0 {
                    text_part(req, &p)
                } else {
                    json!({"text": p})
                };
                events.push(chunk(
                    vec![part],
                    last.then_some("STOP"),
                    last.then(|| usage(req, t.len())),
                ));
            }
        }
        Reply::Call { name, args } => {
            if prefilled(req, "contents", "model").1.is_empty() {
                events.push(chunk(vec![json!({"text": "Let me check. "})], None, None));
            }
            events.push(chunk(
                vec![json!({"functionCall": {"name": name, "args": args}, "thoughtSignature": GEMINI_CALL_SIG})],
                Some("STOP"),
                Some(usage(req, 10)),
            ));
        }
    }
    events
}

/// DeepSeek-style reasoners answer with `reasoning_content` first.
fn reasoner(req: &Value) -> bool {
    req["model"]
        .as_str()
        .is_some_and(|m| m.contains("reasoner"))
}

fn openai_body(req: &Value, reply: &Reply) -> Value {
    let mut message = match reply {
        Reply::Text(text) => json!({"role": "assistant", "content": text}),
        Reply::Call { name, args } => json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_fake_1", "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}),
    };
    if reasoner(req) {
        message["reasoning_content"] = json!("reasoning it out");
    }
    let finish = if matches!(reply, Reply::Call { .. }) {
        "tool_calls"
    } else {
        "stop"
    };
    json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": req["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14,
            "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 0}},
    })
}

fn openai_events(req: &Value, reply: &Reply) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": req["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    if reasoner(req) {
        out.push(chunk(
            json!({"reasoning_content": "reasoning "}),
            Value::Null,
        ));
        out.push(chunk(json!({"reasoning_content": "it out"}), Value::Null));
    }
    match reply {
        Reply::Text(text) => {
            out.push(chunk(json!({"content": text}), Value::Null));
            out.push(chunk(json!({}), json!("stop")));
        }
        Reply::Call { name, args } => {
            let args = args.to_string();
            let (a, b) = args.split_at(args.len() / 2);
            out.push(chunk(json!({"tool_calls": [{"index": 0, "id": "call_fake_1", "type": "function", "function": {"name": name, "arguments": a}}]}), Value::Null));
            out.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": b}}]}),
                Value::Null,
            ));
            out.push(chunk(json!({}), json!("tool_calls")));
        }
    }
    // Only when asked: "an additional chunk will be streamed before the
    // data: [DONE] message ... the choices field will always be an empty
    // array" (platform.openai.com/docs/api-reference/chat/create,
    // stream_options.include_usage).
    if req["stream_options"]["include_usage"] == json!(true) {
        out.push(json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": req["model"], "choices": [],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14,
                "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 0}}}).to_string());
    }
    out
}

/// A trailing turn of `role` in the `list` of turns (a prefill): the
/// request without it, and its text.
fn prefilled(body: &Value, list: &str, role: &str) -> (Value, String) {
    let turns = body[list].as_array().cloned().unwrap_or_default();
    match turns.split_last() {
        Some((last, rest)) if last["role"] == role => {
            let text = match &last["content"] {
                Value::String(s) => s.clone(),
                Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
                _ => last["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["text"].as_str())
                    .collect(),
            };
            let mut before = body.clone();
            before[list] = json!(rest);
            (before, text)
        }
        _ => (body.clone(), String::new()),
    }
}

/// The reply to a prefilled turn: what follows the prefill, as a model
/// continues its own words (a call's lead-in text is left out where the
/// events are made).
fn continued(reply: Reply, prefill: &str) -> Reply {
    match reply {
        Reply::Text(t) if !prefill.is_empty() && t.starts_with(prefill) => {
            Reply::Text(t[prefill.len()..].to_string())
        }
        other => other,
    }
}

/// The error event a provider documents for a failure mid-stream:
/// Anthropic's `overloaded_error` (docs.anthropic.com, "Streaming
/// Messages", error events); Gemini's stream element holding only its error
/// body, as google-genai reads it (issues report `INTERNAL` mid-stream);
/// OpenAI's `error` object in a data line.
fn mid_stream_error(anthropic: bool, openai: bool) -> String {
    if anthropic {
        let e = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        format!("event: error\ndata: {e}\n\n")
    } else if openai {
        let e = json!({"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null}});
        format!("data: {e}\n\n")
    } else {
        let e = json!({"error": {"code": 500, "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "status": "INTERNAL"}});
        format!("data: {e}\r\n\r\n")
    }
}

/// The fake Claude: the same commands, read from Anthropic content blocks.
fn anthropic_reply(body: &Value) -> Reply {
    // The last turn: the messages after the last assistant one (Claude Code
    // sends its environment as a `system` message after the prompt).
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let start = messages
        .iter()
        .rposition(|m| m["role"] == "assistant")
        .map_or(0, |i| i + 1);
    let blocks: Vec<Value> = messages[start.min(messages.len())..]
        .iter()
        .flat_map(|m| match &m["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(b) => b.clone(),
            _ => Vec::new(),
        })
        .collect();
    if let Some(result) = blocks.iter().find(|b| b["type"] == "tool_result") {
        let content = match &result["content"] {
            Value::String(s) => s.clone(),
            Value::Array(b) => b
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        };
        return Reply::Text(format!("tool result: {content}"));
    }
    if let Some(reply) = blocks
        .iter()
        .rev()
        .filter_map(|b| b["text"].as_str())
        .find_map(command_in)
    {
        return reply;
    }
    let text = blocks
        .iter()
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Reply::Text(format!("claude echo: {text}"))
}

/// What real Anthropic refuses about thinking in a request, if anything.
fn anthropic_refusal(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    // A prefill: its text may not end in whitespace, and with thinking on
    // the final assistant turn must start with a thinking block (both
    // errors as the API words them in users' reports).
    if let Some(last) = messages.last().filter(|m| m["role"] == "assistant") {
        let first = match &last["content"] {
            Value::Array(b) => b.first().cloned().unwrap_or_default(),
            v => json!({"type": "text", "text": v}),
        };
        let text: String = match &last["content"] {
            Value::String(s) => s.clone(),
            Value::Array(b) => b.iter().filter_map(|b| b["text"].as_str()).collect(),
            _ => String::new(),
        };
        if text.ends_with(char::is_whitespace) {
            return Some(
                "messages: final assistant content cannot end with trailing whitespace".into(),
            );
        }
        if body["thinking"]["type"] == "enabled"
            && first["type"] != "thinking"
            && first["type"] != "redacted_thinking"
        {
            let n = messages.len() - 1;
            return Some(format!(
                "messages.{n}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.",
                first["type"].as_str().unwrap_or("text")
            ));
        }
    }
    for m in messages {
        for b in m["content"].as_array().into_iter().flatten() {
            if b["type"] == "thinking" && b["signature"] != ANTHROPIC_SIG {
                return Some(
                    "messages.1.content.0: Invalid `signature` in `thinking` block".into(),
                );
            }
        }
    }
    if body["thinking"]["type"] == "enabled" {
        let last = messages.iter().rev().find(|m| m["role"] == "assistant");
        if let Some(blocks) = last.and_then(|m| m["content"].as_array())
            && blocks.iter().any(|b| b["type"] == "tool_use")
            && blocks
                .first()
                .is_some_and(|b| b["type"] != "thinking" && b["type"] != "redacted_thinking")
        {
            let found = blocks[0]["type"].as_str().unwrap_or("");
            return Some(format!(
                "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`."
            ));
        }
    }
    None
}

fn anthropic_blocks(req: &Value, reply: &Reply) -> Vec<Value> {
    let mut blocks = Vec::new();
    if req["thinking"]["type"] == "enabled" {
        blocks.push(
            json!({"type": "thinking", "thinking": "claude thinking", "signature": ANTHROPIC_SIG}),
        );
    }
    blocks.push(match reply {
        Reply::Text(t) => json!({"type": "text", "text": t}),
        Reply::Call { name, args } => {
            json!({"type": "tool_use", "id": "toolu_fake_1", "name": name, "input": args})
        }
    });
    blocks
}

fn anthropic_body(req: &Value, reply: &Reply) -> Value {
    let stop = if matches!(reply, Reply::Call { .. }) {
        "tool_use"
    } else {
        "end_turn"
    };
    json!({"id": format!("msg_{}", response_id()), "type": "message", "role": "assistant", "model": req["model"],
        "content": anthropic_blocks(req, reply), "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": input_tokens(req, 12), "output_tokens": 6, "cache_read_input_tokens": 3}})
}

fn anthropic_events(req: &Value, reply: &Reply) -> Vec<String> {
    let mut out = vec![
        json!({"type": "message_start", "message": {"id": format!("msg_{}", response_id()), "type": "message", "role": "assistant",
        "model": req["model"], "content": [], "stop_reason": null, "usage": {"input_tokens": input_tokens(req, 12), "output_tokens": 1}}}),
    ];
    for (i, block) in anthropic_blocks(req, reply).into_iter().enumerate() {
        match block["type"].as_str().unwrap() {
            "thinking" => {
                out.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}));
                out.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}));
                out.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": block["signature"]}}));
            }
            "text" => {
                out.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}));
                // A long text comes in pieces, as Claude streams it.
                let text: Vec<char> = block["text"].as_str().unwrap().chars().collect();
                let size = if text.len() > 100 {
                    16
                } else {
                    text.len().max(1)
                };
                for piece in text.chunks(size) {
                    let piece: String = piece.iter().collect();
                    out.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}}));
                }
            }
            _ => {
                out.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}));
                let args = block["input"].to_string();
                let (a, b) = args.split_at(args.len() / 2);
                out.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": a}}));
                out.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": b}}));
            }
        }
        out.push(json!({"type": "content_block_stop", "index": i}));
    }
    let stop = if matches!(reply, Reply::Call { .. }) {
        "tool_use"
    } else {
        "end_turn"
    };
    out.push(json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 6}}));
    out.push(json!({"type": "message_stop"}));
    out.into_iter().map(|v| v.to_string()).collect()
}

async fn read_request(sock: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let raw = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Some(Recorded {
        raw,
        method,
        path,
        headers,
        body,
    })
}

/// A failure answer: `status`, the body typed by its first byte, and
/// `headers` as given.
async fn respond_raw(
    sock: &mut TcpStream,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: &str,
) {
    let kind = if body.starts_with('<') {
        "text/html"
    } else {
        "application/json"
    };
    let mut head = format!(
        "HTTP/1.1 {status} Error\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
}

async fn respond_json(sock: &mut TcpStream, status: u16, body: &Value) {
    respond_with(sock, status, body, "").await
}

async fn respond_with(sock: &mut TcpStream, status: u16, body: &Value, extra_headers: &str) {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
}
