//! Customer, reviewer and admin routes: applications, nonces, review, collection, revocation,
//! status lists, status streams, webhooks, and the subject's data.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /v1/nonce` | anyone | a nonce for a holder token |
//! | `POST /v1/applications` | anyone | submit |
//! | `GET /v1/applications/{id}` | holder | the application, no personal data |
//! | `GET /v1/applications/{id}/events` | holder | its state as server-sent events |
//! | `POST /v1/applications/{id}/credential` | holder | collect the credential |
//! | `GET /v1/review/queue`, `POST /v1/review/{id}` | reviewer | manual review |
//! | `POST /v1/credentials/{id}/revoke` | admin | revoke |
//! | `GET /v1/status-lists/{list}` | anyone | a signed status list |
//! | `GET`, `POST /v1/webhooks`, `DELETE /v1/webhooks/{id}` | admin | webhook endpoints |
//! | `GET /v1/subjects/{id}/export` | holder | the subject's own data (GDPR access) |
//! | `DELETE /v1/subjects/{id}` | admin | erase the subject (crypto-shredding) |
//!
//! The status stream (`text/event-stream`) sends `event: state` with `data: {"id", "state",
//! "at"}`: first the current state, then each change; keep-alive comments (`: keep-alive`) on
//! an idle stream; it ends after a final state (issued, rejected), after the configured timeout,
//! or at shutdown. A holder token is single-use, so a reconnect needs a fresh one; the first
//! event being the current state, a reconnect misses nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use super::AppState;
use crate::applications::{ApplicationError, ApplicationView, ReviewDecision};
use crate::auth::{self, AuthError, HolderIdentity, Role, StaffMember};
use crate::webhooks::WebhookError;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/nonce", post(nonce))
        .route("/v1/applications", post(submit))
        .route("/v1/applications/{id}", get(application))
        .route("/v1/applications/{id}/events", get(application_events))
        .route("/v1/applications/{id}/credential", post(collect))
        .route("/v1/applications/{id}/documents", post(upload_documents))
        .route("/v1/review/queue", get(review_queue))
        .route("/v1/review/{id}", post(review))
        .route("/v1/credentials/{id}/revoke", post(revoke))
        .route("/v1/status-lists/{list}", get(status_list))
        .route("/v1/webhooks", get(list_webhooks).post(register_webhook))
        .route("/v1/webhooks/{id}", delete(delete_webhook))
        .route("/v1/subjects/{id}", delete(erase_subject))
        .route("/v1/subjects/{id}/export", get(export_subject))
}

impl From<ApplicationError> for Problem {
    fn from(e: ApplicationError) -> Self {
        let (status, code, title) = match &e {
            ApplicationError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Bad request")
            }
            ApplicationError::UnknownJurisdiction => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-jurisdiction",
                "Unknown jurisdiction",
            ),
            ApplicationError::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApplicationError::WrongState(_) => (
                StatusCode::CONFLICT,
                "wrong-state",
                "Not allowed in this state",
            ),
            ApplicationError::TierNotEarned(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "tier-not-earned",
                "Tier not backed by the checks",
            ),
            ApplicationError::Erased => (StatusCode::GONE, "erased", "Erased"),
            ApplicationError::RetentionNotOver { .. } => (
                StatusCode::CONFLICT,
                "retention-period",
                "Retention period not over",
            ),
            ApplicationError::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                return Problem::internal();
            }
        };
        Problem::new(status, code, title, e.to_string())
    }
}

impl From<WebhookError> for Problem {
    fn from(e: WebhookError) -> Self {
        match &e {
            WebhookError::BadUrl(_) => Problem::bad_request(e.to_string()),
            WebhookError::NotFound => Problem::not_found(e.to_string()),
            _ => {
                tracing::error!(error = %e, "webhook request failed");
                Problem::internal()
            }
        }
    }
}

