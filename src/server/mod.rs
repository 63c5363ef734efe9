//! The HTTP server: proxy routes, the admin API and the embedded dashboard.
//! The only module that knows poem.

pub(crate) mod admin;
mod attempts;
mod auth;
mod background;
mod compact;
mod cors;
mod images;
mod keys;
pub(crate) use keys::period as key_period;
mod embeddings;
mod listen;
mod log;
mod metrics;
mod monitor;
mod proxy;
mod redact;
mod responses_ws;
mod resume;
mod stream;
mod ui;
pub(crate) mod usage;
mod wire;

// For the fuzz targets: the pass-through stream check and the protocols it speaks.
pub use crate::protocol::passthrough::Inspector;
pub use wire::Wire;

pub use admin::{SetConfig, check_mapping, effective};

use crate::config::Settings;
use crate::provider::Upstream;
use crate::scheduler::{Scheduler, Snapshot};
use crate::store::{Store, StoreError};
use arc_swap::ArcSwap;
use poem::{EndpointExt, Route, get, head, post};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// State shared by every handler.
pub struct AppState {
    pub store: Store,
    /// What the request path reads; replaced whole after every admin change.
    pub snapshot: ArcSwap<Snapshot>,
    pub scheduler: Scheduler,
    pub upstream: Upstream,
    /// Required on admin calls when the server listens beyond loopback.
    pub admin_token: String,
    /// Where the server listens now; the dashboard can move it.
    pub listen: ArcSwap<SocketAddr>,
    /// What a move asks of the serve loop, waiting for it to take it.
    moving: std::sync::Mutex<Option<Move>>,
    moved: tokio::sync::Notify,
    /// Told of every move (the CLI's server file follows it).
    pub on_move: std::sync::OnceLock<Box<dyn Fn(SocketAddr) + Send + Sync>>,
    /// Set when the server stops: endless streams (the dashboard's live
    /// events) end, so they do not hold the drain for its whole grace.
    pub stopping: tokio::sync::watch::Sender<bool>,
    pub started: Instant,
    /// Recent requests, live events and usage, for the dashboard.
    pub monitor: monitor::Monitor,
    /// What client keys spent this minute and day, against their limits.
    pub meter: keys::Meter,
    /// Where the data file lives and why (`portable`, `installed`, `chosen`),
    /// and whether this run created it; the dashboard explains both.
    pub storage: (&'static str, bool),
    /// Google sign-ins started from the dashboard: state → redirect address.
    pub oauth_pending: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Set in cluster mode (`levity serve --redis`).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
}

impl AppState {
    pub fn new(store: Store, listen: SocketAddr, admin_token: String) -> Result<Self, StoreError> {
        let snapshot = build_snapshot(&store)?;
        let upstream = Upstream::new(Duration::from_secs(snapshot.settings.connect_timeout_secs));
        let scheduler = Scheduler::default();
        // Cool-downs, breakers and re-auth marks outlive a restart.
        let saved = store
            .health()?
            .into_iter()
            .filter_map(|(k, v)| serde_json::from_slice(&v).ok().map(|h| (k, h)))
            .collect();
        scheduler.health.load(saved);
        let monitor = monitor::Monitor::default();
        monitor.load(
            store
                .usage()?
                .into_iter()
                .filter_map(|(k, v)| serde_json::from_slice(&v).ok().map(|u| (k, u)))
                .collect(),
            store
                .recent_requests(monitor::RECENT)?
                .iter()
                .filter_map(|v| serde_json::from_slice(v).ok())
                .collect(),
        );
        Ok(AppState {
            monitor,
            meter: keys::Meter::default(),
            oauth_pending: Default::default(),
            cluster: Default::default(),
            storage: ("chosen", false),
            store,
            snapshot: ArcSwap::from_pointee(snapshot),
            scheduler,
            upstream,
            admin_token,
            listen: ArcSwap::from_pointee(listen),
            moving: Default::default(),
            moved: Default::default(),
            on_move: Default::default(),
            stopping: tokio::sync::watch::Sender::new(false),
            started: Instant::now(),
        })
    }

    /// Rebuilds the snapshot after this instance changed the store, and
    /// tells the cluster, if there is one.
    pub fn reload(&self) -> Result<(), StoreError> {
        self.rebuild()?;
        if let Some(c) = self.cluster.get() {
            c.changed.notify_one();
        }
        Ok(())
    }

    /// Refuses an admin change the cluster could not learn (Redis away).
    pub fn writable(&self) -> Result<(), crate::error::Error> {
        match self.cluster.get() {
            Some(c) => c
                .writable()
                .map_err(|m| crate::error::Error::new(crate::error::Kind::Unavailable, m)),
            None => Ok(()),
        }
    }

    /// Rebuilds the snapshot from the store.
    pub fn rebuild(&self) -> Result<(), StoreError> {
        let snapshot = build_snapshot(&self.store)?;
        let connect_timeout = Duration::from_secs(snapshot.settings.connect_timeout_secs);
        self.snapshot.store(Arc::new(snapshot));
        self.upstream.set_connect_timeout(connect_timeout);
        Ok(())
    }

