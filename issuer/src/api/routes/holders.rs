//! What a customer asks for before submitting: a nonce for a holder token, a liveness
//! challenge to film (with a holder token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::extract::Holder;
use crate::api::problem::{auth_problem, Problem};
use crate::api::responses::{HolderToken, ServerError};
use crate::api::state::{AppState, Routes};
use crate::api::throttle::ClientAddress;
use crate::checks::biometric::ChallengeError;
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
        (status = 429, description = "This client is over its rate limit (`Retry-After`), or \
            holds as many outstanding nonces as one client may",
            content_type = "application/problem+json", body = Problem),
        (status = 503, description = "Too many outstanding nonces; retry later",
            content_type = "application/problem+json", body = Problem),
        ServerError,
    ),
)]
pub(crate) async fn nonce(
    State(state): State<AppState>,
    client: ClientAddress,
) -> Result<Json<Nonce>, Response> {
    let now = Utc::now();
    let nonce = state
        .nonces
        .issue(client.0, now)
        .map_err(|e| auth_problem(&e))?;
    Ok(Json(Nonce {
        nonce,
        expires_at: now + state.nonces.lifetime(),
    }))
}

/// Start the liveness step: a random sequence of head turns for the wallet to film, valid for
/// a few minutes and answerable once. The submission names its `id` in `livenessChallenge`
/// and carries one frame per turn, in order, in `livenessFrames`.
///
/// Caller: the future application's holder (holder token): the challenge answers only a
/// submission whose `holder` is that did:key, and a holder may have only a few outstanding
/// (unanswered, unexpired) at once, so that no caller can fill the registry for everyone.
#[utoipa::path(
    post,
    path = "/v1/liveness-challenges",
    tag = "applications",
    security(("holderJwt" = [])),
    responses(
        (status = 201, description = "A new challenge", body = LivenessChallenge),
        (status = 404, description = "No biometric provider is configured: biometrics are not \
            performed here, so there is no liveness step",
            content_type = "application/problem+json", body = Problem),
        (status = 429, description = "This client is over its rate limit (`Retry-After`), or \
            the holder has as many challenges outstanding as one holder may",
            content_type = "application/problem+json", body = Problem),
        (status = 503, description = "Too many open challenges; try again later",
            content_type = "application/problem+json", body = Problem),
        HolderToken, ServerError,
    ),
)]
pub(crate) async fn liveness_challenge(
    State(state): State<AppState>,
    Holder(holder): Holder,
) -> Result<(StatusCode, Json<LivenessChallenge>), Response> {
    let Some(challenges) = state.applications.checks().challenges() else {
        return Err(
            Problem::not_found("biometric checks are not performed by this issuer").into_response(),
        );
    };
    match challenges.issue(&holder.did, Utc::now()) {
        Ok(challenge) => Ok((StatusCode::CREATED, Json(challenge))),
        Err(e @ ChallengeError::HolderFull) => Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-challenges-for-holder",
            "Too many open challenges for this holder",
            e.to_string(),
        )
        .into_response()),
        Err(e) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too-many-challenges",
            "Too many open challenges",
            e.to_string(),
        )
        .into_response()),
    }
}
