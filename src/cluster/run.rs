//! The one task that talks to Redis: connects, resyncs, then sends this
//! instance's news, takes in the others', beats, and leases blocks, until
//! Redis fails to answer within `TIMEOUT`; then it marks the instance
//! alone and connects again.

use super::link::News;
use super::{BEAT, Cluster, GONE_MS, Instance, PREFIX, TIMEOUT, sync};
use crate::scheduler::Told;
use crate::util::now_ms;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub(super) const CHANNEL: &str = "levity:news";
pub(super) const INSTANCES: &str = "levity:instances";
pub(super) const EPOCH: &str = "levity:epoch";
pub(super) const HEALTH: &str = "levity:health";
/// An instance gone this long is taken off the list.
const FORGET_MS: u64 = 60_000;

/// What goes over the channel: a batch of news from one instance.
#[derive(Serialize, Deserialize)]
pub(super) struct Msg {
    pub from: String,
    pub news: Vec<Body>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Body {
    /// The shared tables changed: merge them again.
    Config,
    /// Times on the cluster's clock.
    Health {
        account: String,
        told: Told,
    },
    Session {
        key: String,
        account: String,
    },
}

pub(super) type Con = redis::aio::MultiplexedConnection;

pub(super) fn failed(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub(super) async fn supervise(c: Arc<Cluster>) {
    let Some(mut stop) = c.state.upgrade().map(|s| s.stopping.subscribe()) else {
        return;
    };
    let mut last_error = String::new();
    loop {
        let result = tokio::select! {
            r = session(&c) => r,
            _ = stop.wait_for(|s| *s) => Err(String::new()),
        };
        if *stop.borrow() {
            return leave(&c).await;
        }
        let was_up = c.link.is_up();
        c.link.set_up(false);
        *c.con.lock().expect("connection lock") = None;
        if c.state.strong_count() == 0 {
            return;
        }
        if let Err(e) = &result {
            e.clone_into(&mut c.last_error.lock().expect("error lock"));
        }
        if let Err(e) = result
            && (was_up || e != last_error)
        {
            tracing::warn!(redis = %c.shown_url, error = %e,
                "Redis is unreachable: serving from this instance's copy, changes refused until it is back");
            last_error = e;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A server stopping takes itself off the list at once rather than being
/// shown out of sync for a minute.
async fn leave(c: &Cluster) {
    let con = c.con.lock().expect("connection lock").take();
    if let Some(mut con) = con {
        let mut gone = redis::cmd("HDEL");
        gone.arg(INSTANCES).arg(&c.id);
        let _ = tokio::time::timeout(Duration::from_millis(300), gone.query_async::<()>(&mut con))
            .await;
    }
    c.link.set_up(false);
}

async fn session(c: &Arc<Cluster>) -> Result<(), String> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    let mut con = c
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(failed)?;
    let mut pubsub = tokio::time::timeout(TIMEOUT, c.client.get_async_pubsub())
        .await
        .map_err(failed)?
        .map_err(failed)?;
    tokio::time::timeout(TIMEOUT, pubsub.subscribe(CHANNEL))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    let mut messages = pubsub.into_on_message();
    let mut news = c.news.lock().await;
    // News queued before the resync is in what the resync sends.
    while news.try_recv().is_ok() {}
    sync::resync(c, &mut con).await?;
    heartbeat(c, &mut con).await?;
    c.link.set_up(true);
    *c.con.lock().expect("connection lock") = Some(con.clone());
    c.last_error.lock().expect("error lock").clear();
    tracing::info!(redis = %c.shown_url, instance = %c.id, "in the cluster, in sync");
    let mut beat = tokio::time::interval(BEAT);
    loop {
        tokio::select! {
            m = messages.next() => {
                let m = m.ok_or("the subscription to Redis closed")?;
                if take_in(c, m.get_payload_bytes()) {
                    sync::config(c, &mut con).await?;
                }
            }
            _ = beat.tick() => heartbeat(c, &mut con).await?,
            _ = c.changed.notified() => sync::config(c, &mut con).await?,
            Some(first) = news.recv() => {
                let mut batch = vec![first];
                while batch.len() < 256 {
                    match news.try_recv() {
                        Ok(n) => batch.push(n),
                        Err(_) => break,
                    }
                }
                send(c, &mut con, batch).await?;
            }
            _ = c.link.leases.wake.notified() => refill(c, &mut con).await?,
        }
    }
}

/// Takes in another instance's news; says whether the shared tables changed.
fn take_in(c: &Cluster, payload: &[u8]) -> bool {
    let Some(msg) = c.open::<Msg>(payload, CHANNEL) else {
        return false;
    };
    let Some(state) = c.state.upgrade() else {
        return false;
    };
    if msg.from == c.id {
        return false;
    }
    let (now, offset) = (now_ms(), c.link.offset());
    let mut config = false;
    for body in msg.news {
        match body {
            Body::Config => config = true,
            Body::Health { account, told } => {
                state.scheduler.health.told(&account, told.shifted(-offset));
            }
            Body::Session { key, account } => state.scheduler.adopt_session(&key, &account, now),
        }
    }
    config
}

/// One field per account and topic (a model's rest, the breaker, the mark).
pub(super) fn health_field(account: &str, told: &Told) -> String {
    super::opaque(&[account, &told.topic()])
}

pub(super) fn session_key(key: &str) -> String {
    format!("{PREFIX}s:{}", super::opaque(&[key]))
}

/// Stores and publishes a batch of this instance's news.
async fn send(c: &Cluster, con: &mut Con, batch: Vec<News>) -> Result<(), String> {
    let offset = c.link.offset();
    let mut pipe = redis::pipe();
    let mut bodies = Vec::with_capacity(batch.len());
    for news in batch {
        match news {
            News::Health { account, told } => {
                let told = told.shifted(offset);
                put_health(c, &mut pipe, &account, &told);
                bodies.push(Body::Health { account, told });
            }
            News::Session { key, account } => {
                put_session(c, &mut pipe, &key, &account);
                bodies.push(Body::Session { key, account });
            }
        }
    }
    publish(c, &mut pipe, bodies);
    pipe.query_async::<()>(con).await.map_err(failed)
}

pub(super) fn put_health(c: &Cluster, pipe: &mut redis::Pipeline, account: &str, told: &Told) {
    let field = health_field(account, told);
    if *told == Told::Clear {
        pipe.cmd("HDEL").arg(HEALTH).arg(&field).ignore();
    } else {
        let sealed = c.seal(
            &serde_json::to_vec(&(account, told)).expect("serializable"),
            &field,
        );
        pipe.cmd("HSET")
            .arg(HEALTH)
            .arg(&field)
            .arg(sealed)
            .ignore();
    }
}

pub(super) fn put_session(c: &Cluster, pipe: &mut redis::Pipeline, key: &str, account: &str) {
    let rkey = session_key(key);
    let sealed = c.seal(
        &serde_json::to_vec(&(key, account)).expect("serializable"),
        &rkey,
    );
    pipe.cmd("SET")
        .arg(&rkey)
        .arg(sealed)
        .arg("PX")
        .arg(crate::scheduler::SESSION_IDLE_MS)
        .ignore();
}

pub(super) fn publish(c: &Cluster, pipe: &mut redis::Pipeline, news: Vec<Body>) {
    let msg = Msg {
        from: c.id.clone(),
        news,
    };
    let sealed = c.seal(&serde_json::to_vec(&msg).expect("serializable"), CHANNEL);
    pipe.cmd("PUBLISH").arg(CHANNEL).arg(sealed).ignore();
}

/// Reads the cluster's clock, says this instance is alive, reads the
/// others, and notices a Redis that lost the cluster's state.
async fn heartbeat(c: &Cluster, con: &mut Con) -> Result<(), String> {
    let now = clock(c, con).await?;
    let me = Instance {
        id: c.id.clone(),
        host: hostname(),
        listen: c
            .state
            .upgrade()
            .map(|s| s.listen.load().to_string())
            .unwrap_or_default(),
        version: env!("CARGO_PKG_VERSION").into(),
        seen_ms: now,
        digest: c.digest.lock().expect("digest lock").clone(),
        up: true,
    };
    let sealed = c.seal(&serde_json::to_vec(&me).expect("serializable"), &me.id);
    let (epoch, all): (Option<String>, HashMap<String, Vec<u8>>) = redis::pipe()
        .cmd("HSET")
        .arg(INSTANCES)
        .arg(&c.id)
        .arg(sealed)
        .ignore()
        .cmd("GET")
        .arg(EPOCH)
        .cmd("HGETALL")
        .arg(INSTANCES)
        .query_async(con)
        .await
        .map_err(failed)?;
    if epoch.as_deref() != Some(c.epoch.lock().expect("epoch lock").as_str()) {
        return Err("Redis lost the cluster's state (restarted empty or flushed)".into());
    }
    let mut live = Vec::new();
    let mut gone = Vec::new();
    for (id, v) in all {
        match c.open::<Instance>(&v, &id) {
            Some(i) if now.saturating_sub(i.seen_ms) < FORGET_MS => live.push(i),
            _ => gone.push(id),
        }
    }
    live.sort_by(|a, b| a.id.cmp(&b.id));
    c.link.set_instances(
        live.iter()
            .filter(|i| now.saturating_sub(i.seen_ms) < GONE_MS)
            .count(),
    );
    *c.instances.lock().expect("instances lock") = live;
    if !gone.is_empty() {
        redis::cmd("HDEL")
            .arg(INSTANCES)
            .arg(gone)
            .query_async::<()>(con)
            .await
            .map_err(failed)?;
    }
    refill(c, con).await?;
    super::spend::exchange(c, con).await
}

/// Reads Redis's clock and keeps its offset from this machine's, taking
/// the middle of the round trip; returns Redis's time (Unix ms).
pub(super) async fn clock(c: &Cluster, con: &mut Con) -> Result<u64, String> {
    let before = now_ms();
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(con).await.map_err(failed)?;
    let after = now_ms();
    let now = secs * 1_000 + micros / 1_000;
    c.link
        .set_offset(now as i64 - (before / 2 + after / 2) as i64);
    Ok(now)
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

fn lease_key(a: &super::lease::Ask) -> String {
    let window = if a.scope.day { "day" } else { "minute" };
    let scope = super::opaque(&[&a.scope.owner, &a.scope.model, window]);
    format!("{PREFIX}l:{scope}:{}", a.start)
}

/// Leases the blocks running low, and the next minute's first.
pub(super) async fn refill(c: &Cluster, con: &mut Con) -> Result<(), String> {
    let now = c.link.clock(now_ms());
    let asks = c.link.leases.asks(now, c.link.instances());
    count(c, con, &asks, true).await
}

/// Adds each ask's block to its window's counter; `grant` takes what the
/// counters allow (`false`: reporting what was spent while Redis was away).
pub(super) async fn count(
    c: &Cluster,
    con: &mut Con,
    asks: &[super::lease::Ask],
    grant: bool,
) -> Result<(), String> {
    if asks.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for a in asks {
        let key = lease_key(a);
        pipe.cmd("INCRBY").arg(&key).arg(a.block);
        pipe.cmd("PEXPIREAT")
            .arg(&key)
            .arg(a.end + FORGET_MS)
            .ignore();
    }
    let totals: Vec<u64> = pipe.query_async(con).await.map_err(failed)?;
    if grant {
        for (a, total) in asks.iter().zip(totals) {
            let before = total.saturating_sub(a.block);
            let allowed = a.limit.saturating_sub(before).min(a.block);
            c.link.leases.granted(a, allowed, total >= a.limit);
        }
    }
    Ok(())
}
