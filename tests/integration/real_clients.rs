//! Real clients against levity: the official OpenAI and Anthropic Python SDKs
//! run the suites in `tests/sdk/`, and the real Claude Code CLI runs through
//! `tests/clients/claude_code.sh`, with levity and a fake Gemini upstream
//! served from here. `make test` installs the clients and sets
//! `LEVITY_PYTHON`, `LEVITY_CLAUDE` and `LEVITY_CODEX`; without them these
//! tests fail and say how to run them (a missing client is never a pass).

use crate::common::Levity;
use crate::fake::Fake;
use std::process::Command;

/// The real client an environment variable names; `make test` installs
/// them all and sets each. Without one the test fails: a client that is
/// missing must not look like a client that works.
fn client(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run `make test`, which installs the real clients and sets it")
    })
}

/// A Claude Code session that outlives one run: a kept home and working
/// folder, so a later run can `--continue` or `--resume` it.
struct Kept {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Kept {
    fn new() -> Kept {
        Kept {
            home: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn claude(
        &self,
        harness: &str,
        lev: &Levity,
        key: &str,
        prompt: &str,
        extra: &[&str],
    ) -> Command {
        let mut cmd = Command::new(harness);
        cmd.args([lev.url.as_str(), key, prompt])
            .args(extra)
            .env("CLAUDE_HOME_DIR", self.home.path())
            .env("CLAUDE_WORKDIR", self.work.path());
        cmd
    }
}

/// levity with one Gemini account, a client key, and Claude's mid-size name
/// mapped to a Gemini 3 model, which refuses function calls without signatures.
async fn start() -> (Levity, Fake, String) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("real-clients", "AIzaREAL-CLIENT-KEY-0001", &fake.url())
        .await;
    lev.set("model_map.claude-sonnet-*", "gemini-3-pro-preview")
        .await;
    lev.set("model_map.claude-opus-*", "gemini-3-pro-preview")
        .await;
    let key = lev.create_key().await;
    (lev, fake, key)
}

/// Runs a command on a blocking thread (the servers keep running on this
/// runtime) and returns its combined output, failing the test on a bad exit.
async fn run(mut cmd: Command, what: &str) -> String {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(out.status.success(), "{what} failed:\n{report}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn python_suite(file: &str) {
    let python = client("LEVITY_PYTHON");
    let (lev, fake, key) = start().await;
    let suite = format!("{}/tests/sdk/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", &suite])
        .env("LEVITY_URL", &lev.url)
        .env("LEVITY_BASE_URL", format!("{}/v1", lev.url))
        .env("LEVITY_KEY", key)
        .env("FAKE_UPSTREAM_URL", fake.url());
    run(cmd, file).await;
}

/// `/metrics` as Prometheus' own client library parses it (issue #22).
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_metrics() {
    python_suite("test_prometheus_metrics.py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_python_sdk() {
    python_suite("test_openai_sdk.py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn google_genai_python_sdk() {
    python_suite("test_google_genai_sdk.py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_python_sdk() {
    python_suite("test_anthropic_sdk.py").await;
}

/// Claude Code itself, `claude -p`, through levity to the fake Gemini: a plain
/// prompt, then a tool loop with thinking on a model that demands signatures.
#[tokio::test(flavor = "multi_thread")]
async fn claude_code_cli() {
    let harness = client("LEVITY_CLAUDE");
    let (lev, fake, key) = start().await;
    let claude = |prompt: &str, extra: &[&str]| {
        let mut cmd = Command::new(&harness);
        cmd.args([&lev.url, &key, prompt]).args(extra);
        cmd
    };

    let out = run(claude("reply hello from gemini", &[]), "claude -p").await;
    assert_eq!(out.trim(), "hello from gemini");
    let first = fake.last();
    assert!(
        first
            .path
            .contains("gemini-3-pro-preview:streamGenerateContent"),
        "{}",
        first.path
    );
    let tools = first.body["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap();
    assert!(tools.len() > 5, "Claude Code's tools reached Gemini");

    let prompt = r#"call Bash {"command": "echo levity-tool-ok", "description": "Print a marker"}"#;
    let out = run(
        claude(prompt, &["--allowedTools", "Bash(echo:*)"]),
        "claude -p with a tool",
    )
    .await;
    assert!(out.contains("levity-tool-ok"), "{out}");
    // The second request carried the tool result and the call's real signature.
    let last = fake.last();
    let contents = last.body["contents"].as_array().unwrap();
    let call = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(call["thoughtSignature"], crate::fake::GEMINI_CALL_SIG);
    let result = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .find_map(|p| p.get("functionResponse"))
        .unwrap();
    assert_eq!(result["name"], "Bash");
    assert!(result.to_string().contains("levity-tool-ok"));
}

/// Codex CLI itself, `codex exec`, through levity's Responses endpoint to the
/// fake Gemini 3: a plain prompt, then a tool run whose reasoning state must
/// come back through `encrypted_content`.
#[tokio::test(flavor = "multi_thread")]
async fn codex_cli() {
    let harness = client("LEVITY_CODEX");
    let (lev, fake, key) = start().await;
    lev.set("model_map.gpt-5*", "gemini-3-pro-preview").await;
    let codex = |prompt: &str| {
        let mut cmd = Command::new(&harness);
        cmd.args([&lev.url, &key, prompt]);
        cmd
    };
    let out = run(codex("reply hello from codex"), "codex exec").await;
    assert_eq!(out.trim(), "hello from codex");
    let first = fake.last();
    assert!(
        first
            .path
            .contains("gemini-3-pro-preview:streamGenerateContent"),
        "{}",
        first.path
    );

    let out = run(
        codex(r#"call exec_command {"cmd": "echo levity-tool-ok"}"#),
        "codex exec with a tool",
    )
    .await;
    assert!(out.contains("levity-tool-ok"), "{out}");
    let last = fake.last();
    let parts: Vec<&serde_json::Value> = last.body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .collect();
    let call = parts
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(
        call["thoughtSignature"],
        crate::fake::GEMINI_CALL_SIG,
        "the signature came back from Codex's encrypted_content"
    );
    let result = parts
        .iter()
        .find_map(|p| p.get("functionResponse"))
        .unwrap();
    assert!(result.to_string().contains("levity-tool-ok"));
}

/// Codex the way its docs tell users to point it elsewhere: the built-in
/// OpenAI provider with `openai_base_url`. It talks Responses over a
/// WebSocket and, when its context fills, asks for a remote compaction and
/// continues from the compaction item. Forced here by a small context
/// window; the conversation goes on for turns after it, each resumed.
#[tokio::test(flavor = "multi_thread")]
async fn codex_builtin_provider_over_websocket_through_compaction() {
    let harness = client("LEVITY_CODEX");
    for upstream in ["gemini", "anthropic"] {
        let (lev, fake, key) = start().await;
        if upstream == "gemini" {
            lev.set("model_map.gpt-5*", "gemini-2.5-flash").await;
        } else {
            lev.add_anthropic("claude", "sk-ant-REAL-CLIENT-0002", &fake.url())
                .await;
            lev.set("model_map.gpt-5*", "claude-sonnet-4-5").await;
        }
        codex_session(&harness, &lev, &fake, &key, upstream).await;
    }
}

/// Four turns of `codex exec` (then `resume --last`) with the built-in
/// provider, compacting before each resumed turn.
async fn codex_session(harness: &str, lev: &Levity, fake: &Fake, key: &str, upstream: &str) {
    let (home, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let codex = |resume: bool, prompt: &str| {
        let mut cmd = Command::new(harness);
        cmd.args([&lev.url, key, prompt])
            .env("CODEX_PROVIDER", "builtin")
            .env("CODEX_HOME_DIR", home.path())
            // `resume --last` picks the newest session of this folder.
            .env("CODEX_WORKDIR", work.path())
            // Past the limit from the first answer on (the fakes report
            // small usage), so every resumed turn compacts first.
            .env(
                "CODEX_CONFIG",
                "model_context_window = 20000\nmodel_auto_compact_token_limit = 10",
            );
        if resume {
            cmd.args(["resume", "--last"]);
        }
        cmd
    };
    for (turn, resume) in [
        ("one", false),
        ("two", true),
        ("three", true),
        ("four", true),
    ] {
        let out = run(codex(resume, &format!("reply turn {turn}")), "codex exec").await;
        assert_eq!(out.trim(), format!("turn {turn}"), "{upstream}");
    }
    let (_, log) = lev
        .admin(reqwest::Method::GET, "/requests?limit=100", None)
        .await;
    let protocols: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["protocol"].as_str().unwrap())
        .collect();
    assert!(
        protocols.iter().all(|p| *p == "openai-responses-ws"),
        "{upstream}: every turn over the WebSocket: {protocols:?}"
    );
    let bodies: Vec<String> = fake.requests().iter().map(|r| r.body.to_string()).collect();
    let asked = bodies
        .iter()
        .position(|b| b.contains("Write a summary of this conversation"))
        .expect("levity asked the upstream for a compaction summary");
    let resumed = bodies
        .iter()
        .skip(asked + 1)
        .filter(|b| b.contains("was compacted; this summary replaces it"))
        .count();
    assert!(
        resumed >= 2,
        "{upstream}: two turns after the compaction carried its summary ({resumed})"
    );
}

/// Claude Code through a long session, as people use it: `claude -p`, then
/// `--continue` with a tool loop, then `--resume SESSION` for a last turn, on a
/// Gemini upstream (translated) and on an Anthropic one (passed through).
/// Each later request carries the whole conversation.
#[tokio::test(flavor = "multi_thread")]
async fn claude_code_continues_a_session_on_gemini_and_anthropic() {
    let harness = client("LEVITY_CLAUDE");
    for upstream in ["gemini", "anthropic"] {
        let (lev, fake, key) = if upstream == "gemini" {
            start().await
        } else {
            let fake = Fake::start().await;
            let lev = Levity::start().await;
            lev.add_anthropic("claude", "sk-ant-REAL-CLIENT-0001", &fake.url())
                .await;
            let key = lev.create_key().await;
            (lev, fake, key)
        };
        let kept = Kept::new();
        let claude =
            |prompt: &str, extra: &[&str]| kept.claude(&harness, &lev, &key, prompt, extra);
        // The first turn as JSON, for the session id `--resume` takes.
        let out = run(
            claude("reply turn one", &["--output-format", "json"]),
            "claude -p",
        )
        .await;
        let first: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(first["result"], "turn one", "{upstream}: {first}");
        let session = first["session_id"].as_str().unwrap().to_string();
        let tool =
            r#"call Bash {"command": "echo levity-session-tool", "description": "Print a marker"}"#;
        let out = run(
            claude(tool, &["--continue", "--allowedTools", "Bash(echo:*)"]),
            "claude -p --continue with a tool",
        )
        .await;
        assert!(out.contains("levity-session-tool"), "{upstream}: {out}");
        let out = run(
            claude("reply turn three", &["--resume", &session]),
            "claude -p --resume",
        )
        .await;
        assert_eq!(out.trim(), "turn three", "{upstream}");
        // The last request held the whole session: both earlier turns and
        // the tool's result.
        let last = fake.last().body.to_string();
        for earlier in [
            "reply turn one",
            "turn one",
            "levity-session-tool",
            "reply turn three",
        ] {
            assert!(
                last.contains(earlier),
                "{upstream}: {earlier} missing from the last request"
            );
        }
    }
}

/// Claude Code compacts a session whose context is nearly full, as the
/// upstream reports it (the fake says 190,000 input tokens once the
/// conversation holds `BIGCONTEXT`), through levity, and goes on after it.
#[tokio::test(flavor = "multi_thread")]
async fn claude_code_compacts_a_full_session_and_goes_on() {
    let harness = client("LEVITY_CLAUDE");
    let (lev, fake, key) = start().await;
    let kept = Kept::new();
    let claude = |prompt: &str, extra: &[&str]| kept.claude(&harness, &lev, &key, prompt, extra);
    let first = format!("reply {} noted", crate::fake::BIG_CONTEXT);
    let out = run(claude(&first, &[]), "claude -p").await;
    assert_eq!(out.trim(), format!("{} noted", crate::fake::BIG_CONTEXT));
    let before = fake.requests().len();
    let out = run(
        claude("reply after compaction", &["--continue"]),
        "claude -p --continue",
    )
    .await;
    assert_eq!(out.trim(), "after compaction");
    // Claude Code's own compaction went through levity first (its request
    // asks for a <summary>), then the turn, on the compacted history.
    let later = &fake.requests()[before..];
    assert_eq!(later.len(), 2, "a compaction, then the turn");
    let contents = |i: usize| later[i].body["contents"].as_array().unwrap().clone();
    assert!(
        contents(0)
            .last()
            .unwrap()
            .to_string()
            .contains("<summary>"),
        "the first request after the full context is Claude Code's compaction"
    );
    assert!(
        contents(1).len() < contents(0).len(),
        "the turn went on from the summary"
    );
}

/// `levity connect claude-code` writes Claude Code's own settings (merged
/// into the user's, the old file kept), and the real Claude Code then talks
/// to levity through them, although its environment names a stale address
/// and key: the settings' `env` wins (issue #22).
#[tokio::test(flavor = "multi_thread")]
async fn levity_connect_sets_up_the_real_claude_code() {
    let harness = client("LEVITY_CLAUDE");
    let fake = Fake::start().await;
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let settings = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, r#"{"theme": "dark"}"#).unwrap();
    crate::cli::ok(
        data.path(),
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIzaCONNECT-000001",
            "--base-url",
            &fake.url(),
        ],
    );
    let server = crate::cli::start_server(data.path(), &[]);

    let out = crate::cli::levity(data.path(), &["connect", "claude-code"])
        .env("HOME", home.path())
        .env_remove("CLAUDE_CONFIG_DIR")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("to undo: mv "), "{said}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(written["theme"], "dark", "the user's own setting stays");
    assert_eq!(written["env"]["ANTHROPIC_BASE_URL"], server.url.as_str());
    let key = written["env"]["ANTHROPIC_AUTH_TOKEN"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.starts_with("sk-lev-"), "{written}");
    let backups: Vec<_> = std::fs::read_dir(settings.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("settings.json.levity-backup-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].path()).unwrap(),
        r#"{"theme": "dark"}"#
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&settings).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "it holds a key");
    }

    // The real Claude Code, with a stale address and key in its environment.
    let mut cmd = Command::new(&harness);
    cmd.args([
        "http://127.0.0.1:9",
        "sk-stale-0000",
        "reply connected by levity",
    ])
    .env("CLAUDE_HOME_DIR", home.path())
    .env("CLAUDE_AUTH", "bearer");
    let out = run(cmd, "claude -p after levity connect").await;
    assert_eq!(out.trim(), "connected by levity");
    let asked = fake.last();
    assert!(
        asked.path.contains(":streamGenerateContent"),
        "{}",
        asked.path
    );
}