    /// Whether the listener accepts connections from other machines.
    pub fn exposed(&self) -> bool {
        !self.listen.load().ip().is_loopback()
    }

    /// Moves the server to `addr` without a restart: the new address is
    /// bound first (so a taken port changes nothing), new connections go
    /// there, and requests on the old one finish. Beyond loopback only with
    /// a client key.
    ///
    /// The same port on another address (127.0.0.1:8045 to 0.0.0.0:8045)
    /// cannot be bound beside the old listener: the old one then stops
    /// accepting first, and is bound again if the new address fails.
    pub async fn relisten(&self, addr: SocketAddr) -> Result<SocketAddr, String> {
        if !addr.ip().is_loopback() && self.snapshot.load().keys.is_empty() {
            return Err(format!(
                "listening on {} needs a client key first: anyone on the network could use your accounts",
                addr.ip()
            ));
        }
        let current = **self.listen.load();
        if addr == current {
            return Ok(current);
        }
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() == current.port() =>
            {
                self.hand_over(Move::Release);
                match bind_soon(addr).await {
                    Ok(l) => l,
                    Err(e) => {
                        let back = bind_soon(current).await.map_err(|again| {
                            format!("cannot listen on {addr} ({e}), nor again on {current}: {again}; restart levity")
                        })?;
                        self.hand_over(Move::To(back));
                        return Err(format!("cannot listen on {addr}: {e}"));
                    }
                }
            }
            Err(e) => return Err(format!("cannot listen on {addr}: {e}")),
        };
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        self.hand_over(Move::To(listener));
        self.listen.store(Arc::new(bound));
        if let Some(tell) = self.on_move.get() {
            tell(bound);
        }
        tracing::info!(%bound, "listening on a new address");
        Ok(bound)
    }

    fn hand_over(&self, to: Move) {
        *self.moving.lock().expect("moving lock") = Some(to);
        self.moved.notify_one();
    }
}

/// What a move asks of the serve loop.
enum Move {
    /// Serve on this listener from now on.
    To(tokio::net::TcpListener),
    /// Stop accepting on the current one and close it, so that its port can
    /// be bound on another address.
    Release,
}

/// Binds `addr`, retrying for a moment while the listener released for it
/// closes.
async fn bind_soon(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let mut tries = 0;
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            bound => return bound,
        }
    }
}

/// Reasoning state for stateless Responses clients, sealed with the data
/// file's key and carried as hex.
impl crate::protocol::openai_responses::Vault for AppState {
    fn seal(&self, plain: &[u8]) -> String {
        crate::util::hex(&self.store.seal_blob(plain))
    }

    fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        self.store.open_blob(&crate::util::from_hex(sealed)?)
    }
}

fn build_snapshot(store: &Store) -> Result<Snapshot, StoreError> {
    Ok(Snapshot {
        accounts: store.accounts()?.into_iter().map(Arc::new).collect(),
        settings: Settings::from_map(&store.settings()?),
        keys: store.key_hashes()?,
    })
}

/// Requests carry images and long histories, but not without bound.
pub(super) const MAX_BODY: u64 = 100 * 1024 * 1024;
/// A body that sends nothing for this long was abandoned (or is a slowloris).
const BODY_STALL: Duration = Duration::from_secs(15);
/// However steadily it trickles, a body ends within this.
const BODY_TOTAL: Duration = Duration::from_secs(300);

