//! The request log in the data file: entries and sealed bodies under
//! time-ordered keys, written in batches off the request path, paged and
//! pruned by age and by room.

use super::StoreError;
use super::tables::{BODIES, REQUESTS, Store};
use redb::ReadableTable;

/// One batch for the request log, written by the background task.
#[derive(Default)]
pub struct LogBatch {
    /// (key, entry JSON).
    pub entries: Vec<(String, Vec<u8>)>,
    /// (key, body JSON), sealed on the way in.
    pub bodies: Vec<(String, Vec<u8>)>,
}

/// Sealing context of stored bodies, so a blob cannot pass for another kind.
pub(super) const BODY_AAD: &[u8] = b"request body";

impl Store {
    /// A request's stored bodies (JSON), if body logging kept them.
    pub fn request_bodies(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(BODIES)?;
            let Some(v) = table.get(key)? else {
                return Ok(None);
            };
            Ok(Some(self.sealer.unseal(v.value(), BODY_AAD)?))
        })
    }

    /// Appends to the request log in one transaction, then drops what is
    /// older than `keep_from` (a key) and the oldest bodies beyond
    /// `body_budget` bytes.
    pub fn write_log(
        &self,
        batch: &LogBatch,
        keep_from: &str,
        body_budget: u64,
    ) -> Result<(), StoreError> {
        let mut counted = self.body_bytes.lock().expect("body bytes lock");
        let held = self.db.write(|tx| {
            let mut entries = tx.open_table(REQUESTS)?;
            let mut bodies = tx.open_table(BODIES)?;
            let mut held = match *counted {
                Some(n) => n,
                None => {
                    let mut n = 0;
                    for item in bodies.iter()? {
                        n += item?.1.value().len() as u64;
                    }
                    n
                }
            };
            for (k, v) in &batch.entries {
                entries.insert(k.as_str(), v.as_slice())?;
            }
            for (k, v) in &batch.bodies {
                let sealed = self.sealer.seal(v, BODY_AAD);
                held += sealed.len() as u64;
                if let Some(old) = bodies.insert(k.as_str(), sealed.as_slice())? {
                    held -= old.value().len() as u64;
                }
            }
            entries.retain_in(..keep_from, |_, _| false)?;
            // Oldest first: expired bodies, then as many as the budget needs.
            let mut freed = 0;
            let mut drop_to: Option<String> = None;
            for item in bodies.iter()? {
                let (k, v) = item?;
                if k.value() >= keep_from && held - freed <= body_budget {
                    break;
                }
                freed += v.value().len() as u64;
                drop_to = Some(k.value().to_string());
            }
            if let Some(last) = drop_to {
                bodies.retain_in(..=last.as_str(), |_, _| false)?;
            }
            Ok(held - freed)
        })?;
        // Counted only once committed: a failed write leaves the old count.
        *counted = Some(held);
        Ok(())
    }

    /// The newest `limit` logged requests (entry JSON), newest first.
    pub fn recent_requests(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(REQUESTS)?;
            let mut out = Vec::new();
            for item in table.iter()?.rev().take(limit) {
                out.push(item?.1.value().to_vec());
            }
            Ok(out)
        })
    }

    /// Logged requests (entry JSON) with keys in `from..to` that `keep`
    /// takes, newest first, at most `limit`: a page of the request log.
    pub fn requests_page(
        &self,
        from: &str,
        to: &str,
        limit: usize,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(REQUESTS)?;
            let mut out = Vec::new();
            if from >= to {
                return Ok(out);
            }
            for item in table.range(from..to)?.rev() {
                let (_, v) = item?;
                if keep(v.value()) {
                    out.push(v.value().to_vec());
                    if out.len() == limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    /// A logged request by id: (key, entry JSON). Newest first, so a recent
    /// one is found quickly.
    pub fn find_request(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(REQUESTS)?;
            for item in table.iter()?.rev() {
                let (k, v) = item?;
                if k.value().rsplit('-').next() == Some(id) {
                    return Ok(Some((k.value().to_string(), v.value().to_vec())));
                }
            }
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn entry(t: u64) -> (String, Vec<u8>) {
        (
            format!("{t:013}-r{t}"),
            format!("{{\"t\":{t}}}").into_bytes(),
        )
    }

    #[test]
    fn request_log_keeps_its_window_and_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb"), Some("pw")).unwrap();
        let batch = LogBatch {
            entries: (1..=10).map(entry).collect(),
            bodies: (1..=10).map(|t| (entry(t).0, vec![b'b'; 100])).collect(),
        };
        store
            .write_log(&batch, &format!("{:013}", 0), u64::MAX)
            .unwrap();
        assert_eq!(store.recent_requests(100).unwrap().len(), 10);
        assert_eq!(
            store.recent_requests(1).unwrap()[0],
            b"{\"t\":10}",
            "newest first"
        );
        let sealed = store.body_bytes.lock().unwrap().unwrap();
        assert!(sealed >= 1000, "counted: {sealed}");

        // Older than time 4 goes; bodies keep within three bodies' room.
        let one = sealed / 10;
        store
            .write_log(&LogBatch::default(), &format!("{:013}", 4), 3 * one)
            .unwrap();
        assert_eq!(store.recent_requests(100).unwrap().len(), 7);
        assert!(store.request_bodies(&entry(7).0).unwrap().is_none());
        assert_eq!(
            store.request_bodies(&entry(8).0).unwrap().unwrap(),
            vec![b'b'; 100]
        );
        assert_eq!(*store.body_bytes.lock().unwrap(), Some(3 * one));
        assert_eq!(store.find_request("r9").unwrap().unwrap().0, entry(9).0);
        assert!(store.find_request("r2").unwrap().is_none());
    }
}
