//! The admin API's OpenAPI document is generated from its types; every
//! answer a real server gives must conform to it, and the copy the
//! dashboard's dev mock is checked against (`ui/e2e/openapi.json`) must be
//! the document the server serves.

use crate::common::Levity;
use crate::fake::Fake;
use reqwest::Method;
use serde_json::{Value, json};

/// Checks `value` against the schema the document gives `method path` for
/// `status`, resolving `$ref`s within the document.
pub fn conforms(doc: &Value, method: &str, path: &str, status: u16, value: &Value) {
    let errors = violations(doc, method, path, status, value);
    assert!(
        errors.is_empty(),
        "{method} {path} answered what its document does not allow:\n{}\n{value:#}",
        errors.join("\n")
    );
}

fn violations(doc: &Value, method: &str, path: &str, status: u16, value: &Value) -> Vec<String> {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not in the document");
    let responses = &op["responses"];
    let documented = match &responses[status.to_string()] {
        Value::Null => &responses["default"],
        r => r,
    };
    let schema = &documented["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no JSON body for {status}"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{method} {path}: the document's schema is invalid: {e}"));
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[tokio::test]
async fn every_admin_answer_conforms_to_the_generated_document() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaDOC-00000000001", &fake.url())
        .await;
    lev.add_openai("o", "sk-doc-000000000001", &fake.url(), &["gpt-4o"])
        .await;
    let (status, doc) = lev.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, 200);
    crate::golden::check("ui/e2e/openapi.json", &doc);
    // The check can fail: a status without its fields does not pass.
    let partial = json!({"version": "1", "accounts": [{"id": 7}]});
    assert!(violations(&doc, "get", "/api/status", 200, &partial).len() > 1);

    // Traffic first, so the log, usage and health have something in them.
    let (status, _, _) = lev
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "reply documented"}]}))
        .await;
    assert_eq!(status, 200);

    let (_, accounts) = lev.admin(Method::GET, "/accounts", None).await;
    let id = accounts[0]["id"].as_str().unwrap().to_string();
    let (_, log) = lev.admin(Method::GET, "/requests", None).await;
    let request = log[0]["id"].as_str().unwrap().to_string();
    for (path, template, ok) in [
        ("/status".to_string(), "/api/status", 200),
        ("/cluster".into(), "/api/cluster", 200),
        ("/accounts".into(), "/api/accounts", 200),
        (
            "/accounts/best?model=gemini-2.5-flash".into(),
            "/api/accounts/best",
            200,
        ),
        (
            "/accounts/best?model=no-such-model".into(),
            "/api/accounts/best",
            404,
        ),
        ("/route?model=gpt-4o".into(), "/api/route", 200),
        ("/requests".into(), "/api/requests", 200),
        (format!("/requests/{request}"), "/api/requests/{id}", 200),
        ("/requests/nothing".into(), "/api/requests/{id}", 404),
        ("/stats".into(), "/api/stats", 200),
        ("/keys".into(), "/api/keys", 200),
        ("/config".into(), "/api/config", 200),
        ("/config/schema".into(), "/api/config/schema", 200),
        ("/kinds".into(), "/api/kinds", 200),
        ("/models".into(), "/api/models", 200),
    ] {
        let (status, v) = lev.admin(Method::GET, &path, None).await;
        assert_eq!(status, ok, "GET {path}: {v}");
        conforms(&doc, "get", template, status, &v);
    }
    for (method, path, template, body, ok) in [
        (
            Method::POST,
            "/keys".to_string(),
            "/api/keys",
            json!({"name": "doc"}),
            201,
        ),
        (
            Method::PUT,
            "/config".into(),
            "/api/config",
            json!({"key": "max_attempts", "value": "4"}),
            200,
        ),
        (
            Method::PUT,
            "/config".into(),
            "/api/config",
            json!({"key": "max_attempts", "value": "0"}),
            400,
        ),
        (
            Method::PATCH,
            format!("/accounts/{id}"),
            "/api/accounts/{id}",
            json!({"tier": "pro"}),
            200,
        ),
        (
            Method::PATCH,
            "/accounts/nobody".into(),
            "/api/accounts/{id}",
            json!({"tier": "pro"}),
            404,
        ),
        (
            Method::PUT,
            "/accounts/preferred".into(),
            "/api/accounts/preferred",
            json!({"account": "g"}),
            200,
        ),
        (
            Method::PUT,
            "/accounts/order".into(),
            "/api/accounts/order",
            json!([id]),
            200,
        ),
        (
            Method::POST,
            "/accounts".into(),
            "/api/accounts",
            json!({"kind": "anthropic", "api_key": "sk-ant-doc-0000001", "base_url": fake.url()}),
            201,
        ),
    ] {
        let (status, v) = lev.admin(method.clone(), &path, Some(body)).await;
        assert_eq!(status, ok, "{method} {path}: {v}");
        conforms(&doc, &method.as_str().to_lowercase(), template, status, &v);
    }
}
