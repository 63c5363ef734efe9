//! Upstream providers: one module per kind, sharing one HTTP client.
//!
//! A provider turns a routed canonical request into an upstream call and hands
//! back a finished canonical response or a stream of canonical events; for a
//! client that speaks the upstream's own protocol it forwards the body as is.
//! Only this module talks to upstreams.

pub mod anthropic;
pub mod code_assist;
pub mod fetch;
pub mod gemini;
pub mod hints;
pub mod kind;
pub mod openai;
pub mod openai_responses;
pub mod taxonomy;

use crate::canonical::{EmbedRequest, Embeddings, Event, Request, Response};
use crate::config::OauthSettings;
use crate::error::{Error, Kind};
pub use crate::protocol::passthrough::Rewrite;
use crate::protocol::{StreamDecode, sse};
use crate::store::Account;
use arc_swap::ArcSwap;
use futures_util::{Stream, StreamExt};
pub use kind::{Descriptor, ProviderKind};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Events as they arrive from an upstream; an `Err` ends the stream.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Vec<Event>, Error>> + Send>>;

/// The HTTP clients every upstream call goes through: one direct, one per
/// outbound proxy in use, so connection pools, TLS sessions and DNS caches are
/// shared; and the OAuth access tokens of Google accounts.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced whole when the connect timeout changes; calls in flight keep
    /// the clients they started with.
    clients: ArcSwap<Clients>,
    tokens: code_assist::Tokens,
}

struct Clients {
    connect_timeout: Duration,
    direct: reqwest::Client,
    /// Copied on the rare add, so that reading it takes no lock.
    proxied: ArcSwap<HashMap<String, reqwest::Client>>,
}

impl Clients {
    fn new(connect_timeout: Duration) -> Clients {
        Clients {
            connect_timeout,
            direct: builder(connect_timeout)
                .build()
                .expect("the TLS backend is compiled in"),
            proxied: Default::default(),
        }
    }
}

/// Idle connections kept per upstream host, and for how long. Against a
/// fast HTTP/1.1 upstream most connections sit idle between a client's
/// requests: at 64 clients, a bound of 32 closed and reopened one
/// connection every 8 requests (`perf stat`: 5,700 `connect`s in 4 s).
/// A burst wider than this still leaves no more behind, and those go after
/// `POOL_IDLE`.
const IDLE_PER_HOST: usize = 256;
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Every upstream client goes out directly or through the proxy the user
/// set (`upstream_proxy`, an account's `--proxy`), never through one taken
/// from `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY`, which would see every
/// API key levity holds. It follows no redirect (`send` reports one): on a
/// hop to another host reqwest drops only `Authorization`, `Cookie`,
/// `Proxy-Authorization` and `WWW-Authenticate` (reqwest 0.13
/// `src/redirect.rs`, `remove_sensitive_headers`), so `x-goog-api-key` and
/// `x-api-key` would go wherever an answer points, with a `Referer` naming
/// the call.
fn builder(connect_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        // An idle connection costs tens of kilobytes (its buffers grow to
        // the largest answer it carried) and real upstreams speak HTTP/2,
        // one connection per host. 30 s spans an agent's pause between
        // turns; the official SDKs keep far less (httpx, under the OpenAI
        // and Anthropic Python SDKs: 5 s, python-httpx.org/advanced/
        // resource-limits), reqwest's default is 90 s.
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .user_agent(concat!("levity/", env!("CARGO_PKG_VERSION")))
}

/// Error bodies are read for their message only; a hostile upstream cannot
/// make us buffer more than this.
const MAX_ERROR_BODY: usize = 64 * 1024;

impl Upstream {
    pub fn new(connect_timeout: Duration) -> Upstream {
        Upstream {
            inner: Arc::new(Inner {
                clients: ArcSwap::from_pointee(Clients::new(connect_timeout)),
                tokens: code_assist::Tokens::default(),
            }),
        }
    }

    /// Applies a changed connect timeout to the calls that start from now.
    pub fn set_connect_timeout(&self, connect_timeout: Duration) {
        if self.inner.clients.load().connect_timeout != connect_timeout {
            self.inner
                .clients
                .store(Arc::new(Clients::new(connect_timeout)));
        }
    }

