//! Credentials: revocation, and the signed status lists.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use crate::api::extract::{Admin, JsonBody, Staff};
use crate::api::problem::Problem;
use crate::api::responses::{AdminToken, JsonOnly, ServerError};
use crate::api::state::{AppState, Routes};
use crate::applications::ApplicationError;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .post("/v1/credentials/{id}/revoke", revoke)
        .get("/v1/status-lists/{list}", status_list)
}

/// Why a credential is revoked.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    /// A reason code: 1 to 64 characters `a`–`z` and `_`.
    #[schema(pattern = "^[a-z_]{1,64}$", example = "fraud_suspected")]
    reason: String,
}

/// Revoke a credential: its bit in the status list is set.
///
/// Caller: staff with role `admin`.
#[utoipa::path(
    post,
    path = "/v1/credentials/{id}/revoke",
    tag = "credentials",
    params(("id" = String, Path, description = "The credential id (`urn:uuid:…`)")),
    security(("staffToken" = ["admin"])),
    request_body(content = RevokeRequest, content_type = "application/json",
        description = "The reason code"),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Not a revocation request, or a malformed reason code",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such credential",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "Already revoked, or changed concurrently",
            content_type = "application/problem+json", body = Problem),
        AdminToken, JsonOnly, ServerError,
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(admin, _): Staff<Admin>,
    JsonBody(request): JsonBody<RevokeRequest>,
) -> Result<StatusCode, Problem> {
    let reason_ok = !request.reason.is_empty()
        && request.reason.len() <= 64
        && request
            .reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_');
    if !reason_ok {
        return Err(Problem::bad_request(
            "reason must be a code of 1 to 64 characters a-z and _",
        ));
    }
    state
        .applications
        .revoke(&id, &admin.id, &request.reason, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A signed status list (W3C Bitstring Status List), as a `vc+jwt`.
///
/// Public. Cached for at most 300 seconds and never past the list's validity; answers
/// `If-None-Match` with 304.
#[utoipa::path(
    get,
    path = "/v1/status-lists/{list}",
    tag = "status lists",
    params(
        ("list" = u64, Path, minimum = 1, description = "The list number, from 1"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy held"),
    ),
    responses(
        (status = 200, description = "The status list credential", content_type = "application/vc+jwt",
            body = String,
            headers(
                ("ETag" = String, description = "Strong ETag: SHA-256 of the JWT"),
                ("Cache-Control" = String, description = "`public, max-age=<seconds>`"),
            )),
        (status = 304, description = "The copy held (`If-None-Match`) is current",
            headers(
                ("ETag" = String, description = "Strong ETag: SHA-256 of the JWT"),
                ("Cache-Control" = String, description = "`public, max-age=<seconds>`"),
            )),
        (status = 404, description = "No such status list",
            content_type = "application/problem+json", body = Problem),
        ServerError,
    ),
)]
pub(crate) async fn status_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(list): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found("no such status list");
    let list = list.parse::<u64>().map_err(|_| not_found())?;
    let signed = state
        .applications
        .status_list(list, Utc::now())
        .await
        .map_err(|e| match e {
            ApplicationError::NotFound => not_found(),
            e => Problem::from(e),
        })?;
    let max_age = (signed.valid_until - Utc::now())
        .num_seconds()
        .clamp(0, 300);
    let cache = format!("public, max-age={max_age}");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(signed.etag.as_str())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, signed.etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/vc+jwt".to_owned()),
            (header::ETAG, signed.etag),
            (header::CACHE_CONTROL, cache),
        ],
        signed.jwt,
    )
        .into_response())
}
