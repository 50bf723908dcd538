//! A subject's data: the holder's export (GDPR access) and the admin's erasure.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use super::webhooks::NO_STORE;
use crate::api::extract::{Admin, Holder, Staff};
use crate::api::problem::Problem;
use crate::api::responses::{AdminToken, Erased, HolderToken, ServerError};
use crate::api::state::{AppState, Routes};
use crate::applications::SubjectExport;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .delete("/v1/subjects/{id}", erase_subject)
        .get("/v1/subjects/{id}/export", export_subject)
}

/// Everything the issuer holds about a subject, decrypted (GDPR Art. 15 access).
///
/// Caller: the holder of one of the subject's applications (holder token).
#[utoipa::path(
    get,
    path = "/v1/subjects/{id}/export",
    tag = "subjects",
    params(("id" = String, Path, description = "The pseudonymous subject id")),
    security(("holderJwt" = [])),
    responses(
        (status = 200, description = "The subject's data", body = SubjectExport,
            headers(("Cache-Control" = String, description = "`no-store`: personal data"))),
        (status = 404, description = "No such subject, or none of its applications is the \
            caller's", content_type = "application/problem+json", body = Problem),
        HolderToken, Erased, ServerError,
    ),
)]
pub(crate) async fn export_subject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
) -> Result<Response, Problem> {
    let export = state.applications.export(&id, &who.did)?;
    Ok(([NO_STORE], Json(export)).into_response())
}

/// Erase a subject (crypto-shredding): its data key is destroyed.
///
/// Caller: staff with role `admin`. Allowed once the retention period has passed since the
/// subject's last activity. Credentials already issued stay valid.
#[utoipa::path(
    delete,
    path = "/v1/subjects/{id}",
    tag = "subjects",
    params(("id" = String, Path, description = "The pseudonymous subject id")),
    security(("staffToken" = ["admin"])),
    responses(
        (status = 204, description = "Erased"),
        (status = 404, description = "No such subject",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "Already erased, still within the retention period, or \
            changed concurrently", content_type = "application/problem+json", body = Problem),
        AdminToken, ServerError,
    ),
)]
pub(crate) async fn erase_subject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(admin, _): Staff<Admin>,
) -> Result<StatusCode, Problem> {
    state.applications.erase(&id, &admin.id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
