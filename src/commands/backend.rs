//! The CLI's view of the store: opened directly when no server runs, or
//! reached through the running server's admin API when one holds the file.
//! Either way a command behaves the same.

use super::paths::{DATA_FILE, ServerFile};
use crate::server::{SetConfig, check_mapping, effective};
use crate::store::{
    AccountInfo, AccountPatch, CreatedKey, KeyInfo, KeyLimits, NewAccount, Store, StoreError,
};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a command waits for another command that holds the data file.
const WAIT_FOR_FILE: Duration = Duration::from_secs(5);

pub enum Backend {
    Local(Box<Store>),
    Remote {
        url: String,
        token: String,
        client: reqwest::Client,
    },
}

pub type Result<T> = std::result::Result<T, String>;

impl Backend {
    /// Opens the store, or finds the server holding it. Another command
    /// holds the file only briefly (redb allows one process per file), so
    /// that is waited out for a few seconds.
    pub fn connect(dir: &Path, passphrase: Option<&str>) -> Result<Backend> {
        let started = Instant::now();
        loop {
            match Store::open(&dir.join(DATA_FILE), passphrase) {
                Ok(store) => return Ok(Backend::Local(Box::new(store))),
                Err(StoreError::AlreadyOpen(path)) => {
                    if let Some(server) = ServerFile::read(dir) {
                        if passphrase.is_some() {
                            eprintln!(
                                "warning: LEVITY_PASSPHRASE is ignored: the running levity at {} \
                                 holds {} with its own seal; the passphrase takes effect when the \
                                 data file is next opened directly (the next `levity serve`, or a \
                                 command while no server runs), which re-seals it",
                                server.url,
                                path.display()
                            );
                        }
                        // Straight to the local server: a proxy from the
                        // environment would see the admin token and raw API keys.
                        let client = reqwest::Client::builder()
                            .no_proxy()
                            .build()
                            .map_err(|e| format!("cannot set up an HTTP client: {e}"))?;
                        return Ok(Backend::Remote {
                            url: server.url,
                            token: server.admin_token,
                            client,
                        });
                    }
                    if started.elapsed() >= WAIT_FOR_FILE {
                        return Err(format!(
                            "{} is held by another levity process (waited {} s), and no running \
                             server is recorded beside it; wait for that command to finish or \
                             stop that process, then try again",
                            path.display(),
                            WAIT_FOR_FILE.as_secs()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let Backend::Remote { url, token, client } = self else {
            unreachable!("only remote backends make HTTP calls");
        };
        let mut req = client
            .request(method, format!("{url}/api{path}"))
            .header("x-levity-admin-token", token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("cannot reach the running levity at {url}: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(msg);
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("unexpected answer from levity: {e}"))
    }

    pub async fn accounts(&self) -> Result<Vec<AccountInfo>> {
        match self {
            Backend::Local(s) => s.account_infos().map_err(|e| e.to_string()),
            _ => self.call(reqwest::Method::GET, "/accounts", None).await,
        }
    }

    /// The cluster the running server is in; a data file read directly
    /// (no server running) knows of none.
    pub async fn cluster(&self) -> Result<crate::cluster::ClusterStatus> {
        match self {
            Backend::Local(_) => Ok(crate::cluster::alone()),
            _ => self.call(reqwest::Method::GET, "/cluster", None).await,
        }
    }

    pub async fn add_account(&self, new: NewAccount) -> Result<AccountInfo> {
        match self {
            Backend::Local(s) => s.add_account(new).map_err(|e| e.to_string()),
            _ => {
                let body = serde_json::to_value(&new).expect("serializable");
                self.call(reqwest::Method::POST, "/accounts", Some(body))
                    .await
            }
        }
    }

    pub async fn remove_account(&self, id: &str) -> Result<AccountInfo> {
        match self {
            Backend::Local(s) => s.remove_account(id).map_err(|e| e.to_string()),
            _ => {
                self.call(
                    reqwest::Method::DELETE,
                    &format!("/accounts/{}", crate::provider::code_assist::escape(id)),
                    None,
                )
                .await
            }
        }
    }

    pub async fn update_account(&self, id: &str, patch: AccountPatch) -> Result<AccountInfo> {
        match self {
            Backend::Local(s) => s.update_account(id, patch).map_err(|e| e.to_string()),
            _ => {
                let body = serde_json::to_value(&patch).expect("serializable");
                self.call(
                    reqwest::Method::PATCH,
                    &format!("/accounts/{}", crate::provider::code_assist::escape(id)),
                    Some(body),
                )
                .await
            }
        }
    }

    pub async fn reorder(&self, ids: &[String]) -> Result<Vec<AccountInfo>> {
        match self {
            Backend::Local(s) => s.reorder(ids).map_err(|e| e.to_string()),
            _ => {
                self.call(
                    reqwest::Method::PUT,
                    "/accounts/order",
                    Some(serde_json::json!(ids)),
                )
                .await
            }
        }
    }

    pub async fn keys(&self) -> Result<Vec<KeyInfo>> {
        match self {
            Backend::Local(s) => s.keys().map_err(|e| e.to_string()),
            _ => self.call(reqwest::Method::GET, "/keys", None).await,
        }
    }

    pub async fn create_key(&self, name: Option<String>, limits: KeyLimits) -> Result<CreatedKey> {
        match self {
            Backend::Local(s) => s.create_key(name, limits).map_err(|e| e.to_string()),
            _ => {
                let mut body = serde_json::to_value(&limits).expect("serializable");
                body["name"] = serde_json::json!(name);
                self.call(reqwest::Method::POST, "/keys", Some(body)).await
            }
        }
    }

    pub async fn set_key_limits(&self, id: &str, limits: KeyLimits) -> Result<KeyInfo> {
        match self {
            Backend::Local(s) => s.set_key_limits(id, limits).map_err(|e| e.to_string()),
            _ => {
                let path = format!("/keys/{}", crate::provider::code_assist::escape(id));
                let body = serde_json::to_value(&limits).expect("serializable");
                self.call(reqwest::Method::PATCH, &path, Some(body)).await
            }
        }
    }

    pub async fn revoke_key(&self, id: &str) -> Result<KeyInfo> {
        match self {
            Backend::Local(s) => s.revoke_key(id).map_err(|e| e.to_string()),
            _ => {
                self.call(
                    reqwest::Method::DELETE,
                    &format!("/keys/{}", crate::provider::code_assist::escape(id)),
                    None,
                )
                .await
            }
        }
    }

    /// Settings for a Google sign-in run by this command, secrets included.
    /// A running server keeps the OAuth client secret sealed inside it.
    /// The settings a sign-in on this machine needs, when the data file is
    /// open here (a running server keeps the OAuth client secret sealed
    /// inside it: `sign_in_through_server` asks it instead).
    pub fn sign_in_settings(&self) -> Option<BTreeMap<String, String>> {
        match self {
            Backend::Local(s) => s.settings().ok(),
            _ => None,
        }
    }

    /// A Google sign-in the running server finishes: it hands out the
    /// address (its own callback, its own OAuth client), the user signs in
    /// there, and the server adds the account; this waits for it.
    pub async fn sign_in_through_server(&self, no_open: bool) -> Result<AccountInfo> {
        let before: Vec<String> = self.accounts().await?.into_iter().map(|a| a.id).collect();
        let started: serde_json::Value = self
            .call(
                reqwest::Method::POST,
                "/oauth/start",
                Some(serde_json::json!({})),
            )
            .await?;
        let url = started["url"].as_str().unwrap_or_default();
        eprintln!("Sign in with Google at this address (the running levity finishes it):\n  {url}");
        if !no_open && let Err(e) = open::that_detached(url) {
            tracing::debug!(error = %e, "could not open a browser");
        }
        let deadline = Instant::now() + Duration::from_secs(600);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(new) = self.accounts().await?.into_iter().find(|a| {
                a.kind == crate::store::ProviderKind::GoogleOauth && !before.contains(&a.id)
            }) {
                return Ok(new);
            }
        }
        Err("no sign-in came back within 10 minutes; run this again".into())
    }

    /// Every setting as users see it: secrets as hints.
    pub async fn settings(&self) -> Result<BTreeMap<String, String>> {
        match self {
            Backend::Local(s) => s.settings().map(effective).map_err(|e| e.to_string()),
            _ => self.call(reqwest::Method::GET, "/config", None).await,
        }
    }

    /// The shared tables, sealed with `passphrase` (`store::export`).
    pub async fn export(&self, passphrase: &str) -> Result<Vec<u8>> {
        match self {
            Backend::Local(s) => s.export_sealed(passphrase).map_err(|e| e.to_string()),
            _ => {
                let body = serde_json::json!({"passphrase": passphrase});
                let file: serde_json::Value = self
                    .call(reqwest::Method::POST, "/export", Some(body))
                    .await?;
                Ok(serde_json::to_vec_pretty(&file).expect("serializable"))
            }
        }
    }

    pub async fn import(&self, file: &[u8], passphrase: &str) -> Result<crate::store::Imported> {
        match self {
            Backend::Local(s) => s.import_sealed(file, passphrase).map_err(|e| e.to_string()),
            _ => {
                let body = serde_json::json!({"passphrase": passphrase, "file": String::from_utf8_lossy(file)});
                self.call(reqwest::Method::POST, "/import", Some(body))
                    .await
            }
        }
    }

    pub async fn set_setting(&self, key: &str, value: &str, force: bool) -> Result<()> {
        crate::config::Settings::validate(key, value)?;
        match self {
            Backend::Local(s) => {
                let accounts = s.accounts().map_err(|e| e.to_string())?;
                let listed = accounts
                    .iter()
                    .flat_map(|a| a.models.iter().map(String::as_str));
                check_mapping(key, value, force, listed)?;
                s.set_setting(key, value).map_err(|e| e.to_string())
            }
            _ => {
                let body = serde_json::to_value(SetConfig {
                    key: key.into(),
                    value: value.into(),
                    force,
                })
                .expect("serializable");
                self.call::<serde_json::Value>(reqwest::Method::PUT, "/config", Some(body))
                    .await
                    .map(drop)
            }
        }
    }
}
