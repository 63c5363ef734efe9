//! One request's log lines: a start line when it arrives, a line per failed
//! attempt (from the attempt loop), and an end line saying which account
//! served it, why the scheduler chose it, and after how many attempts; or a
//! cancel line if the client goes away first. The end also goes to the
//! Monitor and the request log. Never a secret.

use super::AppState;
use super::monitor::{Attempt, Entry};
use crate::canonical::Usage;
use crate::config::LogSettings;
use crate::error::{Blame, Error};
use crate::scheduler::{Effect, Route};
use crate::store::{Account, ProviderKind, hint};
use crate::util::now_ms;
use poem::http::HeaderMap;
use std::sync::Arc;
use std::time::Instant;
use tracing::info;

/// What a request is, for its log lines.
pub struct Start<'a> {
    pub protocol: &'static str,
    pub model: &'a str,
    pub stream: bool,
    pub background: bool,
    pub client_key: Option<String>,
    /// The session key the scheduler sticks by.
    pub session: &'a str,
    /// The bodies, when body logging is on.
    pub capture: Option<Box<Capture>>,
}

/// Headers whose values are credentials: kept only as a hint.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
];

/// A request's headers and bodies as they passed, up to a size each; kept
/// when body logging is on. Redacted later, off the request path.
#[derive(Debug, Default)]
pub struct Capture {
    limit: usize,
    pub headers: Vec<(String, String)>,
    pub request: Vec<u8>,
    pub request_cut: bool,
    pub response: Vec<u8>,
    pub response_cut: bool,
}

impl Capture {
    pub fn new(log: &LogSettings, headers: &HeaderMap, body: &[u8]) -> Option<Box<Capture>> {
        if !log.bodies {
            return None;
        }
        let headers = headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes());
                let v = if SECRET_HEADERS.contains(&k.as_str()) {
                    hint(v.trim_start_matches("Bearer ").trim())
                } else {
                    v.into_owned()
                };
                (k.as_str().to_string(), v)
            })
            .collect();
        let mut c = Capture {
            limit: log.body_max,
            headers,
            ..Capture::default()
        };
        c.request_cut = keep(&mut c.request, body, c.limit);
        Some(Box::new(c))
    }

    fn response(&mut self, bytes: &[u8]) {
        self.response_cut |= keep(&mut self.response, bytes, self.limit);
    }
}

/// Appends to `buf` up to `limit` bytes in all; whether anything was cut.
fn keep(buf: &mut Vec<u8>, bytes: &[u8], limit: usize) -> bool {
    let room = limit.saturating_sub(buf.len());
    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    bytes.len() > room
}

pub struct RequestLog {
    state: Option<Arc<AppState>>,
    pub id: String,
    protocol: &'static str,
    stream: bool,
    background: bool,
    client_key: Option<String>,
    session: String,
    account: String,
    account_id: String,
    account_kind: ProviderKind,
    why: &'static str,
    attempts: u32,
    model: String,
    upstream_model: String,
    started: Instant,
    first_byte: Option<u64>,
    error: Option<String>,
    capture: Option<Box<Capture>>,
    ended: bool,
    /// What a stream reported so far, logged if the client goes away.
    pub streamed: Option<Usage>,
    attempt_log: Vec<Attempt>,
    attempt_started: Instant,
    /// Times the stream was cut and went on from another attempt.
    resumed: u32,
}

/// Whose fault a failed attempt was, for the request log.
fn class_of(err: &Error) -> &'static str {
    match err.blame {
        Some(Blame::Client) => "client",
        Some(Blame::Account(_)) => "account",
        Some(Blame::Quota(_)) => "quota",
        Some(Blame::Model) => "model",
        Some(Blame::Transient) | None => "transient",
    }
}

/// What a failure did to the account, for the request log.
fn effect_of(effect: &Effect, until: Option<u64>, now: u64) -> String {
    match (effect, until) {
        (Effect::Broken { what, .. }, _) => {
            format!(
                "marked: {}",
                serde_json::to_value(what)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("")
            )
        }
        (Effect::Fault, Some(_)) => "breaker opened".into(),
        (Effect::Cool { .. }, Some(t)) => {
            format!("rests {} s", t.saturating_sub(now).div_ceil(1000))
        }
        (Effect::Fault, None) => "counted toward the breaker".into(),
        _ => "none".into(),
    }
}

