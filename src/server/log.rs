//! One request's log lines: a start line when it arrives, an end line when it
//! finishes (or a cancel line if the client goes away first). Never a secret.

use crate::canonical::Usage;
use crate::scheduler::Route;
use std::time::Instant;
use tracing::info;

pub struct RequestLog {
    pub id: String,
    pub account: String,
    model: String,
    upstream_model: String,
    started: Instant,
    ended: bool,
}

impl RequestLog {
    pub fn start(
        id: String,
        protocol: &str,
        model: &str,
        route: &Route,
        stream: bool,
        background: bool,
    ) -> Self {
        info!(req = %id, protocol, model, upstream = %route.model, stream, background, "request start");
        RequestLog {
            id,
            account: String::new(),
            model: model.to_string(),
            upstream_model: route.model.clone(),
            started: Instant::now(),
            ended: false,
        }
    }

    pub fn end(&mut self, status: u16, usage: Option<Usage>) {
        self.ended = true;
        let u = usage.unwrap_or_default();
        info!(
            req = %self.id,
            model = %self.model,
            upstream = %self.upstream_model,
            account = %self.account,
            status,
            latency_ms = self.started.elapsed().as_millis() as u64,
            input_tokens = u.input_tokens,
            output_tokens = u.output_tokens,
            "request end"
        );
    }

    /// Moves the log into a stream body, leaving a finished shell behind.
    pub fn take(&mut self) -> RequestLog {
        let shell = RequestLog {
            id: self.id.clone(),
            account: String::new(),
            model: String::new(),
            upstream_model: String::new(),
            started: self.started,
            ended: true,
        };
        std::mem::replace(self, shell)
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if !self.ended {
            info!(req = %self.id, account = %self.account, latency_ms = self.started.elapsed().as_millis() as u64, "request cancelled by the client");
        }
    }
}
