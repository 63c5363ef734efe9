//! Cluster mode against real `redis-server` processes on random loopback
//! ports: instances share accounts, keys and settings, keep a conversation
//! on its account wherever its turns land, rest an account on every
//! instance when one sees a 429, hold one per-minute limit together, and
//! keep serving while Redis is stopped, killed or restarted empty.
//!
//! `redis-server` must be installed (`.ci/run` installs Debian's); a test
//! that cannot start it fails, so a missing server is never a pass.

use crate::common::Levity;
use crate::fake::Fake;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` with nothing saved to disk, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Redis::start_on(port)
    }

    fn start_on(port: u16) -> Redis {
        let bin = std::env::var("LEVITY_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {bin} ({e}): the cluster tests need a real Redis \
                     (apt-get install redis-server, or set LEVITY_REDIS_SERVER)"
                )
            });
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.pong() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    fn pong(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Kills the server (nothing was saved) and starts an empty one on
    /// the same port.
    fn restart_empty(mut self) -> Redis {
        let port = self.port;
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        Redis::start_on(port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn instances(redis: &Redis, n: usize) -> Vec<Levity> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Levity::start_cluster(tempfile::tempdir().unwrap(), &redis.url()).await);
    }
    settle(&out).await;
    out
}

/// Waits until every instance reaches Redis and lists every other one as
/// in sync.
async fn settle(all: &[Levity]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut ok = true;
        let mut seen = Vec::new();
        for lev in all {
            let (_, c) = lev.admin(Method::GET, "/cluster", None).await;
            seen.push(c.clone());
            let synced = c["instances"]
                .as_array()
                .map_or(0, |l| l.iter().filter(|i| i["in_sync"] == true).count());
            ok &= c["connected"] == true && synced >= all.len();
        }
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the instances did not settle: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops Redis (SIGSTOP: it neither answers nor closes its sockets) and
/// waits until `lev` has noticed, rather than sleeping a fixed time that a
/// loaded CI machine can outrun: a heartbeat's 1 s response timeout only
/// fires when the runtime gets to it.
async fn stop_and_notice(redis: &Redis, lev: &Levity) {
    redis.signal("-STOP");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, c) = lev.admin(Method::GET, "/cluster", None).await;
        if c["connected"] == false {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Redis stopped but still connected: {c}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds on `lev`'s accounts, up to `within`; says how long it took.
async fn until(lev: &Levity, within: Duration, check: impl Fn(&Value) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let (_, accounts) = lev.admin(Method::GET, "/accounts", None).await;
        if check(&accounts) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "not within {within:?}: {accounts}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn names(accounts: &Value) -> Vec<String> {
    let mut out: Vec<String> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn chat(first: &str, turns: usize) -> Value {
    let mut messages = vec![json!({"role": "user", "content": first})];
    for t in 0..turns {
        messages.push(json!({"role": "assistant", "content": format!("answer {t}")}));
        messages.push(json!({"role": "user", "content": format!("more {t}")}));
    }
    json!({"model": "gemini-2.5-flash", "messages": messages})
}

fn key_of(fake: &Fake) -> String {
    fake.last()
        .header("x-goog-api-key")
        .unwrap_or("")
        .to_string()
}

/// Limits high enough that only the load test meets them.
const ROOMY: &str = "1000/100000/0";

/// A Redis, a fake Gemini, `n` instances with roomy limits, and `accounts`
/// (name, key) added on the first and listed by every other.
async fn pool(n: usize, accounts: &[(&str, &str)]) -> (Redis, Fake, Vec<Levity>) {
    let redis = Redis::start();
    let fake = Fake::start().await;
    let lev = instances(&redis, n).await;
    lev[0].set("tier_limits.free", ROOMY).await;
    for (name, key) in accounts {
        lev[0].add_gemini(name, key, &fake.url()).await;
    }
    for other in &lev[1..] {
        until(other, Duration::from_secs(1), |a| {
            names(a).len() == accounts.len()
        })
        .await;
    }
    (redis, fake, lev)
}

#[tokio::test]
async fn three_instances_share_accounts_keys_settings_and_sessions() {
    let redis = Redis::start();
    let fake = Fake::start().await;
    let lev = instances(&redis, 3).await;
    lev[0].set("tier_limits.free", ROOMY).await;
    lev[0]
        .add_gemini("acc0", "AIza-one-0000000", &fake.url())
        .await;
    lev[0]
        .add_gemini("acc1", "AIza-two-0000000", &fake.url())
        .await;
    for other in &lev[1..] {
        let took = until(other, Duration::from_secs(1), |a| {
            names(a) == ["acc0", "acc1"]
        })
        .await;
        println!("accounts reached another instance in {took:?}");
    }
    // A setting changed on the third instance reaches the first.
    lev[2].set("scheduling", "cache-first").await;
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (_, config) = lev[0].admin(Method::GET, "/config", None).await;
        if config["scheduling"] == "cache-first" {
            break;
        }
        assert!(Instant::now() < deadline, "{config}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Two conversations on the first instance: the second goes to the
    // account with more headroom there, acc1.
    assert_eq!(lev[0].chat(chat("session one", 0)).await.0, 200);
    let one = key_of(&fake);
    assert_eq!(lev[0].chat(chat("session two", 0)).await.0, 200);
    let two = key_of(&fake);
    assert_ne!(one, two);
    // Their next turns land on the other instances, whose own headroom
    // would pick acc0 for both: they stay where they began.
    for (t, lev) in lev.iter().enumerate() {
        assert_eq!(lev.chat(chat("session two", t + 1)).await.0, 200);
        assert_eq!(
            key_of(&fake),
            two,
            "session two, turn {} on instance {t}",
            t + 1
        );
        assert_eq!(lev.chat(chat("session one", t + 1)).await.0, 200);
        assert_eq!(
            key_of(&fake),
            one,
            "session one, turn {} on instance {t}",
            t + 1
        );
    }

    // A client key made on one instance lets a client in on every other.
    let key = lev[1].create_key().await;
    for other in [&lev[0], &lev[2]] {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let status = reqwest::Client::new()
                .post(format!("{}/v1/chat/completions", other.url))
                .bearer_auth(&key)
                .json(&chat("with a key", 0))
                .send()
                .await
                .unwrap()
                .status();
            if status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the key did not reach {}",
                other.url
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // Every instance lists all three, in sync, as the API documents it;
    // Redis holds no plain text.
    let (_, doc) = lev[0].admin(Method::GET, "/openapi.json", None).await;
    for l in &lev {
        let (_, c) = l.admin(Method::GET, "/cluster", None).await;
        assert_eq!(c["instances"].as_array().unwrap().len(), 3, "{c}");
        crate::openapi::conforms(&doc, "get", "/api/cluster", 200, &c);
    }
    let dump = redis_dump(&redis).await;
    for secret in [
        "AIza-one",
        "acc0",
        "cache-first",
        "scheduling",
        "tier_limits",
        "gemini-2.5-flash",
        "session one",
    ] {
        assert!(
            !dump.contains(secret),
            "Redis holds `{secret}` in plain text"
        );
    }
}

/// Every key and value in Redis, as text.
async fn redis_dump(redis: &Redis) -> String {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    let mut out = keys.join("\n");
    for k in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&k)
            .query_async(&mut con)
            .await
            .unwrap();
        let v: Vec<Vec<u8>> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL")
                .arg(&k)
                .query_async(&mut con)
                .await
                .unwrap(),
            "string" => vec![
                redis::cmd("GET")
                    .arg(&k)
                    .query_async(&mut con)
                    .await
                    .unwrap(),
            ],
            _ => Vec::new(),
        };
        for b in v {
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
    out
}

#[tokio::test]
async fn a_429_on_one_instance_rests_the_account_on_all_within_100ms() {
    let (_redis, fake, lev) = pool(
        3,
        &[("bad", "AIza-fail429-000"), ("good", "AIza-good-00000")],
    )
    .await;
    // The first instance tries `bad` (first in order), hears Gemini's 429
    // with its 7 s RetryInfo, and fails over to `good`.
    assert_eq!(lev[0].chat(chat("rest me", 0)).await.0, 200);
    let cooling = |a: &Value| {
        a.as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "bad" && a["state"] == "cooling")
    };
    for other in &lev[1..] {
        let took = until(other, Duration::from_millis(100), cooling).await;
        println!("the rest reached another instance in {took:?}");
    }
    // The others do not try the resting account themselves.
    let tried_bad = |fake: &Fake| {
        fake.requests()
            .iter()
            .filter(|r| r.header("x-goog-api-key") == Some("AIza-fail429-000"))
            .count()
    };
    let before = tried_bad(&fake);
    for (i, other) in lev[1..].iter().enumerate() {
        assert_eq!(other.chat(chat(&format!("fresh {i}"), 0)).await.0, 200);
        assert_eq!(key_of(&fake), "AIza-good-00000");
    }
    assert_eq!(tried_bad(&fake), before);
}

#[tokio::test]
async fn three_instances_under_load_stay_within_one_per_minute_limit() {
    let redis = Redis::start();
    let fake = Fake::start().await;
    let lev = instances(&redis, 3).await;
    const RPM: usize = 20;
    lev[0]
        .set("tier_limits.free", &format!("{RPM}/100000/0"))
        .await;
    // Beyond the limit a request is refused at once rather than queued.
    lev[0].set("queue_timeout_secs", "1").await;
    lev[0]
        .add_gemini("only", "AIza-only-000000", &fake.url())
        .await;
    for other in &lev[1..] {
        until(other, Duration::from_secs(1), |a| names(a).len() == 1).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    // One minute window: start early in a minute.
    let second = (levity::util::now_ms() / 1000) % 60;
    if second > 45 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    let mut calls = Vec::new();
    for i in 0..3 * RPM {
        let url = format!("{}/v1/chat/completions", lev[i % 3].url);
        calls.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&chat(&format!("load {i}"), 0))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let upstream = fake.requests().len();
    println!("{ok} served, {refused} refused by levity, {upstream} reached the upstream");
    assert_eq!(ok + refused, statuses.len(), "{statuses:?}");
    assert_eq!(
        upstream, ok,
        "every served request reached the upstream once"
    );
    assert!(
        upstream <= RPM,
        "{upstream} requests in one minute, limit {RPM}"
    );
    assert!(
        upstream >= RPM / 2,
        "the instances spent the limit: {upstream}"
    );
}

#[tokio::test]
async fn redis_stopped_killed_and_restarted_empty_fails_no_request() {
    // acc1's key is refused (401): the account waits for its owner.
    let (redis, fake, lev) = pool(
        3,
        &[("acc0", "AIza-one-0000000"), ("acc1", "AIza-fail401-000")],
    )
    .await;
    let urls: Vec<String> = lev.iter().map(|l| l.url.clone()).collect();
    // Clients keep calling every instance throughout.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = {
        let (stop, done) = (stop.clone(), done.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut statuses = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let resp = client
                    .post(format!("{}/v1/chat/completions", urls[i % urls.len()]))
                    .json(&chat(&format!("steady {}", i % 7), 0))
                    .send()
                    .await
                    .unwrap();
                statuses.push(resp.status().as_u16());
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        })
    };

    // Stopped: requests go on; changes are refused, saying why.
    stop_and_notice(&redis, &lev[1]).await;
    // Thirty requests are served while Redis stays stopped.
    let (before, deadline) = (
        done.load(std::sync::atomic::Ordering::Relaxed),
        Instant::now() + Duration::from_secs(20),
    );
    while done.load(std::sync::atomic::Ordering::Relaxed) < before + 30 {
        assert!(
            !load.is_finished() && Instant::now() < deadline,
            "the load stalled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body = json!({"kind": "gemini", "api_key": "AIza-three-00000", "name": "acc2", "base_url": fake.url()});
    let (status, problem) = lev[1]
        .admin(Method::POST, "/accounts", Some(body.clone()))
        .await;
    assert_eq!(status, 503, "{problem}");
    let message = problem["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot reach Redis"), "{problem}");
    redis.signal("-CONT");
    settle(&lev).await;
    let (status, _) = lev[1].admin(Method::POST, "/accounts", Some(body)).await;
    assert_eq!(status, 201);
    for other in [&lev[0], &lev[2]] {
        until(other, Duration::from_secs(1), |a| names(a).len() == 3).await;
    }

    // Killed, and back empty: the instances fill it again.
    let redis = redis.restart_empty();
    tokio::time::sleep(Duration::from_millis(500)).await;
    settle(&lev).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = load.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request served: {statuses:?}"
    );
    // A new instance with an empty file learns the whole pool, the mark
    // on acc1 and the settings from the refilled Redis.
    let late = Levity::start_cluster(tempfile::tempdir().unwrap(), &redis.url()).await;
    until(&late, Duration::from_secs(5), |a| {
        names(a) == ["acc0", "acc1", "acc2"]
    })
    .await;
    let (_, config) = late.admin(Method::GET, "/config", None).await;
    assert_eq!(config["tier_limits.free"], ROOMY, "{config}");
    until(&late, Duration::from_secs(5), |a| {
        a.as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "acc1" && a["state"] == "needs-reauth")
    })
    .await;
}

#[tokio::test]
async fn one_instance_refreshes_a_google_token_and_the_others_use_it() {
    let redis = Redis::start();
    let fake = Fake::start().await;
    let lev = instances(&redis, 3).await;
    lev[0].set("tier_limits.free", ROOMY).await;
    let body = json!({"kind": "google-oauth", "api_key": "rt-good-1", "name": "me@gmail.com"});
    let (status, v) = lev[0].admin(Method::POST, "/accounts", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    lev[0].set("oauth_client_id", "client-1.apps.example").await;
    lev[0].set("oauth_client_secret", "client-secret").await;
    lev[0]
        .set("oauth_token_url", &format!("{}/token", fake.url()))
        .await;
    lev[0]
        .set("code_assist_endpoints", &format!("{0}/daily", fake.url()))
        .await;
    for other in &lev[1..] {
        until(other, Duration::from_secs(1), |a| names(a).len() == 1).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // All three need a token at once.
    let calls: Vec<_> = lev
        .iter()
        .map(|l| l.chat(chat("token please", 0)))
        .collect();
    for (status, _, body) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }
    let refreshes = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/token"))
        .count();
    assert_eq!(refreshes, 1, "one refresh for the cluster");
    let dump = redis_dump(&redis).await;
    assert!(!dump.contains("at-"), "the access token is sealed in Redis");
}

/// A chat request with client key `key` to `lev`: its status and body.
async fn ask(lev: &Levity, key: &str, text: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", lev.url))
        .bearer_auth(key)
        .json(&chat(text, 0))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn a_client_keys_limits_hold_across_instances() {
    let (redis, _fake, lev) = pool(3, &[("acc0", "AIza-one-0000000")]).await;
    let make = |limits: Value| {
        let lev = &lev[0];
        async move {
            let (status, v) = lev.admin(Method::POST, "/keys", Some(limits)).await;
            assert_eq!(status, 201, "{v}");
            v["key"].as_str().unwrap().to_string()
        }
    };
    let rpm = make(json!({"name": "six a minute", "rpm": 6})).await;
    let tpm = make(json!({"name": "one token", "tpm": 1})).await;
    // A dollar a token: one answer spends the budget.
    lev[0]
        .set("prices.gemini-2.5-flash", "1000000/1000000")
        .await;
    let budget = make(json!({"name": "one dollar", "budget_usd": 1.0})).await;
    for other in &lev[1..] {
        let deadline = Instant::now() + Duration::from_secs(2);
        while ask(other, &rpm, "hello").await.0 != 200 {
            assert!(
                Instant::now() < deadline,
                "the keys did not reach {}",
                other.url
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Requests a minute: leased, exact across the instances. Two were sent
    // above; wait for the next minute if this one is about to end.
    let second = (levity::util::now_ms() / 1000) % 60;
    if second > 50 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    let mut served = 0;
    let mut refusals = Vec::new();
    for i in 0..12 {
        let (status, body) = ask(&lev[i % 3], &rpm, &format!("rpm {i}")).await;
        match status {
            200 => served += 1,
            429 => refusals.push(body),
            s => panic!("{s}: {body}"),
        }
    }
    assert!(served <= 6, "{served} served in one minute, limit 6");
    assert!(served >= 4, "{served} served");
    assert!(refusals[0].contains("six a minute"), "{}", refusals[0]);

    // Tokens a minute and money: counted where spent, refused elsewhere.
    for (key, says) in [(&tpm, "tokens a minute"), (&budget, "budget")] {
        assert_eq!(ask(&lev[0], key, "spend").await.0, 200);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let (status, body) = ask(&lev[1], key, "spend more").await;
            if status == 429 {
                assert!(body.contains(says), "{body}");
                break;
            }
            assert_eq!(status, 200, "{body}");
            assert!(
                Instant::now() < deadline,
                "another instance kept letting `{says}` spend"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let dump = redis_dump(&redis).await;
    for name in ["six a minute", "one dollar", "gemini-2.5-flash"] {
        assert!(!dump.contains(name), "Redis holds `{name}` in plain text");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_serves_in_a_cluster_and_lists_its_instances() {
    use crate::cli::{fails, levity, ok, start};
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let serve = ["serve", "--port", "0", "--no-open", "--redis"];
    // Without a passphrase Redis would hold what only this machine can open.
    let url = redis.url();
    let mut args = serve.to_vec();
    args.push(&url);
    let err = fails(dir.path(), &args);
    assert!(err.contains("needs LEVITY_PASSPHRASE"), "{err}");

    let mut cmd = levity(dir.path(), &serve[..4]);
    cmd.env("LEVITY_PASSPHRASE", "test passphrase")
        .env("LEVITY_REDIS_URL", redis.url());
    let _server = start(cmd);
    let other = instances(&redis, 1).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let list = ok(dir.path(), &["account", "list"]);
        if list.contains("2 instance(s)") && list.matches(" in sync ").count() == 2 {
            assert!(list.contains("(this)"), "{list}");
            assert!(!list.contains("test passphrase"), "{list}");
            break;
        }
        assert!(Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A change made from the command line reaches the in-process instance.
    ok(
        dir.path(),
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIza-cli-0000000",
            "--name",
            "from-cli",
        ],
    );
    until(&other[0], Duration::from_secs(1), |a| {
        names(a) == ["from-cli"]
    })
    .await;
}

#[tokio::test]
async fn a_change_made_while_an_instance_was_stopped_reaches_the_cluster() {
    let redis = Redis::start();
    let fake = Fake::start().await;
    let mut lev = instances(&redis, 2).await;
    lev[0]
        .add_gemini("first", "AIza-one-0000000", &fake.url())
        .await;
    until(&lev[1], Duration::from_secs(1), |a| names(a) == ["first"]).await;
    // Stopped, its file edited directly (as `levity account ...` does with
    // no server running), then started again.
    let dir = lev.pop().unwrap().stop().await;
    // A server that stops takes itself off the list at once.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (_, c) = lev[0].admin(Method::GET, "/cluster", None).await;
        if c["instances"].as_array().map_or(0, Vec::len) == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{c}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        let store =
            levity::store::Store::open(&dir.path().join("levity.redb"), Some("test passphrase"))
                .unwrap();
        store
            .add_account(levity::store::NewAccount {
                kind: levity::store::ProviderKind::Gemini,
                api_key: "AIza-offline-000".into(),
                name: Some("offline".into()),
                base_url: Some(fake.url()),
                models: Vec::new(),
                tier: None,
                proxy: None,
                project: None,
            })
            .unwrap();
    }
    // Meanwhile the first instance removed nothing and added one more.
    lev[0]
        .add_gemini("second", "AIza-two-0000000", &fake.url())
        .await;
    let back = Levity::start_cluster(dir, &redis.url()).await;
    for l in [&lev[0], &back] {
        until(l, Duration::from_secs(3), |a| {
            names(a) == ["first", "offline", "second"]
        })
        .await;
    }
    settle(std::slice::from_ref(&back)).await;
    // An instance's own settings stay its own; shared ones travel.
    back.set("log_bodies", "on").await;
    back.set("stream_resumes", "2").await;
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (_, config) = lev[0].admin(Method::GET, "/config", None).await;
        if config["stream_resumes"] == "2" {
            assert_eq!(config["log_bodies"], "off", "{config}");
            break;
        }
        assert!(Instant::now() < deadline, "{config}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A removal on one is a removal on all.
    let (status, _) = lev[0].admin(Method::DELETE, "/accounts/first", None).await;
    assert_eq!(status, 200);
    until(&back, Duration::from_secs(1), |a| {
        names(a) == ["offline", "second"]
    })
    .await;
}

/// Sends `n` requests one after another; how many were served.
async fn served(lev: &Levity, n: usize, tag: &str) -> usize {
    let mut ok = 0;
    for i in 0..n {
        let (status, _, body) = lev.chat(chat(&format!("{tag} {i}"), 0)).await;
        match status {
            200 => ok += 1,
            429 => assert!(body.contains("resting") || body.contains("limit"), "{body}"),
            s => panic!("{s}: {body}"),
        }
    }
    ok
}

#[tokio::test]
async fn without_redis_an_instance_spends_its_share_or_in_strict_mode_nothing() {
    let fake = Fake::start().await;
    for strict in ["off", "on"] {
        let redis = Redis::start();
        let lev = instances(&redis, 1).await;
        lev[0].set("tier_limits.free", "8/100000/0").await;
        lev[0].set("queue_timeout_secs", "0").await;
        lev[0].set("cluster_strict", strict).await;
        lev[0]
            .add_gemini("acc0", "AIza-one-0000000", &fake.url())
            .await;
        let second = (levity::util::now_ms() / 1000) % 60;
        if second > 50 {
            tokio::time::sleep(Duration::from_secs(61 - second)).await;
        }
        // One request leases the minute's first blocks (a quarter of 8
        // each, the next asked for when half of one is left: at most 4).
        assert_eq!(served(&lev[0], 1, "warm").await, 1);
        stop_and_notice(&redis, &lev[0]).await;
        let ok = served(&lev[0], 6, strict).await;
        redis.signal("-CONT");
        if strict == "off" {
            assert_eq!(ok, 6, "alone, the instance spends its share (all 8)");
        } else {
            assert!(
                ok <= 3,
                "strict: only what was leased before Redis left ({ok})"
            );
        }
    }
}
