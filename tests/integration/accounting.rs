//! Every request accounted for: the upstream's token counts logged on every
//! path (native and translated, streamed and whole), fed into the usage
//! windows quota-aware routing reads; refused requests and every attempt in
//! the request log, which pages through the whole retention after a restart.

use crate::common::{Levity, sse_events};
use crate::fake::Fake;
use reqwest::Method;
use serde_json::{Value, json};

/// The newest logged request.
async fn newest(lev: &Levity) -> Value {
    let (status, list) = lev.admin(Method::GET, "/requests?limit=1", None).await;
    assert_eq!(status, 200, "{list}");
    list[0].clone()
}

#[tokio::test]
async fn every_path_logs_the_upstream_s_token_counts() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("gem", "AIza-counted-00000", &fake.url())
        .await;
    lev.add_anthropic("ant", "sk-ant-counted-000", &fake.url())
        .await;
    lev.add_openai(
        "ds",
        "sk-counted-0000000",
        &format!("{}/v1", fake.url()),
        &["deepseek-chat"],
    )
    .await;
    let chat = |model: &str, stream: bool| json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "count me"}]});
    let messages = |stream: bool| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": stream,
            "messages": [{"role": "user", "content": "count me"}]})
    };
    let contents = json!({"contents": [{"role": "user", "parts": [{"text": "count me"}]}]});
    // (what, path, body, input, output, cached): the fake's own figures.
    let cases: Vec<(&str, &str, Value, u64, u64, u64)> = vec![
        (
            "Chat → OpenAI-compatible, whole",
            "/v1/chat/completions",
            chat("deepseek-chat", false),
            11,
            3,
            2,
        ),
        (
            "Chat → OpenAI-compatible, streamed",
            "/v1/chat/completions",
            chat("deepseek-chat", true),
            11,
            3,
            2,
        ),
        (
            "Messages → Anthropic, whole",
            "/v1/messages",
            messages(false),
            15,
            6,
            3,
        ),
        (
            "Messages → Anthropic, streamed",
            "/v1/messages",
            messages(true),
            12,
            6,
            0,
        ),
        (
            "Gemini → Gemini, whole",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            contents.clone(),
            0,
            0,
            0,
        ),
        (
            "Gemini → Gemini, streamed",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            contents.clone(),
            0,
            0,
            0,
        ),
        (
            "Gemini → Gemini, JSON array",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            contents,
            0,
            0,
            0,
        ),
        (
            "Chat → Gemini, whole",
            "/v1/chat/completions",
            chat("gemini-2.5-flash", false),
            0,
            0,
            0,
        ),
        (
            "Chat → Gemini, streamed",
            "/v1/chat/completions",
            chat("gemini-2.5-flash", true),
            0,
            0,
            0,
        ),
        (
            "Messages → OpenAI-compatible, streamed",
            "/v1/messages",
            json!({"model": "deepseek-chat", "max_tokens": 50, "stream": true,
            "messages": [{"role": "user", "content": "count me"}]}),
            11,
            3,
            2,
        ),
    ];
    for (what, path, body, input, output, cached) in cases {
        let (status, text) = lev.post(path, &body).await;
        assert_eq!(status, 200, "{what}: {text}");
        let e = newest(&lev).await;
        assert_eq!(e["status"], 200, "{what}: {e}");
        if input > 0 {
            assert_eq!(
                (&e["input_tokens"], &e["output_tokens"], &e["cached_tokens"]),
                (&json!(input), &json!(output), &json!(cached)),
                "{what}: {e}"
            );
        } else {
            // Gemini's counts depend on the request's length: the upstream's
            // own usageMetadata, never zero.
            let sent = fake.last();
            let reported = sent.body.to_string().len() as u64 / 4;
            assert_eq!(e["input_tokens"], reported, "{what}: {e}");
            assert!(e["output_tokens"].as_u64().unwrap() > 0, "{what}: {e}");
        }
        assert_eq!(e["attempt_log"][0]["class"], "ok", "{what}: {e}");
    }
    // Those counts fed the windows that routing and the quota bars read.
    for name in ["gem", "ant", "ds"] {
        let a = lev.account(name).await;
        let quota = &a["health"]["quota"][0];
        assert!(
            quota["used"]["day_tokens"].as_u64().unwrap() > 0,
            "{name}: {a}"
        );
        assert!(
            quota["used"]["day_requests"].as_u64().unwrap() > 0,
            "{name}: {a}"
        );
    }
}

