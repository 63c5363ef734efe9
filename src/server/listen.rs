//! The connection layer under the routes: accepts sockets and serves each
//! with hyper, with the limits poem's own server lacks, so slow or idle
//! clients cannot hold levity's connections or file descriptors:
//!
//! - a request head must arrive within `HEADER_READ` of the connection
//!   waiting for one (this also closes idle HTTP/1 keep-alive connections);
//! - a connection with no bytes either way for `IDLE` is closed: at once
//!   when no request is in flight, else gracefully (HTTP/2's GOAWAY) once
//!   its answers are done;
//! - at most `cap` connections at once, below the file limit (raised to its
//!   hard maximum at start); when full, the connection idle longest (no
//!   request in flight) makes room, else accepting waits;
//! - accept errors (`EMFILE` and the like) back off instead of spinning.
//!
//! Request bodies have their own deadline in `server::mod::limit_body`.
//! Nothing here cuts a request in flight: streams write (and ping) as they go.

use futures_util::future::Either;
use poem::Endpoint;
use poem::web::{LocalAddr, RemoteAddr};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// How long a client may take to send a request's head.
pub const HEADER_READ: Duration = Duration::from_secs(10);
/// How long a connection may stay silent both ways.
const IDLE: Duration = Duration::from_secs(120);
/// File descriptors kept for everything but client connections (the data
/// file, the log, DNS, listeners).
const RESERVED_FDS: u64 = 64;

/// What the serve loop tells connections: go on, finish what is in flight
/// and close, or stop now (the drain ran out).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Serving,
    Draining,
    Abort,
}

/// One connection's state, as the eviction of idle connections reads it.
struct Conn {
    /// Requests whose answer has not been sent in full.
    in_flight: AtomicUsize,
    /// Milliseconds since `Pool::epoch` at the last byte read or written.
    active_ms: AtomicU64,
    /// Told to close gracefully (evicted or idle).
    close: tokio::sync::Notify,
}

/// The connections of one listener.
pub struct Pool {
    epoch: Instant,
    slots: Arc<Semaphore>,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
}

impl Pool {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Asks the connection idle longest to close; false when every
    /// connection has a request in flight.
    fn evict_idlest(&self) -> bool {
        let conns = self.conns.lock().expect("conns lock");
        let idlest = conns
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|c| c.active_ms.load(Ordering::Relaxed));
        match idlest {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Raises the soft limit on open files to the hard one (systemd's default
/// soft limit is 1,024) and returns the limit now in force.
#[cfg(unix)]
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1_024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> u64 {
    // Windows sockets are not bounded by a per-process descriptor table.
    16_384
}

/// How many client connections fit: each may hold an upstream connection
/// too, and some descriptors stay for everything else.
pub fn connection_cap(fd_limit: u64) -> usize {
    (fd_limit.saturating_sub(RESERVED_FDS) / 2).clamp(16, 65_536) as usize
}

/// Serves `listener` until `phase` leaves `Serving`, then lets connections
/// finish until it says `Abort`. Returns when every connection is gone.
pub async fn serve<E>(
    listener: TcpListener,
    ep: Arc<E>,
    cap: usize,
    mut phase: watch::Receiver<Phase>,
) -> std::io::Result<()>
where
    E: Endpoint + 'static,
{
    let local = listener.local_addr()?;
    let pool = Arc::new(Pool {
        epoch: Instant::now(),
        slots: Arc::new(Semaphore::new(cap)),
        conns: Mutex::default(),
        next_id: AtomicU64::new(0),
    });
    let mut backoff = Duration::from_millis(5);
    loop {
        let permit = match pool.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !pool.evict_idlest() {
                    tracing::warn!(cap, "every connection is busy; new ones wait");
                }
                tokio::select! {
                    p = pool.slots.clone().acquire_owned() => p.expect("never closed"),
                    _ = phase.wait_for(|p| *p != Phase::Serving) => break,
                }
            }
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = phase.wait_for(|p| *p != Phase::Serving) => break,
        };
        let (socket, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors or memory: retrying at once would spin.
                // Other errors concern one connection that is already gone.
                if is_resource_error(&e) {
                    tracing::warn!(error = %e, pause_ms = backoff.as_millis() as u64, "cannot accept");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                continue;
            }
        };
        backoff = Duration::from_millis(5);
        let _ = socket.set_nodelay(true);
        let id = pool.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            active_ms: AtomicU64::new(pool.now_ms()),
            close: tokio::sync::Notify::new(),
        });
        pool.conns
            .lock()
            .expect("conns lock")
            .insert(id, conn.clone());
        let (pool, ep, phase) = (pool.clone(), ep.clone(), phase.clone());
        tokio::spawn(async move {
            serve_connection(socket, local, remote, ep, &pool, conn, phase).await;
            pool.conns.lock().expect("conns lock").remove(&id);
            drop(permit);
        });
    }
    drop(listener);
    // Every slot back means every connection ended.
    let _ = pool.slots.acquire_many(cap as u32).await;
    Ok(())
}

fn is_resource_error(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(not(unix))]
    {
        e.kind() == std::io::ErrorKind::OutOfMemory
    }
}

