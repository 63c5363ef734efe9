//! The fault matrix: every way an upstream fails, for every client protocol,
//! streamed and whole (and Gemini's JSON-array stream). Account `a` (tried
//! first) fails; account `b` is healthy. Each cell must end, within the deadline, in a complete answer
//! (through `b` where the failure allows a move) or a well-formed error in
//! the client's protocol; afterwards no task or connection is left behind.

use crate::common::Levity;
use crate::fake::{Fake, Fault};
use crate::hostile::Proto;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The idle timeout and the whole-request deadline the cells run with.
const IDLE_SECS: u64 = 1;
const DEADLINE_SECS: u64 = 6;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Nothing reached the client before the failure: `b` must answer.
    Answer,
    /// An answer, or an error the client can read (the failure came after
    /// the first bytes, or the upstream answered something unusable).
    AnswerOrError,
}

/// (name, fault on `a`, expectation whole, expectation streamed).
fn faults() -> Vec<(&'static str, Option<Fault>, Expect, Expect)> {
    use Expect::*;
    let status = |status: u16, body: &str, retry_after: Option<u64>| {
        Some(Fault::Status {
            status,
            body: body.to_string(),
            retry_after,
        })
    };
    let raw = |status: u16, content_type: &'static str, body: &str| {
        Some(Fault::Raw {
            status,
            content_type,
            body: body.to_string(),
        })
    };
    let quota = r#"{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}}"#;
    let ok_with_extras = r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "fine", "futureField": 1}]},
        "finishReason": "STOP", "index": 0, "newThing": {"a": [1]}}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
        "modelVersion": "gemini-next", "someday": true}"#;
    let ok_stream_extras = "data: {\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"fine\"}]}, \"finishReason\": \"STOP\", \"brandNew\": 1}], \"extra\": {}}\r\n\r\n";
    vec![
        (
            "429 with retry hints",
            status(429, quota, Some(2)),
            Answer,
            Answer,
        ),
        (
            "429 without hints",
            status(
                429,
                r#"{"error": {"code": 429, "message": "Too many requests", "status": "RESOURCE_EXHAUSTED"}}"#,
                None,
            ),
            Answer,
            Answer,
        ),
        (
            "503",
            status(
                503,
                r#"{"error": {"code": 503, "message": "The model is overloaded", "status": "UNAVAILABLE"}}"#,
                None,
            ),
            Answer,
            Answer,
        ),
        (
            "529",
            status(
                529,
                r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
                None,
            ),
            Answer,
            Answer,
        ),
        (
            "500",
            status(
                500,
                r#"{"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}"#,
                None,
            ),
            Answer,
            Answer,
        ),
        (
            "401",
            status(
                401,
                r#"{"error": {"code": 401, "message": "API key not valid", "status": "UNAUTHENTICATED"}}"#,
                None,
            ),
            Answer,
            Answer,
        ),
        (
            "403",
            status(
                403,
                r#"{"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}}"#,
                None,
            ),
            Answer,
            Answer,
        ),
        ("connection refused", None, Answer, Answer),
        (
            "connection dropped before answering",
            Some(Fault::Drop),
            Answer,
            Answer,
        ),
        (
            "reset mid-answer",
            Some(Fault::Partial),
            Answer,
            AnswerOrError,
        ),
        (
            "stops mid-way without closing",
            Some(Fault::Stall(Duration::from_secs(3))),
            Answer,
            AnswerOrError,
        ),
        (
            "never starts (first-byte timeout)",
            Some(Fault::Delay(Duration::from_secs(3))),
            Answer,
            Answer,
        ),
        (
            "slow trickle within the idle timeout",
            Some(Fault::Trickle(Duration::from_millis(300))),
            Answer,
            Answer,
        ),
        (
            "malformed JSON",
            raw(
                200,
                "application/json",
                "{\"candidates\": [{\"content\": oops",
            ),
            Answer,
            AnswerOrError,
        ),
        (
            "malformed stream event",
            raw(
                200,
                "text/event-stream",
                "data: {\"candidates\": [oops\r\n\r\n",
            ),
            Answer,
            AnswerOrError,
        ),
        (
            "empty candidates",
            raw(
                200,
                "application/json",
                r#"{"candidates": [], "usageMetadata": {"promptTokenCount": 3}}"#,
            ),
            AnswerOrError,
            AnswerOrError,
        ),
        (
            "safety block",
            raw(
                200,
                "application/json",
                r#"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}"#,
            ),
            AnswerOrError,
            AnswerOrError,
        ),
        (
            "unknown fields",
            raw(200, "application/json", ok_with_extras),
            Answer,
            AnswerOrError,
        ),
        (
            "unknown fields, streamed",
            raw(200, "text/event-stream", ok_stream_extras),
            Answer,
            Answer,
        ),
        (
            "HTML error page",
            raw(
                502,
                "text/html",
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            ),
            Answer,
            Answer,
        ),
        (
            "HTML with 200 (a captive portal)",
            raw(
                200,
                "text/html",
                "<html><body>Please log in to the Wi-Fi</body></html>",
            ),
            Answer,
            AnswerOrError,
        ),
    ]
}

