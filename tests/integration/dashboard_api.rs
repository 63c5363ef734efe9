//! The admin API the dashboard reads: the request log, live events, usage,
//! the mapping tester, cross-site protection and the OpenAPI document.

use crate::common::Levity;
use crate::fake::{Fake, Fault};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn requests_usage_and_live_events() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaDASH-000000001", &fake.url()).await;
    let key = lev.create_key().await;

    // Subscribe first, then send a request: its event arrives live.
    let resp = lev
        .http
        .get(format!("{}/api/events", lev.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut events = resp.bytes_stream();
    let chat = lev.http.post(format!("{}/v1/chat/completions", lev.url)).bearer_auth(&key)
        .json(&json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "hello monitor"}]}))
        .send().await.unwrap();
    assert_eq!(chat.status(), 200);
    chat.text().await.unwrap();
    let mut seen = String::new();
    while !seen.contains("event: request") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("a live event")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen
        .split("event: request\ndata: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let entry: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        (
            entry["protocol"].as_str(),
            entry["account"].as_str(),
            entry["status"].as_u64()
        ),
        (Some("openai-chat"), Some("g"), Some(200))
    );
    assert_eq!(entry["client_key"], "key-1");
    assert_eq!(entry["why"], "most headroom");
    assert!(
        entry["ttft_ms"].is_u64(),
        "streams have a time to first token"
    );

    let (_, list) = lev.admin(Method::GET, "/requests?limit=10", None).await;
    assert_eq!(list[0]["id"], entry["id"]);
    let (_, stats) = lev.admin(Method::GET, "/stats?days=3", None).await;
    assert_eq!(stats["today"]["requests"], 1);
    assert_eq!(stats["series"].as_array().unwrap().len(), 3);
    assert_eq!(stats["by_key"][0]["name"], "key-1");
    assert_eq!(stats["by_model"][0]["name"], "gemini-2.5-flash");

    // Usage survives a restart.
    drop(events);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    let (_, stats) = lev.admin(Method::GET, "/stats?days=1", None).await;
    assert_eq!(stats["series"][0]["requests"], 1, "{stats}");
}

