//! Mid-stream recovery: an upstream stream cut after output reached the
//! client is finished on another account in the same client stream. Each
//! case in the four client protocols against Gemini and Anthropic (each
//! one's own protocol passed through), the upstreams failing as they
//! document it: a reset connection, Anthropic's `overloaded_error` event,
//! Gemini's error element.

use crate::common::Levity;
use crate::fake::{Fake, Fault};
use reqwest::Method;
use serde_json::{Value, json};

/// A sentence long enough to come in many pieces.
const STORY: &str = "Once upon a time a small fox crossed a wide river on a fallen log, looked back at the far bank, and decided the forest there was just as green as his own.";

/// What a client saw in its stream.
#[derive(Debug, Default)]
struct Seen {
    text: String,
    thinking: String,
    calls: Vec<(String, Value)>,
    starts: usize,
    finishes: usize,
    errors: usize,
    /// The ids the answer went by (one answer, one id).
    ids: std::collections::BTreeSet<String>,
}

/// Each SSE frame's data, parsed.
fn frames(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .flat_map(|f| f.split("\r\n\r\n"))
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad frame {d}: {e}")))
        .collect()
}

fn read(protocol: &str, body: &str) -> Seen {
    let mut s = Seen::default();
    let mut args: std::collections::BTreeMap<u64, (String, String)> = Default::default();
    // Anthropic's grammar: each block started once, stopped once, no delta
    // after its stop; one `message_delta`. A break in it counts as an error.
    let (mut started, mut stopped, mut deltas) = (Vec::new(), Vec::new(), 0);
    for v in frames(body) {
        if v.get("error").is_some() || v["type"] == "error" || v["type"] == "response.failed" {
            s.errors += 1;
            continue;
        }
        match protocol {
            "chat" => {
                s.ids.insert(v["id"].as_str().unwrap_or_default().into());
                s.starts += usize::from(v["choices"][0]["delta"]["role"] == "assistant");
                let d = &v["choices"][0]["delta"];
                s.text += d["content"].as_str().unwrap_or_default();
                s.thinking += d["reasoning_content"].as_str().unwrap_or_default();
                for c in d["tool_calls"].as_array().into_iter().flatten() {
                    let e = args.entry(c["index"].as_u64().unwrap()).or_default();
                    e.0 += c["function"]["name"].as_str().unwrap_or_default();
                    e.1 += c["function"]["arguments"].as_str().unwrap_or_default();
                }
                s.finishes += usize::from(!v["choices"][0]["finish_reason"].is_null());
            }
            "responses" => match v["type"].as_str().unwrap_or_default() {
                "response.created" => {
                    s.starts += 1;
                    s.ids.insert(v["response"]["id"].as_str().unwrap().into());
                }
                "response.output_text.delta" => s.text += v["delta"].as_str().unwrap(),
                "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                    s.thinking += v["delta"].as_str().unwrap()
                }
                "response.output_item.done" if v["item"]["type"] == "function_call" => {
                    let item = &v["item"];
                    s.calls.push((
                        item["name"].as_str().unwrap().into(),
                        serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap(),
                    ));
                }
                "response.completed" => {
                    s.finishes += 1;
                    s.ids.insert(v["response"]["id"].as_str().unwrap().into());
                }
                _ => {}
            },
            "messages" => match v["type"].as_str().unwrap_or_default() {
                "message_start" => {
                    s.starts += 1;
                    s.ids.insert(v["message"]["id"].as_str().unwrap().into());
                }
                "content_block_start" | "content_block_stop" => {
                    let i = v["index"].as_u64().unwrap();
                    let seen = if v["type"] == "content_block_start" {
                        &mut started
                    } else {
                        &mut stopped
                    };
                    if seen.contains(&i)
                        || (v["type"] == "content_block_stop" && !started.contains(&i))
                    {
                        s.errors += 1;
                    }
                    if v["type"] == "content_block_start" {
                        started.push(i);
                        if v["content_block"]["type"] == "tool_use" {
                            args.entry(i).or_default().0 =
                                v["content_block"]["name"].as_str().unwrap().into();
                        }
                    } else {
                        stopped.push(i);
                    }
                }
                "message_delta" => {
                    deltas += 1;
                    s.errors += usize::from(deltas > 1);
                }
                "content_block_delta" => {
                    let d = &v["delta"];
                    if stopped.contains(&v["index"].as_u64().unwrap()) {
                        s.errors += 1;
                    }
                    s.text += d["text"].as_str().unwrap_or_default();
                    s.thinking += d["thinking"].as_str().unwrap_or_default();
                    if let Some(p) = d["partial_json"].as_str() {
                        args.entry(v["index"].as_u64().unwrap()).or_default().1 += p;
                    }
                }
                "message_stop" => s.finishes += 1,
                _ => {}
            },
            _ => {
                s.ids
                    .insert(v["responseId"].as_str().unwrap_or_default().into());
                let c = &v["candidates"][0];
                for p in c["content"]["parts"].as_array().into_iter().flatten() {
                    if p["thought"] == true {
                        s.thinking += p["text"].as_str().unwrap_or_default();
                    } else if let Some(f) = p.get("functionCall") {
                        s.calls
                            .push((f["name"].as_str().unwrap().into(), f["args"].clone()));
                    } else {
                        s.text += p["text"].as_str().unwrap_or_default();
                    }
                }
                s.finishes += usize::from(c["finishReason"].is_string());
            }
        }
    }
    for (_, (name, a)) in args {
        s.calls
            .push((name, serde_json::from_str(&a).unwrap_or(Value::Null)));
    }
    if protocol == "gemini" {
        s.starts = usize::from(!s.ids.is_empty());
    }
    s
}

