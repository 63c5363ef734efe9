//! Test harness: levity served in-process on 127.0.0.1:0 over a temp data
//! folder, with helpers to add accounts and call it.

use levity::server::{AppState, serve};
use levity::store::Store;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::oneshot;

pub struct Levity {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Levity {
    pub async fn start() -> Levity {
        Levity::start_in(tempfile::tempdir().unwrap()).await
    }

    /// Serves the data folder of an earlier run.
    pub async fn start_in(dir: tempfile::TempDir) -> Levity {
        Levity::start_at(dir, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Serves on `bind` (0.0.0.0 for a server open to the network); `url`
    /// is the address it was bound to.
    pub async fn start_at(dir: tempfile::TempDir, bind: std::net::SocketAddr) -> Levity {
        Levity::start_with(dir, bind, "test passphrase").await
    }

    /// A data file sealed with another passphrase.
    pub async fn start_with(
        dir: tempfile::TempDir,
        bind: std::net::SocketAddr,
        passphrase: &str,
    ) -> Levity {
        Levity::start_full(dir, bind, passphrase, None).await
    }

    /// An instance of the cluster sharing the Redis at `redis`.
    pub async fn start_cluster(dir: tempfile::TempDir, redis: &str) -> Levity {
        let any = "127.0.0.1:0".parse().unwrap();
        Levity::start_full(dir, any, "test passphrase", Some(redis)).await
    }

    async fn start_full(
        dir: tempfile::TempDir,
        bind: std::net::SocketAddr,
        passphrase: &str,
        redis: Option<&str>,
    ) -> Levity {
        let store = Store::open(&dir.path().join("levity.redb"), Some(passphrase)).unwrap();
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(AppState::new(store, addr, ADMIN_TOKEN.into()).unwrap());
        if let Some(url) = redis {
            levity::cluster::Cluster::join(&state, url, Some(passphrase)).unwrap();
        }
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(state, listener, async {
            let _ = rx.await;
        }));
        Levity {
            url: format!("http://{addr}"),
            dir,
            http: admin_client(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server, waits until it let go of the data file, and hands
    /// back the data folder.
    pub async fn stop(self) -> tempfile::TempDir {
        let Levity {
            dir, stop, task, ..
        } = self;
        let _ = stop.expect("running").send(());
        task.expect("running").await.unwrap().unwrap();
        dir
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}/api{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn add_gemini(&self, name: &str, key: &str, base: &str) {
        let body = json!({"kind": "gemini", "api_key": key, "name": name, "base_url": base});
        let (status, v) = self
            .admin(reqwest::Method::POST, "/accounts", Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
    }

    pub async fn add_anthropic(&self, name: &str, key: &str, base: &str) {
        let body = json!({"kind": "anthropic", "api_key": key, "name": name, "base_url": base});
        let (status, v) = self
            .admin(reqwest::Method::POST, "/accounts", Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
    }

    pub async fn add_openai(&self, name: &str, key: &str, base: &str, models: &[&str]) {
        let body = json!({"kind": "openai", "api_key": key, "name": name, "base_url": base, "models": models});
        let (status, v) = self
            .admin(reqwest::Method::POST, "/accounts", Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
    }

    /// An OpenAI Responses account (`openai --wire responses`).
    pub async fn add_responses(&self, name: &str, key: &str, base: &str, models: &[&str]) {
        let body = json!({"kind": "openai-responses", "api_key": key, "name": name, "base_url": base, "models": models});
        let (status, v) = self
            .admin(reqwest::Method::POST, "/accounts", Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
    }

    pub async fn set(&self, key: &str, value: &str) {
        self.set_with(key, value, false).await;
    }

    /// A setting saved even where levity doubts it: a `model_map` target it
    /// does not know.
    pub async fn set_forced(&self, key: &str, value: &str) {
        self.set_with(key, value, true).await;
    }

    async fn set_with(&self, key: &str, value: &str, force: bool) {
        let body = json!({"key": key, "value": value, "force": force});
        let (status, v) = self
            .admin(reqwest::Method::PUT, "/config", Some(body))
            .await;
        assert_eq!(status, 200, "{v}");
    }

    pub async fn create_key(&self) -> String {
        let (status, v) = self
            .admin(reqwest::Method::POST, "/keys", Some(json!({})))
            .await;
        assert_eq!(status, 201, "{v}");
        v["key"].as_str().unwrap().to_string()
    }

    /// GETs `url` (any address, not only this server's) as JSON.
    pub async fn get_json(&self, url: &str) -> Value {
        let resp = self.http.get(url).send().await.unwrap();
        resp.json().await.unwrap()
    }

    /// POSTs a JSON body to a proxy path, as a client of any protocol
    /// (Anthropic's version header included); status and raw body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, String) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// POSTs a chat request; returns status, headers and the raw body.
    pub async fn chat(&self, body: Value) -> (u16, reqwest::header::HeaderMap, String) {
        let resp = self
            .http
            .post(format!("{}/v1/chat/completions", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }
}

/// The harness's admin token (`levity serve` makes a random one).
pub const ADMIN_TOKEN: &str = "admin-token";

/// A client that sends the admin token, as the CLI and the dashboard do;
/// probes of what a stranger gets use a bare `reqwest::Client`.
fn admin_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-levity-admin-token",
        reqwest::header::HeaderValue::from_static(ADMIN_TOKEN),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The JSON payloads of an SSE body, without the final `[DONE]`.
pub fn sse_events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad SSE payload {d}: {e}")))
        .collect()
}