#[tokio::test]
async fn mapping_tester_origin_check_and_openapi() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaDASH-000000002", &fake.url()).await;
    lev.set("model_map.gpt-4o*", "gemini-2.5-pro").await;
    let (status, r) = lev
        .admin(Method::GET, "/route?model=gpt-4o-mini", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        r,
        json!({"model": "gpt-4o-mini", "upstream_model": "gemini-2.5-pro", "kind": "gemini", "accounts": ["g"],
               "candidates": [{"name": "g", "state": "ready", "until_ms": null, "preferred": false}],
               "first": "g", "why": "most headroom", "ready_at_ms": null})
    );
    // The preferred account is the one a new conversation goes to, and the
    // tester says so (issue #22).
    lev.add_gemini("h", "AIzaDASH-000000003", &fake.url()).await;
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/accounts/preferred",
            Some(json!({"account": "h"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, r) = lev
        .admin(Method::GET, "/route?model=gpt-4o-mini", None)
        .await;
    assert_eq!(
        (&r["first"], &r["why"]),
        (&json!("h"), &json!("pinned")),
        "{r}"
    );
    assert_eq!(
        r["candidates"][1],
        json!({"name": "h", "state": "ready", "until_ms": null, "preferred": true})
    );

    // A mapping to a model nothing knows is refused as a likely typo, with
    // the closest name; force keeps it (a model newer than levity).
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "model_map.fast", "value": "gemini-2.5-flsh"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `gemini-2.5-flash`?"),
        "{v}"
    );
    let (_, cfg) = lev.admin(Method::GET, "/config", None).await;
    assert!(cfg.get("model_map.fast").is_none(), "nothing saved: {cfg}");
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "model_map.fast", "value": "gemini-9-ultra", "force": true})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, r) = lev.admin(Method::GET, "/route?model=unknown", None).await;
    assert_eq!(status, 404, "{r}");

    let evil = lev
        .http
        .put(format!("{}/api/config", lev.url))
        .header("origin", "http://evil.example")
        .json(&json!({"key": "max_attempts", "value": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let own = lev
        .http
        .put(format!("{}/api/config", lev.url))
        .header("origin", lev.url.clone())
        .json(&json!({"key": "max_attempts", "value": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);

    let (status, doc) = lev.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/stats"].is_object());
    let page = lev.http.get(format!("{}/", lev.url)).send().await.unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    // Google sign-in from the dashboard needs the user's OAuth client first.
    let (status, v) = lev
        .admin(Method::POST, "/oauth/start", Some(json!({})))
        .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("oauth_client_id")
    );
    lev.set("oauth_client_id", "cid").await;
    lev.set("oauth_client_secret", "cs").await;
    lev.set("oauth_token_url", &format!("{}/token", fake.url()))
        .await;
    // A sign-in started from the dashboard: the state Google will echo.
    let start = || async {
        let (_, v) = lev
            .admin(Method::POST, "/oauth/start", Some(json!({})))
            .await;
        let url = v["url"].as_str().unwrap();
        url.split("state=").nth(1).unwrap().to_string()
    };
    // Where Google sends the browser back.
    let callback = |query: String| {
        let url = format!("{}/oauth2callback?{query}", lev.url);
        let http = lev.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let state = start().await;
    let page = callback(format!("state={state}&code=dash-code")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Signed in"));
    let (_, accounts) = lev.admin(Method::GET, "/accounts", None).await;
    assert!(
        accounts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "google-oauth" && a["key_hint"] == "rt-...code")
    );
    let replay = callback(format!("state={state}&code=again")).await;
    assert_eq!(replay.status(), 400, "a state works once");

    // What comes back in the address is shown as text, never run.
    let state = start().await;
    let page = callback(format!(
        "state={state}&error=%3Cscript%3Ealert(1)%3C/script%3E"
    ))
    .await;
    assert_eq!(page.status(), 400);
    assert_eq!(
        page.headers()["content-security-policy"],
        "default-src 'none'"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"),
        "{html}"
    );
}

#[tokio::test]
async fn request_log_keeps_bodies_only_when_asked_and_redacts_secrets() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let upstream_key = "AIzaBODYLOG-secret-0000000001";
    lev.add_gemini("g", upstream_key, &fake.url()).await;
    let key = lev.create_key().await;
    let ask = |text: &'static str, stream: bool| {
        let (http, url, key) = (lev.http.clone(), lev.url.clone(), key.clone());
        async move {
            let body = json!({"model": "gemini-2.5-flash", "user": format!("my key is {upstream_key}"),
                "stream": stream, "messages": [{"role": "user", "content": text}]});
            let resp = http
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.text().await.unwrap()
        }
    };
    let send = |text: &'static str| ask(text, false);
    // The newest request's id and its detail, as the Monitor's dialog reads them.
    let newest = async |lev: &Levity| {
        let list = lev
            .get_json(&format!("{}/api/requests?limit=1", lev.url))
            .await;
        let id = list[0]["id"].as_str().unwrap().to_string();
        let (status, detail) = lev
            .admin(Method::GET, &format!("/requests/{id}"), None)
            .await;
        assert_eq!(status, 200, "{detail}");
        (id, detail)
    };

    // Off by default: the request is logged, its bodies are not.
    send("not kept").await;
    let (id, detail) = newest(&lev).await;
    assert_eq!(detail["entry"]["id"], id.as_str());
    assert_eq!(detail["bodies"], Value::Null);
    assert_eq!(detail["body_logging"], false);

    // On: headers and both bodies, with every secret shown as a hint only.
    lev.set("log_bodies", "on").await;
    send("please keep this").await;
    let (_, detail) = newest(&lev).await;
    let bodies = &detail["bodies"];
    assert!(
        bodies["request"]
            .as_str()
            .unwrap()
            .contains("please keep this"),
        "{detail}"
    );
    assert!(
        bodies["response"]
            .as_str()
            .unwrap()
            .contains("chat.completion"),
        "{detail}"
    );
    let all = detail.to_string();
    assert!(
        !all.contains(upstream_key) && !all.contains(&key),
        "a secret was stored: {all}"
    );
    assert!(
        all.contains("AIz...0001"),
        "the upstream key becomes a hint: {all}"
    );
    let auth = bodies["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .expect("headers are kept");
    assert_eq!(auth[1], format!("sk-...{}", &key[key.len() - 4..]));

    // A stream is kept to its last bytes; one that breaks keeps why.
    let stream = |text: &'static str| ask(text, true);
    let sent = stream("reply streamed whole").await;
    let (_, detail) = newest(&lev).await;
    assert_eq!(detail["bodies"]["response"], sent.as_str(), "{detail}");
    assert!(sent.ends_with("data: [DONE]\n\n"));
    assert_eq!(detail["entry"]["error"], Value::Null);
    // Not resumed: the client hears the break.
    lev.set("stream_resumes", "0").await;
    fake.push(Fault::Truncate);
    let sent = stream("reply a stream that breaks off").await;
    let (_, detail) = newest(&lev).await;
    assert_eq!(detail["bodies"]["response"], sent.as_str(), "{detail}");
    assert!(
        detail["entry"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{detail}"
    );

    // A small cap cuts bodies and says so.
    lev.set("log_body_max_kb", "1").await;
    let long = Box::leak("x".repeat(5_000).into_boxed_str());
    send(long).await;
    let (id, detail) = newest(&lev).await;
    assert_eq!(detail["bodies"]["request_cut"], true);
    assert!(detail["bodies"]["request"].as_str().unwrap().len() <= 1024 + 64);

    // The log and its bodies outlive a restart, and none of it is in the
    // file in plain text.
    let dir = lev.stop().await;
    let file = std::fs::read(dir.path().join("levity.redb")).unwrap();
    let haystack = String::from_utf8_lossy(&file);
    assert!(
        !haystack.contains("please keep this"),
        "bodies are sealed at rest"
    );
    let lev = Levity::start_in(dir).await;
    let (_, detail) = lev
        .admin(Method::GET, &format!("/requests/{id}"), None)
        .await;
    assert_eq!(detail["entry"]["id"], id.as_str());
    assert_eq!(detail["bodies"]["request_cut"], true);
    let (_, list) = lev.admin(Method::GET, "/requests?limit=10", None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        5,
        "the Monitor reloads the log: {list}"
    );

    let (status, _) = lev.admin(Method::GET, "/requests/nope", None).await;
    assert_eq!(status, 404);
    let (status, body) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "log_retention_days", "value": "0"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn listen_address_moves_without_a_restart() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaMOVE-000000001", &fake.url()).await;
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };

    // The network needs a client key first; nothing moves.
    let (status, body) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "0.0.0.0", "port": free_port()})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("client key"),
        "{body}"
    );
    // A port in use is refused before anything changes.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (status, body) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "127.0.0.1", "port": taken.local_addr().unwrap().port()})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "my-laptop", "port": 8045})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, st) = lev.admin(Method::GET, "/status", None).await;
    assert_eq!(st["listen"], lev.url.trim_start_matches("http://"));

    // A stream in flight on the old address finishes after the move.
    let in_flight = lev.http.post(format!("{}/v1/chat/completions", lev.url))
        .json(&json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "slow please"}]}))
        .send().await.unwrap();
    let port = free_port();
    let (status, body) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "127.0.0.1", "port": port})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["listen"], format!("127.0.0.1:{port}"));
    // The new origin's page has storage of its own: it is handed the token.
    assert_eq!(body["admin_token"], crate::common::ADMIN_TOKEN);
    assert!(in_flight.text().await.unwrap().contains("[DONE]"));

    let moved = format!("http://127.0.0.1:{port}");
    let chat = lev
        .http
        .post(format!("{moved}/v1/chat/completions"))
        .json(
            &json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(chat.status(), 200);
    let st = lev.get_json(&format!("{moved}/api/status")).await;
    assert_eq!(st["listen"], format!("127.0.0.1:{port}"));
    let cfg = lev.get_json(&format!("{moved}/api/config")).await;
    assert_eq!(
        cfg["listen_port"],
        port.to_string(),
        "kept for the next start"
    );
    // The old address stops taking connections once its requests are done.
    let mut refused = false;
    for _ in 0..50 {
        if reqwest::Client::new()
            .get(format!("{}/api/status", lev.url))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the old address still answers");

    // `levity config set listen_port` goes the same way.
    let port2 = free_port();
    let resp = lev
        .http
        .put(format!("{moved}/api/config"))
        .json(&json!({"key": "listen_port", "value": port2.to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let st = lev
        .get_json(&format!("http://127.0.0.1:{port2}/api/status"))
        .await;
    assert_eq!(st["listen"], format!("127.0.0.1:{port2}"));
}

/// Sharing on the network keeps the port: 127.0.0.1:P to 0.0.0.0:P cannot
/// be bound beside the old listener (EADDRINUSE on Linux), so the old one
/// lets go first; a stream in flight still finishes, and the way back works
/// too (issue #22).
#[tokio::test]
async fn sharing_on_the_network_keeps_the_port() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaLAN-0000000001", &fake.url()).await;
    let key = lev.create_key().await;
    let port: u16 = lev.url.rsplit(':').next().unwrap().parse().unwrap();
    let chat = |url: String, content: &'static str| {
        lev.http
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": content}]}))
            .send()
    };
    let in_flight = chat(lev.url.clone(), "slow please").await.unwrap();
    let (status, body) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "0.0.0.0", "port": port})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["listen"], format!("0.0.0.0:{port}"));
    assert!(in_flight.text().await.unwrap().contains("[DONE]"));

    // The same address now reaches the listener on every interface.
    let answer = chat(lev.url.clone(), "hi").await.unwrap();
    assert_eq!(answer.status(), 200);
    let st = lev.get_json(&format!("{}/api/status", lev.url)).await;
    assert_eq!(st["listen"], format!("0.0.0.0:{port}"));
    // Where other devices find it: this machine's network addresses, never
    // loopback (a test namespace may have none).
    for addr in st["network"].as_array().unwrap() {
        let addr = addr.as_str().unwrap();
        assert!(
            addr.ends_with(&format!(":{port}")) && !addr.starts_with("127."),
            "{st}"
        );
    }
    let cfg = lev.get_json(&format!("{}/api/config", lev.url)).await;
    assert_eq!(cfg["listen_host"], "0.0.0.0", "kept for the next start");

    // And back to this machine only, on the same port.
    let resp = lev
        .http
        .put(format!("{}/api/listen", lev.url))
        .json(&json!({"host": "127.0.0.1", "port": port}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let st = lev.get_json(&format!("{}/api/status", lev.url)).await;
    assert_eq!(st["listen"], format!("127.0.0.1:{port}"));
    assert_eq!(st["network"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_never_share_a_name() {
    let lev = Levity::start().await;
    let tries = (0..20).map(|i| {
        let (http, url) = (lev.http.clone(), lev.url.clone());
        async move {
            let account = http.post(format!("{url}/api/accounts"))
                .json(&json!({"kind": "gemini", "api_key": format!("AIzaSAME-{i:012}"), "name": "same"}))
                .send().await.unwrap().status().as_u16();
            let key = http.post(format!("{url}/api/keys")).json(&json!({"name": "samekey"}))
                .send().await.unwrap().status().as_u16();
            (account, key)
        }
    });
    let results = futures_util::future::join_all(tries).await;
    let created = |pick: fn(&(u16, u16)) -> u16| results.iter().filter(|r| pick(r) == 201).count();
    assert_eq!((created(|r| r.0), created(|r| r.1)), (1, 1), "{results:?}");
    let (_, accounts) = lev.admin(Method::GET, "/accounts", None).await;
    assert_eq!(accounts.as_array().unwrap().len(), 1);
}

/// The dashboard's forms come from the server's one settings table: its
/// schema is checked in (the dev mock reads the same file), and a fresh
/// server shows every setting at the default the schema names.
#[tokio::test]
async fn config_schema_is_the_settings_table() {
    let lev = Levity::start().await;
    let (status, schema) = lev.admin(Method::GET, "/config/schema", None).await;
    assert_eq!(status, 200);
    crate::golden::check("ui/e2e/config-schema.json", &schema);
    // The account forms' kinds too: each kind's descriptor, as the UI's
    // tests and dev mock read it.
    let (status, kinds) = lev.admin(Method::GET, "/kinds", None).await;
    assert_eq!(status, 200);
    crate::golden::check("ui/e2e/kinds.json", &kinds);
    let (_, config) = lev.admin(Method::GET, "/config", None).await;
    let rows = schema.as_array().unwrap();
    for row in rows {
        let key = row["key"].as_str().unwrap();
        assert!(
            row["label"]["zh"].is_string() && row["help"]["en"].is_string(),
            "{key}"
        );
        if !key.contains('<') {
            assert_eq!(config[key], row["default"], "{key}");
        }
    }
    assert_eq!(
        config.as_object().unwrap().len(),
        rows.iter()
            .filter(|r| !r["key"].as_str().unwrap().contains('<'))
            .count()
    );
    // A value outside a row's range is refused with the range.
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "queue_timeout_secs", "value": "3601"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("from 0 to 3600"),
        "{v}"
    );
}
