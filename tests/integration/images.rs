//! Images given by address: fetched for Gemini within the SSRF guard, read
//! from files only when allowed, passed as addresses where the upstream
//! fetches them itself.

use crate::common::Levity;
use crate::fake::{Fake, PNG};
use base64::Engine;
use serde_json::{Value, json};

fn with_image(url: &str) -> Value {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is it"}, {"type": "image_url", "image_url": {"url": url}}]}]})
}

#[tokio::test]
async fn image_addresses_are_fetched_within_the_guard() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaIMAGES-0000001", &fake.url()).await;
    let url = format!("{}/image.png", fake.url());

    let (status, _, body) = lev.chat(with_image(&url)).await;
    assert_eq!(status, 400, "loopback addresses are refused: {body}");
    assert!(
        body.contains("private network") && body.contains("image_fetch_allow"),
        "{body}"
    );
    assert!(fake.requests().is_empty(), "nothing was fetched or sent");

    lev.set("image_fetch_allow", "127.0.0.1").await;
    let (status, _, body) = lev.chat(with_image(&url)).await;
    assert_eq!(status, 200, "{body}");
    let sent = base64::engine::general_purpose::STANDARD.encode(PNG);
    let up = fake.last();
    assert_eq!(
        up.body["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": sent}})
    );

    // Redirects are followed (and checked again); non-images are refused.
    let (status, _, body) = lev.chat(with_image(&format!("{}/moved", fake.url()))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = lev
        .chat(with_image(&format!("{}/page.html", fake.url())))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("not an image"), "{body}");
}

#[tokio::test]
async fn file_images_only_when_allowed() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaIMAGES-0000002", &fake.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shot.png");
    std::fs::write(&path, PNG).unwrap();
    let url = format!("file://{}", path.display());
    let (status, _, body) = lev.chat(with_image(&url)).await;
    assert_eq!(status, 400);
    assert!(body.contains("image_allow_files"), "{body}");
    lev.set("image_allow_files", "on").await;
    let (status, _, body) = lev.chat(with_image(&url)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        fake.last().body["contents"][0]["parts"][1]["inlineData"]["mimeType"],
        "image/png"
    );
}

#[tokio::test]
async fn upstreams_that_fetch_get_the_address() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("c", "sk-ant-images-01", &fake.url())
        .await;
    let mut req = with_image("https://example.com/cat.png");
    req["model"] = json!("claude-sonnet-5-5");
    let (status, _, body) = lev.chat(req).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        fake.last().body["messages"][0]["content"][1],
        json!({"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}})
    );
}
