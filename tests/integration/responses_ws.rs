//! Responses over a WebSocket, as Codex's built-in provider speaks it
//! (codex-rs/codex-api/src/common.rs `ResponsesWsRequest`): a warm-up, turns
//! continued with `previous_response_id` and only the new items, a remote
//! compaction (exactly one `compaction` item) and the turn after it, errors
//! as frames with a status, and the client key and Origin checked before the
//! upgrade. Also `POST /v1/responses/compact`.

use crate::common::Levity;
use crate::fake::Fake;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    lev: &Levity,
    key: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, tungstenite::Error> {
    let url = format!("{}/v1/responses", lev.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    if let Some(k) = key {
        req.headers_mut()
            .insert("authorization", format!("Bearer {k}").parse().unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

/// Sends one frame and reads the answer's frames up to `response.completed`
/// (or an error frame).
async fn turn(ws: &mut Socket, frame: Value) -> Vec<Value> {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(msg) = ws.next().await {
        let Message::Text(text) = msg.unwrap() else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        let end = matches!(event["type"].as_str(), Some("response.completed" | "error"));
        got.push(event);
        if end {
            break;
        }
    }
    got
}

fn completed(events: &[Value]) -> &Value {
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed", "{events:?}");
    &last["response"]
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn create(input: Vec<Value>, previous: Option<&str>) -> Value {
    let mut f = json!({"type": "response.create", "model": "gemini-2.5-flash", "input": input,
        "tools": [], "tool_choice": "auto", "parallel_tool_calls": true, "reasoning": null,
        "store": false, "stream": true, "include": ["reasoning.encrypted_content"],
        "client_metadata": {"x-codex-turn-metadata": "{}"}});
    if let Some(p) = previous {
        f["previous_response_id"] = json!(p);
    }
    f
}

/// The texts of every part the fake upstream last received, in order.
fn sent_texts(fake: &Fake) -> Vec<String> {
    fake.last().body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap().clone())
        .filter_map(|p| p["text"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn codex_turns_over_one_socket_with_a_compaction() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIza-websocket-0000", &fake.url())
        .await;
    let key = lev.create_key().await;
    let mut ws = connect(&lev, Some(&key), None).await.unwrap();

    // Warm-up: no model call, an empty response that becomes the baseline.
    let mut warm = create(vec![user("reply first")], None);
    warm["generate"] = json!(false);
    let events = turn(&mut ws, warm).await;
    let warm_id = completed(&events)["id"].as_str().unwrap().to_string();
    assert!(fake.requests().is_empty(), "a warm-up calls no upstream");

    // The first turn continues the warm-up with no new items.
    let events = turn(&mut ws, create(Vec::new(), Some(&warm_id))).await;
    let first = completed(&events);
    assert_eq!(first["output"][0]["content"][0]["text"], "first");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "response.output_text.delta")
    );
    assert!(first["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let first_id = first["id"].as_str().unwrap().to_string();

    // Then only the new item: levity puts the history back in front.
    let events = turn(&mut ws, create(vec![user("reply second")], Some(&first_id))).await;
    let second = completed(&events);
    assert_eq!(second["output"][0]["content"][0]["text"], "second");
    assert_eq!(sent_texts(&fake), ["reply first", "first", "reply second"]);
    let second_id = second["id"].as_str().unwrap().to_string();

    // A compaction: exactly one compaction item, and its summary opens the
    // next turn (Codex keeps user messages and appends the item).
    let trigger = json!({"type": "compaction_trigger"});
    let events = turn(&mut ws, create(vec![trigger], Some(&second_id))).await;
    let items: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| &e["item"])
        .collect();
    assert_eq!(items.len(), 1, "{events:?}");
    assert_eq!(items[0]["type"], "compaction");
    let sealed = items[0]["encrypted_content"].as_str().unwrap();
    assert!(!sealed.contains("summary"), "the summary is sealed");
    let asked = sent_texts(&fake);
    assert!(
        asked
            .last()
            .unwrap()
            .starts_with("Write a summary of this conversation"),
        "{asked:?}"
    );
    // (Codex keeps the user's own messages; these say nothing the fake obeys.)
    let compacted = vec![
        user("an earlier question"),
        user("another earlier question"),
        json!({"type": "compaction", "id": items[0]["id"], "encrypted_content": sealed}),
        user("reply third"),
    ];
    let events = turn(&mut ws, create(compacted, None)).await;
    assert_eq!(
        completed(&events)["output"][0]["content"][0]["text"],
        "third"
    );
    let texts = sent_texts(&fake);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("was compacted; this summary replaces it")),
        "{texts:?}"
    );

    // A stale previous_response_id is an error frame with a status; the
    // socket stays usable.
    let events = turn(&mut ws, create(vec![user("reply x")], Some("resp_unknown"))).await;
    assert_eq!(events[0]["type"], "error");
    assert_eq!(events[0]["status"], 400);
    let events = turn(&mut ws, create(vec![user("reply again")], None)).await;
    assert_eq!(
        completed(&events)["output"][0]["content"][0]["text"],
        "again"
    );

    // Logged as WebSocket requests, the compaction among them.
    let (_, log) = lev
        .admin(reqwest::Method::GET, "/requests?limit=10", None)
        .await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|e| e["protocol"] == "openai-responses-ws"),
        "{log}"
    );
}

#[tokio::test]
async fn the_socket_needs_the_client_key_and_a_local_page() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIza-websocket-0000", &fake.url())
        .await;
    let key = lev.create_key().await;
    let refused = |e: tungstenite::Error| match e {
        tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("{other}"),
    };
    assert_eq!(refused(connect(&lev, None, None).await.unwrap_err()), 401);
    assert_eq!(
        refused(
            connect(&lev, Some("sk-wrong-key-00000000"), None)
                .await
                .unwrap_err()
        ),
        401
    );
    // A web page elsewhere cannot open it (no CORS check protects a WebSocket).
    let foreign = connect(&lev, Some(&key), Some("https://evil.example")).await;
    assert_eq!(refused(foreign.unwrap_err()), 403);
    // A binary frame closes the socket with "unsupported data".
    let mut ws = connect(&lev, Some(&key), None).await.unwrap();
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(
                frame.code,
                tungstenite::protocol::frame::coding::CloseCode::Unsupported
            )
        }
        other => panic!("{other:?}"),
    }
    // Without an upgrade, GET says what it is.
    let resp = lev
        .http
        .get(format!("{}/v1/responses", lev.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("Upgrade: websocket"));
}

#[tokio::test]
async fn compaction_v1_answers_the_history_that_replaces_the_input() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIza-websocket-0000", &fake.url())
        .await;
    let body = json!({"model": "gemini-2.5-flash", "input": [
        user("reply one"),
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "one"}]},
        user("reply two")], "tools": [], "parallel_tool_calls": true});
    let resp = lev
        .http
        .post(format!("{}/v1/responses/compact", lev.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let output = v["output"].as_array().unwrap();
    let kinds: Vec<&str> = output.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message", "message", "compaction"], "{v}");
    assert!(output.iter().take(2).all(|m| m["role"] == "user"));
}
