//! Cluster mode: instances share one pool through Redis.
//!
//! Each instance keeps its own data file as its local copy (and for its own
//! request log) and serves every request from it: nothing on the request
//! path waits for Redis. What instances share lives in Redis, sealed with a
//! key made from `LEVITY_PASSPHRASE` and the cluster's salt, so Redis only
//! ever holds ciphertext (and the counters of the leases):
//!
//! - `levity:seal`: the salt and check value of the cluster's key;
//! - `levity:epoch`: a random id set by whoever first fills an empty Redis,
//!   so an instance can tell that Redis lost what it held (a restart
//!   without persistence) and give back what it knows;
//! - `levity:t:{accounts|keys|settings}`: the shared tables, one field per
//!   row (`sync.rs` merges them three ways with each file's copy);
//! - `levity:health`: rests, trips and marks, one field per account and
//!   topic; `levity:s:{hash}`: session bindings, expiring like sessions;
//! - `levity:instances`: who is in the cluster, refreshed twice a second;
//! - `levity:l:...`: lease counters (`lease.rs`);
//! - the `levity:news` channel: each change as it happens. Pub/sub loses
//!   messages while a connection is down, so every (re)connection begins
//!   with a full resync.
//!
//! Times crossing instances are on Redis's clock (`TIME`), so machines
//! whose clocks differ still agree on rests and windows.

mod lease;
mod link;
mod run;
mod spend;
mod sync;
mod token;

pub use lease::{RETRY_MS, Scope, Terms, Want};
pub use link::{Link, News};
pub use spend::record as record_spend;

use crate::server::AppState;
use crate::store::{SealInfo, SealMode, Sealer};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// Every Redis call gives up after this: Redis away (or stopped) is found
/// out within it, and the instance goes on alone.
const TIMEOUT: Duration = Duration::from_millis(1_000);
/// How often an instance says it is alive and reads the others.
const BEAT: Duration = Duration::from_millis(500);
/// An instance not heard from for this long is left out of the count.
const GONE_MS: u64 = 3_000;

const PREFIX: &str = "levity:";

pub struct Cluster {
    /// This instance, as the others see it.
    pub id: String,
    client: redis::Client,
    /// The Redis address without its password, for people to read.
    pub shown_url: String,
    passphrase: String,
    sealer: Mutex<Option<(Arc<Sealer>, SealInfo)>>,
    pub link: Arc<Link>,
    state: Weak<AppState>,
    /// Woken after a local change to the shared tables.
    pub changed: Notify,
    news: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<News>>,
    instances: Mutex<Vec<Instance>>,
    /// The shared tables' digest as last agreed.
    digest: Mutex<String>,
    /// The epoch this instance last agreed with.
    epoch: Mutex<String>,
    /// A connection for the rare call made outside the task (a shared
    /// token's refresh); `None` while Redis is away.
    con: Mutex<Option<run::Con>>,
    /// Why the last connection to Redis failed, for the messages people read.
    last_error: Mutex<String>,
    /// When a value that would not open was last reported.
    warned_ms: std::sync::atomic::AtomicU64,
}

/// One instance as the cluster lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Instance {
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// Where it listens.
    pub listen: String,
    pub version: String,
    /// When it was last heard from (cluster clock, Unix ms).
    pub seen_ms: u64,
    /// The digest of the shared tables it holds: equal digests, same state.
    pub digest: String,
    /// Whether it reaches Redis and its copy is current.
    pub up: bool,
}

/// The cluster as the dashboard and `levity account list` show it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClusterStatus {
    /// Whether this instance runs in cluster mode.
    pub enabled: bool,
    /// This instance's id.
    pub id: Option<String>,
    pub redis: Option<String>,
    /// Whether this instance reaches Redis now.
    pub connected: bool,
    pub instances: Vec<InstanceState>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceState {
    #[serde(flatten)]
    pub instance: Instance,
    /// This instance.
    pub me: bool,
    /// Heard from lately, and holding the same shared state as this one.
    pub in_sync: bool,
    /// How long ago it was heard from.
    pub seen_ago_ms: u64,
}

