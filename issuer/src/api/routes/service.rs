//! The service itself: its health, and this API's OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use crate::api::schemas::OpenApiDocument;
use crate::api::state::{AppState, Routes};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/openapi.json", openapi_json)
        .get("/v1/key-rotations", key_rotations)
}

/// The issuer's key rotations.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyRotations {
    /// Every rotation statement, oldest first: a compact JWS (`typ` `kyc-key-rotation+jwt`)
    /// signed by the retiring key, payload `{previous, current, at}`.
    statements: Vec<String>,
}

/// The issuer's key rotation statements, for merchants to learn a successor key from one they
/// trust (`kyc-verify trust learn`).
#[utoipa::path(
    get,
    path = "/v1/key-rotations",
    tag = "service",
    responses((status = 200, description = "Every rotation, oldest first", body = KeyRotations)),
)]
pub(crate) async fn key_rotations(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(KeyRotations {
            statements: state.key_rotations.to_vec(),
        }),
    )
}

/// The service's health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    /// Always `ok`: the service answers.
    #[schema(example = "ok")]
    status: &'static str,
    /// Entries in the audit log.
    audit_size: u64,
}

/// Liveness and the audit log's size.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "The service answers", body = Health)),
)]
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        audit_size: state.audit.size(),
    })
}

/// This document: the API in OpenAPI 3.1.
///
/// Built at start, with the issuer's public URL as its server.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json",
            body = inline(OpenApiDocument)),
    ),
)]
pub(crate) async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.to_string(),
    )
}
