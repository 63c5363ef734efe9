//! Micro-benchmarks of translation alone (no IO), every direction levity
//! takes: each client protocol's request decoded, the captured Claude Code
//! request (57 KB, 12 tools) encoded for every upstream, an answer decoded
//! from Gemini and encoded for every client, and streams: each client's
//! encoder fed one answer's events, and each upstream's stream decoded (per
//! answer of 50 chunks, so a chunk costs a fiftieth).

use criterion::{Criterion, criterion_group, criterion_main};
use levity::canonical::{Event, Finish, Usage};
use levity::protocol::{StreamDecode, anthropic, gemini, openai_chat, openai_responses};
use std::hint::black_box;
use std::sync::Arc;

/// The body of a captured Claude Code request (tests/fixtures/claude-code).
fn captured(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/claude-code/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["body"].take()
}

fn fixture() -> Vec<u8> {
    serde_json::to_vec(&captured("01_print_mode_say_hi_stream.json")).unwrap()
}

/// A late turn of a long Claude Code session: the captured tool-result turn
/// with 100 more rounds of a tool call (Claude Code's own Read tool, as its
/// captured request declares it) and its 2 KB result (source text, full of
/// escapes), as a session resends its whole history every turn.
fn long_session() -> Vec<u8> {
    let mut body = captured("02_print_mode_tool_result_turn.json");
    let source = "fn main() {\n    println!(\"{}\", \"hello\");\n}\n".repeat(45);
    let messages = body["messages"].as_array_mut().unwrap();
    for i in 0..100 {
        messages.push(serde_json::json!({"role": "assistant", "content": [
            {"type": "text", "text": format!("Reading part {i} of the file.")},
            {"type": "tool_use", "id": format!("toolu_{i:04}"), "name": "Read",
             "input": {"file_path": format!("/src/part{i}.rs")}}]}));
        messages.push(serde_json::json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": format!("toolu_{i:04}"), "content": source}]}));
    }
    serde_json::to_vec(&body).unwrap()
}

/// Reasoning state is sealed for Responses clients; the bench's vault keeps it plain.
struct Plain;

impl openai_responses::Vault for Plain {
    fn seal(&self, plain: &[u8]) -> String {
        String::from_utf8_lossy(plain).into_owned()
    }

    fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        Some(sealed.as_bytes().to_vec())
    }
}

/// One streamed answer as canonical events: a start, 50 words, usage, a finish.
fn answer_events() -> Vec<Event> {
    let mut events = vec![Event::Start {
        id: "r1".into(),
        model: "gemini-2.5-flash".into(),
    }];
    events.extend((0..50).map(|i| Event::TextDelta(format!("word{i} "))));
    events.push(Event::Usage(Usage {
        input_tokens: 12,
        output_tokens: 50,
        ..Usage::default()
    }));
    events.push(Event::Finish(Finish::Stop));
    events
}

fn requests(c: &mut Criterion) {
    let claude = fixture();
    // What bench/criterion_check.py divides every figure by, so that the
    // committed baseline holds on a faster or slower machine: JSON scanning
    // alone, which allocates nothing (a parse into `Value` varied twofold
    // between builds and runs with the allocator's state).
    c.bench_function("calibration: the 57 KB request scanned as JSON", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&claude)).unwrap())
        })
    });
    c.bench_function("claude code request -> gemini (decode + encode)", |b| {
        b.iter(|| {
            let req = anthropic::decode_request(black_box(&claude)).unwrap();
            black_box(gemini::encode_request(&req, "gemini-2.5-pro"))
        })
    });
    c.bench_function("decode: claude code request (anthropic)", |b| {
        b.iter(|| black_box(anthropic::decode_request(black_box(&claude)).unwrap()))
    });
    let long = long_session();
    c.bench_function(
        "decode: a 100-turn claude code session (anthropic, 300 KB)",
        |b| b.iter(|| black_box(anthropic::decode_request(black_box(&long)).unwrap())),
    );
    // The same session as Chat Completions and Responses clients send theirs.
    let session = anthropic::decode_request(&long).unwrap();
    let chat = openai_chat::encode_request(&session, "gpt-4o", true);
    c.bench_function("decode: the same session (openai chat)", |b| {
        b.iter(|| black_box(openai_chat::decode_request(black_box(&chat)).unwrap()))
    });
    let responses = openai_responses::encode_request(&session, "gpt-5", true, "acc");
    c.bench_function("decode: the same session (openai responses)", |b| {
        b.iter(|| {
            black_box(openai_responses::decode_request(black_box(&responses), &Plain).unwrap())
        })
    });
    let req = anthropic::decode_request(&claude).unwrap();
    c.bench_function("encode: claude code request -> gemini", |b| {
        b.iter(|| black_box(gemini::encode_request(black_box(&req), "gemini-2.5-pro")))
    });
    c.bench_function("encode: claude code request -> anthropic", |b| {
        b.iter(|| {
            black_box(anthropic::encode_request(
                black_box(&req),
                "claude-sonnet-4-5",
                true,
            ))
        })
    });
    c.bench_function("encode: claude code request -> openai chat", |b| {
        b.iter(|| black_box(openai_chat::encode_request(black_box(&req), "gpt-4o", true)))
    });
    c.bench_function("encode: claude code request -> openai responses", |b| {
        b.iter(|| {
            black_box(openai_responses::encode_request(
                black_box(&req),
                "gpt-5",
                true,
                "acc",
            ))
        })
    });
    let chat = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}],"temperature":0.2}"#;
    c.bench_function("small openai chat request -> gemini", |b| {
        b.iter(|| {
            let req = openai_chat::decode_request(black_box(chat)).unwrap();
            black_box(gemini::encode_request(&req, "gemini-2.5-flash"))
        })
    });
    let responses = br#"{"model":"gpt-5","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"hello there"}]}],"stream":true}"#;
    c.bench_function("small openai responses request -> gemini", |b| {
        b.iter(|| {
            let req = openai_responses::decode_request(black_box(responses), &Plain).unwrap();
            black_box(gemini::encode_request(&req, "gemini-2.5-flash"))
        })
    });
    let native = br#"{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}"#;
    c.bench_function("small gemini request -> anthropic", |b| {
        b.iter(|| {
            let req = gemini::client::decode_request(black_box(native), "gemini-2.5-flash", false)
                .unwrap();
            black_box(anthropic::encode_request(&req, "claude-sonnet-4-5", false))
        })
    });
}

