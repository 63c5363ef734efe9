//! `POST /v1/images/generations` and `/v1/images/edits`: OpenAI's image API,
//! served by Gemini image models through the canonical model.

use super::AppState;
use super::attempts::Plan;
use super::auth;
use super::log::{RequestLog, Start};
use super::proxy::{json_response, unix_now};
use super::wire::Wire;
use crate::canonical::{Image, Message, Part, Request as CRequest, Role};
use crate::error::{Error, Kind};
use crate::provider;
use crate::scheduler::session_key;
use base64::Engine;
use bytes::Bytes;
use poem::web::{Data, Multipart};
use poem::{Request, Response, handler};
use serde::Deserialize;
use std::sync::Arc;

const DEFAULT_MODEL: &str = "gemini-2.5-flash-image";

#[derive(Deserialize)]
struct Generate {
    prompt: String,
    model: Option<String>,
    n: Option<u32>,
    size: Option<String>,
    response_format: Option<String>,
}

/// OpenAI sizes as Gemini aspect ratios.
fn aspect(size: Option<&str>) -> Result<String, Error> {
    let Some(size) = size.filter(|s| *s != "auto") else {
        return Ok("1:1".into());
    };
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .ok_or_else(|| {
            Error::invalid_param("size", format!("size `{size}` is not WIDTHxHEIGHT"))
        })?;
    let ratio = w as f64 / h as f64;
    let known = [
        ("1:1", 1.0),
        ("16:9", 16.0 / 9.0),
        ("9:16", 9.0 / 16.0),
        ("4:3", 4.0 / 3.0),
        ("3:4", 0.75),
        ("3:2", 1.5),
        ("2:3", 2.0 / 3.0),
    ];
    Ok(known
        .iter()
        .min_by(|a, b| (a.1 - ratio).abs().total_cmp(&(b.1 - ratio).abs()))
        .map(|(r, _)| r.to_string())
        .expect("known ratios"))
}

/// One image request, from either endpoint.
struct Job {
    model: String,
    prompt: String,
    inputs: Vec<Image>,
    n: u32,
    size: Option<String>,
    /// Answer `url` (a data URL) instead of `b64_json`.
    url_form: bool,
}

async fn run(req: &Request, state: &Arc<AppState>, job: Job) -> Response {
    let Job {
        model,
        prompt,
        inputs,
        n,
        size,
        url_form,
    } = job;
    let wire = Wire::OpenAiChat;
    let client_key = match auth::admit(state, req, &model).await {
        Ok(k) => k,
        Err(e) => return wire.error(&e),
    };
    if prompt.trim().is_empty() {
        return wire.error(&Error::invalid_param(
            "prompt",
            "`prompt` must not be empty",
        ));
    }
    if !(1..=4).contains(&n) {
        return wire.error(&Error::invalid_param("n", "n must be from 1 to 4"));
    }
    let ratio = match aspect(size.as_deref()) {
        Ok(r) => r,
        Err(e) => return wire.error(&e),
    };
    let mut parts: Vec<Part> = inputs.into_iter().map(Part::Image).collect();
    parts.push(Part::Text(prompt));
    let creq = CRequest {
        model,
        messages: vec![Message {
            role: Role::User,
            parts,
        }],
        image_output: Some(ratio),
        compaction: false,
        ..CRequest::default()
    };
    let plan = match Plan::resolve(
        state,
        &creq.model,
        session_key(super::proxy::session_header(req), &creq),
    ) {
        Ok(p) => p,
        Err(e) => return wire.error(&e),
    };
    let start = Start {
        protocol: "openai-images",
        model: &creq.model,
        stream: false,
        background: false,
        client_key,
        session: &plan.session,
        // Images are binary and large: logged without bodies.
        capture: None,
    };
    let mut log = RequestLog::start(state.clone(), plan.id.clone(), &plan.route, start);
    let mut data = Vec::new();
    for _ in 0..n {
        let resp = match plan
            .run(&mut log, |call| provider::generate(call, &creq))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                log.fail(&e, None);
                return wire.error(&e);
            }
        };
        let images: Vec<(String, String)> = resp
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Image(Image::Inline { mime_type, data }) => {
                    Some((mime_type.clone(), data.clone()))
                }
                _ => None,
            })
            .collect();
        if images.is_empty() {
            let e = Error::new(
                Kind::Upstream,
                format!(
                    "`{}` answered without an image: {}",
                    plan.route.model,
                    resp.text()
                ),
            );
            log.fail(&e, None);
            return wire.error(&e);
        }
        for (mime, b64) in images {
            data.push(if url_form {
                serde_json::json!({"url": format!("data:{mime};base64,{b64}"), "revised_prompt": null})
            } else {
                serde_json::json!({"b64_json": b64, "revised_prompt": null})
            });
        }
    }
    log.end(200, None);
    json_response(
        serde_json::json!({"created": unix_now(), "data": data})
            .to_string()
            .into_bytes(),
    )
}

#[handler]
pub async fn generations(
    req: &Request,
    body: Bytes,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return Wire::OpenAiChat.error(&Error::new(Kind::Authentication, msg));
    }
    let g: Generate = match serde_json::from_slice(&body) {
        Ok(g) => g,
        Err(e) => return Wire::OpenAiChat.error(&Error::from_json(&e)),
    };
    let job = Job {
        url_form: g.response_format.as_deref() == Some("url"),
        model: g.model.unwrap_or_else(|| DEFAULT_MODEL.into()),
        prompt: g.prompt,
        inputs: Vec::new(),
        n: g.n.unwrap_or(1),
        size: g.size,
    };
    run(req, state, job).await
}

/// Edits take the images and the prompt as a multipart form.
#[handler]
pub async fn edits(
    req: &Request,
    mut form: Multipart,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    if let Err(msg) = auth::check_client(state, req) {
        return Wire::OpenAiChat.error(&Error::new(Kind::Authentication, msg));
    }
    let (mut prompt, mut model, mut n, mut size, mut url_form, mut images) = (
        String::new(),
        DEFAULT_MODEL.to_string(),
        1,
        None,
        false,
        Vec::new(),
    );
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Wire::OpenAiChat.error(&Error::invalid(format!("unreadable form: {e}")));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let mime = field.content_type().unwrap_or("image/png").to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Wire::OpenAiChat.error(&Error::invalid(format!(
                    "unreadable form field `{name}`: {e}"
                )));
            }
        };
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "image" | "image[]" => images.push(Image::Inline {
                mime_type: mime,
                data: base64::engine::general_purpose::STANDARD.encode(&bytes),
            }),
            "prompt" => prompt = text(),
            "model" => model = text(),
            "n" => n = text().parse().unwrap_or(0),
            "size" => size = Some(text()),
            "response_format" => url_form = text() == "url",
            _ => {}
        }
    }
    if images.is_empty() {
        return Wire::OpenAiChat.error(&Error::invalid_param(
            "image",
            "an edit needs at least one `image`",
        ));
    }
    run(
        req,
        state,
        Job {
            model,
            prompt,
            inputs: images,
            n,
            size,
            url_form,
        },
    )
    .await
}
