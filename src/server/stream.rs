//! Response bodies that stream: canonical events encoded for the client as
//! they arrive, or an upstream's bytes copied through untouched.

use super::log::RequestLog;
use super::wire::Encoder;
use crate::provider::EventStream;
use bytes::Bytes;
use futures_util::StreamExt;
use poem::{Body, Response};
use std::time::Duration;
use tracing::warn;

/// How long the upstream may stay silent before the client gets a keep-alive.
const PING_EVERY: Duration = Duration::from_secs(15);

struct SseState {
    events: EventStream,
    encoder: Encoder,
    log: RequestLog,
    done: bool,
}

fn event_stream(body: Body) -> Response {
    Response::builder()
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
}

/// Encodes upstream events into the client's stream as they arrive.
pub fn sse_response(events: EventStream, encoder: Encoder, log: RequestLog) -> Response {
    let state = SseState {
        events,
        encoder,
        log,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let mut out = Vec::new();
        while out.is_empty() && !st.done {
            let next = match tokio::time::timeout(PING_EVERY, st.events.next()).await {
                Ok(next) => next,
                Err(_) => {
                    st.encoder.ping(&mut out);
                    continue;
                }
            };
            match next {
                Some(Ok(events)) => {
                    for ev in &events {
                        st.encoder.event(ev, &mut out);
                    }
                }
                Some(Err(e)) => {
                    // Headers are gone already: the error travels in the stream.
                    st.done = true;
                    st.encoder.error(&e, &mut out);
                    warn!(req = %st.log.id, error = %e, "stream failed after it started");
                    st.log.end(e.status(), Some(st.encoder.usage()));
                }
                None => {
                    st.done = true;
                    st.encoder.done(&mut out);
                    st.log.end(200, Some(st.encoder.usage()));
                }
            }
        }
        if !out.is_empty() {
            st.log.first_byte();
            st.log.response(&out);
        }
        (!out.is_empty()).then(|| (Ok::<_, std::io::Error>(Bytes::from(out)), st))
    });
    event_stream(Body::from_bytes_stream(body))
}

/// An upstream body as it arrives.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>;

struct PipeState {
    bytes: ByteStream,
    log: RequestLog,
    idle: Duration,
    done: bool,
}

/// Copies an upstream stream to the client byte for byte, as it arrives.
pub fn pipe_response(bytes: ByteStream, idle: Duration, log: RequestLog) -> Response {
    let state = PipeState {
        bytes,
        log,
        idle,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let failure = match tokio::time::timeout(st.idle, st.bytes.next()).await {
            Ok(Some(Ok(b))) => {
                st.log.first_byte();
                st.log.response(&b);
                return Some((Ok(b), st));
            }
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
    event_stream(Body::from_bytes_stream(body))
}
