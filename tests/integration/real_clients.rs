//! Real clients against levity: the official OpenAI Python SDK runs the suite
//! in `tests/sdk/`, with levity and a fake Gemini upstream served from here.
//! `make test` installs the SDK into `.venv` and points `LEVITY_PYTHON` at it.

use crate::common::Levity;
use crate::fake::Fake;

#[tokio::test(flavor = "multi_thread")]
async fn openai_python_sdk() {
    let Ok(python) = std::env::var("LEVITY_PYTHON") else {
        eprintln!("skipped: LEVITY_PYTHON is not set (make test sets it to the SDK virtualenv)");
        return;
    };
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("sdk", "AIzaSDK-TEST-KEY-0001", &fake.url())
        .await;
    let key = lev.create_key().await;
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk");
    let mut cmd = std::process::Command::new(python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", suite])
        .env("LEVITY_BASE_URL", format!("{}/v1", lev.url))
        .env("LEVITY_KEY", key)
        .env("FAKE_UPSTREAM_URL", fake.url());
    // The servers live on this runtime's other threads while pytest runs.
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
    assert!(
        out.status.success(),
        "the OpenAI SDK suite failed:\n{report}"
    );
}
