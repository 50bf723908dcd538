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