/// A streamed request of `protocol` for `model` saying `text`, with
/// reasoning asked for when `think`.
async fn stream(
    lev: &Levity,
    protocol: &str,
    model: &str,
    text: &str,
    think: bool,
) -> (u16, String) {
    let (path, mut body) = match protocol {
        "chat" => (
            "/v1/chat/completions".to_string(),
            json!({"model": model, "stream": true, "messages": [{"role": "user", "content": text}]}),
        ),
        "responses" => (
            "/v1/responses".into(),
            json!({"model": model, "stream": true, "input": text}),
        ),
        "messages" => (
            "/v1/messages".into(),
            json!({"model": model, "max_tokens": 4000, "stream": true, "messages": [{"role": "user", "content": text}]}),
        ),
        _ => (
            format!("/v1beta/models/{model}:streamGenerateContent?alt=sse"),
            json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}),
        ),
    };
    if think {
        match protocol {
            "chat" => body["reasoning_effort"] = json!("low"),
            "responses" => body["reasoning"] = json!({"effort": "low", "summary": "auto"}),
            "messages" => body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024}),
            _ => {
                body["generationConfig"] =
                    json!({"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}})
            }
        }
    }
    lev.post(&path, &body).await
}

/// A pool of two accounts of `upstream`, and the model to ask.
async fn pool(upstream: &str) -> (Fake, Levity, &'static str) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let model = if upstream == "gemini" {
        lev.add_gemini("first", "AIzaRESUME-0000001", &fake.url())
            .await;
        lev.add_gemini("second", "AIzaRESUME-0000002", &fake.url())
            .await;
        "gemini-2.5-flash"
    } else {
        lev.add_anthropic("first", "sk-ant-resume-0001", &fake.url())
            .await;
        lev.add_anthropic("second", "sk-ant-resume-0002", &fake.url())
            .await;
        "claude-sonnet-4-5"
    };
    (fake, lev, model)
}

/// The client protocols, each against `upstream`: translated, or passed
/// through for the upstream's own (Gemini's SSE, Anthropic's Messages).
fn clients(upstream: &str) -> &'static [&'static str] {
    if upstream == "gemini" {
        &["chat", "responses", "messages", "gemini"]
    } else {
        &["chat", "responses", "gemini", "messages"]
    }
}

async fn newest(lev: &Levity) -> Value {
    let (_, list) = lev.admin(Method::GET, "/requests?limit=1", None).await;
    list[0].clone()
}