impl RequestLog {
    pub fn start(state: Arc<AppState>, id: String, route: &Route, s: Start<'_>) -> Self {
        info!(req = %id, protocol = s.protocol, model = s.model, upstream = %route.model, stream = s.stream, background = s.background, "request start");
        RequestLog {
            state: Some(state),
            id,
            protocol: s.protocol,
            stream: s.stream,
            background: s.background,
            client_key: s.client_key,
            session: crate::scheduler::shown_session(s.session),
            account: String::new(),
            account_id: String::new(),
            account_kind: ProviderKind::Gemini,
            why: "",
            attempts: 0,
            model: s.model.to_string(),
            upstream_model: route.model.clone(),
            started: Instant::now(),
            first_byte: None,
            error: None,
            capture: s.capture,
            ended: false,
            streamed: None,
            attempt_log: Vec::new(),
            attempt_started: Instant::now(),
            resumed: 0,
        }
    }

    /// A request refused before any account was tried (a bad client key, an
    /// unknown model, a body that does not decode): logged all the same.
    pub fn refused(
        state: &Arc<AppState>,
        protocol: &'static str,
        model: &str,
        client_key: Option<String>,
        err: &Error,
    ) {
        let id = crate::util::request_id();
        info!(req = %id, protocol, model, status = err.status(), error = %err, "request refused");
        state.monitor.record(
            Entry {
                id,
                time_ms: now_ms(),
                protocol: protocol.to_string(),
                model: model.to_string(),
                status: err.status(),
                client_key,
                error: Some(err.message.clone()),
                ..Entry::default()
            },
            None,
        );
    }

    /// Bytes on their way to the client, for the logged response body.
    pub fn response(&mut self, bytes: &[u8]) {
        if let Some(c) = &mut self.capture {
            c.response(bytes);
        }
    }

    /// An attempt on `account`, chosen for `why`.
    pub fn attempt(&mut self, account: &Account, why: &'static str) {
        self.attempts += 1;
        self.account.clone_from(&account.name);
        self.account_id.clone_from(&account.id);
        self.account_kind = account.kind;
        self.why = why;
        self.attempt_started = Instant::now();
    }

    /// The current attempt failed: `effect` is what it did to the account,
    /// resting it until `until` if it rests.
    pub fn attempt_failed(&mut self, err: &Error, effect: &Effect, until: Option<u64>) {
        let now = now_ms();
        self.attempt_log.push(Attempt {
            account: self.account.clone(),
            status: err.status(),
            class: class_of(err).into(),
            effect: effect_of(effect, until, now),
            until_ms: until,
            cut: false,
            ms: self.attempt_started.elapsed().as_millis() as u64,
        });
    }

    /// The attempt that was streaming broke after output reached the client:
    /// it is logged failed, cut, in place of its success.
    pub fn attempt_cut(&mut self, err: &Error, effect: &Effect, until: Option<u64>) {
        if self.attempt_log.last().is_some_and(|a| a.class == "ok") {
            self.attempt_log.pop();
        }
        self.attempt_failed(err, effect, until);
        if let Some(a) = self.attempt_log.last_mut() {
            a.cut = true;
        }
    }

    /// A cut stream goes on from another attempt.
    pub fn resumed(&mut self) {
        self.resumed += 1;
    }

    /// The current attempt succeeded (its answer may still be streaming).
    pub fn attempt_ok(&mut self) {
        self.attempt_log.push(Attempt {
            account: self.account.clone(),
            status: 200,
            class: "ok".into(),
            effect: "none".into(),
            until_ms: None,
            cut: false,
            ms: self.attempt_started.elapsed().as_millis() as u64,
        });
    }

    /// The first bytes went to the client (time to first token).
    pub fn first_byte(&mut self) {
        if self.first_byte.is_none() {
            self.first_byte = Some(self.started.elapsed().as_millis() as u64);
        }
    }

    /// Ends a request that failed, keeping why for the Monitor (and what a
    /// stream had used before it broke).
    pub fn fail(&mut self, err: &Error, usage: Option<Usage>) {
        self.error = Some(err.message.clone());
        self.end(err.status(), usage);
    }

