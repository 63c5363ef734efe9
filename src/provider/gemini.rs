//! Gemini API-key accounts: `POST {base}/v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`, key in `x-goog-api-key`.

use super::{EventStream, Upstream, host_of, read_failure, transport_error};
use crate::canonical::{Request, Response};
use crate::error::{Error, Kind};
use crate::protocol::{gemini, sse};
use crate::store::Account;
use futures_util::StreamExt;
use std::time::Duration;

async fn send(
    up: &Upstream,
    acc: &Account,
    model: &str,
    req: &Request,
    stream: bool,
    timeout: Duration,
) -> Result<reqwest::Response, Error> {
    // Waits for the response head only: a stream's deadline then applies
    // between chunks, a whole answer's to reading its body.
    let url = if stream {
        format!(
            "{}/v1beta/models/{model}:streamGenerateContent?alt=sse",
            acc.base_url
        )
    } else {
        format!("{}/v1beta/models/{model}:generateContent", acc.base_url)
    };
    let builder = up
        .client()
        .post(url)
        .header("x-goog-api-key", acc.secret.expose())
        .header("content-type", "application/json")
        .body(gemini::encode_request(req, model));
    let host = host_of(&acc.base_url);
    let resp = tokio::time::timeout(timeout, builder.send())
        .await
        .map_err(|_| Error::new(Kind::Timeout, format!("{host} did not answer in time")))?
        .map_err(|e| transport_error(host, &e))?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let (status, retry_after, body) = read_failure(resp).await;
    let mut err = gemini::decode_error(status, &body);
    err.retry_after = retry_after;
    Err(err)
}

/// One non-streamed answer.
pub async fn generate(
    up: &Upstream,
    acc: &Account,
    model: &str,
    req: &Request,
    timeout: Duration,
    id: String,
) -> Result<Response, Error> {
    let resp = send(up, acc, model, req, false, timeout).await?;
    let host = host_of(&acc.base_url);
    let body = tokio::time::timeout(timeout, resp.bytes())
        .await
        .map_err(|_| Error::new(Kind::Timeout, format!("{host} stopped sending its answer")))?
        .map_err(|e| transport_error(host, &e))?;
    let mut out = gemini::decode_response(&body, id, model)?;
    if out.model.is_empty() {
        out.model = model.to_string();
    }
    Ok(out)
}

/// A streamed answer; returns once the upstream accepted the request.
pub async fn stream(
    up: &Upstream,
    acc: &Account,
    model: &str,
    req: &Request,
    idle: Duration,
    id: String,
) -> Result<EventStream, Error> {
    let resp = send(up, acc, model, req, true, idle).await?;
    let host = host_of(&acc.base_url).to_string();
    let state = State {
        body: Box::pin(resp.bytes_stream()),
        parser: sse::Parser::default(),
        decoder: gemini::StreamDecoder::new(id, model),
        done: false,
        host,
        idle,
    };
    Ok(Box::pin(futures_util::stream::unfold(state, next_events)))
}

struct State {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    parser: sse::Parser,
    decoder: gemini::StreamDecoder,
    done: bool,
    host: String,
    idle: Duration,
}

/// Reads until at least one event is ready, the stream ends, or it fails.
async fn next_events(
    mut st: State,
) -> Option<(Result<Vec<crate::canonical::Event>, Error>, State)> {
    if st.done {
        return None;
    }
    let mut datas = Vec::new();
    loop {
        let next = tokio::time::timeout(st.idle, st.body.next()).await;
        let chunk = match next {
            Err(_) => {
                st.done = true;
                let msg = format!("{} stopped sending mid-stream", st.host);
                return Some((Err(Error::new(Kind::Timeout, msg)), st));
            }
            Ok(Some(Err(e))) => {
                st.done = true;
                return Some((Err(transport_error(&st.host, &e)), st));
            }
            Ok(Some(Ok(chunk))) => chunk,
            Ok(None) => {
                st.done = true;
                st.parser.finish(&mut datas);
                let mut events = Vec::new();
                for d in &datas {
                    if let Err(e) = st.decoder.chunk(d, &mut events) {
                        return Some((Err(e), st));
                    }
                }
                if !st.decoder.finished() {
                    let msg = format!(
                        "{} ended the stream before the answer was complete",
                        st.host
                    );
                    return Some((Err(Error::new(Kind::Upstream, msg)), st));
                }
                return Some((Ok(events), st));
            }
        };
        if st.parser.feed(&chunk, &mut datas).is_err() {
            st.done = true;
            let msg = format!("{} sent an oversized stream event", st.host);
            return Some((Err(Error::new(Kind::Upstream, msg)), st));
        }
        if datas.is_empty() {
            continue;
        }
        let mut events = Vec::new();
        for d in &datas {
            if let Err(e) = st.decoder.chunk(d, &mut events) {
                st.done = true;
                return Some((Err(e), st));
            }
        }
        return Some((Ok(events), st));
    }
}