/// Reads every request body before the handler runs: refused over
/// `MAX_BODY` (at once when `Content-Length` says so, else as soon as the
/// bytes read pass it), and given up with a 408 when the client stalls, so
/// a connection cannot be held open by a body that never ends. The error is
/// in the protocol of the path.
async fn limit_body<E: poem::Endpoint>(
    ep: E,
    mut req: poem::Request,
) -> poem::Result<poem::Response> {
    use crate::error::{Error, Kind};
    let refuse = |req: &poem::Request, kind: Kind, message: String| {
        // Outside the proxy (the admin API) errors are JSON all the same.
        wire::Wire::of_path(req.uri().path())
            .unwrap_or(wire::Wire::OpenAiChat)
            .error(&Error::new(kind, message))
    };
    let too_large = |req: &poem::Request| {
        refuse(
            req,
            Kind::TooLarge,
            format!(
                "the request body is larger than {} MB; send images by address or in smaller requests",
                MAX_BODY >> 20
            ),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY => return Ok(too_large(&req)),
        Some(0) => {}
        None if !req.headers().contains_key("transfer-encoding") => {}
        _ => match read_body(req.take_body()).await {
            Ok(bytes) => req.set_body(bytes),
            Err(BodyError::TooLarge) => return Ok(too_large(&req)),
            Err(BodyError::Stalled) => {
                return Ok(refuse(
                    &req,
                    Kind::SlowClient,
                    format!(
                        "the request body stopped arriving (nothing for {} s, or not done in {} s); send it whole",
                        BODY_STALL.as_secs(),
                        BODY_TOTAL.as_secs()
                    ),
                ));
            }
            Err(BodyError::Read(e)) => {
                let why = format!("the request body could not be read: {e}");
                return Ok(refuse(&req, Kind::InvalidRequest, why));
            }
        },
    }
    Ok(poem::IntoResponse::into_response(ep.call(req).await?))
}

enum BodyError {
    TooLarge,
    Stalled,
    Read(std::io::Error),
}

async fn read_body(body: poem::Body) -> Result<bytes::Bytes, BodyError> {
    use futures_util::StreamExt;
    let mut chunks = std::pin::pin!(body.into_bytes_stream());
    let total = tokio::time::Instant::now() + BODY_TOTAL;
    let mut first: Option<bytes::Bytes> = None;
    let mut rest = bytes::BytesMut::new();
    loop {
        let next = tokio::time::timeout(BODY_STALL, chunks.next());
        let chunk = match tokio::time::timeout_at(total, next).await {
            Ok(Ok(Some(Ok(c)))) => c,
            Ok(Ok(Some(Err(e)))) => return Err(BodyError::Read(e)),
            Ok(Ok(None)) => break,
            Ok(Err(_)) | Err(_) => return Err(BodyError::Stalled),
        };
        let len = first.as_ref().map_or(0, |f| f.len()) + rest.len() + chunk.len();
        if len as u64 > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        // A body in one piece is kept as it came, without a copy.
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            Some(f) => {
                rest.extend_from_slice(&f);
                rest.extend_from_slice(&chunk);
            }
            None => rest.extend_from_slice(&chunk),
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// How long requests in flight may finish when the server stops or moves.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then drains in-flight requests. When
/// the dashboard moves the server, the old listener drains beside the new.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let app = Arc::new(routes(&state));
    let cap = listen::connection_cap(listen::raise_fd_limit());
    let background = tokio::spawn(background::run(state.clone()));
    let mut shutdown = std::pin::pin!(shutdown);
    let mut draining = Vec::new();
    let start = |listener| {
        let (phase, phase_rx) = tokio::sync::watch::channel(listen::Phase::Serving);
        let server = tokio::spawn(listen::serve(listener, app.clone(), cap, phase_rx));
        (phase, server)
    };
    let drain = |(phase, server): (tokio::sync::watch::Sender<listen::Phase>, _)| {
        phase.send_replace(listen::Phase::Draining);
        tokio::spawn(async move {
            tokio::time::sleep(DRAIN).await;
            phase.send_replace(listen::Phase::Abort);
        });
        server
    };
    // None between a released listener and the next one.
    let mut serving = Some(start(listener));
    let result = loop {
        tokio::select! {
            _ = &mut shutdown => {
                state.stopping.send_replace(true);
                break match serving.take() {
                    Some(s) => drain(s).await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
                    None => Ok(()),
                };
            }
            _ = state.moved.notified() => {
                let old = match state.moving.lock().expect("moving lock").take() {
                    Some(Move::To(next)) => serving.replace(start(next)),
                    Some(Move::Release) => serving.take(),
                    // A wake whose move an earlier one took already.
                    None => None,
                };
                draining.extend(old.map(drain));
            }
        }
    };
    for old in draining {
        let _ = old.await;
    }
    background.abort();
    background::save(&state).await;
    result
}

fn routes(state: &Arc<AppState>) -> impl poem::Endpoint + use<> {
    Route::new()
        .at("/v1/chat/completions", post(proxy::chat_completions))
        .at("/chat/completions", post(proxy::chat_completions))
        .at(
            "/v1/responses",
            post(proxy::responses).get(responses_ws::responses_ws),
        )
        .at(
            "/responses",
            post(proxy::responses).get(responses_ws::responses_ws),
        )
        .at("/v1/responses/compact", post(compact::responses_compact))
        .at("/v1/messages", post(proxy::messages))
        .at("/messages", post(proxy::messages))
        .at("/v1/messages/count_tokens", post(proxy::count_tokens))
        .at("/v1/embeddings", post(embeddings::openai))
        .at("/embeddings", post(embeddings::openai))
        .at("/v1/images/generations", post(images::generations))
        .at("/v1/images/edits", post(images::edits))
        .at("/v1/models", get(proxy::models))
        .at("/v1beta/models", get(proxy::gemini_models))
        .at("/v1beta/models/*rest", post(proxy::gemini))
        .at("/v1/models/*rest", post(proxy::gemini))
        .at("/models", get(proxy::models))
        .nest("/api", admin::routes())
        .at("/metrics", get(metrics::scrape))
        .at("/", get(ui::serve_index).head(ui::ok))
        .at("/api/hello", head(ui::ok))
        .at("/api/event_logging/batch", post(proxy::event_logging))
        .at("/oauth2callback", get(admin::oauth_callback))
        .at("/*path", get(ui::serve_asset))
        .around(limit_body)
        .around(cors::cors)
        .data(state.clone())
}
