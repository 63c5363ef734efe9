//! The request log, usage and live events in the admin API.

use super::{Failure, accounts_with_state, json, reply};
use crate::error::Kind;
use crate::server::AppState;
use crate::server::monitor::Entry;
use crate::server::usage;
use crate::store::StoreError;
use crate::util::now_ms;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A page of the request log, and what to keep of it.
#[derive(Deserialize, Default, utoipa::IntoParams)]
pub(super) struct Page {
    limit: Option<usize>,
    /// Entries older than this key (`time_ms` to 13 digits, `-`, id).
    before: Option<String>,
    /// `ok` (< 400), `error` (≥ 400) or one status.
    status: Option<String>,
    client_key: Option<String>,
    /// The requested or the upstream model.
    model: Option<String>,
    account: Option<String>,
    since: Option<u64>,
    until: Option<u64>,
}

impl Page {
    fn keeps(&self, e: &crate::server::monitor::Entry) -> bool {
        let status = match self.status.as_deref() {
            None | Some("") => true,
            Some("ok") => e.status < 400,
            Some("error") => e.status >= 400,
            Some(n) => n.parse::<u16>().is_ok_and(|n| n == e.status),
        };
        let same = |want: &Option<String>, got: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == got)
        };
        status
            && same(&self.client_key, e.client_key.as_deref().unwrap_or(""))
            && (same(&self.model, &e.model) || same(&self.model, &e.upstream_model))
            && same(&self.account, &e.account)
    }
}

/// The request log, newest first, from the whole retention: paged with
/// `before`, filtered by status, client key, model, account and time.
#[utoipa::path(get, path = "/api/requests", params(Page), responses((status = 200, body = Vec<Entry>)))]
#[handler]
pub(super) async fn requests(Data(state): Data<&Arc<AppState>>, Query(q): Query<Page>) -> Response {
    // Requests that just ended may still be waiting for the log writer.
    crate::server::background::save(state).await;
    let state = state.clone();
    let page = tokio::task::spawn_blocking(move || {
        let limit = q.limit.unwrap_or(200).clamp(1, 2_000);
        let from = q.since.map(|t| format!("{t:013}")).unwrap_or_default();
        let mut to = q.until.map_or_else(
            || "~".to_string(),
            |t| format!("{:013}", t.saturating_add(1)),
        );
        if let Some(before) = q
            .before
            .as_deref()
            .filter(|b| !b.is_empty() && *b < to.as_str())
        {
            to = before.to_string();
        }
        state.store.requests_page(&from, &to, limit, |raw| {
            serde_json::from_slice(raw).is_ok_and(|e| q.keeps(&e))
        })
    })
    .await;
    let entries = match page {
        Ok(Ok(rows)) => Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_slice(r).ok())
            .collect::<Vec<Entry>>()),
        Ok(Err(e)) => Err(Failure::from(e)),
        Err(_) => Err(Failure::new(
            Kind::Internal,
            "reading the request log failed",
        )),
    };
    reply(StatusCode::OK, entries)
}

/// One logged request, with its bodies when body logging kept them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub entry: Option<Entry>,
    /// The request and response bodies, when they were kept.
    #[schema(value_type = Option<Object>)]
    pub bodies: Option<serde_json::Value>,
    /// Whether body logging is on now.
    pub body_logging: bool,
}

/// One logged request, with its bodies when body logging kept them.
#[utoipa::path(get, path = "/api/requests/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Detail), (status = 404, body = super::Problem)))]
#[handler]
pub(super) async fn request_detail(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    // A request that just ended may still be waiting for the log writer.
    crate::server::background::save(state).await;
    let state = state.clone();
    let found = tokio::task::spawn_blocking(move || {
        let Some((key, entry)) = state.store.find_request(&id)? else {
            return Ok(None);
        };
        let bodies = state.store.request_bodies(&key)?;
        Ok::<_, StoreError>(Some((
            entry,
            bodies,
            state.snapshot.load().settings.log.bodies,
        )))
    })
    .await;
    let detail = match found {
        Ok(Ok(Some((entry, bodies, logging)))) => Ok(Detail {
            entry: serde_json::from_slice(&entry).ok(),
            bodies: bodies
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok()),
            body_logging: logging,
        }),
        Ok(Ok(None)) => Err(Failure::new(
            Kind::NotFound,
            "no such request in the log (it may be older than the retention)",
        )),
        Ok(Err(e)) => Err(Failure::new(Kind::Internal, e.to_string())),
        Err(_) => Err(Failure::new(
            Kind::Internal,
            "reading the request log failed",
        )),
    };
    reply(StatusCode::OK, detail)
}

/// Usage per day or hour, split by account, model or client key; totals
/// per account, model, key and session, with cache hit rates.
#[utoipa::path(get, path = "/api/stats", params(usage::Query), responses((status = 200, body = usage::Stats)))]
#[handler]
pub(super) fn stats(
    Data(state): Data<&Arc<AppState>>,
    Query(mut q): Query<usage::Query>,
) -> Response {
    q.days = q.days.clamp(1, usage::KEEP_DAYS);
    json(StatusCode::OK, &state.monitor.stats(&q, now_ms()))
}

/// Live events for the dashboard: each finished request, and account states
/// when they change (checked every two seconds).
#[utoipa::path(get, path = "/api/events", responses((status = 200, content_type = "text/event-stream",
    description = "`event: request` (an Entry) and `event: accounts` (a list of AccountInfo)")))]
#[handler]
pub(super) fn events(Data(state): Data<&Arc<AppState>>) -> Response {
    let mut live = state.monitor.subscribe();
    let mut stopping = state.stopping.subscribe();
    // A weak handle: an open dashboard does not keep a stopped server alive.
    let state = Arc::downgrade(state);
    let stream = async_stream_of(move |tx| async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        let mut last = String::new();
        loop {
            let frame = tokio::select! {
                _ = stopping.wait_for(|s| *s) => break,
                got = live.recv() => match got {
                    Ok(entry) => format!("event: request\ndata: {}\n\n", serde_json::to_string(&entry).expect("serializable")),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                },
                _ = tick.tick() => {
                    let Some(state) = state.upgrade() else { break };
                    let Ok(list) = accounts_with_state(&state) else { continue };
                    let json = serde_json::to_string(&list).expect("serializable");
                    // Only the parts that change with state, not the counters.
                    let key: String = list.iter().map(|a| format!("{}{}{}{}", a.id, a.state, a.reason, a.enabled)).collect();
                    if key == last {
                        ": keep-alive\n\n".to_string()
                    } else {
                        last = key;
                        format!("event: accounts\ndata: {json}\n\n")
                    }
                }
            };
            if tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .body(poem::Body::from_bytes_stream(stream))
}

/// A byte stream fed by a task through a channel; the task stops when the
/// client goes away.
fn async_stream_of<F, Fut>(
    task: F,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(task(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|s| (Ok(bytes::Bytes::from(s)), rx))
    })
}
