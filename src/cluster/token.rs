//! Google OAuth access tokens shared by the instances: one refreshes under
//! a claim in Redis and stores the token (sealed); the others take it
//! rather than refresh too. Only a refresh touches Redis, never a request
//! that holds a good token; without Redis each instance refreshes alone.

use super::Cluster;
use super::run::failed;
use crate::provider::code_assist::{Token, TokenShare};
use crate::util::now_ms;
use futures_util::future::BoxFuture;

/// A claim outlives a refresh that hangs by no more than this.
const CLAIM_MS: u64 = 15_000;

fn key(account: &str) -> String {
    format!("{}token:{account}", super::PREFIX)
}

impl Cluster {
    fn connection(&self) -> Option<super::run::Con> {
        self.con.lock().expect("connection lock").clone()
    }
}

impl TokenShare for Cluster {
    fn get<'a>(&'a self, account: &'a str) -> BoxFuture<'a, Option<Token>> {
        Box::pin(async move {
            let mut con = self.connection()?;
            let key = key(account);
            let sealed: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut con)
                .await
                .ok()?;
            let (access, expires): (String, u64) = self.open(&sealed?, &key)?;
            Some((access, expires.saturating_add_signed(-self.link.offset())))
        })
    }

    fn claim<'a>(&'a self, account: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(mut con) = self.connection() else {
                return true;
            };
            let claimed: Result<Option<String>, _> = redis::cmd("SET")
                .arg(format!("{}:claim", key(account)))
                .arg(&self.id)
                .arg("NX")
                .arg("PX")
                .arg(CLAIM_MS)
                .query_async(&mut con)
                .await;
            // Redis away: nobody can claim, so this instance refreshes.
            claimed.map_or(true, |c| c.is_some())
        })
    }

    fn put<'a>(&'a self, account: &'a str, token: &'a Token) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(mut con) = self.connection() else {
                return;
            };
            let key = key(account);
            let expires = self.link.clock(token.1);
            let sealed = self.seal(
                &serde_json::to_vec(&(&token.0, expires)).expect("serializable"),
                &key,
            );
            let ttl = token.1.saturating_sub(now_ms()).max(1);
            let stored = redis::pipe()
                .cmd("SET")
                .arg(&key)
                .arg(sealed)
                .arg("PX")
                .arg(ttl)
                .ignore()
                .cmd("DEL")
                .arg(format!("{key}:claim"))
                .ignore()
                .query_async::<()>(&mut con)
                .await;
            if let Err(e) = stored.map_err(failed) {
                tracing::warn!(error = %e, "could not share a refreshed Google token");
            }
        })
    }
}