/// levity asks OpenAI-compatible hosts for a stream's usage, and keeps the
/// extra chunk from a client that did not ask for it.
#[tokio::test]
async fn the_usage_chunk_reaches_only_clients_that_asked() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_openai(
        "ds",
        "sk-counted-0000000",
        &format!("{}/v1", fake.url()),
        &["deepseek-chat"],
    )
    .await;
    for asked in [false, true] {
        let mut body = json!({"model": "deepseek-chat", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]});
        if asked {
            body["stream_options"] = json!({"include_usage": true});
        }
        let (status, text) = lev.post("/v1/chat/completions", &body).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            fake.last().body["stream_options"]["include_usage"],
            true,
            "levity asks"
        );
        // Passed through as the host wrote it, CRLF line ends included.
        let events = sse_events(&text.replace("\r\n", "\n"));
        let usage_chunks = events.iter().filter(|e| e["usage"].is_object()).count();
        assert_eq!(usage_chunks, usize::from(asked), "asked: {asked}\n{text}");
        assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
        assert!(
            events
                .iter()
                .all(|e| e["choices"].as_array().is_some_and(|c| !c.is_empty()) || asked),
            "no empty choices for a client that did not ask:\n{text}"
        );
        assert_eq!(newest(&lev).await["input_tokens"], 11);
    }
}