impl Cluster {
    /// Joins the cluster at `url`. Redis need not be up yet: the instance
    /// serves from its copy and joins when Redis answers.
    pub fn join(
        state: &Arc<AppState>,
        url: &str,
        passphrase: Option<&str>,
    ) -> Result<Arc<Cluster>, String> {
        let shown_url = shown(url);
        let passphrase = match (state.store.seal_mode(), passphrase) {
            (SealMode::Passphrase, Some(p)) => p.to_string(),
            _ => {
                return Err(format!(
                    "cluster mode ({shown_url}) needs LEVITY_PASSPHRASE: every instance seals what \
                     it puts in Redis with the same passphrase, so set it (the same on every \
                     instance) and start again"
                ));
            }
        };
        let client = redis::Client::open(url)
            .map_err(|e| format!("cannot use {shown_url} as a Redis address: {e}"))?;
        let (link, rx) = Link::new();
        let cluster = Arc::new(Cluster {
            id: format!(
                "lv-{}",
                crate::util::hex(&crate::store::random_bytes::<4>())
            ),
            client,
            shown_url,
            passphrase,
            sealer: Mutex::new(None),
            link: Arc::new(link),
            state: Arc::downgrade(state),
            changed: Notify::new(),
            news: tokio::sync::Mutex::new(rx),
            instances: Mutex::new(Vec::new()),
            digest: Mutex::new(String::new()),
            epoch: Mutex::new(String::new()),
            con: Mutex::new(None),
            last_error: Mutex::new(String::new()),
            warned_ms: Default::default(),
        });
        state
            .cluster
            .set(cluster.clone())
            .map_err(|_| "this instance is in a cluster already".to_string())?;
        let _ = state.scheduler.link.set(cluster.link.clone());
        let _ = state.upstream.tokens().share.set(cluster.clone());
        tokio::spawn(run::supervise(cluster.clone()));
        Ok(cluster)
    }

    /// What the dashboard shows.
    pub fn status(&self) -> ClusterStatus {
        let now = self.link.clock(crate::util::now_ms());
        let digest = self.digest.lock().expect("digest lock").clone();
        let instances = self.instances.lock().expect("instances lock").clone();
        ClusterStatus {
            enabled: true,
            id: Some(self.id.clone()),
            redis: Some(self.shown_url.clone()),
            connected: self.link.is_up(),
            instances: instances
                .into_iter()
                .map(|i| {
                    let seen_ago_ms = now.saturating_sub(i.seen_ms);
                    InstanceState {
                        me: i.id == self.id,
                        in_sync: i.up && seen_ago_ms < GONE_MS && i.digest == digest,
                        seen_ago_ms,
                        instance: i,
                    }
                })
                .collect(),
        }
    }

    /// Refuses an admin change while Redis is away: the other instances
    /// could not learn it, and the copies would drift apart.
    pub fn writable(&self) -> Result<(), String> {
        if self.link.is_up() {
            return Ok(());
        }
        let error = self.last_error.lock().expect("error lock").clone();
        if error.is_empty() {
            return Err(format!(
                "this instance is still joining the cluster at {}: changes to accounts, keys and \
                 settings wait until it holds the cluster's state; try again in a moment",
                self.shown_url
            ));
        }
        // An error naming a user@host would show the password; the rest say what failed.
        let why = if error.is_empty() || error.contains('@') {
            String::new()
        } else {
            format!(" ({error})")
        };
        Err(format!(
            "this instance cannot reach Redis at {}{why}: changes to accounts, keys and settings \
             are refused until it is back, so every instance keeps the same pool (requests are \
             still served). Check that Redis runs, then try again",
            self.shown_url
        ))
    }

    fn sealer(&self) -> Option<Arc<Sealer>> {
        self.sealer
            .lock()
            .expect("sealer lock")
            .as_ref()
            .map(|(s, _)| s.clone())
    }

    fn seal(&self, plain: &[u8], aad: &str) -> Vec<u8> {
        self.sealer()
            .expect("sealed only once joined")
            .seal(plain, aad.as_bytes())
    }

    /// Opens a value read from Redis; one that fails (another passphrase,
    /// tampering) is left out, with a warning.
    fn unseal(&self, sealed: &[u8], aad: &str) -> Option<Vec<u8>> {
        let plain = self.sealer()?.unseal(sealed, aad.as_bytes()).ok();
        // Once a minute at most: whoever can write to Redis cannot flood the log.
        let now = crate::util::now_ms();
        let last = self.warned_ms.load(std::sync::atomic::Ordering::Relaxed);
        if plain.is_none() && now >= last + 60_000 {
            self.warned_ms
                .store(now, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                field = aad,
                "a value in Redis does not open with this cluster's key (written by something \
                 without the passphrase, or damaged); ignored"
            );
        }
        plain
    }

    fn open<T: serde::de::DeserializeOwned>(&self, sealed: &[u8], aad: &str) -> Option<T> {
        serde_json::from_slice(&self.unseal(sealed, aad)?).ok()
    }
}

/// An opaque name for a field or key: what it stands for (a setting's
/// name, a model, a session) stays inside the sealed value.
pub(crate) fn opaque(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    crate::util::hex(&h.finalize()[..16])
}

/// A Redis address with its password replaced.
pub fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The status of an instance that is not in a cluster.
pub fn alone() -> ClusterStatus {
    ClusterStatus {
        enabled: false,
        id: None,
        redis: None,
        connected: false,
        instances: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_redis_password_is_never_shown() {
        assert_eq!(
            super::shown("redis://:hunter2@10.0.0.5:6379/2"),
            "redis://***@10.0.0.5:6379/2"
        );
        assert_eq!(
            super::shown("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
