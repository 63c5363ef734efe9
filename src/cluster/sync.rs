//! Bringing an instance and Redis into agreement: the cluster's key, its
//! epoch, the shared tables (merged three ways), rests and sessions, and
//! what was spent while Redis was away.

use super::run::{Body, Con, EPOCH, HEALTH, count, failed, publish, put_health, put_session};
use super::{Cluster, PREFIX};
use crate::scheduler::Told;
use crate::store::{KeySource, RowChange, Rows, SealInfo, Sealer, Shared};
use crate::util::now_ms;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const SEAL: &str = "levity:seal";

/// Everything, after a (re)connection: pub/sub lost whatever was said
/// while this instance was away.
pub(super) async fn resync(c: &Arc<Cluster>, con: &mut Con) -> Result<(), String> {
    super::run::clock(c, con).await?;
    key(c, con).await?;
    let epoch = redis::cmd("SET")
        .arg(EPOCH)
        .arg(crate::util::hex(&crate::store::random_bytes::<8>()))
        .arg("NX")
        .arg("GET")
        .query_async::<Option<String>>(con)
        .await
        .map_err(failed)?;
    let fresh = epoch.is_none();
    let epoch = match epoch {
        Some(e) => e,
        None => redis::cmd("GET")
            .arg(EPOCH)
            .query_async::<String>(con)
            .await
            .map_err(failed)?,
    };
    // A new epoch (an empty Redis, or this instance's first time): what
    // this instance knows goes back in.
    let lost = {
        let mut e = c.epoch.lock().expect("epoch lock");
        let lost = *e != epoch;
        *e = epoch;
        lost
    };
    if fresh {
        tracing::info!("Redis held no cluster state: this instance's copy fills it");
    }
    config(c, con).await?;
    health(c, con, lost).await?;
    sessions(c, con, lost).await?;
    let now = c.link.clock(now_ms());
    count(c, con, &c.link.leases.take_local(now), false).await
}

/// The cluster's key: made from the passphrase and the salt in Redis. An
/// empty Redis gets this instance's salt back, so instances already
/// running keep theirs.
async fn key(c: &Cluster, con: &mut Con) -> Result<(), String> {
    let ours = c
        .sealer
        .lock()
        .expect("sealer lock")
        .as_ref()
        .map(|(_, i)| i.clone());
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg(SEAL)
        .query_async(con)
        .await
        .map_err(failed)?;
    let info: SealInfo = match stored.and_then(|s| serde_json::from_slice(&s).ok()) {
        Some(info) => info,
        None => {
            let pass = c.passphrase.clone();
            let offer = match ours.clone() {
                Some(info) => info,
                None => tokio::task::spawn_blocking(move || {
                    Sealer::create(KeySource::Passphrase(&pass)).map(|(_, info)| info)
                })
                .await
                .map_err(failed)?
                .map_err(failed)?,
            };
            let json = serde_json::to_vec(&offer).expect("serializable");
            let won: Option<String> = redis::cmd("SET")
                .arg(SEAL)
                .arg(json)
                .arg("NX")
                .query_async(con)
                .await
                .map_err(failed)?;
            if won.is_some() {
                offer
            } else {
                let s: Vec<u8> = redis::cmd("GET")
                    .arg(SEAL)
                    .query_async(con)
                    .await
                    .map_err(failed)?;
                serde_json::from_slice(&s).map_err(failed)?
            }
        }
    };
    if ours.is_some_and(|o| o.salt == info.salt && o.check == info.check) {
        return Ok(());
    }
    let pass = c.passphrase.clone();
    let check = info.clone();
    let sealer = tokio::task::spawn_blocking(move || Sealer::open(&check, Some(&pass), None))
        .await
        .map_err(failed)?
        .map_err(|_| {
            "LEVITY_PASSPHRASE is not the passphrase of this cluster: every instance must use \
             the same one"
                .to_string()
        })?;
    *c.sealer.lock().expect("sealer lock") = Some((Arc::new(sealer), info));
    Ok(())
}

fn table_key(table: Shared) -> String {
    format!("{PREFIX}t:{}", table.as_str())
}

/// A row's field in its table's hash; the row's key is sealed in the value.
fn row_field(table: Shared, key: &str) -> String {
    super::opaque(&[table.as_str(), key])
}

