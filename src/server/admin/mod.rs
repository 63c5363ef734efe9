//! The admin API under `/api`: what the CLI uses while a server holds the
//! data file, and what the dashboard reads. Every answer is a typed struct;
//! `ApiDoc` gathers them into the OpenAPI document served at
//! `/api/openapi.json`, so the document is the code. Errors are
//! `error::Error`s, answered as `{"error": {"message", "type", "code"}}`
//! with their kind's status. Needs the admin token (`auth::check_admin`).

mod accounts;
mod connect;
mod log;
mod oauth;
mod settings;
mod transfer;

pub use accounts::{Health, accounts_with_state};
pub use oauth::oauth_callback;
pub use settings::{SetConfig, check_mapping, effective};

use super::{AppState, auth};
use crate::error::{Error, Kind};
use crate::store::StoreError;
use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use serde::Serialize;
use std::sync::Arc;
use utoipa::OpenApi;

pub fn routes() -> impl Endpoint {
    Route::new()
        .at("/status", get(accounts::get_status))
        .at("/cluster", get(accounts::cluster))
        .at("/kinds", get(accounts::kinds))
        .at(
            "/accounts",
            get(accounts::list_accounts).post(accounts::add_account),
        )
        .at("/accounts/order", poem::put(accounts::reorder))
        .at("/accounts/best", get(accounts::best_account))
        .at("/accounts/preferred", poem::put(accounts::prefer))
        .at(
            "/accounts/:id",
            poem::delete(accounts::remove_account).patch(accounts::update_account),
        )
        .at("/accounts/:id/secret", poem::put(accounts::replace_secret))
        .at("/accounts/:id/quota", poem::post(accounts::refresh_quota))
        .at("/oauth/start", poem::post(oauth::oauth_start))
        .at("/route", get(settings::route_of))
        .at("/requests", get(log::requests))
        .at("/requests/:id", get(log::request_detail))
        .at("/stats", get(log::stats))
        .at("/events", get(log::events))
        .at("/openapi.json", get(document))
        .at("/keys", get(settings::list_keys).post(settings::create_key))
        .at(
            "/keys/:id",
            poem::delete(settings::revoke_key).patch(settings::set_key_limits),
        )
        .at(
            "/config",
            get(settings::get_config).put(settings::set_config),
        )
        .at("/config/schema", get(settings::config_schema))
        .at("/models", get(settings::catalogue))
        .at("/listen", poem::put(settings::set_listen))
        .at("/connect/:tool", get(connect::preview).post(connect::apply))
        .at("/export", poem::post(transfer::export))
        .at("/import", poem::post(transfer::import))
        .around(|ep, req: Request| async move {
            let state = req
                .data::<Arc<AppState>>()
                .cloned()
                .expect("state is attached to every route");
            if let Err((status, code, message)) = auth::check_admin(&state, &req) {
                return Ok(refusal(status, code, message));
            }
            if let Err(message) = auth::check_origin(&state, &req) {
                return Ok(refusal(403, "cross_site", message));
            }
            // A query or body poem could not parse is a Problem too, not
            // poem's plain text.
            Ok(match ep.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => {
                    let status = e.status().as_u16();
                    let code = match status {
                        404 => "not_found",
                        405 => "method_not_allowed",
                        _ => "invalid_request",
                    };
                    problem(status, code, e.to_string())
                }
            })
        })
}

/// The error body every admin failure has.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub error: ProblemDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemDetail {
    /// What went wrong and what to do about it.
    pub message: String,
    /// Always `admin_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The error's kind (`invalid_request`, `not_found`, ...), or why the
    /// admin token was refused (`admin_token_required`, ...).
    pub code: &'static str,
}

fn problem(status: u16, code: &'static str, message: String) -> Response {
    let body = Problem {
        error: ProblemDetail {
            message,
            kind: "admin_error",
            code,
        },
    };
    json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &body,
    )
}

/// The token or origin checks' refusals, with their own codes.
pub(super) fn refusal(status: u16, code: &'static str, message: &str) -> Response {
    problem(status, code, message.to_string())
}

/// What the admin API calls each kind of error.
fn code(kind: Kind) -> &'static str {
    match kind {
        Kind::InvalidRequest | Kind::TooLarge | Kind::NotJson | Kind::SlowClient => {
            "invalid_request"
        }
        Kind::Authentication => "authentication",
        Kind::PermissionDenied => "permission_denied",
        Kind::NotFound => "not_found",
        Kind::Conflict => "conflict",
        Kind::RateLimited => "rate_limited",
        Kind::Upstream | Kind::Timeout => "upstream",
        Kind::Unavailable => "unavailable",
        Kind::Internal => "internal",
    }
}

/// A failed admin call: an `Error` whose kind gives the status.
pub struct Failure(Error);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let kind = match e {
            StoreError::NotFound { .. } => Kind::NotFound,
            StoreError::Invalid(_) => Kind::InvalidRequest,
            _ => Kind::Internal,
        };
        Failure(Error::new(kind, e.to_string()))
    }
}

impl Failure {
    fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure(Error::new(kind, message))
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::to_vec(value).expect("serializable"))
}

/// The answer to an admin call: the value with `status`, or the failure.
fn reply<T: Serialize>(status: StatusCode, result: Result<T, Failure>) -> Response {
    match result {
        Ok(v) => json(status, &v),
        Err(Failure(e)) => problem(e.status(), code(e.kind), e.message),
    }
}

/// Runs a store change, then refreshes what the proxy sees.
fn change<T: Serialize>(
    state: &AppState,
    status: StatusCode,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Response {
    if let Err(e) = state.writable() {
        return reply::<()>(status, Err(Failure(e)));
    }
    reply(
        status,
        f().and_then(|v| state.reload().map(|()| v))
            .map_err(Failure::from),
    )
}

/// The admin API, described from its own types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "levity admin API",
        description = "Every call needs X-Levity-Admin-Token, from loopback too (the CLI reads it from levity.server.json, the dashboard gets it from the /#token= address that levity open prints); the Host header is checked. State-changing calls from a browser must come from levity's own origin. Errors are {\"error\": {\"message\", \"type\", \"code\"}}."
    ),
    paths(
        accounts::get_status,
        accounts::cluster,
        accounts::kinds,
        accounts::list_accounts,
        accounts::add_account,
        accounts::reorder,
        accounts::best_account,
        accounts::prefer,
        accounts::remove_account,
        accounts::update_account,
        accounts::replace_secret,
        accounts::refresh_quota,
        oauth::oauth_start,
        settings::route_of,
        log::requests,
        log::request_detail,
        log::stats,
        log::events,
        document,
        settings::list_keys,
        settings::create_key,
        settings::revoke_key,
        settings::set_key_limits,
        settings::get_config,
        settings::set_config,
        settings::config_schema,
        settings::catalogue,
        settings::set_listen,
        connect::preview,
        connect::apply,
        transfer::export,
        transfer::import,
    ),
    components(schemas(Problem)),
    modifiers(&EveryErrorIsAProblem)
)]
pub struct ApiDoc;

/// Any call may fail with a `Problem`: the document says so for each.
struct EveryErrorIsAProblem;

impl utoipa::Modify for EveryErrorIsAProblem {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = ResponseBuilder::new()
            .description("What went wrong and what to do about it")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| problem.clone().into());
            }
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "The OpenAPI document")))]
#[handler]
fn document() -> Response {
    Response::builder().content_type("application/json").body(
        ApiDoc::openapi()
            .to_json()
            .expect("the document serializes"),
    )
}
