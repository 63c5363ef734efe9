//! Export and import in the dashboard (Settings → Move to another install):
//! the same sealed file as `levity export` / `levity import`
//! (`store::export`).

use super::{Failure, change, reply};
use crate::server::AppState;
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{Response, handler};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ExportBody {
    /// At least 8 characters; the file holds every account's key.
    passphrase: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ImportBody {
    passphrase: String,
    /// The export file's text.
    file: String,
}

/// The shared tables sealed with the passphrase, as a file to download.
#[utoipa::path(post, path = "/api/export", request_body = ExportBody,
    responses((status = 200, description = "the export file (JSON, sealed)"), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn export(Data(state): Data<&Arc<AppState>>, body: Json<ExportBody>) -> Response {
    match state.store.export_sealed(&body.passphrase) {
        Ok(file) => Response::builder()
            .content_type("application/json")
            .header(
                "content-disposition",
                "attachment; filename=\"levity-export.json\"",
            )
            .header("cache-control", "no-store")
            .body(file),
        Err(e) => reply::<()>(StatusCode::OK, Err(Failure::from(e))),
    }
}

/// Merges an export into this install.
#[utoipa::path(post, path = "/api/import", request_body = ImportBody,
    responses((status = 200, body = crate::store::Imported), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn import(Data(state): Data<&Arc<AppState>>, body: Json<ImportBody>) -> Response {
    change(state, StatusCode::OK, || {
        state
            .store
            .import_sealed(body.file.as_bytes(), &body.passphrase)
    })
}