/// Merges the shared tables three ways: this file's rows, Redis's, and
/// those both held at the last agreement (the base). A row this instance
/// changed since (by the dashboard, the API, or the CLI on the file while
/// the server was stopped) goes to Redis; any other row follows Redis.
pub(super) async fn config(c: &Cluster, con: &mut Con) -> Result<(), String> {
    let Some(state) = c.state.upgrade() else {
        return Ok(());
    };
    let epoch = c.epoch.lock().expect("epoch lock").clone();
    let (base_epoch, mut base) = state.store.cluster_base().map_err(failed)?;
    // The base is written only when the agreement moved: a sync that
    // changed nothing costs the data file no write.
    let mut moved = base_epoch != epoch;
    if moved {
        base.clear();
    }
    let mut pipe = redis::pipe();
    let mut pushed = false;
    let mut take_all = Vec::new();
    let mut agreed = BTreeMap::new();
    for table in Shared::ALL {
        let hash = table_key(table);
        let raw: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
            .arg(&hash)
            .query_async(con)
            .await
            .map_err(failed)?;
        let remote: Rows = raw
            .into_iter()
            .filter_map(|(field, v)| {
                let (key, row): (String, String) = c.open(&v, &field)?;
                // A value moved to another row's field is not that row.
                (row_field(table, &key) == field).then(|| (key, row.into_bytes()))
            })
            .collect();
        let local = state.store.portable_rows(table).map_err(failed)?;
        let before = base.remove(&table).unwrap_or_default();
        let (push, take, rows) = merge(&before, &local, &remote);
        moved |= rows != before;
        for (k, v) in &push {
            let field = row_field(table, k);
            match v {
                Some(v) => {
                    // Rows are JSON or a setting's text: UTF-8 either way.
                    let row = (k, String::from_utf8_lossy(v));
                    let sealed = c.seal(&serde_json::to_vec(&row).expect("serializable"), &field);
                    pipe.cmd("HSET").arg(&hash).arg(&field).arg(sealed).ignore()
                }
                None => pipe.cmd("HDEL").arg(&hash).arg(&field).ignore(),
            };
        }
        if !take.is_empty() {
            take_all.push((table, take));
        }
        pushed |= !push.is_empty();
        agreed.insert(table, rows);
    }
    let applied = !take_all.is_empty();
    if applied {
        state.store.apply_rows(&take_all).map_err(failed)?;
    }
    if pushed {
        publish(c, &mut pipe, vec![Body::Config]);
        pipe.query_async::<()>(con).await.map_err(failed)?;
    }
    if moved {
        state
            .store
            .save_cluster_base(&epoch, &agreed)
            .map_err(failed)?;
    }
    *c.digest.lock().expect("digest lock") = digest(&agreed);
    if applied {
        state.rebuild().map_err(failed)?;
        tracing::info!("took in changes another instance made to accounts, keys or settings");
    }
    Ok(())
}

/// `(to push to Redis, to take into the file, agreed rows)`.
fn merge(base: &Rows, local: &Rows, remote: &Rows) -> (Vec<RowChange>, Vec<RowChange>, Rows) {
    let keys: BTreeSet<&String> = base
        .keys()
        .chain(local.keys())
        .chain(remote.keys())
        .collect();
    let (mut push, mut take, mut agreed) = (Vec::new(), Vec::new(), Rows::new());
    for k in keys {
        let (b, l, r) = (base.get(k), local.get(k), remote.get(k));
        // A row both hold without a common base (joining a cluster) takes
        // the cluster's value: a newcomer does not override its settings.
        let ours = l != b && !(b.is_none() && r.is_some());
        let winner = if ours { l } else { r };
        if winner != r {
            push.push((k.clone(), winner.cloned()));
        }
        if winner != l {
            take.push((k.clone(), winner.cloned()));
        }
        if let Some(w) = winner {
            agreed.insert(k.clone(), w.clone());
        }
    }
    (push, take, agreed)
}

fn digest(tables: &BTreeMap<Shared, Rows>) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (t, rows) in tables {
        h.update(t.as_str());
        for (k, v) in rows {
            h.update([0]);
            h.update(k);
            h.update([0]);
            h.update(v);
        }
    }
    crate::util::hex(&h.finalize()[..6])
}