/// How a cell's client asks: for the whole answer, for a stream, or (a
/// Gemini client without `alt=sse`) for a stream that is one JSON array.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ask {
    Whole,
    Stream,
    Array,
}

fn path(p: Proto, ask: Ask) -> String {
    match (p, ask) {
        (_, Ask::Whole) => p.path().into(),
        (Proto::Gemini, Ask::Stream) => {
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse".into()
        }
        (Proto::Gemini, Ask::Array) => {
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent".into()
        }
        _ => p.path().into(),
    }
}

fn body(p: Proto, ask: Ask) -> Value {
    let mut b = p.valid();
    if ask == Ask::Stream && !matches!(p, Proto::Gemini) {
        b["stream"] = json!(true);
    }
    b
}

/// The JSON payloads of an SSE body (Anthropic's named events included).
fn events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .flat_map(|frame| frame.lines())
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Answer,
    Error,
}

/// What the client got, if it is well formed; else why not.
fn judge(p: Proto, ask: Ask, status: u16, text: &str) -> Result<Outcome, String> {
    let whole: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if status >= 400 {
        return if p.is_error(&whole) {
            Ok(Outcome::Error)
        } else {
            Err(format!("{status} without {p:?}'s error shape"))
        };
    }
    if status != 200 {
        return Err(format!("status {status}"));
    }
    if ask == Ask::Whole {
        let ok = match p {
            Proto::Chat => whole["choices"][0]["message"].is_object(),
            Proto::Responses => whole["object"] == "response" && whole["status"] == "completed",
            Proto::Anthropic => whole["type"] == "message",
            // Gemini's own empty answer, or its answer to a blocked prompt,
            // passed through as Gemini sent it, is well formed too.
            Proto::Gemini => {
                whole["candidates"].is_array() || whole["promptFeedback"]["blockReason"].is_string()
            }
        };
        return if ok {
            Ok(Outcome::Answer)
        } else {
            Err("200 that is not an answer".into())
        };
    }
    let evs = if ask == Ask::Array {
        serde_json::from_str(text).map_err(|e| format!("not a JSON array ({e})"))?
    } else {
        events(text)
    };
    let error_event = evs.iter().any(|e| match p {
        Proto::Responses => e["type"] == "response.failed" || e["type"] == "error",
        _ => p.is_error(e),
    });
    let finished = match p {
        Proto::Chat => {
            text.contains("data: [DONE]")
                && evs
                    .iter()
                    .any(|e| e["choices"][0]["finish_reason"].is_string())
        }
        Proto::Responses => evs.iter().any(|e| e["type"] == "response.completed"),
        Proto::Anthropic => evs.iter().any(|e| e["type"] == "message_stop"),
        Proto::Gemini => evs
            .iter()
            .any(|e| e["candidates"][0]["finishReason"].is_string()),
    };
    match (finished, error_event) {
        (true, false) => Ok(Outcome::Answer),
        (false, true) => Ok(Outcome::Error),
        (true, true) => Err("a stream that both finished and failed".into()),
        (false, false) => Err("a stream that ended without finishing or saying why".into()),
    }
}