fn answers(c: &mut Criterion) {
    let answer = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello! How can I help you today?"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":9,"totalTokenCount":21},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;
    let decode = || gemini::decode_response(black_box(answer), "id".into(), "gemini-2.5-flash");
    c.bench_function("gemini answer -> openai chat", |b| {
        b.iter(|| black_box(openai_chat::encode_response(&decode().unwrap(), 0)))
    });
    c.bench_function("gemini answer -> anthropic", |b| {
        b.iter(|| black_box(anthropic::encode_response(&decode().unwrap())))
    });
    c.bench_function("gemini answer -> openai responses", |b| {
        b.iter(|| {
            black_box(openai_responses::encode_response(
                &decode().unwrap(),
                0,
                &Plain,
            ))
        })
    });
    c.bench_function("gemini answer -> gemini client", |b| {
        b.iter(|| black_box(gemini::client::encode_response(&decode().unwrap())))
    });
}

/// Benchmarks one client's stream encoder: a fresh encoder per answer (as
/// per request), fed every event of it.
macro_rules! encode_stream {
    ($c:expr, $name:expr, $events:expr, $make:expr) => {
        $c.bench_function($name, |b| {
            let mut out = Vec::with_capacity(16 * 1024);
            b.iter(|| {
                out.clear();
                let mut encoder = $make;
                for ev in $events {
                    encoder.event(black_box(ev), &mut out);
                }
                encoder.done(&mut out);
                black_box(out.len())
            })
        })
    };
}

/// Benchmarks one upstream's stream decoder: a fresh decoder per answer (as
/// per request), fed every `data` payload of it.
macro_rules! decode_stream {
    ($c:expr, $name:expr, $payloads:expr, $make:expr) => {
        $c.bench_function($name, |b| {
            let payloads: &[Vec<u8>] = $payloads;
            let mut events = Vec::with_capacity(64);
            b.iter(|| {
                let mut decoder = $make;
                events.clear();
                for data in payloads {
                    decoder.data(black_box(data), &mut events).unwrap();
                }
                assert!(decoder.finished());
                black_box(events.len())
            })
        })
    };
}

fn streams(c: &mut Criterion) {
    let events = &answer_events();
    encode_stream!(
        c,
        "stream: 50-chunk answer -> openai chat",
        events,
        openai_chat::ChunkEncoder::new("gemini-2.5-flash", 0, true)
    );
    encode_stream!(
        c,
        "stream: 50-chunk answer -> anthropic",
        events,
        anthropic::EventEncoder::new("gemini-2.5-flash")
    );
    encode_stream!(
        c,
        "stream: 50-chunk answer -> openai responses",
        events,
        openai_responses::EventEncoder::new("gemini-2.5-flash", 0, Arc::new(Plain))
    );
    encode_stream!(
        c,
        "stream: 50-chunk answer -> gemini sse",
        events,
        gemini::client::StreamEncoder::new("gemini-2.5-flash", true)
    );

    decode_stream!(
        c,
        "stream: 50 gemini chunks decoded",
        &gemini_chunks(),
        gemini::StreamDecoder::new("r1".into(), "gemini-2.5-flash")
    );
    decode_stream!(
        c,
        "stream: 50 anthropic events decoded",
        &anthropic_events(),
        anthropic::UpstreamDecoder::new("r1".into())
    );
    decode_stream!(
        c,
        "stream: 50 openai chat chunks decoded",
        &chat_chunks(),
        openai_chat::UpstreamDecoder::new("r1".into())
    );
    decode_stream!(
        c,
        "stream: 50 openai responses events decoded",
        &responses_events(),
        openai_responses::UpstreamDecoder::new("r1".into(), "bench".into(), refused)
    );
}

