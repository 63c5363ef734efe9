//! One request's log lines: a start line when it arrives, a line per failed
//! attempt (from the proxy), and an end line saying which account served it,
//! why the scheduler chose it, and after how many attempts; or a cancel line
//! if the client goes away first. Never a secret.

use super::AppState;
use crate::canonical::Usage;
use crate::scheduler::{Route, now_ms};
use crate::store::Account;
use std::sync::Arc;
use std::time::Instant;
use tracing::info;

pub struct RequestLog {
    state: Option<Arc<AppState>>,
    pub id: String,
    account: String,
    account_id: String,
    why: &'static str,
    attempts: u32,
    model: String,
    upstream_model: String,
    started: Instant,
    ended: bool,
}

impl RequestLog {
    pub fn start(
        state: Arc<AppState>,
        id: String,
        protocol: &str,
        model: &str,
        route: &Route,
        stream: bool,
        background: bool,
    ) -> Self {
        info!(req = %id, protocol, model, upstream = %route.model, stream, background, "request start");
        RequestLog {
            state: Some(state),
            id,
            account: String::new(),
            account_id: String::new(),
            why: "",
            attempts: 0,
            model: model.to_string(),
            upstream_model: route.model.clone(),
            started: Instant::now(),
            ended: false,
        }
    }

    /// An attempt on `account`, chosen for `why`.
    pub fn attempt(&mut self, account: &Account, why: &'static str) {
        self.attempts += 1;
        self.account.clone_from(&account.name);
        self.account_id.clone_from(&account.id);
        self.why = why;
    }

    pub fn end(&mut self, status: u16, usage: Option<Usage>) {
        self.ended = true;
        let u = usage.unwrap_or_default();
        if let Some(state) = &self.state
            && !self.account_id.is_empty()
            && status < 400
        {
            let tokens = u.input_tokens + u.output_tokens;
            state
                .scheduler
                .tokens(&self.account_id, &self.upstream_model, tokens, now_ms());
        }
        info!(
            req = %self.id,
            model = %self.model,
            upstream = %self.upstream_model,
            account = %self.account,
            why = self.why,
            attempts = self.attempts,
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
            state: None,
            id: self.id.clone(),
            account: String::new(),
            account_id: String::new(),
            why: "",
            attempts: 0,
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
