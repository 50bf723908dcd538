//! A customer's application: submit, read, follow, collect the credential, upload documents.
//!
//! The status stream (`text/event-stream`) sends `event: state` with `data: {"id", "state",
//! "at"}`: first the current state, then each change; keep-alive comments (`: keep-alive`) on
//! an idle stream; it ends after a final state (issued, rejected), after the configured timeout,
//! or at shutdown. A holder token is single-use, so a reconnect needs a fresh one; the first
//! event being the current state, a reconnect misses nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use crate::api::extract::{Holder, JsonBody};
use crate::api::problem::Problem;
use crate::api::responses::{Erased, HolderToken, JsonOnly, ServerError};
use crate::api::state::{AppState, Routes};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::StreamExt as _;

use crate::api::schemas::DocumentUpload;
use crate::applications::{ApplicationView, CollectedBatch, MAX_BATCH};
use crate::model::Submission;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .post("/v1/applications", submit)
        .get("/v1/applications/{id}", application)
        .get("/v1/applications/{id}/events", application_events)
        .post("/v1/applications/{id}/credential", collect)
        .post("/v1/applications/{id}/documents", upload_documents)
}

/// Submit an application.
///
/// The body must match the application JSON Schema (`schemas/application-v1.schema.json`).
/// The checks run at once; the application is answered in the state they lead to (approved,
/// in review or rejected). Anyone may submit: the credential will be bound to the `holder`
/// did:key, and only that key can read the application or collect the credential. Every image
/// must be a JPEG or PNG that decodes, at most 8192 px a side and 24 MP; a holder may have a
/// few applications waiting for a decision at once (`[limits] open_applications_per_holder`).
#[utoipa::path(
    post,
    path = "/v1/applications",
    tag = "applications",
    request_body(content = Submission, content_type = "application/json",
        description = "The application: identity data, the document, captures, the holder"),
    responses(
        (status = 201, description = "Accepted and checked; no personal data in the answer",
            body = ApplicationView),
        (status = 400, description = "Not JSON, trailing data, not matching the schema, the \
            holder is not an Ed25519 did:key, or an image is not a JPEG or PNG within the size \
            limits", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The holder already has as many applications waiting \
            for a decision as one holder may", content_type = "application/problem+json",
            body = Problem),
        (status = 422, description = "The jurisdiction has no policy here",
            content_type = "application/problem+json", body = Problem),
        (status = 429, description = "This client is over its rate limit; retry after \
            `Retry-After` seconds", content_type = "application/problem+json", body = Problem),
        JsonOnly, ServerError,
    ),
)]
pub(crate) async fn submit(
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
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        HolderToken, ServerError,
    ),
)]
pub(crate) async fn application(
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
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        HolderToken, ServerError,
    ),
)]
pub(crate) async fn application_events(
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

/// The holder keys a batch of credentials is to be bound to, each with its proof of possession
/// (OpenID4VCI 1.0 §8.2, `proofs` with the `jwt` proof type; `kyc_core::key_proof`).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollectRequest {
    /// The proofs, one per key.
    proofs: KeyProofs,
}

/// Proofs of possession by type; only `jwt` is accepted.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyProofs {
    /// 1 to 50 compact JWS, `typ: openid4vci-proof+jwt`, `kid` the did:key DID URL of the key
    /// proven, payload `{aud, iat, nonce}`: `aud` the issuer's public URL, `nonce` one from
    /// `POST /v1/nonce` (the same in every proof; used up by this request).
    jwt: Vec<String>,
}

/// Collect a batch of credentials of an approved application.
///
/// Caller: the application's holder (holder token). The body proves possession of 1 to 50
/// holder keys, fresh ones the wallet made for this batch; one credential is issued bound to
/// each (`cnf.jwk`), with its own status index, so that the holder can show each shop a
/// different one. Every collect issues a new batch for the same approval (valid over the same
/// days as the first), until the approval is revoked.
#[utoipa::path(
    post,
    path = "/v1/applications/{id}/credential",
    tag = "applications",
    params(("id" = String, Path, description = "The application id")),
    security(("holderJwt" = [])),
    request_body(content = CollectRequest, content_type = "application/json",
        description = "The proofs of possession of the holder keys"),
    responses(
        (status = 200, description = "The credentials, in both securing forms, in the order of             the proofs", body = CollectedBatch),
        (status = 400, description = "No proofs or more than 50, or a proof that does not             verify, names another audience, another nonce than the others, a key twice, or a             nonce that is unknown, expired or used",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The application is not approved, its credentials are             revoked or expired, or it changed concurrently",
            content_type = "application/problem+json", body = Problem),
        HolderToken, JsonOnly, Erased, ServerError,
    ),
)]
pub(crate) async fn collect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
    JsonBody(request): JsonBody<CollectRequest>,
) -> Result<Json<CollectedBatch>, Problem> {
    let proofs = &request.proofs.jwt;
    if proofs.is_empty() || proofs.len() > MAX_BATCH {
        return Err(Problem::bad_request(format!(
            "proofs.jwt must hold 1 to {MAX_BATCH} key proofs"
        )));
    }
    let now = Utc::now();
    let proven = kyc_core::key_proof::verify_batch(proofs, &state.audience, now)
        .map_err(|e| Problem::bad_request(format!("a key proof is not valid: {e}")))?;
    let fresh = state
        .nonces
        .consume(&proven.nonce, now)
        .map_err(|_| Problem::internal())?;
    if !fresh {
        return Err(Problem::bad_request(
            "the key proofs' nonce is unknown, expired or already used; ask POST /v1/nonce for \
             another",
        ));
    }
    let batch = state
        .applications
        .collect(&id, &who.did, &proven.keys, now)
        .await?;
    Ok(Json(batch))
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
    request_body(content = DocumentUpload, content_type = "application/json",
        description = "The documents and captures that replace the submitted ones"),
    responses(
        (status = 200, description = "Checked again; the application in its new state",
            body = ApplicationView),
        (status = 400, description = "Not JSON, not an object, a field that cannot be uploaded, \
            or the submission no longer matches the schema",
            content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application, or not the caller's",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "No documents were requested, or the application changed \
            concurrently", content_type = "application/problem+json", body = Problem),
        HolderToken, JsonOnly, Erased, ServerError,
    ),
)]
pub(crate) async fn upload_documents(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Holder(who): Holder,
    JsonBody(DocumentUpload(additions)): JsonBody<DocumentUpload>,
) -> Result<Json<ApplicationView>, Problem> {
    let view = state
        .applications
        .upload_documents(&id, &who.did, &additions, Utc::now())
        .await?;
    Ok(Json(view))
}