#[tokio::test]
async fn refusals_and_every_attempt_are_logged_and_survive_a_restart() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("bad1", "AIza-fail500-aaaa", &fake.url())
        .await;
    lev.add_gemini("bad2", "AIza-fail429-bbbb", &fake.url())
        .await;
    lev.add_gemini("good", "AIza-good-0000000", &fake.url())
        .await;

    let (status, _, body) = lev
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "three tries"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let e = newest(&lev).await;
    let tries: Vec<(&str, &str)> = e["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["account"].as_str().unwrap(), a["class"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tries,
        [("bad1", "transient"), ("bad2", "quota"), ("good", "ok")],
        "{e}"
    );
    assert_eq!(e["attempt_log"][1]["effect"], "rests 7 s", "{e}");
    assert_eq!(e["attempts"], 3);

    // Refused before any account: an unknown model, a body that is not a
    // request, then (with client keys) a wrong key.
    let (status, _, _) = lev
        .chat(json!({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(status, 404);
    let e = newest(&lev).await;
    assert_eq!(
        (&e["status"], &e["account"], &e["model"]),
        (&json!(404), &json!(""), &json!("no-such-model")),
        "{e}"
    );
    let (status, _) = lev
        .post("/v1/chat/completions", &json!({"messages": 5}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(newest(&lev).await["status"], 400);
    let key = lev.create_key().await;
    let resp = lev
        .http
        .post(format!("{}/v1/chat/completions", lev.url))
        .bearer_auth("sk-lev-wrong-key-0000")
        .json(&json!({"model": "gemini-2.5-flash", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(newest(&lev).await["status"], 401);

    // More than a page, then a restart: the whole retention pages back.
    for i in 0..260 {
        let resp = lev
            .http
            .post(format!("{}/v1/chat/completions", lev.url))
            .bearer_auth(&key)
            .json(&json!({"model": format!("missing-{i}"), "messages": [{"role": "user", "content": "x"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    let mut seen = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = lev
            .admin(
                Method::GET,
                &format!("/requests?limit=100&status=404&before={before}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        before = format!(
            "{:013}-{}",
            last["time_ms"].as_u64().unwrap(),
            last["id"].as_str().unwrap()
        );
        seen.extend(page);
    }
    assert_eq!(
        seen.len(),
        261,
        "every 404 since the start, after a restart"
    );
    assert!(seen.iter().all(|e| e["status"] == 404));
    // Filters: by model, by account, by time.
    let (_, one) = lev
        .admin(Method::GET, "/requests?model=missing-7", None)
        .await;
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");
    let (_, good) = lev.admin(Method::GET, "/requests?account=good", None).await;
    assert_eq!(good.as_array().unwrap().len(), 1, "{good}");
    let (_, none) = lev.admin(Method::GET, "/requests?until=1000", None).await;
    assert_eq!(none, json!([]));
}

/// A client that leaves mid-stream: the request is logged as cancelled with
/// what the upstream had reported by then, and the account settles.
#[tokio::test]
async fn a_stream_cancelled_midway_is_logged_with_what_it_used() {
    use crate::fake::Fault;
    use futures_util::StreamExt;
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("ant", "sk-ant-counted-000", &fake.url())
        .await;
    // The fake sends message_start (12 input tokens), then waits.
    fake.push(Fault::Gate);
    let resp = lev
        .http
        .post(format!("{}/v1/messages", lev.url))
        .header("anthropic-version", "2023-06-01")
        .json(
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": true,
            "messages": [{"role": "user", "content": "leave early"}]}),
        )
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));
    drop(body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let e = loop {
        let e = newest(&lev).await;
        if e["status"] == 499 || std::time::Instant::now() > deadline {
            break e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    fake.release();
    assert_eq!(e["status"], 499, "{e}");
    assert_eq!(e["input_tokens"], 12, "{e}");
    let a = lev.account("ant").await;
    assert_eq!(a["health"]["in_flight"], 0, "{a}");
    assert!(
        a["health"]["quota"][0]["used"]["day_tokens"]
            .as_u64()
            .unwrap()
            >= 12,
        "{a}"
    );
}

/// Cost comes from the upstream's own counts and the model's price: the
/// catalogue's, or the one the user set; cached input at its own price.
/// Usage sums it with the cached tokens per model and key.
#[tokio::test]
async fn requests_are_priced_from_the_upstream_s_counts() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("ant", "sk-ant-priced-0000", &fake.url())
        .await;
    lev.add_openai(
        "ds",
        "sk-priced-00000000",
        &format!("{}/v1", fake.url()),
        &["deepseek-chat"],
    )
    .await;
    let close = |got: &Value, want: f64| {
        let got = got.as_f64().unwrap_or_else(|| panic!("no cost: {got}"));
        assert!((got - want).abs() < 1e-12, "{got} != {want}");
    };

    // Anthropic's counts (15 in, 3 of them read from cache, 6 out) at the
    // catalogue's Sonnet 4.5 price: $3, $0.30 cached, $15 per million.
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "count me"}]});
    let (status, _) = lev.post("/v1/messages", &body).await;
    assert_eq!(status, 200);
    let sonnet = newest(&lev).await;
    close(
        &sonnet["cost_usd"],
        (12.0 * 3.0 + 3.0 * 0.3 + 6.0 * 15.0) / 1e6,
    );
    // The 3 cached tokens saved the difference to the full input price.
    close(&sonnet["saved_usd"], 3.0 * (3.0 - 0.3) / 1e6);

    // A model the catalogue has no price for costs nothing it can name...
    let chat =
        json!({"model": "deepseek-chat", "messages": [{"role": "user", "content": "count me"}]});
    let (status, _) = lev.post("/v1/chat/completions", &chat).await;
    assert_eq!(status, 200);
    assert!(newest(&lev).await["cost_usd"].is_null());
    // ... until the user prices it (11 in, 2 cached, 3 out).
    lev.set("prices.deepseek-*", "0.28/0.42/0.028").await;
    let (status, _) = lev.post("/v1/chat/completions", &chat).await;
    assert_eq!(status, 200);
    let deepseek = (9.0 * 0.28 + 2.0 * 0.028 + 3.0 * 0.42) / 1e6;
    close(&newest(&lev).await["cost_usd"], deepseek);
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "prices.deepseek-chat", "value": "cheap"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");

    let (_, stats) = lev.admin(Method::GET, "/stats?days=1", None).await;
    let model = |name: &str| {
        stats["by_model"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {stats}"))
    };
    close(&model("deepseek-chat")["cost_usd"], deepseek);
    assert_eq!(model("deepseek-chat")["cached_tokens"], 4);
    assert_eq!(model("claude-sonnet-4-5")["cached_tokens"], 3);
}

/// The Usage page's figures: per hour split by key, the cache hit rate per
/// model, key and session, and the Overview's day (latency included) the
/// same after a restart.
#[tokio::test]
async fn usage_splits_by_hour_key_and_session_and_survives_a_restart() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("ant", "sk-ant-usage-00000", &fake.url())
        .await;
    let (alice, bob) = (lev.create_key().await, lev.create_key().await);
    // Claude Code names its session in a header (captured in
    // ../shared/fixtures); the fake reads 3 of the 15 input tokens from cache.
    let send = |key: &str, session: &str| {
        lev.http
            .post(format!("{}/v1/messages", lev.url))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .header("x-claude-code-session-id", session)
            .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 50,
                "messages": [{"role": "user", "content": "count me"}]}))
            .send()
    };
    for (key, session) in [
        (&alice, "s-one"),
        (&alice, "s-one"),
        (&alice, "s-one"),
        (&bob, "s-two"),
    ] {
        assert_eq!(send(key, session).await.unwrap().status(), 200);
    }

    let (status, hourly) = lev
        .admin(Method::GET, "/stats?days=1&step=hour&by=key", None)
        .await;
    assert_eq!(status, 200, "{hourly}");
    assert_eq!(
        (&hourly["step"], &hourly["split"]),
        (&json!("hour"), &json!("key"))
    );
    let points = hourly["series"].as_array().unwrap();
    assert_eq!(points.len(), 24, "one point an hour, gaps included");
    // The requests may straddle an hour: sum the split over the series.
    let split: Vec<&Value> = points
        .iter()
        .flat_map(|p| p["split"].as_array().unwrap())
        .collect();
    let total: u64 = split.iter().map(|n| n["requests"].as_u64().unwrap()).sum();
    assert_eq!(total, 4, "{hourly}");
    assert!(split.iter().all(|n| n["name"] != "(no key)"), "{split:?}");
    let names: Vec<&str> = hourly["by_key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "two keys: {names:?}");
    for n in &hourly["by_key"].as_array().unwrap()[..] {
        assert_eq!(n["cache_hit_rate"], 0.2, "3 of 15 input tokens: {n}");
    }
    let sessions = hourly["by_session"].as_array().unwrap();
    assert_eq!(
        (
            &sessions[0]["name"],
            &sessions[0]["requests"],
            &sessions[0]["cache_hit_rate"]
        ),
        (&json!("client:s-one"), &json!(3), &json!(0.2)),
        "{sessions:?}"
    );
    assert_eq!(sessions[1]["name"], "client:s-two");
    assert_eq!(newest(&lev).await["session"], "client:s-two");

    let (_, daily) = lev.admin(Method::GET, "/stats?days=7", None).await;
    let today = daily["today"].clone();
    assert_eq!(today["requests"], 4);
    assert!(today["p95_ms"].is_u64(), "{today}");
    assert_eq!(daily["series"].as_array().unwrap().len(), 7);

    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    let (_, after) = lev.admin(Method::GET, "/stats?days=7", None).await;
    assert_eq!(
        after["today"], today,
        "the Overview's figures after a restart"
    );
    let (_, hourly_after) = lev
        .admin(Method::GET, "/stats?days=1&step=hour&by=key", None)
        .await;
    assert_eq!(hourly_after["series"], hourly["series"]);
    assert_eq!(
        hourly_after["by_session"], hourly["by_session"],
        "sessions come back with the request log"
    );

    // A query the API does not know is refused in its Problem shape.
    let (status, bad) = lev.admin(Method::GET, "/stats?step=week", None).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["code"], "invalid_request", "{bad}");
}
