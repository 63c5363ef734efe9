//! Upstream providers: one module per kind, sharing one HTTP client.
//!
//! A provider turns a routed request into an upstream call and hands back
//! either a finished canonical response or a stream of canonical events. Only
//! this module talks to upstreams; it never sees the client's wire format.

pub mod gemini;
pub mod openai;

use crate::canonical::Event;
use crate::error::{Error, Kind};
use futures_util::Stream;
use std::pin::Pin;
use std::time::Duration;

/// Events as they arrive from an upstream; an `Err` ends the stream.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Vec<Event>, Error>> + Send>>;

/// The one HTTP client every upstream call goes through (connection pools,
/// TLS sessions and DNS caches are shared).
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
}

/// Error bodies are read for their message only; a hostile upstream cannot
/// make us buffer more than this.
const MAX_ERROR_BODY: usize = 64 * 1024;

impl Upstream {
    pub fn new(connect_timeout: Duration) -> Upstream {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("levity/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend is compiled in");
        Upstream { client }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The host part of a base URL, for messages that must not show paths or keys.
pub fn host_of(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Turns a transport failure into the error a client should see.
pub fn transport_error(host: &str, e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::new(Kind::Timeout, format!("{host} did not answer in time"))
    } else if e.is_connect() {
        Error::new(Kind::Upstream, format!("cannot connect to {host}"))
    } else {
        Error::new(
            Kind::Upstream,
            format!(
                "connection to {host} failed: {}",
                std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string())
            ),
        )
    }
}

/// Reads a failed upstream answer: its status, retry hint and (bounded) body.
pub async fn read_failure(resp: reqwest::Response) -> (u16, Option<u64>, Vec<u8>) {
    let status = resp.status().as_u16();
    let header_hint = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = Vec::new();
    let mut resp = resp;
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    let hint = header_hint.or_else(|| retry_delay_in_body(&body));
    (status, hint, body)
}

/// Google puts the wait in the body (`"retryDelay": "37s"`) rather than a header.
fn retry_delay_in_body(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.find("\"retryDelay\"")?;
    let rest = &text[at + "\"retryDelay\"".len()..];
    let value = rest.split('"').nth(1)?;
    let secs: f64 = value.strip_suffix('s')?.parse().ok()?;
    Some(secs.ceil() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_google_retry_delay() {
        let body = br#"{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay": "36.5s"}]}}"#;
        assert_eq!(super::retry_delay_in_body(body), Some(37));
        assert_eq!(super::retry_delay_in_body(b"{}"), None);
    }
}
