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

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::extract::{
    auth_problem, Admin, Compliance, Holder, JsonBody, JsonBytes, Reviewer, Staff,
};
use super::openapi::{DocumentUploadSchema, SubmissionSchema};
use super::problem::Problem;
use super::{AppState, Routes};
use crate::applications::{
    ApplicationError, ApplicationView, CollectedCredential, ReviewDecision, SubjectExport,
};
use crate::checks::biometric::LivenessChallenge;
use crate::store::ReportRecord;
use crate::webhooks::{Endpoint, Registered, WebhookError};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/v1/nonce", nonce)
        .post("/v1/liveness-challenges", liveness_challenge)
        .post("/v1/biometric/vendor-results", vendor_result)
        .post("/v1/applications", submit)
        .get("/v1/applications/{id}", application)
        .get("/v1/applications/{id}/events", application_events)
        .post("/v1/applications/{id}/credential", collect)
        .post("/v1/applications/{id}/documents", upload_documents)
        .get("/v1/review/queue", review_queue)
        .get("/v1/reports", reports)
        .post("/v1/review/{id}", review)
        .post("/v1/credentials/{id}/revoke", revoke)
        .get("/v1/status-lists/{list}", status_list)
        .get("/v1/webhooks", list_webhooks)
        .post("/v1/webhooks", register_webhook)
        .delete("/v1/webhooks/{id}", delete_webhook)
        .delete("/v1/subjects/{id}", erase_subject)
        .get("/v1/subjects/{id}/export", export_subject)
}