/// One answer, complete and whole, as if nothing broke.
fn whole(what: &str, seen: &Seen, text: &str) {
    assert_eq!(seen.errors, 0, "{what}: {seen:?}");
    assert_eq!(seen.text, text, "{what}");
    assert_eq!(seen.starts, 1, "{what}: one start: {seen:?}");
    assert_eq!(seen.finishes, 1, "{what}: one finish: {seen:?}");
    assert_eq!(seen.ids.len(), 1, "{what}: one id: {seen:?}");
}

#[tokio::test]
async fn a_cut_in_text_is_continued_on_another_account() {
    for upstream in ["gemini", "anthropic"] {
        let (fake, lev, model) = pool(upstream).await;
        for &protocol in clients(upstream) {
            let what = format!("{protocol} → {upstream}");
            // A reset connection, then (another request) the error event
            // the provider documents.
            for fault in [Fault::CutAfter(6), Fault::ErrorAfter(5)] {
                fake.push(fault.clone());
                let (status, body) =
                    stream(&lev, protocol, model, &format!("reply {STORY}"), false).await;
                assert_eq!(status, 200, "{what}: {body}");
                whole(&format!("{what}, {fault:?}"), &read(protocol, &body), STORY);
                // The continuation asked for the rest: the text sent so far
                // as the start of the assistant's turn, on the other account.
                let sent = fake.requests();
                let last = &sent.last().unwrap().body;
                let prefill = if upstream == "gemini" {
                    last["contents"].as_array().unwrap().last().unwrap()["parts"][0]["text"].clone()
                } else {
                    last["messages"].as_array().unwrap().last().unwrap()["content"][0]["text"]
                        .clone()
                };
                let prefill = prefill
                    .as_str()
                    .unwrap_or_else(|| panic!("{what}: no prefill in {last}"));
                assert!(
                    !prefill.is_empty() && STORY.starts_with(prefill),
                    "{what}: {prefill}"
                );
                let e = newest(&lev).await;
                assert_eq!(
                    (&e["status"], &e["resumed"]),
                    (&json!(200), &json!(1)),
                    "{what}: {e}"
                );
                let tries = e["attempt_log"].as_array().unwrap();
                assert_eq!(tries.len(), 2, "{what}: {e}");
                assert_eq!(
                    (&tries[0]["cut"], &tries[1]["class"]),
                    (&json!(true), &json!("ok")),
                    "{what}: {e}"
                );
                assert_ne!(
                    tries[0]["account"], tries[1]["account"],
                    "{what}: another account"
                );
                if upstream == "anthropic" {
                    // Claude reports its input at the start: 12 for the cut
                    // attempt and 12 for the continuation, summed.
                    assert_eq!(e["input_tokens"], 24, "{what}: {e}");
                }
            }
        }
        // Counted as resumed, not failed; usage summed over both attempts.
        let (_, stats) = lev.admin(Method::GET, "/stats?days=1", None).await;
        assert_eq!(stats["today"]["errors"], 0, "{stats}");
        let n = 2 * clients(upstream).len();
        assert_eq!(stats["today"]["resumed"], n, "{stats}");
    }
}

#[tokio::test]
async fn a_cut_in_thinking_closes_it_unsigned_and_the_answer_follows() {
    for upstream in ["gemini", "anthropic"] {
        let (fake, lev, model) = pool(upstream).await;
        // Gemini sends its thoughts as the first element; Claude's thinking
        // block is cut before its signature.
        let cut = if upstream == "gemini" { 1 } else { 3 };
        for &protocol in clients(upstream) {
            let what = format!("{protocol} → {upstream}");
            fake.push(Fault::CutAfter(cut));
            let (status, body) =
                stream(&lev, protocol, model, &format!("reply {STORY}"), true).await;
            assert_eq!(status, 200, "{what}: {body}");
            let seen = read(protocol, &body);
            whole(&what, &seen, STORY);
            // Whatever reasoning the client is shown is shown once.
            let once = if upstream == "gemini" {
                "thinking it over"
            } else {
                "claude thinking"
            };
            assert!(
                seen.thinking.is_empty() || seen.thinking == once,
                "{what}: {seen:?}"
            );
            assert!(
                !body.contains("signature_delta"),
                "{what}: no signature is made up"
            );
            // Nothing visible was sent: the request went again as it was,
            // with no assistant turn after the user's.
            let last = fake.last().body;
            let turns = last.get("contents").or(last.get("messages")).unwrap();
            assert_eq!(turns.as_array().unwrap().len(), 1, "{what}: {last}");
        }
    }
}

