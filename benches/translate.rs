//! Micro-benchmarks of translation alone (no IO): the captured Claude Code
//! request (57 KB, 12 tools) decoded and encoded for Gemini, an OpenAI Chat
//! request for Gemini, and a Gemini answer back to each client protocol.

use criterion::{Criterion, criterion_group, criterion_main};
use levity::protocol::{anthropic, gemini, openai_chat};
use std::hint::black_box;

fn fixture() -> Vec<u8> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude-code/01_print_mode_say_hi_stream.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::to_vec(&v["body"]).unwrap()
}

fn bench(c: &mut Criterion) {
    let claude = fixture();
    c.bench_function("claude code request -> gemini (decode + encode)", |b| {
        b.iter(|| {
            let req = anthropic::decode_request(black_box(&claude)).unwrap();
            black_box(gemini::encode_request(&req, "gemini-2.5-pro"))
        })
    });
    let chat = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}],"temperature":0.2}"#;
    c.bench_function("small openai chat request -> gemini", |b| {
        b.iter(|| {
            let req = openai_chat::decode_request(black_box(chat)).unwrap();
            black_box(gemini::encode_request(&req, "gemini-2.5-flash"))
        })
    });
    let answer = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello! How can I help you today?"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":9,"totalTokenCount":21},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;
    c.bench_function("gemini answer -> openai chat", |b| {
        b.iter(|| {
            let resp = gemini::decode_response(black_box(answer), "id".into(), "gemini-2.5-flash")
                .unwrap();
            black_box(openai_chat::encode_response(&resp, 0))
        })
    });
    c.bench_function("gemini answer -> anthropic", |b| {
        b.iter(|| {
            let resp = gemini::decode_response(black_box(answer), "id".into(), "gemini-2.5-flash")
                .unwrap();
            black_box(anthropic::encode_response(&resp))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