/// Gemini's `streamGenerateContent?alt=sse` data payloads: 50 words, the
/// last chunk with its finish reason and usage.
fn gemini_chunks() -> Vec<Vec<u8>> {
    (0..50)
        .map(|i| {
            let last = if i == 49 {
                r#","finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":50,"totalTokenCount":62}"#
            } else {
                "}]"
            };
            format!(
                r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"text":"word{i} "}}]}}{last},"modelVersion":"gemini-2.5-flash","responseId":"r1"}}"#
            )
            .into_bytes()
        })
        .collect()
}

/// Anthropic's stream of one text answer, event by event as its Messages
/// streaming guide shows them (docs.anthropic.com, "Streaming Messages").
fn anthropic_events() -> Vec<Vec<u8>> {
    let mut events = vec![
        r#"{"type":"message_start","message":{"id":"msg_01bench","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#.to_string(),
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.to_string(),
    ];
    events.extend((0..50).map(|i| {
        format!(r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"word{i} "}}}}"#)
    }));
    events.push(r#"{"type":"content_block_stop","index":0}"#.to_string());
    events.push(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":50}}"#.to_string());
    events.push(r#"{"type":"message_stop"}"#.to_string());
    events.into_iter().map(String::into_bytes).collect()
}

/// Chat Completions chunks as OpenAI's API reference shows them ("The chat
/// completion chunk object"): a role, 50 words, the finish reason, and the
/// usage chunk `stream_options.include_usage` asks for, then `[DONE]`.
fn chat_chunks() -> Vec<Vec<u8>> {
    let chunk = |delta: &str, finish: &str, usage: &str| {
        format!(
            r#"{{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]{usage}}}"#
        )
        .into_bytes()
    };
    let mut chunks = vec![chunk(r#"{"role":"assistant","content":""}"#, "null", "")];
    chunks.extend((0..50).map(|i| chunk(&format!(r#"{{"content":"word{i} "}}"#), "null", "")));
    chunks.push(chunk("{}", r#""stop""#, ""));
    chunks.push(
        r#"{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":50,"total_tokens":62}}"#
            .as_bytes()
            .to_vec(),
    );
    chunks.push(b"[DONE]".to_vec());
    chunks
}

/// A Responses stream of one message, as OpenAI's API reference lists its
/// events ("Streaming events"): created, 50 text deltas, the item done, and
/// the completed response with its usage.
fn responses_events() -> Vec<Vec<u8>> {
    let response = |status: &str, output: &str, usage: &str| {
        format!(
            r#"{{"id":"resp_bench","object":"response","created_at":1741290958,"status":"{status}","error":null,"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[{output}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{{"effort":null,"summary":null}},"store":true,"temperature":1.0,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"metadata":{{}}}}"#
        )
    };
    let text: String = (0..50).map(|i| format!("word{i} ")).collect();
    let item = format!(
        r#"{{"type":"message","id":"msg_bench","status":"completed","role":"assistant","content":[{{"type":"output_text","text":"{text}","annotations":[]}}]}}"#
    );
    let mut events = vec![format!(
        r#"{{"type":"response.created","response":{},"sequence_number":0}}"#,
        response("in_progress", "", "null")
    )];
    events.extend((0..50).map(|i| {
        format!(
            r#"{{"type":"response.output_text.delta","item_id":"msg_bench","output_index":0,"content_index":0,"delta":"word{i} ","sequence_number":{}}}"#,
            i + 1
        )
    }));
    events.push(format!(
        r#"{{"type":"response.output_item.done","output_index":0,"item":{item},"sequence_number":51}}"#
    ));
    events.push(format!(
        r#"{{"type":"response.completed","response":{},"sequence_number":52}}"#,
        response(
            "completed",
            &item,
            r#"{"input_tokens":12,"input_tokens_details":{"cached_tokens":0},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":62}"#
        )
    ));
    events.into_iter().map(String::into_bytes).collect()
}

/// How the Responses decoder reads an upstream's refusal: never called here.
fn refused(status: u16, _body: &[u8]) -> levity::error::Error {
    levity::error::Error::invalid(format!("refused: {status}"))
}

criterion_group!(benches, requests, answers, streams);
criterion_main!(benches);
