//! Hostile and broken requests, for every client protocol: each gets a clear
//! 4xx in that protocol's error shape, nothing reaches the upstream, and the
//! server goes on serving.

use crate::common::Levity;
use crate::fake::Fake;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
pub enum Proto {
    Chat,
    Responses,
    Anthropic,
    Gemini,
}

impl Proto {
    pub const ALL: [Proto; 4] = [
        Proto::Chat,
        Proto::Responses,
        Proto::Anthropic,
        Proto::Gemini,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Proto::Chat => "/v1/chat/completions",
            Proto::Responses => "/v1/responses",
            Proto::Anthropic => "/v1/messages",
            Proto::Gemini => "/v1beta/models/gemini-2.5-flash:generateContent",
        }
    }

    /// A good request, which the hostile ones are made from.
    pub fn valid(self) -> Value {
        match self {
            Proto::Chat => {
                json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hello"}]})
            }
            Proto::Responses => {
                json!({"model": "gemini-2.5-flash", "input": [{"role": "user", "content": "hello"}]})
            }
            Proto::Anthropic => {
                json!({"model": "gemini-2.5-flash", "max_tokens": 100, "messages": [{"role": "user", "content": "hello"}]})
            }
            Proto::Gemini => json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}),
        }
    }

    /// Where the conversation lives in the body.
    fn turns(self) -> &'static str {
        match self {
            Proto::Chat | Proto::Anthropic => "messages",
            Proto::Responses => "input",
            Proto::Gemini => "contents",
        }
    }

    fn tool(self, i: usize) -> Value {
        let schema = json!({"type": "object", "properties": {"x": {"type": "string"}}});
        match self {
            Proto::Chat => {
                json!({"type": "function", "function": {"name": format!("t{i}"), "parameters": schema}})
            }
            Proto::Responses => {
                json!({"type": "function", "name": format!("t{i}"), "parameters": schema})
            }
            Proto::Anthropic => json!({"name": format!("t{i}"), "input_schema": schema}),
            Proto::Gemini => json!({"name": format!("t{i}"), "parameters": schema}),
        }
    }

    fn with_tools(self, mut body: Value, tools: Vec<Value>) -> Value {
        match self {
            Proto::Gemini => body["tools"] = json!([{"functionDeclarations": tools}]),
            _ => body["tools"] = json!(tools),
        }
        body
    }

    /// A tool result answering a call no assistant turn made.
    fn orphan_result(self) -> Value {
        let mut body = self.valid();
        let turns = match self {
            Proto::Chat => {
                json!([{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_never", "content": "42"}])
            }
            Proto::Responses => {
                json!([{"role": "user", "content": "hi"}, {"type": "function_call_output", "call_id": "call_never", "output": "42"}])
            }
            Proto::Anthropic => {
                json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_never", "content": "42"}]}])
            }
            Proto::Gemini => {
                json!([{"role": "user", "parts": [{"text": "hi"}]}, {"role": "user", "parts": [{"functionResponse": {"name": "never_called", "response": {"x": 1}}}]}])
            }
        };
        body[self.turns()] = turns;
        body
    }

    /// Whether `v` is this protocol's error envelope with a message.
    pub fn is_error(self, v: &Value) -> bool {
        match self {
            Proto::Chat | Proto::Responses => {
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
                    && v["error"]["type"].is_string()
            }
            Proto::Anthropic => {
                v["type"] == "error"
                    && v["error"]["type"].is_string()
                    && v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty())
            }
            Proto::Gemini => {
                v["error"]["code"].is_u64()
                    && v["error"]["status"].is_string()
                    && v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty())
            }
        }
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// `depth` arrays inside each other.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Every hostile body for `p`, named.
fn cases(p: Proto) -> Vec<(&'static str, Vec<u8>)> {
    let valid = p.valid();
    let text = valid.to_string();
    let turns = p.turns();
    let set = |path: &[&str], value: Value| {
        let mut b = valid.clone();
        let mut at = &mut b;
        for k in path {
            at = &mut at[*k];
        }
        *at = value;
        bytes(&b)
    };
    let first = match p {
        Proto::Gemini => ["contents", "0", "role"],
        _ => [turns, "0", "role"],
    };
    let index = |path: [&str; 3]| -> Vec<u8> {
        let mut b = valid.clone();
        b[path[0]][0][path[2]] = json!("wizard");
        bytes(&b)
    };
    let mut deep_schema = json!({"type": "string"});
    for _ in 0..200 {
        deep_schema = json!({"type": "object", "properties": {"a": deep_schema}});
    }
    let deep_tool = {
        let mut t = p.tool(0);
        match p {
            Proto::Chat => t["function"]["parameters"] = deep_schema.clone(),
            Proto::Anthropic => t["input_schema"] = deep_schema.clone(),
            _ => t["parameters"] = deep_schema.clone(),
        }
        t
    };
    let mut invalid_utf8 = text.clone().into_bytes();
    let at = text.find("hello").unwrap();
    invalid_utf8[at] = 0xff;
    invalid_utf8[at + 1] = 0xfe;
    vec![
        ("empty body", Vec::new()),
        ("truncated JSON", text.as_bytes()[..text.len() / 2].to_vec()),
        ("not JSON", b"hello there".to_vec()),
        ("a JSON array", b"[1, 2, 3]".to_vec()),
        ("JSON null", b"null".to_vec()),
        (
            "conversation is an object",
            set(&[turns], json!({"role": "user"})),
        ),
        ("conversation is a number", set(&[turns], json!(5))),
        (
            "model is a number",
            match p {
                Proto::Gemini => set(&["generationConfig"], json!("fast")),
                _ => set(&["model"], json!(42)),
            },
        ),
        ("max tokens beyond u64", {
            let key = match p {
                Proto::Chat => "\"max_tokens\":99999999999999999999999,",
                Proto::Responses => "\"max_output_tokens\":99999999999999999999999,",
                Proto::Anthropic => "\"max_tokens\":99999999999999999999999,\"x\":0,",
                Proto::Gemini => {
                    "\"generationConfig\":{\"maxOutputTokens\":99999999999999999999999},"
                }
            };
            let t = text.replacen("\"max_tokens\":100,", "", 1);
            format!("{{{key}{}", &t[1..]).into_bytes()
        }),
        (
            "temperature 1e400",
            format!("{{\"temperature\":1e400,{}", &text[1..]).into_bytes(),
        ),
        (
            "temperature -1e300",
            match p {
                Proto::Gemini => set(&["generationConfig"], json!({"temperature": -1e300})),
                _ => set(&["temperature"], json!(-1e300)),
            },
        ),
        (
            "negative max tokens",
            match p {
                Proto::Chat | Proto::Anthropic => set(&["max_tokens"], json!(-5)),
                Proto::Responses => set(&["max_output_tokens"], json!(-5)),
                Proto::Gemini => set(&["generationConfig"], json!({"maxOutputTokens": -5})),
            },
        ),
        (
            "deep nesting (10,000 arrays)",
            String::from_utf8(set(&[turns], json!("NESTED")))
                .unwrap()
                .replace("\"NESTED\"", &nested(10_000))
                .into_bytes(),
        ),
        (
            "deep tool schema (200 levels)",
            bytes(&p.with_tools(valid.clone(), vec![deep_tool])),
        ),
        ("invalid UTF-8", invalid_utf8),
        ("unknown role", index(first)),
        ("no turns", set(&[turns], json!([]))),
        (
            "10,000 tools",
            bytes(&p.with_tools(valid.clone(), (0..10_000).map(|i| p.tool(i)).collect())),
        ),
        (
            "tool result for a call that never happened",
            bytes(&p.orphan_result()),
        ),
    ]
}

#[tokio::test]
async fn hostile_requests_get_clear_4xx_in_their_protocol() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaHOSTILE-000000001", &fake.url())
        .await;
    let mut failures = Vec::new();
    for p in [
        Proto::Chat,
        Proto::Responses,
        Proto::Anthropic,
        Proto::Gemini,
    ] {
        let url = format!("{}{}", lev.url, p.path());
        for (name, body) in cases(p) {
            let seen = fake.requests().len();
            let resp = lev
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if !(400..500).contains(&status) || !p.is_error(&v) {
                failures.push(format!(
                    "{p:?} / {name}: {status} {}",
                    &text[..text.len().min(300)]
                ));
            } else if fake.requests().len() != seen {
                failures.push(format!("{p:?} / {name}: reached the upstream"));
            }
        }
        // Still serving, in the same protocol.
        let resp = lev.http.post(&url).json(&p.valid()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{p:?} after the hostile ones");
    }
    assert!(
        failures.is_empty(),
        "{} hostile requests were not refused cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
