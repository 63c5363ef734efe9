//! The floor under levity's small-request latency (BENCHMARKS.md, "Where
//! the small request's time goes", issue #21): the same server and client
//! crates (poem, reqwest, a two-worker tokio runtime) passing a POST body to
//! one upstream address and its answer back, and nothing else: no
//! translation, routing, accounting or log. What levity adds beyond this is
//! its own work.
//!
//! Usage: `bare_proxy PORT UPSTREAM_URL`; every POST to any path goes to
//! `UPSTREAM_URL`.

use poem::{
    EndpointExt, Response, Route, Server, handler, http::StatusCode, listener::TcpListener,
    web::Data,
};

#[derive(Clone)]
struct Upstream {
    client: reqwest::Client,
    url: String,
}

#[handler]
async fn pass(body: bytes::Bytes, up: Data<&Upstream>) -> Response {
    let sent = up
        .client
        .post(&up.url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let answer = match sent {
        Ok(resp) => resp.bytes().await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(b) => Response::builder().content_type("application/json").body(b),
        Err(e) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(e.to_string()),
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, url] = args.as_slice() else {
        eprintln!("usage: bare_proxy PORT UPSTREAM_URL");
        std::process::exit(2);
    };
    // levity's own runtime: one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let up = Upstream {
            client: reqwest::Client::new(),
            url: url.clone(),
        };
        let app = Route::new().at("/*path", poem::post(pass)).data(up);
        Server::new(TcpListener::bind(format!("127.0.0.1:{port}")))
            .run(app)
            .await
    })
}