/// An authentication failure as a problem, with its RFC 6750 challenge.
fn auth_problem(e: &AuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response =
        Problem::new(status, e.code(), "Not authorised", e.to_string()).into_response();
    if let Some(challenge) = e.www_authenticate() {
        if let Ok(value) = header::HeaderValue::from_str(challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

fn holder(state: &AppState, headers: &HeaderMap) -> Result<HolderIdentity, AuthError> {
    auth::authenticate_holder(headers, &state.audience, state.nonces.as_ref(), Utc::now())
}

fn staff(state: &AppState, headers: &HeaderMap, roles: &[Role]) -> Result<StaffMember, AuthError> {
    state.staff.authorize(headers, roles)
}

/// A JSON body: `application/json` only, parsed strictly (trailing data refused).
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "the body must be application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(kyc_core::MalformedError::json("body", &e).to_string()))
}

async fn nonce(State(state): State<AppState>) -> Response {
    let now = Utc::now();
    match state.nonces.issue(now) {
        Ok(nonce) => Json(json!({"nonce": nonce, "expiresAt": now + state.nonces.lifetime()}))
            .into_response(),
        Err(e) => auth_problem(&e),
    }
}

async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let value: serde_json::Value = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match state.applications.submit(&value, Utc::now()).await {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn application(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match holder(&state, &headers) {
        Ok(w) => w,
        Err(e) => return auth_problem(&e),
    };
    match state.applications.for_holder(&id, &who.did) {
        Ok(record) => Json(ApplicationView::from(&record)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn application_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match holder(&state, &headers) {
        Ok(w) => w,
        Err(e) => return auth_problem(&e),
    };
    match state.applications.watch(&id, &who.did) {
        Ok(changes) => {
            let events = changes.map(|change| Event::default().event("state").json_data(change));
            Sse::new(events)
                .keep_alive(
                    KeepAlive::new()
                        .interval(state.applications.keep_alive())
                        .text("keep-alive"),
                )
                .into_response()
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn collect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match holder(&state, &headers) {
        Ok(w) => w,
        Err(e) => return auth_problem(&e),
    };
    match state.applications.collect(&id, &who.did, Utc::now()).await {
        Ok(credential) => Json(credential).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn upload_documents(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let who = match holder(&state, &headers) {
        Ok(w) => w,
        Err(e) => return auth_problem(&e),
    };
    let additions: serde_json::Value = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match state
        .applications
        .upload_documents(&id, &who.did, &additions, Utc::now())
        .await
    {
        Ok(view) => Json(view).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn review_queue(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = staff(&state, &headers, &[Role::Reviewer]) {
        return auth_problem(&e);
    }
    match state.applications.review_queue() {
        Ok(queue) => Json(queue).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let reviewer = match staff(&state, &headers, &[Role::Reviewer]) {
        Ok(m) => m,
        Err(e) => return auth_problem(&e),
    };
    let decision: ReviewDecision = match json_body(&headers, &body) {
        Ok(d) => d,
        Err(p) => return p.into_response(),
    };
    match state
        .applications
        .review(&id, &reviewer.id, decision, Utc::now())
        .await
    {
        Ok(view) => Json(view).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    reason: String,
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let admin = match staff(&state, &headers, &[Role::Admin]) {
        Ok(m) => m,
        Err(e) => return auth_problem(&e),
    };
    let request: RevokeRequest = match json_body(&headers, &body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let reason_ok = !request.reason.is_empty()
        && request.reason.len() <= 64
        && request
            .reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_');
    if !reason_ok {
        return Problem::bad_request("reason must be a code of 1 to 64 characters a-z and _")
            .into_response();
    }
    match state
        .applications
        .revoke(&id, &admin.id, &request.reason, Utc::now())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn status_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(list): Path<String>,
) -> Response {
    let Ok(list) = list.parse::<u64>() else {
        return Problem::not_found("no such status list").into_response();
    };
    match state.applications.status_list(list, Utc::now()) {
        Ok(signed) => {
            let max_age = (signed.valid_until - Utc::now())
                .num_seconds()
                .clamp(0, 300);
            let cache = format!("public, max-age={max_age}");
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(signed.etag.as_str())
            {
                return (
                    StatusCode::NOT_MODIFIED,
                    [(header::ETAG, signed.etag), (header::CACHE_CONTROL, cache)],
                )
                    .into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, "application/vc+jwt".to_owned()),
                    (header::ETAG, signed.etag),
                    (header::CACHE_CONTROL, cache),
                ],
                signed.jwt,
            )
                .into_response()
        }
        Err(ApplicationError::NotFound) => {
            Problem::not_found("no such status list").into_response()
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookRequest {
    url: String,
}

/// Personal data or a secret: no cache may keep it.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

async fn register_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match staff(&state, &headers, &[Role::Admin]) {
        Ok(m) => m,
        Err(e) => return auth_problem(&e),
    };
    let request: WebhookRequest = match json_body(&headers, &body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match state
        .applications
        .webhooks()
        .register(&request.url, &admin.id, Utc::now())
    {
        Ok(registered) => (StatusCode::CREATED, [NO_STORE], Json(registered)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn list_webhooks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = staff(&state, &headers, &[Role::Admin]) {
        return auth_problem(&e);
    }
    Json(state.applications.webhooks().list()).into_response()
}

async fn delete_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let admin = match staff(&state, &headers, &[Role::Admin]) {
        Ok(m) => m,
        Err(e) => return auth_problem(&e),
    };
    match state.applications.webhooks().delete(&id, &admin.id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn export_subject(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match holder(&state, &headers) {
        Ok(w) => w,
        Err(e) => return auth_problem(&e),
    };
    match state.applications.export(&id, &who.did) {
        Ok(export) => ([NO_STORE], Json(export)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn erase_subject(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let admin = match staff(&state, &headers, &[Role::Admin]) {
        Ok(m) => m,
        Err(e) => return auth_problem(&e),
    };
    match state.applications.erase(&id, &admin.id, Utc::now()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}