async fn serve_connection<E: Endpoint + 'static>(
    socket: TcpStream,
    local: std::net::SocketAddr,
    remote: std::net::SocketAddr,
    ep: Arc<E>,
    pool: &Arc<Pool>,
    conn: Arc<Conn>,
    mut phase: watch::Receiver<Phase>,
) {
    // The version is chosen here, not by hyper-util's detection: it reads
    // the first 24 bytes on their own, and hyper's HTTP/1 buffer (8 KB)
    // then doubles to take the rest of the head, for every connection.
    let h2 = tokio::select! {
        h2 = tokio::time::timeout(HEADER_READ, speaks_h2(&socket)) => match h2 {
            Ok(Ok(h2)) => h2,
            _ => return,
        },
        _ = conn.close.notified() => return,
        _ = phase.wait_for(|p| *p != Phase::Serving) => return,
    };
    let io = Tracked {
        inner: socket,
        pool: pool.clone(),
        conn: conn.clone(),
    };
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let (ep, conn) = (ep.clone(), conn.clone());
            let flight = InFlight::new(conn);
            // HTTP/2 carries the host in `:authority`; the Host checks read
            // the header.
            if !req.headers().contains_key(hyper::header::HOST)
                && let Some(v) = req
                    .uri()
                    .authority()
                    .and_then(|a| hyper::header::HeaderValue::from_str(a.as_str()).ok())
            {
                req.headers_mut().insert(hyper::header::HOST, v);
            }
            // Boxed: hyper keeps room for this future as long as the
            // connection lives, and the routes' future is kilobytes, most of
            // it unused once the head is sent (a stream holds only its body).
            Box::pin(async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(local.into()),
                    RemoteAddr(remote.into()),
                    hyper::http::uri::Scheme::HTTP,
                ));
                let resp = ep.get_response(req).await;
                let resp: hyper::Response<_> = resp.into();
                Ok::<_, std::convert::Infallible>(resp.map(|body| Guarded {
                    inner: body,
                    _flight: flight,
                }))
            })
        })
    };
    let io = hyper_util::rt::TokioIo::new(io);
    let served = if h2 {
        Either::Right(
            hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .timer(hyper_util::rt::TokioTimer::new())
                .max_concurrent_streams(256)
                .max_pending_accept_reset_streams(64)
                .max_header_list_size(256 * 1024)
                .serve_connection(io, service),
        )
    } else {
        Either::Left(
            hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ)
                .serve_connection(io, service)
                .with_upgrades(),
        )
    };
    let mut served = std::pin::pin!(served);
    let idle = async {
        loop {
            let last = conn.active_ms.load(Ordering::Relaxed);
            let due = last + IDLE.as_millis() as u64;
            let now = pool.now_ms();
            if now >= due {
                return;
            }
            tokio::time::sleep(Duration::from_millis(due - now)).await;
        }
    };
    tokio::select! {
        _ = served.as_mut() => return,
        _ = idle => {}
        _ = conn.close.notified() => {}
        _ = phase.wait_for(|p| *p != Phase::Serving) => {}
    }
    // Nothing in flight: close at once (hyper's graceful close would still
    // wait for a half-sent head). Else let the answers finish.
    if conn.in_flight.load(Ordering::Acquire) == 0 {
        return;
    }
    match served.as_mut().as_pin_mut() {
        Either::Left(h1) => h1.graceful_shutdown(),
        Either::Right(h2) => h2.graceful_shutdown(),
    }
    tokio::select! {
        _ = served.as_mut() => {}
        _ = phase.wait_for(|p| *p == Phase::Abort) => {}
    }
}

/// Whether the client opens with HTTP/2's preface (prior knowledge, RFC
/// 9113 section 3.4). Peeked, not read, so hyper reads the head whole. No
/// HTTP/1 method starts with "PRI": three bytes decide, and hyper's HTTP/2
/// checks the rest of the preface.
async fn speaks_h2(socket: &TcpStream) -> std::io::Result<bool> {
    const PRI: &[u8] = b"PRI";
    let mut buf = [0u8; 3];
    let mut wait = Duration::from_millis(1);
    loop {
        let n = socket.peek(&mut buf).await?;
        if n == 0 || buf[..n] != PRI[..n] {
            return Ok(false);
        }
        if n == PRI.len() {
            return Ok(true);
        }
        // "P" or "PR" so far: peeking again would return at once.
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_millis(100));
    }
}

/// The socket, noting each byte's time for the idle checks.
struct Tracked {
    inner: TcpStream,
    pool: Arc<Pool>,
    conn: Arc<Conn>,
}

impl Tracked {
    fn touch(&self) {
        self.conn
            .active_ms
            .store(self.pool.now_ms(), Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request as in flight from its head until its answer's last
/// byte was handed on (or the answer was dropped).
struct InFlight(Arc<Conn>);

impl InFlight {
    fn new(conn: Arc<Conn>) -> Self {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(conn)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer body that keeps its request counted while it is sent.
struct Guarded<B> {
    inner: B,
    _flight: InFlight,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