    /// The client for calls through `proxy` (validated when it was stored).
    pub fn client_for(&self, proxy: Option<&str>) -> reqwest::Client {
        let clients = self.inner.clients.load();
        let Some(proxy) = proxy else {
            return clients.direct.clone();
        };
        if let Some(c) = clients.proxied.load().get(proxy) {
            return c.clone();
        }
        let client = reqwest::Proxy::all(proxy)
            .ok()
            .and_then(|p| builder(clients.connect_timeout).proxy(p).build().ok());
        match client {
            Some(c) => {
                clients.proxied.rcu(|map| {
                    let mut map = HashMap::clone(map);
                    map.entry(proxy.to_string()).or_insert_with(|| c.clone());
                    map
                });
                c
            }
            None => {
                tracing::warn!(proxy = %crate::store::shown_proxy(proxy), "unusable outbound proxy; calling directly");
                clients.direct.clone()
            }
        }
    }

    pub fn tokens(&self) -> &code_assist::Tokens {
        &self.inner.tokens
    }
}

/// One attempt at one account.
pub struct Call {
    pub up: Upstream,
    pub acc: Arc<Account>,
    /// The upstream model name, after mapping.
    pub model: String,
    /// Deadline for the response head, for a whole answer's body, and
    /// between two chunks of a stream.
    pub timeout: Duration,
    /// Bytes of a whole answer read at most (`answer_max_mb`).
    pub max_answer: usize,
    /// Names the answer when the upstream gives no id.
    pub id: String,
    /// The outbound proxy: the account's own, else the global one.
    pub proxy: Option<String>,
    pub oauth: Arc<OauthSettings>,
    /// Told what the upstream says is left of the quota (fraction, reset time).
    pub on_quota: Option<QuotaSignal>,
}

/// Receives an upstream's own quota statement: remaining fraction, reset (Unix ms).
pub type QuotaSignal = Arc<dyn Fn(f64, u64) + Send + Sync>;

impl Call {
    fn host(&self) -> &str {
        host_of(&self.acc.base_url)
    }

    fn client(&self) -> reqwest::Client {
        self.up.client_for(self.proxy.as_deref())
    }

    /// Passes on the rate-limit headers of a successful answer.
    fn observe(&self, resp: &reqwest::Response) {
        if let Some(signal) = &self.on_quota
            && let Some((fraction, reset_ms)) =
                hints::remaining(resp.headers(), crate::util::now_ms())
        {
            signal(fraction, reset_ms);
        }
    }
}

/// Client headers a native upstream should receive as sent.
#[derive(Debug, Clone, Default)]
pub struct Forward {
    pub anthropic_version: Option<String>,
    pub anthropic_beta: Option<String>,
    /// The Gemini method a Gemini client called (`streamGenerateContent?alt=sse`, ...).
    pub gemini_method: Option<String>,
}

pub async fn generate(call: Call, req: &Request) -> Result<Response, Error> {
    let (resp, decoder) = (call.acc.kind.descriptor().send)(&call, req, false).await?;
    call.observe(&resp);
    let body = read_whole(&call, resp).await?;
    let mut decoder = decoder;
    let mut events = Vec::new();
    decoder.whole(&body, &mut events)?;
    let mut out = Response::from_events(events);
    if out.model.is_empty() {
        out.model.clone_from(&call.model);
    }
    Ok(out)
}

/// A streamed answer; returns once the upstream accepted the request.
pub async fn stream(call: Call, req: &Request) -> Result<EventStream, Error> {
    let (resp, decoder) = (call.acc.kind.descriptor().send)(&call, req, true).await?;
    call.observe(&resp);
    let state = StreamState {
        body: Box::pin(resp.bytes_stream()),
        parser: sse::Parser::default(),
        decoder,
        done: false,
        host: call.host().to_string(),
        idle: call.timeout,
    };
    Ok(Box::pin(futures_util::stream::unfold(state, next_events)))
}