#[tokio::test]
async fn a_cut_inside_a_tool_call_restarts_the_call_cleanly() {
    for upstream in ["gemini", "anthropic"] {
        let (fake, lev, model) = pool(upstream).await;
        // Claude: inside the arguments; Gemini: after its lead-in text.
        let cut = if upstream == "gemini" { 1 } else { 3 };
        for &protocol in clients(upstream) {
            let what = format!("{protocol} → {upstream}");
            fake.push(Fault::CutAfter(cut));
            let (status, body) = stream(
                &lev,
                protocol,
                model,
                r#"call get_weather {"city":"Paris"}"#,
                false,
            )
            .await;
            assert_eq!(status, 200, "{what}: {body}");
            let seen = read(protocol, &body);
            assert_eq!(seen.errors, 0, "{what}: {body}");
            assert_eq!(
                seen.calls,
                [("get_weather".to_string(), json!({"city": "Paris"}))],
                "{what}: one whole call: {body}"
            );
            let lead = if upstream == "gemini" {
                "Let me check. "
            } else {
                ""
            };
            assert_eq!(seen.text, lead, "{what}: said once");
            assert_eq!(seen.finishes, 1, "{what}: {body}");
        }
    }
}

#[tokio::test]
async fn a_cut_after_the_last_content_ends_with_what_arrived() {
    let (fake, lev, model) = pool("anthropic").await;
    for &protocol in clients("anthropic") {
        let what = format!("{protocol} → anthropic");
        let before = fake.requests().len();
        // Everything but `message_stop`: the stop reason came with `message_delta`.
        fake.push(Fault::Truncate);
        let (status, body) = stream(&lev, protocol, model, &format!("reply {STORY}"), false).await;
        assert_eq!(status, 200, "{what}: {body}");
        whole(&what, &read(protocol, &body), STORY);
        assert_eq!(
            fake.requests().len(),
            before + 1,
            "{what}: nothing asked again"
        );
    }
}

#[tokio::test]
async fn a_second_cut_resumes_again_until_the_limit() {
    for upstream in ["gemini", "anthropic"] {
        for &protocol in clients(upstream) {
            let what = format!("{protocol} → {upstream}");
            // A fresh pool each: every cut counts toward an account's
            // breaker, and a pool whose accounts all rest waits for one.
            let (fake, lev, model) = pool(upstream).await;
            fake.push(Fault::CutAfter(4));
            fake.push(Fault::ErrorAfter(3));
            let (status, body) =
                stream(&lev, protocol, model, &format!("reply {STORY}"), false).await;
            assert_eq!(status, 200, "{what}: {body}");
            whole(&what, &read(protocol, &body), STORY);
            let e = newest(&lev).await;
            assert_eq!(e["resumed"], 2, "{what}: {e}");

            // One resume allowed: the second cut reaches the client as the
            // error event of its protocol.
            lev.set("stream_resumes", "1").await;
            fake.push(Fault::CutAfter(4));
            fake.push(Fault::CutAfter(3));
            let (status, body) =
                stream(&lev, protocol, model, &format!("reply {STORY}"), false).await;
            assert_eq!(status, 200, "{what}: {body}");
            let seen = read(protocol, &body);
            assert_eq!((seen.errors, seen.finishes), (1, 0), "{what}: {body}");
            assert!(
                STORY.starts_with(&seen.text) && seen.text.len() < STORY.len(),
                "{what}"
            );
            let e = newest(&lev).await;
            assert!(e["status"].as_u64().unwrap() >= 500, "{what}: {e}");
            let (_, stats) = lev.admin(Method::GET, "/stats?days=1", None).await;
            assert_eq!(
                (&stats["today"]["resumed"], &stats["today"]["errors"]),
                (&json!(1), &json!(1)),
                "{what}: {stats}"
            );
        }
    }
}
