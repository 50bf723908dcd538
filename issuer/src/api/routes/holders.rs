//! What a customer asks for before submitting: a nonce for a holder token, a liveness
//! challenge to film.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::problem::{auth_problem, Problem};
use crate::api::responses::ServerError;
use crate::api::state::{AppState, Routes};
use crate::model::LivenessChallenge;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .post("/v1/nonce", nonce)
        .post("/v1/liveness-challenges", liveness_challenge)
}

/// A fresh nonce for a holder token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Nonce {
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
        (status = 503, description = "Too many outstanding nonces; retry later",
            content_type = "application/problem+json", body = Problem),
        ServerError,
    ),
)]
pub(crate) async fn nonce(State(state): State<AppState>) -> Result<Json<Nonce>, Response> {
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
pub(crate) async fn liveness_challenge(
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