/// Rests, trips and marks: Redis's taken in (expired ones cleared away);
/// this instance's given back when Redis had lost them.
async fn health(c: &Cluster, con: &mut Con, lost: bool) -> Result<(), String> {
    let Some(state) = c.state.upgrade() else {
        return Ok(());
    };
    let now = now_ms();
    let (cluster_now, offset) = (c.link.clock(now), c.link.offset());
    let raw: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
        .arg(HEALTH)
        .query_async(con)
        .await
        .map_err(failed)?;
    let mut pipe = redis::pipe();
    for (field, v) in raw {
        let Some((account, told)) = c.open::<(String, Told)>(&v, &field) else {
            continue;
        };
        match told {
            Told::Cool { cooldown, .. } if cooldown.until_ms <= cluster_now => {
                pipe.cmd("HDEL").arg(HEALTH).arg(&field).ignore();
            }
            Told::Trip { until_ms, .. } if until_ms <= cluster_now => {
                pipe.cmd("HDEL").arg(HEALTH).arg(&field).ignore();
            }
            told => state.scheduler.health.told(&account, told.shifted(-offset)),
        }
    }
    if lost {
        for (account, told) in state.scheduler.health.all_news(now) {
            put_health(c, &mut pipe, &account, &told.shifted(offset));
        }
    }
    if pipe.is_empty() {
        return Ok(());
    }
    pipe.query_async::<()>(con).await.map_err(failed)
}

/// Session bindings: Redis's taken in; this instance's given back when
/// Redis had lost them.
async fn sessions(c: &Cluster, con: &mut Con, lost: bool) -> Result<(), String> {
    let Some(state) = c.state.upgrade() else {
        return Ok(());
    };
    let now = now_ms();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{PREFIX}s:*"))
            .arg("COUNT")
            .arg(1_000)
            .query_async(con)
            .await
            .map_err(failed)?;
        if !keys.is_empty() {
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(con)
                .await
                .map_err(failed)?;
            for (k, v) in keys.iter().zip(values) {
                if let Some((key, account)) = v.and_then(|v| c.open::<(String, String)>(&v, k)) {
                    state.scheduler.adopt_session(&key, &account, now);
                }
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    if lost {
        for chunk in state.scheduler.sessions_in_use(now).chunks(500) {
            let mut pipe = redis::pipe();
            for (key, account) in chunk {
                put_session(c, &mut pipe, key, account);
            }
            pipe.query_async::<()>(con).await.map_err(failed)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Rows {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_local_change_goes_up_and_everything_else_comes_down() {
        let base = rows(&[("a", "1"), ("b", "1"), ("c", "1")]);
        // Here: `a` edited, `c` removed, `d` added. There: `b` edited, `e` added.
        let local = rows(&[("a", "2"), ("b", "1"), ("d", "1")]);
        let remote = rows(&[("a", "1"), ("b", "3"), ("c", "1"), ("e", "1")]);
        let (push, take, agreed) = merge(&base, &local, &remote);
        assert_eq!(
            push,
            vec![
                ("a".into(), Some(b"2".to_vec())),
                ("c".into(), None),
                ("d".into(), Some(b"1".to_vec()))
            ]
        );
        assert_eq!(
            take,
            vec![
                ("b".into(), Some(b"3".to_vec())),
                ("e".into(), Some(b"1".to_vec()))
            ]
        );
        assert_eq!(
            agreed,
            rows(&[("a", "2"), ("b", "3"), ("d", "1"), ("e", "1")])
        );
    }

    #[test]
    fn a_newcomer_brings_its_rows_but_takes_the_clusters_values() {
        let local = rows(&[("scheduling", "performance"), ("acc_new", "x")]);
        let remote = rows(&[("scheduling", "cache-first")]);
        let (push, take, _) = merge(&Rows::new(), &local, &remote);
        assert_eq!(push, vec![("acc_new".into(), Some(b"x".to_vec()))]);
        assert_eq!(
            take,
            vec![("scheduling".into(), Some(b"cache-first".to_vec()))]
        );
    }

    #[test]
    fn an_empty_redis_gets_everything_back() {
        let local = rows(&[("a", "1"), ("b", "2")]);
        let (push, take, agreed) = merge(&Rows::new(), &local, &Rows::new());
        assert_eq!(push.len(), 2);
        assert!(take.is_empty());
        assert_eq!(agreed, local);
    }
}
