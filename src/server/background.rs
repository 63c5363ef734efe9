//! Background work: Code Assist quota refreshes (every few minutes, and soon
//! after a 429) fed to the scheduler, and the periodic saving of account
//! health, usage and the request log, off the request path; what a failed
//! save (a full disk) could not write stays in memory for the next one. The
//! daily backup of the data file is written here too.

use super::AppState;
use super::log::Capture;
use super::monitor::Ended;
use super::redact::redact;
use crate::provider::{Call, code_assist};
use crate::scheduler::Remaining;
use crate::store::{Account, LogBatch};
use crate::util::now_ms;
use std::sync::Arc;
use std::time::Duration;

/// How often Google accounts' quota is read.
const QUOTA_EVERY: Duration = Duration::from_secs(300);
/// How often changed account health is written to the store.
const SAVE_EVERY: Duration = Duration::from_secs(2);
/// How often the age of the daily backup is looked at.
const BACKUP_CHECK_EVERY: Duration = Duration::from_secs(3600);

pub async fn refresh(state: &Arc<AppState>, account: Arc<Account>) {
    let snap = state.snapshot.load_full();
    let call = Call {
        up: state.upstream.clone(),
        proxy: account
            .proxy
            .clone()
            .or_else(|| snap.settings.upstream_proxy.clone()),
        model: String::new(),
        timeout: Duration::from_secs(snap.settings.request_timeout_secs.min(60)),
        max_answer: snap.settings.answer_max,
        id: String::new(),
        oauth: snap.settings.oauth.clone(),
        on_quota: None,
        acc: account.clone(),
    };
    match code_assist::quota(&call).await {
        Ok(buckets) => {
            for b in buckets {
                let r = Remaining {
                    fraction: b.fraction,
                    reset_ms: b.reset_ms,
                };
                state.scheduler.health.remaining(&account.id, &b.model, r);
            }
        }
        Err(e) => tracing::debug!(account = %account.name, error = %e, "quota refresh failed"),
    }
}

/// Reads an account's quota again shortly (after a 429).
pub fn refresh_soon(state: Arc<AppState>, account: Arc<Account>) {
    tokio::spawn(async move { refresh(&state, account).await });
}

/// Runs until the server stops: quota refreshes and saves.
pub async fn run(state: Arc<AppState>) {
    let mut saving = tokio::time::interval(SAVE_EVERY);
    let mut quota = tokio::time::interval(QUOTA_EVERY);
    // Opening the store just looked at the backup.
    let mut backup = tokio::time::interval_at(
        tokio::time::Instant::now() + BACKUP_CHECK_EVERY,
        BACKUP_CHECK_EVERY,
    );
    // Whether the workers were asked to give memory back since the last
    // request ended.
    let mut tidied = true;
    loop {
        tokio::select! {
            _ = saving.tick() => {
                if save(&state).await {
                    tidied = false;
                } else if !tidied {
                    // Quiet for a tick after a busy spell.
                    tidied = true;
                    crate::runtime::tidy_all().await;
                }
            }
            _ = backup.tick() => {
                let state = state.clone();
                let done = crate::runtime::in_background(move || state.store.backup_if_due()).await;
                if let Some(Err(e)) = done {
                    tracing::warn!(error = %e, "cannot write the daily backup of the data file");
                }
            }
            _ = quota.tick() => {
                let snap = state.snapshot.load_full();
                for a in snap.accounts.iter().filter(|a| a.enabled && a.kind.descriptor().reports_quota) {
                    refresh(&state, a.clone()).await;
                }
            }
        }
    }
}

/// A captured request's bodies as stored: text, secrets redacted.
fn body_record(c: &Capture, known: &[&str]) -> Vec<u8> {
    let text = |b: &[u8]| redact(&String::from_utf8_lossy(b), known);
    let headers: Vec<(&str, String)> = c
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), redact(v, known)))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "headers": headers,
        "request": text(&c.request),
        "request_cut": c.request_cut,
        "response": text(&c.response),
        "response_cut": c.response_cut,
    }))
    .expect("serializable")
}

/// Ended requests as one batch for the log.
fn log_batch(state: &AppState, pending: &[Ended]) -> LogBatch {
    let snap = state.snapshot.load();
    let known: Vec<&str> = snap.accounts.iter().map(|a| a.secret.expose()).collect();
    let mut batch = LogBatch::default();
    for (entry, capture) in pending {
        let key = entry.key();
        if let Some(c) = capture {
            batch.bodies.push((key.clone(), body_record(c, &known)));
        }
        if let Ok(json) = entry.stored() {
            batch.entries.push((key, json));
        }
    }
    batch
}

/// Writes account health, usage and the request log where they changed
/// since the last save; when it returns, everything ended before the call
/// is written (or waiting again after a failure). Says whether anything had
/// changed.
pub async fn save(state: &Arc<AppState>) -> bool {
    fn encode<'a, V: serde::Serialize + 'a>(
        map: impl IntoIterator<Item = (&'a String, &'a V)>,
    ) -> Vec<(String, Vec<u8>)> {
        map.into_iter()
            .filter_map(|(k, v)| serde_json::to_vec(v).ok().map(|v| (k.clone(), v)))
            .collect()
    }
    let _saving = state.monitor.saving.lock().await;
    // Taken here, encoded and written on the bookkeeping thread.
    let health = state.scheduler.health.take_dirty();
    let usage = state.monitor.take_dirty();
    // Every ended request marks usage changed, so nothing new is waiting
    // for the request log either.
    if health.is_none() && usage.is_none() {
        return false;
    }
    let state = state.clone();
    let saved = crate::runtime::in_background(move || {
        let (pending, dropped) = state.monitor.take_pending();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "the request log fell behind; the oldest unwritten entries were dropped"
            );
        }
        let pending = Vec::from(pending);
        let written = (|| {
            if let Some(h) = &health {
                state.store.save_health(&encode(h))?;
            }
            if let Some(u) = &usage {
                let rows = encode(u.rows.iter().map(|(k, v)| (k, v)));
                state.store.save_usage(&rows, u.whole)?;
            }
            let batch = log_batch(&state, &pending);
            if !batch.entries.is_empty() {
                let log = state.snapshot.load().settings.log;
                let oldest = now_ms().saturating_sub(log.retention_days * 86_400_000);
                state
                    .store
                    .write_log(&batch, &format!("{oldest:013}"), log.bodies_max)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })();
        if written.is_err() {
            // Health and usage are marked unsaved (the next save writes
            // them whole); the log entries go back in line.
            if health.is_some() {
                state.scheduler.health.touch();
            }
            state.monitor.requeue(pending.into());
        }
        written
    })
    .await;
    if let Some(Err(e)) = saved {
        tracing::warn!(error = %e, "saving account health, usage or the request log failed");
    }
    true
}