/// Reads a whole (not streamed) answer into one buffer, chunk by chunk, up
/// to `call.max_answer` bytes and within `call.timeout`. A larger answer
/// fails the attempt as the upstream's fault, so another account may try,
/// and nothing past the limit is held.
pub async fn read_whole(call: &Call, mut resp: reqwest::Response) -> Result<Vec<u8>, Error> {
    let host = call.host();
    let too_large = || {
        Error::new(
            Kind::Upstream,
            format!(
                "{host} sent an answer larger than answer_max_mb ({} MB); raise it with \
                 `levity config set answer_max_mb N` if such answers are expected",
                call.max_answer >> 20
            ),
        )
    };
    let declared = resp.content_length().unwrap_or(0);
    if declared > call.max_answer as u64 {
        return Err(too_large());
    }
    let read = async {
        // The declared length sizes the buffer once, within the limit.
        let mut body = Vec::with_capacity(declared as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(host, &e))? {
            if body.len() + chunk.len() > call.max_answer {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(call.timeout, read)
        .await
        .map_err(|_| Error::new(Kind::Timeout, format!("{host} stopped sending its answer")))?
}

/// Input tokens of a request: the upstream's own counter where it has one,
/// else a local estimate (see `estimate_tokens`).
pub async fn count_tokens(call: Call, req: &Request) -> Result<u64, Error> {
    (call.acc.kind.descriptor().count_tokens)(&call, req).await
}

/// A documented estimate for hosts without a counter: about four bytes of
/// JSON per token, which tracks BPE tokenizers on English and code within
/// tens of percent. Never a constant: it grows with the request.
pub fn estimate_tokens(raw: &[u8]) -> u64 {
    (raw.len() as u64).div_ceil(4)
}

/// Embeds `req` on the call's account (`server::embeddings` picks only
/// accounts whose kind embeds).
pub async fn embed(call: &Call, req: &EmbedRequest) -> Result<Embeddings, Error> {
    let Some(embed) = call.acc.kind.descriptor().embed else {
        return Err(Error::new(
            Kind::Internal,
            format!("{} accounts cannot embed", call.acc.kind.as_str()),
        ));
    };
    embed(call, req).await
}

/// An answer the upstream sent that levity cannot read.
pub fn unreadable(call: &Call, why: &str) -> Error {
    Error::new(
        Kind::Upstream,
        format!("{} sent an answer levity cannot read: {why}", call.host()),
    )
}

/// Sends a client's body to the upstream that speaks its protocol.
pub async fn forward(
    call: &Call,
    body: Vec<u8>,
    headers: &Forward,
) -> Result<reqwest::Response, Error> {
    let Some(forward) = call.acc.kind.descriptor().forward else {
        return Err(Error::new(
            Kind::Internal,
            "this upstream has no pass-through path",
        ));
    };
    let resp = forward(call, body, headers).await?;
    call.observe(&resp);
    Ok(resp)
}

/// What `acc`'s native answers need rewritten, if anything: Responses
/// reasoning is tagged with the account that made it.
pub fn native_rewrite(acc: &Account) -> Option<Rewrite> {
    acc.kind
        .descriptor()
        .native_rewrite
        .map(|rewrite| rewrite(acc))
}

/// The host part of a base URL, for messages that must not show paths or keys.
/// `{base}{path}{name}:{verb}[?query]` for Google's custom methods. `name`
/// (a model) and `verb` are each one percent-encoded path segment (RFC 3986
/// §2.3: only unreserved characters stay), so no name a client sent can add
/// a segment, a query or a fragment; `method` is levity's own
/// (`streamGenerateContent?alt=sse`), its query kept as written.
pub fn method_url(base: &str, path: &str, name: &str, method: &str) -> String {
    let (verb, query) = method
        .split_once('?')
        .map_or((method, None), |(v, q)| (v, Some(q)));
    fn encode(url: &mut String, part: &str) {
        use std::fmt::Write;
        for b in part.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                url.push(b as char);
            } else {
                let _ = write!(url, "%{b:02X}");
            }
        }
    }
    let mut url = format!("{base}{path}");
    encode(&mut url, name);
    url.push(':');
    encode(&mut url, verb);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

pub fn host_of(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Turns a transport failure into the error a client should see.
pub fn transport_error(host: &str, e: &reqwest::Error) -> Error {
    if e.is_connect() && e.is_timeout() {
        Error::new(
            Kind::Timeout,
            format!("cannot connect to {host} within connect_timeout_secs"),
        )
    } else if e.is_timeout() {
        Error::new(Kind::Timeout, format!("{host} did not answer in time"))
    } else if e.is_connect() {
        Error::new(Kind::Upstream, format!("cannot connect to {host}"))
    } else {
        let cause = std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string());
        Error::new(
            Kind::Upstream,
            format!("connection to {host} failed: {cause}"),
        )
    }
}

/// Sends a request and waits for the response head; a failed answer becomes
/// an error read by `kind`'s protocol and taxonomy, with its retry hint.
pub async fn send(
    builder: reqwest::RequestBuilder,
    host: &str,
    timeout: Duration,
    kind: ProviderKind,
) -> Result<reqwest::Response, Error> {
    let resp = tokio::time::timeout(timeout, builder.send())
        .await
        .map_err(|_| Error::new(Kind::Timeout, format!("{host} did not answer in time")))?
        .map_err(|e| transport_error(host, &e))?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    if resp.status().is_redirection() {
        return Err(redirected(host, &resp));
    }
    let (status, retry_after_ms, body) = read_failure(resp).await;
    let mut err = taxonomy::upstream_error(kind, status, &body);
    err.retry_after_ms = retry_after_ms;
    Err(err)
}

/// An upstream that answers a call with a redirect: no provider's API
/// does, so the account's base URL is not the API's address (a relay that
/// moved, `http://` in front of a server that sends everything to
/// `https://`). Not followed (see `builder`); the account waits for its
/// owner to set the address, which the message names without its query
/// (where a signed address would carry a token).
fn redirected(host: &str, resp: &reqwest::Response) -> Error {
    let status = resp.status();
    let target = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| resp.url().join(v).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            format!("to `{}`", u.as_str().chars().take(200).collect::<String>())
        })
        .unwrap_or_else(|| "elsewhere".to_string());
    Error {
        upstream_status: Some(status.as_u16()),
        blame: Some(crate::error::Blame::Account(crate::error::Broken::Setup)),
        ..Error::new(
            Kind::Upstream,
            format!(
                "{host} answered {status} and sent the call {target}; levity follows no redirect (it would carry the account's key there): set the account's base URL to the address the API answers at"
            ),
        )
    }
}

