//! The benchmark's slow upstream (`make bench`, scenario 5, issue #21): a
//! Gemini that answers every POST with the same `generateContent` body after
//! a fixed wait, the way boards measure gateways against a mock with 20 ms of
//! latency. Written in Rust because the wait must be the only cost: at 256
//! connections it answers ~12,800 requests a second, which the Python fakes
//! cannot on two shared cores, and nginx cannot delay without third-party
//! modules.
//!
//! Usage: `slow_upstream PORT DELAY_MS ANSWER_FILE`

use std::time::Duration;

use poem::{
    EndpointExt, Response, Route, Server, handler, http::StatusCode, listener::TcpListener,
    web::Data,
};

#[derive(Clone)]
struct Answer {
    body: bytes::Bytes,
    delay: Duration,
}

#[handler]
async fn answer(body: bytes::Bytes, answer: Data<&Answer>) -> Response {
    // The request is read in full first, as a real upstream does.
    drop(body);
    tokio::time::sleep(answer.delay).await;
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .body(answer.body.clone())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, delay_ms, file] = args.as_slice() else {
        eprintln!("usage: slow_upstream PORT DELAY_MS ANSWER_FILE");
        std::process::exit(2);
    };
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned());
    let port: u16 = port.parse().map_err(|_| bad("PORT is not a port"))?;
    let delay_ms: u64 = delay_ms
        .parse()
        .map_err(|_| bad("DELAY_MS is not a number"))?;
    let state = Answer {
        body: std::fs::read(file)?.into(),
        delay: Duration::from_millis(delay_ms),
    };
    let app = Route::new().at("/*path", poem::post(answer)).data(state);
    Server::new(TcpListener::bind(("127.0.0.1", port)))
        .run(app)
        .await
}