/// One cell on a fresh levity: `a` fails as told, `b` answers.
async fn cell(p: Proto, ask: Ask, fault: Option<Fault>, healthy: &Fake) -> Result<Outcome, String> {
    let failing = Fake::start().await;
    let lev = Levity::start().await;
    let a_url = match &fault {
        Some(f) => {
            failing.push(f.clone());
            failing.url()
        }
        // A port nobody listens on.
        None => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        }
    };
    lev.add_gemini("a", "AIzaFAULTS-a-0000001", &a_url).await;
    lev.add_gemini("b", "AIzaFAULTS-b-0000002", &healthy.url())
        .await;
    for (k, v) in [
        ("preferred_account", "a".to_string()),
        ("request_timeout_secs", IDLE_SECS.to_string()),
        ("request_deadline_secs", DEADLINE_SECS.to_string()),
        ("queue_timeout_secs", "0".into()),
    ] {
        lev.set(k, &v).await;
    }
    let started = Instant::now();
    let send = lev
        .http
        .post(format!("{}{}", lev.url, path(p, ask)))
        .json(&body(p, ask))
        .send();
    let result = tokio::time::timeout(Duration::from_secs(DEADLINE_SECS + 4), async {
        let resp = send.await.map_err(|e| format!("no answer: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("body broke off: {e}"))?;
        Ok::<_, String>((status, text))
    })
    .await
    .map_err(|_| format!("hung for more than {} s", DEADLINE_SECS + 4))?;
    let (status, text) = result?;
    let took = started.elapsed();
    lev.stop().await;
    failing.stop();
    if took > Duration::from_secs(DEADLINE_SECS + 1) {
        return Err(format!(
            "took {took:?}, past the {DEADLINE_SECS} s deadline"
        ));
    }
    judge(p, ask, status, &text).map_err(|why| format!("{why}: {}", &text[..text.len().min(400)]))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upstream_fault_ends_in_an_answer_or_a_clean_error() {
    let healthy = Fake::start().await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let (tasks_before, fds_before) = (metrics.num_alive_tasks(), open_fds());

    let mut cells = Vec::new();
    for (name, fault, whole, streamed) in faults() {
        for p in Proto::ALL {
            let mut asks = vec![(Ask::Whole, whole), (Ask::Stream, streamed)];
            if matches!(p, Proto::Gemini) {
                asks.push((Ask::Array, streamed));
            }
            for (ask, expect) in asks {
                cells.push((name, p, ask, fault.clone(), expect));
            }
        }
    }
    let total = cells.len();
    let mut failures = Vec::new();
    // A few cells at a time: each holds a levity, two fakes and a client.
    for chunk in cells.chunks(12) {
        let runs = chunk.iter().map(|(name, p, ask, fault, expect)| {
            let healthy = &healthy;
            async move {
                (
                    *name,
                    *p,
                    *ask,
                    *expect,
                    cell(*p, *ask, fault.clone(), healthy).await,
                )
            }
        });
        for (name, p, ask, expect, got) in futures_util::future::join_all(runs).await {
            let what = format!("{name} / {p:?} / {ask:?}");
            match (got, expect) {
                (Ok(Outcome::Answer), _) | (Ok(Outcome::Error), Expect::AnswerOrError) => {}
                (Ok(Outcome::Error), Expect::Answer) => failures.push(format!(
                    "{what}: an error where account b should have answered"
                )),
                (Err(why), _) => failures.push(format!("{what}: {why}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Nothing left behind: the stalled fakes close after 3 s, and each
    // stopped levity's connections within its 10 s grace (measured: all
    // back to the baseline 10 s after the last cell).
    let settled = async {
        loop {
            let (t, f) = (metrics.num_alive_tasks(), open_fds());
            if t <= tasks_before + 1 && f <= fds_before + 2 {
                return (t, f);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let left = tokio::time::timeout(Duration::from_secs(30), settled).await;
    assert!(
        left.is_ok(),
        "leaked: {} tasks (from {tasks_before}), {} open files (from {fds_before})",
        metrics.num_alive_tasks(),
        open_fds()
    );
}