/// Reads a failed upstream answer: its status, retry hint in milliseconds,
/// and (bounded) body.
async fn read_failure(mut resp: reqwest::Response) -> (u16, Option<u64>, Vec<u8>) {
    let status = resp.status().as_u16();
    let header_hint = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| hints::retry_after(v, crate::util::now_ms()));
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    let hint = header_hint.or_else(|| hints::retry_in_body(&body));
    (status, hint, body)
}

type Decoder = Box<dyn StreamDecode + Send>;

struct StreamState {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    parser: sse::Parser,
    decoder: Decoder,
    done: bool,
    host: String,
    idle: Duration,
}

fn fail(mut st: StreamState, err: Error) -> Option<(Result<Vec<Event>, Error>, StreamState)> {
    st.done = true;
    Some((Err(err), st))
}

/// Reads until at least one event is ready, the stream ends, or it fails.
async fn next_events(mut st: StreamState) -> Option<(Result<Vec<Event>, Error>, StreamState)> {
    if st.done {
        return None;
    }
    let mut datas = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(st.idle, st.body.next()).await {
            Err(_) => {
                let msg = format!("{} stopped sending mid-stream", st.host);
                return fail(st, Error::new(Kind::Timeout, msg));
            }
            Ok(Some(Err(e))) => {
                let err = transport_error(&st.host, &e);
                return fail(st, err);
            }
            Ok(Some(Ok(chunk))) => Some(chunk),
            Ok(None) => None,
        };
        let ended = chunk.is_none();
        match chunk {
            Some(chunk) => {
                if st.parser.feed(&chunk, &mut datas).is_err() {
                    let msg = format!("{} sent an oversized stream event", st.host);
                    return fail(st, Error::new(Kind::Upstream, msg));
                }
            }
            None => st.parser.finish(&mut datas),
        }
        let mut events = Vec::new();
        for d in &datas {
            if let Err(e) = st.decoder.data(d, &mut events) {
                return fail(st, e);
            }
        }
        if ended {
            st.done = true;
            if !st.decoder.finished() {
                let msg = format!(
                    "{} ended the stream before the answer was complete",
                    st.host
                );
                return fail(st, Error::new(Kind::Upstream, msg));
            }
            return Some((Ok(events), st));
        }
        if !events.is_empty() {
            return Some((Ok(events), st));
        }
        datas.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_grow_with_the_request() {
        assert!(super::estimate_tokens(&[b'x'; 4000]) > super::estimate_tokens(&[b'x'; 400]));
    }

    #[test]
    fn names_are_one_encoded_segment() {
        let check = |name: &str, method: &str, want: &str| {
            assert_eq!(
                method_url("https://h", "/v1beta/models/", name, method),
                want
            );
        };
        check(
            "gemini-2.5-flash",
            "streamGenerateContent?alt=sse",
            "https://h/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        );
        check(
            "a/../../cachedContents#",
            "generateContent",
            "https://h/v1beta/models/a%2F..%2F..%2FcachedContents%23:generateContent",
        );
        check(
            "x?key=1 %",
            "countTokens",
            "https://h/v1beta/models/x%3Fkey%3D1%20%25:countTokens",
        );
        check("m:n@v", "g/x", "https://h/v1beta/models/m%3An%40v:g%2Fx");
    }
}
