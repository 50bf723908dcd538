//! Platforms' webhook endpoints.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use crate::api::extract::{Admin, JsonBody, Staff};
use crate::api::problem::Problem;
use crate::api::responses::{AdminToken, JsonOnly, ServerError};
use crate::api::state::{AppState, Routes};
use crate::webhooks::{Endpoint, Registered};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/v1/webhooks", list_webhooks)
        .post("/v1/webhooks", register_webhook)
        .delete("/v1/webhooks/{id}", delete_webhook)
}

/// A webhook endpoint to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookRequest {
    /// An absolute `http` or `https` URL with a host and no user information, whose host is
    /// public: not (nor resolving to) a private, loopback, link-local, metadata or reserved
    /// address, unless the issuer's `[webhooks] allow_private` lists it.
    #[schema(
        max_length = 2048,
        format = "uri",
        example = "https://platform.example/kyc-hooks"
    )]
    url: String,
}

/// Personal data or a secret: no cache may keep it.
pub(super) const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

/// Register a webhook endpoint; its signing secret is shown this once.
///
/// Caller: staff with role `admin`. Every application state change is then POSTed to the URL
/// as a `WebhookPayload`, signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<base64 HMAC-SHA256>` under the secret), retried with exponential
/// backoff on anything but a 2xx answer; `410 Gone` ends the delivery.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    security(("staffToken" = ["admin"])),
    request_body(content = WebhookRequest, content_type = "application/json",
        description = "The endpoint's URL"),
    responses(
        (status = 201, description = "Registered; the only time the secret is shown",
            body = Registered,
            headers(("Cache-Control" = String, description = "`no-store`: the body holds a secret"))),
        (status = 400, description = "Not a webhook request, or the URL is not an acceptable \
            absolute http(s) URL, or its host is not a public address",
            content_type = "application/problem+json", body = Problem),
        AdminToken, JsonOnly, ServerError,
    ),
)]
pub(crate) async fn register_webhook(
    State(state): State<AppState>,
    Staff(admin, _): Staff<Admin>,
    JsonBody(request): JsonBody<WebhookRequest>,
) -> Result<Response, Problem> {
    let registered = state
        .applications
        .register_webhook(&request.url, &admin.id, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, [NO_STORE], Json(registered)).into_response())
}

/// The registered webhook endpoints (no secrets).
///
/// Caller: staff with role `admin`.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    security(("staffToken" = ["admin"])),
    responses(
        (status = 200, description = "Every endpoint, oldest first", body = Vec<Endpoint>),
        AdminToken,
    ),
)]
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    _: Staff<Admin>,
) -> Json<Vec<Endpoint>> {
    Json(state.applications.webhooks().list())
}

/// Delete a webhook endpoint; deliveries to it stop.
///
/// Caller: staff with role `admin`.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    security(("staffToken" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint",
            content_type = "application/problem+json", body = Problem),
        AdminToken, ServerError,
    ),
)]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(admin, _): Staff<Admin>,
) -> Result<StatusCode, Problem> {
    state.applications.delete_webhook(&id, &admin.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