impl From<ApplicationError> for Problem {
    fn from(e: ApplicationError) -> Self {
        let (status, code, title) = match &e {
            ApplicationError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Bad request")
            }
            ApplicationError::UnknownJurisdiction(_) => (
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
            // 400, as Standard Webhooks receivers answer a signature that does not verify: the
            // signature is part of the message, not an HTTP authentication scheme.
            ApplicationError::BadSignature(_) => (
                StatusCode::BAD_REQUEST,
                "bad-signature",
                "Signature refused",
            ),
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

/// A fresh nonce for a holder token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Nonce {
    /// Goes in the token's `nonce` claim; usable once.
    nonce: String,
    /// Unusable after this.
    expires_at: DateTime<Utc>,
}

/// A nonce for a holder token.
///
/// Every holder call needs a token over a fresh nonce: a token is single-use.
#[utoipa::path(
    post,
    path = "/v1/nonce",
    tag = "holder tokens",
    responses(
        (status = 200, description = "A fresh nonce", body = Nonce),
        (status = 500, description = "The nonce store failed",
            content_type = "application/problem+json", body = Problem),
        (status = 503, description = "Too many outstanding nonces; retry later",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn nonce(State(state): State<AppState>) -> Result<Json<Nonce>, Response> {
    let now = Utc::now();
    let nonce = state.nonces.issue(now).map_err(|e| auth_problem(&e))?;
    Ok(Json(Nonce {
        nonce,
        expires_at: now + state.nonces.lifetime(),
    }))
}

/// Start the liveness step: a random sequence of head turns for the wallet to film, valid for
/// a few minutes and answerable once. The submission names its `id` in `livenessChallenge`
/// and carries one frame per turn, in order, in `livenessFrames`.
///
/// Anyone may ask (nothing is stored about the caller); the number of open challenges is
/// bounded.
#[utoipa::path(
    post,
    path = "/v1/liveness-challenges",
    tag = "applications",
    responses(
        (status = 201, description = "A new challenge", body = LivenessChallenge),
        (status = 404, description = "No biometric provider is configured: biometrics are not \
            performed here, so there is no liveness step",
            content_type = "application/problem+json", body = Problem),
        (status = 503, description = "Too many open challenges; try again later",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn liveness_challenge(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<LivenessChallenge>), Problem> {
    let Some(challenges) = state.applications.checks().challenges() else {
        return Err(Problem::not_found(
            "biometric checks are not performed by this issuer",
        ));
    };
    match challenges.issue(Utc::now()) {
        Ok(challenge) => Ok((StatusCode::CREATED, Json(challenge))),
        Err(e) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too-many-challenges",
            "Too many open challenges",
            e.to_string(),
        )),
    }
}

/// A biometric vendor's result, delivered later than the check (the vendor answered `202`).
///
/// Caller: the vendor, authenticated by `Kyc-Vendor-Signature: t=<unix seconds>,v1=<hex>`,
/// HMAC-SHA256 with the configured `webhook_secret` over `"{t}." || body`, within 300 s. The
/// body is `{"reference", "similarity", "spoofing"}`. The application's biometric check is
/// replaced and the application decided again.
#[utoipa::path(
    post,
    path = "/v1/biometric/vendor-results",
    tag = "applications",
    request_body(content = String, content_type = "application/json",
        description = "The vendor's result, signed"),
    responses(
        (status = 200, description = "Recorded; the application in its new state",
            body = ApplicationView),
        (status = 400, description = "No reference, not a vendor result, or a missing, \
            malformed, stale or wrong signature", content_type = "application/problem+json",
            body = Problem),
        (status = 415, description = "The body is not application/json",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No vendor configured, or no request waits for this \
            reference (unknown, or already delivered)",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The application no longer waits for it",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage or audit log failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn vendor_result(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Json<ApplicationView>, Problem> {
    let view = state
        .applications
        .vendor_result(&headers, &body, Utc::now())
        .await?;
    Ok(Json(view))
}

/// Submit an application.
///
/// The body must match the application JSON Schema (`schemas/application-v1.schema.json`).
/// The checks run at once; the application is answered in the state they lead to (approved,
/// in review or rejected). Anyone may submit: the credential will be bound to the `holder`
/// did:key, and only that key can read the application or collect the credential.
#[utoipa::path(
    post,
    path = "/v1/applications",
    tag = "applications",
    request_body(content = SubmissionSchema, content_type = "application/json",
        description = "The application: identity data, the document, captures, the holder"),
    responses(
        (status = 201, description = "Accepted and checked; no personal data in the answer",
            body = ApplicationView),
        (status = 400, description = "Not JSON, trailing data, not matching the schema, or the \
            holder is not an Ed25519 did:key", content_type = "application/problem+json",
            body = Problem),
        (status = 415, description = "The body is not application/json",
            content_type = "application/problem+json", body = Problem),
        (status = 422, description = "The jurisdiction has no policy here",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage, audit log or crypto failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn submit(
    State(state): State<AppState>,
    JsonBody(value): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<ApplicationView>), Problem> {
    let view = state.applications.submit(&value, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Read an application.
///
/// Caller: the application's holder (holder token).
#[utoipa::path(
    get,
    path = "/v1/applications/{id}",
    tag = "applications",
    params(("id" = String, Path, description = "The application id")),
    security(("holderJwt" = [])),
    responses(
        (status = 200, description = "The application, no personal data", body = ApplicationView),
        (status = 401, description = "No valid holder token",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "The store or the nonce store failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn application(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
) -> Result<Json<ApplicationView>, Problem> {
    let record = state.applications.for_holder(&id, &who.did)?;
    Ok(Json(ApplicationView::from(&record)))
}

/// Follow an application's state as server-sent events.
///
/// Caller: the application's holder (holder token).
///
/// Each event is `event: state` with `data:` a `StateChange` (`{"id", "state", "at"}`): first
/// the current state, then each change. An idle stream carries `: keep-alive` comments. The
/// stream ends after a final state (issued, rejected), after the configured timeout, or at
/// shutdown; a reconnect needs a fresh holder token and misses nothing (the first event is the
/// current state).
#[utoipa::path(
    get,
    path = "/v1/applications/{id}/events",
    tag = "applications",
    params(("id" = String, Path, description = "The application id")),
    security(("holderJwt" = [])),
    responses(
        (status = 200, description = "The status stream: `event: state`, `data: StateChange`",
            content_type = "text/event-stream", body = String),
        (status = 401, description = "No valid holder token",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "The store or the nonce store failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn application_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
) -> Result<Response, Problem> {
    let changes = state.applications.watch(&id, &who.did)?;
    let events = changes.map(|change| Event::default().event("state").json_data(change));
    Ok(Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(state.applications.keep_alive())
                .text("keep-alive"),
        )
        .into_response())
}

/// Collect the credential of an approved application.
///
/// Caller: the application's holder (holder token). The credential is issued on the first
/// collect; later collects return the same one.
#[utoipa::path(
    post,
    path = "/v1/applications/{id}/credential",
    tag = "applications",
    params(("id" = String, Path, description = "The application id")),
    security(("holderJwt" = [])),
    responses(
        (status = 200, description = "The credential in both securing forms",
            body = CollectedCredential),
        (status = 401, description = "No valid holder token",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The application is not approved, or changed concurrently",
            content_type = "application/problem+json", body = Problem),
        (status = 410, description = "The subject's data has been erased",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage, audit log, signing or crypto failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn collect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
) -> Result<Json<CollectedCredential>, Problem> {
    let credential = state
        .applications
        .collect(&id, &who.did, Utc::now())
        .await?;
    Ok(Json(credential))
}

/// Upload the documents a reviewer asked for; the application is checked again.
///
/// Caller: the application's holder (holder token). Only `document`, `selfie`,
/// `livenessFrames` and `proofOfAddress` may be sent; they replace the submitted ones, and the
/// whole submission must still match the application schema.
#[utoipa::path(
    post,
    path = "/v1/applications/{id}/documents",
    tag = "applications",
    params(("id" = String, Path, description = "The application id")),
    security(("holderJwt" = [])),
    request_body(content = DocumentUploadSchema, content_type = "application/json",
        description = "The documents and captures that replace the submitted ones"),
    responses(
        (status = 200, description = "Checked again; the application in its new state",
            body = ApplicationView),
        (status = 400, description = "Not JSON, not an object, a field that cannot be uploaded, \
            or the submission no longer matches the schema",
            content_type = "application/problem+json", body = Problem),
        (status = 401, description = "No valid holder token",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "No documents were requested, or the application changed \
            concurrently", content_type = "application/problem+json", body = Problem),
        (status = 410, description = "The subject's data has been erased",
            content_type = "application/problem+json", body = Problem),
        (status = 415, description = "The body is not application/json",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage, audit log or crypto failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn upload_documents(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
    JsonBody(additions): JsonBody<serde_json::Value>,
) -> Result<Json<ApplicationView>, Problem> {
    let view = state
        .applications
        .upload_documents(&id, &who.did, &additions, Utc::now())
        .await?;
    Ok(Json(view))
}

/// The review queue: applications waiting for a person, oldest first.
///
/// Caller: staff with role `reviewer`.
#[utoipa::path(
    get,
    path = "/v1/review/queue",
    tag = "review",
    security(("staffToken" = ["reviewer"])),
    responses(
        (status = 200, description = "Applications in review, oldest first",
            body = Vec<ApplicationView>),
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not reviewer",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "The store failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn review_queue(
    State(state): State<AppState>,
    _: Staff<Reviewer>,
) -> Result<Json<Vec<ApplicationView>>, Problem> {
    Ok(Json(state.applications.review_queue()?))
}

/// The compliance reports: every high-risk rejection (automatic or a reviewer's), oldest
/// first, with the decision's contributions and the checks it rests on. No personal data: the
/// subject is pseudonymous.
///
/// Caller: staff with role `compliance`.
#[utoipa::path(
    get,
    path = "/v1/reports",
    tag = "review",
    security(("staffToken" = ["compliance"])),
    responses(
        (status = 200, description = "The reports, oldest first", body = Vec<ReportRecord>),
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not compliance",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "The store failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn reports(
    State(state): State<AppState>,
    _: Staff<Compliance>,
) -> Result<Json<Vec<ReportRecord>>, Problem> {
    Ok(Json(state.applications.reports()?))
}

/// Decide on an application in review: approve at a tier, reject, or ask for documents.
///
/// Caller: staff with role `reviewer`. An approval needs a tier that the clear checks back
/// and that the risk level allows.
#[utoipa::path(
    post,
    path = "/v1/review/{id}",
    tag = "review",
    params(("id" = String, Path, description = "The application id")),
    security(("staffToken" = ["reviewer"])),
    request_body(content = ReviewDecision, content_type = "application/json",
        description = "The reviewer's decision"),
    responses(
        (status = 200, description = "Decided; the application in its new state",
            body = ApplicationView),
        (status = 400, description = "Not a decision (unknown field, `review`, approve without a \
            tier)", content_type = "application/problem+json", body = Problem),
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not reviewer",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The application is not in review, or changed concurrently",
            content_type = "application/problem+json", body = Problem),
        (status = 415, description = "The body is not application/json",
            content_type = "application/problem+json", body = Problem),
        (status = 422, description = "The tier is not backed by the checks, or not allowed at \
            this risk level", content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage or audit log failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(reviewer, _): Staff<Reviewer>,
    JsonBody(decision): JsonBody<ReviewDecision>,
) -> Result<Json<ApplicationView>, Problem> {
    let view = state
        .applications
        .review(&id, &reviewer.id, decision, Utc::now())
        .await?;
    Ok(Json(view))
}

/// Why a credential is revoked.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeRequest {
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
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not admin",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such credential",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "Already revoked, or changed concurrently",
            content_type = "application/problem+json", body = Problem),
        (status = 415, description = "The body is not application/json",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage or audit log failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn revoke(
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
        (status = 500, description = "Storage or signing failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn status_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(list): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found("no such status list");
    let list = list.parse::<u64>().map_err(|_| not_found())?;
    let signed = state
        .applications
        .status_list(list, Utc::now())
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

/// A webhook endpoint to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookRequest {
    /// An absolute `http` or `https` URL with a host and no user information.
    #[schema(
        max_length = 2048,
        format = "uri",
        example = "https://platform.example/kyc-hooks"
    )]
    url: String,
}

/// Personal data or a secret: no cache may keep it.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

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
            absolute http(s) URL", content_type = "application/problem+json", body = Problem),
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not admin",
            content_type = "application/problem+json", body = Problem),
        (status = 415, description = "The body is not application/json",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "The store failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn register_webhook(
    State(state): State<AppState>,
    Staff(admin, _): Staff<Admin>,
    JsonBody(request): JsonBody<WebhookRequest>,
) -> Result<Response, Problem> {
    let registered = state
        .applications
        .webhooks()
        .register(&request.url, &admin.id, Utc::now())?;
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
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not admin",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn list_webhooks(
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
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not admin",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such endpoint",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "The store failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(admin, _): Staff<Admin>,
) -> Result<StatusCode, Problem> {
    state.applications.webhooks().delete(&id, &admin.id)?;
    Ok(StatusCode::NO_CONTENT)
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
        (status = 401, description = "No valid holder token",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such subject, or none of its applications is the \
            caller's", content_type = "application/problem+json", body = Problem),
        (status = 410, description = "The subject's data has been erased",
            content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage or crypto failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn export_subject(
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
        (status = 401, description = "No valid staff token",
            content_type = "application/problem+json", body = Problem),
        (status = 403, description = "The caller's role is not admin",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such subject",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "Already erased, still within the retention period, or \
            changed concurrently", content_type = "application/problem+json", body = Problem),
        (status = 500, description = "Storage or audit log failed",
            content_type = "application/problem+json", body = Problem),
    ),
)]
pub(super) async fn erase_subject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(admin, _): Staff<Admin>,
) -> Result<StatusCode, Problem> {
    state.applications.erase(&id, &admin.id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
