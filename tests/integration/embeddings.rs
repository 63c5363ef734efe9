//! Embeddings over the pool (issue #22): OpenAI's `/v1/embeddings` and
//! Gemini's `embedContent` / `batchEmbedContents`, on Gemini keys and
//! OpenAI-compatible hosts, against the fake answering as the providers
//! document (`fake::embeddings`).

use crate::common::Levity;
use crate::fake::Fake;
use base64::Engine;
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

#[tokio::test]
async fn openai_embeddings_on_gemini_keep_order_size_and_batches_of_100() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaEMBED-000000001", &fake.url())
        .await;

    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "gemini-embedding-001", "input": ["alpha", "be"], "dimensions": 8}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v = parse(&body);
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "gemini-embedding-001");
    let firsts: Vec<f64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["embedding"][0].as_f64().unwrap())
        .collect();
    assert_eq!(firsts, [5.0, 2.0], "a vector per input, in order");
    assert_eq!(v["data"][1]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(v["data"][1]["index"], 1);
    assert!(
        v["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
        "Gemini counts none: estimated"
    );
    let up = fake.last();
    assert_eq!(
        up.path,
        "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    );
    assert_eq!(up.body["requests"][0]["outputDimensionality"], 8);

    // The SDKs' default: little-endian float32 in base64.
    let (_, body) = lev
        .post("/v1/embeddings", &json!({"model": "gemini-embedding-001", "input": "four", "dimensions": 4, "encoding_format": "base64"}))
        .await;
    let b64 = parse(&body)["data"][0]["embedding"]
        .as_str()
        .unwrap()
        .to_string();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!((floats.len(), floats[0]), (4, 4.0));

    // Gemini takes 100 a batch: 150 inputs are two calls, answered as one.
    let before = fake.requests().len();
    let inputs: Vec<String> = (0..150).map(|i| "x".repeat(i + 1)).collect();
    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "gemini-embedding-001", "input": inputs, "dimensions": 2}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v = parse(&body);
    let firsts: Vec<u64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["embedding"][0].as_f64().unwrap() as u64)
        .collect();
    assert_eq!(firsts, (1..=150).collect::<Vec<u64>>());
    let calls: Vec<usize> = fake.requests()[before..]
        .iter()
        .map(|r| r.body["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(calls, [100, 50]);
    // batchEmbedContents: every request names the path's model
    // (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents).
    for r in &fake.requests()[before..] {
        for each in r.body["requests"].as_array().unwrap() {
            assert_eq!(each["model"], "models/gemini-embedding-001", "{}", r.body);
        }
    }

    // Token ids cannot go to Gemini: refused, saying what to send.
    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "gemini-embedding-001", "input": [[101, 102]]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("check_embedding_ctx_length=False"), "{body}");

    // A chat model is not an embedding model: refused before any account is
    // asked (Gemini's 404 would rest the account for that model, chat
    // included).
    let before = fake.requests().len();
    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "gemini-2.5-flash", "input": "x"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        parse(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gemini-embedding-001"),
        "{body}"
    );
    assert_eq!(fake.requests().len(), before);
    let (status, _) = lev
        .post(
            "/v1/chat/completions",
            &json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200, "chat on the model still works");
}

#[tokio::test]
async fn an_openai_compatible_host_gets_its_own_request_and_counts_tokens() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_openai(
        "host",
        "sk-embed-host-0001",
        &format!("{}/v1", fake.url()),
        &["text-embedding-3-small"],
    )
    .await;
    let (status, body) = lev
        .post("/v1/embeddings", &json!({"model": "text-embedding-3-small", "input": ["a b c d", "ef"], "dimensions": 3}))
        .await;
    assert_eq!(status, 200, "{body}");
    let v = parse(&body);
    let got: Vec<f32> = serde_json::from_value(v["data"][0]["embedding"].clone()).unwrap();
    assert_eq!(got, crate::fake::fake_vector("a b c d", 3));
    assert_eq!(v["usage"]["prompt_tokens"], 3, "the host's own count");
    let up = fake.last();
    assert_eq!(up.path, "/v1/embeddings");
    assert_eq!(
        up.body,
        json!({"model": "text-embedding-3-small", "input": ["a b c d", "ef"], "dimensions": 3, "encoding_format": "float"})
    );
    assert_eq!(
        up.header("authorization"),
        Some("Bearer sk-embed-host-0001")
    );
    // Token ids pass to a host that reads them.
    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "text-embedding-3-small", "input": [[1, 2, 3]]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fake.last().body["input"], json!([[1, 2, 3]]));
}

#[tokio::test]
async fn a_revoked_key_among_good_ones_fails_over_and_is_marked() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("bad", "AIzaEMBED-revoked-0001", &fake.url())
        .await;
    lev.add_gemini("good", "AIzaEMBED-good-00001", &fake.url())
        .await;
    for _ in 0..3 {
        let (status, body) = lev
            .post(
                "/v1/embeddings",
                &json!({"model": "gemini-embedding-001", "input": "still works"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, accounts) = lev.admin(reqwest::Method::GET, "/accounts", None).await;
    let state = |name: &str| {
        accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state("bad"), "needs-reauth", "{accounts}");
    assert_eq!(state("good"), "active");
    // The log has them, with the tokens.
    let (_, log) = lev
        .admin(reqwest::Method::GET, "/requests?limit=5", None)
        .await;
    let entry = &log[0];
    assert_eq!(
        (entry["protocol"].as_str(), entry["account"].as_str()),
        (Some("openai-embeddings"), Some("good")),
        "{log}"
    );
    assert!(entry["input_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn gemini_clients_embed_natively() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaEMBED-000000002", &fake.url())
        .await;
    let (status, body) = lev
        .post(
            "/v1beta/models/gemini-embedding-001:embedContent",
            &json!({"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 4}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v = parse(&body);
    assert_eq!(v["embedding"]["values"].as_array().unwrap().len(), 4);
    assert_eq!(v["embedding"]["values"][0], 5.0);
    let (status, body) = lev
        .post(
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
            &json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "one"}]}},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "three"}]}}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v = parse(&body);
    let firsts: Vec<f64> = v["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["values"][0].as_f64().unwrap())
        .collect();
    assert_eq!(firsts, [3.0, 5.0]);
    assert_eq!(
        v["embeddings"][0]["values"].as_array().unwrap().len(),
        3072,
        "the model's default size"
    );
    // Errors in Gemini's shape.
    let (status, body) = lev
        .post(
            "/v1beta/models/gemini-embedding-001:embedContent",
            &json!({"content": {"parts": []}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        parse(&body)["error"]["status"],
        "INVALID_ARGUMENT",
        "{body}"
    );
}

#[tokio::test]
async fn a_model_only_anthropic_serves_says_none_can_embed() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("c", "sk-ant-embed-0001", &fake.url())
        .await;
    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "claude-embedding-1", "input": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("none of them can embed"), "{body}");
    let (status, body) = lev
        .post(
            "/v1/embeddings",
            &json!({"model": "claude-sonnet-4-5", "input": "x"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("is a chat model"), "{body}");
    assert!(fake.requests().is_empty(), "nothing was sent");
}