    pub fn end(&mut self, status: u16, usage: Option<Usage>) {
        self.ended = true;
        let u = usage.unwrap_or_default();
        let latency_ms = self.started.elapsed().as_millis() as u64;
        info!(
            req = %self.id,
            model = %self.model,
            upstream = %self.upstream_model,
            account = %self.account,
            why = self.why,
            attempts = self.attempts,
            status,
            latency_ms,
            input_tokens = u.input_tokens,
            output_tokens = u.output_tokens,
            "request end"
        );
        let Some(state) = &self.state else { return };
        // Tokens an upstream reported were spent, whatever became of the
        // request (a stream that broke, a client that went away).
        if !self.account_id.is_empty() && u.input_tokens + u.output_tokens > 0 {
            state.scheduler.tokens(
                &self.account_id,
                self.account_kind,
                &self.upstream_model,
                u.input_tokens + u.output_tokens,
                now_ms(),
            );
        }
        if let Some(key) = &self.client_key {
            state
                .meter
                .tokens(key, u.input_tokens + u.output_tokens, now_ms());
        }
        let price = state.snapshot.load().settings.price(&self.upstream_model);
        let cost_usd = price.map(|p| p.cost(&u));
        if let (Some(key), Some(c)) = (&self.client_key, state.cluster.get()) {
            crate::cluster::record_spend(
                c,
                key,
                u.input_tokens + u.output_tokens,
                cost_usd.unwrap_or(0.0),
            );
        }
        let saved_usd = price.map(|p| p.saved(&u));
        state.monitor.record(
            Entry {
                id: self.id.clone(),
                time_ms: now_ms().saturating_sub(latency_ms),
                protocol: self.protocol.to_string(),
                model: self.model.clone(),
                upstream_model: self.upstream_model.clone(),
                account: self.account.clone(),
                status,
                latency_ms,
                ttft_ms: self.first_byte,
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                attempts: self.attempts,
                why: self.why.to_string(),
                background: self.background,
                stream: self.stream,
                client_key: self.client_key.clone(),
                error: self.error.clone(),
                cached_tokens: u.cached_input_tokens,
                reasoning_tokens: u.reasoning_tokens,
                cache_write_tokens: u.cache_write_tokens,
                cost_usd,
                saved_usd,
                session: self.session.clone(),
                resumed: self.resumed,
                attempt_log: std::mem::take(&mut self.attempt_log),
            },
            self.capture.take(),
        );
    }

    /// Moves the log into a stream body, leaving a finished shell behind.
    pub fn take(&mut self) -> RequestLog {
        let shell = RequestLog {
            state: None,
            id: self.id.clone(),
            protocol: self.protocol,
            stream: self.stream,
            background: self.background,
            client_key: None,
            session: String::new(),
            account: String::new(),
            account_id: String::new(),
            account_kind: ProviderKind::Gemini,
            why: "",
            attempts: 0,
            model: String::new(),
            upstream_model: String::new(),
            started: self.started,
            first_byte: None,
            error: None,
            capture: None,
            ended: true,
            streamed: None,
            attempt_log: Vec::new(),
            attempt_started: self.started,
            resumed: 0,
        };
        std::mem::replace(self, shell)
    }
}

/// nginx's "client closed request": no HTTP status says it, and the
/// Monitor must tell it from an answer.
pub const CANCELLED: u16 = 499;

impl Drop for RequestLog {
    /// A request whose future was dropped (the client closed the connection
    /// or reset its HTTP/2 stream) is still logged, as cancelled.
    fn drop(&mut self) {
        if !self.ended {
            if self.attempt_log.len() < self.attempts as usize {
                self.attempt_log.push(Attempt {
                    account: self.account.clone(),
                    status: CANCELLED,
                    class: "cancelled".into(),
                    effect: "none".into(),
                    until_ms: None,
                    ms: self.attempt_started.elapsed().as_millis() as u64,
                    cut: false,
                });
            }
            self.error.get_or_insert_with(|| {
                "cancelled: the client went away before the answer was complete".into()
            });
            self.end(CANCELLED, self.streamed);
        }
    }
}
