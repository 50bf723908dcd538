//! Request extractors: who is calling ([`Holder`], [`Staff`]) and a strict JSON body
//! ([`JsonBody`]). Each rejects with a problem, so a handler sees only what it may act on.
//!
//! axum runs extractors in argument order, the body last. A handler takes `Path` before the
//! caller, so a malformed path is refused without spending a holder token's nonce, and the
//! caller before its `JsonBody`, so an unauthenticated request is refused (401 or 403) before
//! its body is read.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;

use super::problem::Problem;
use super::AppState;
use crate::auth::{self, AuthError, HolderIdentity, Role, StaffMember};

/// An authentication failure as a problem, with its RFC 6750 challenge.
pub(super) fn auth_problem(e: &AuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response =
        Problem::new(status, e.code(), "Not authorised", e.to_string()).into_response();
    if let Some(challenge) = e.www_authenticate() {
        if let Ok(value) = HeaderValue::from_str(challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// The caller, authenticated by a holder token (which uses up its nonce).
pub(super) struct Holder(pub(super) HolderIdentity);

impl FromRequestParts<AppState> for Holder {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        auth::authenticate_holder(
            &parts.headers,
            &state.audience,
            state.nonces.as_ref(),
            Utc::now(),
        )
        .map(Self)
        .map_err(|e| auth_problem(&e))
    }
}

/// The roles a [`Staff`] extractor accepts.
pub(super) trait StaffRoles {
    /// Any one of these will do.
    const ACCEPTED: &'static [Role];
}

/// Staff with role `reviewer`.
pub(super) enum Reviewer {}

impl StaffRoles for Reviewer {
    const ACCEPTED: &'static [Role] = &[Role::Reviewer];
}

/// Staff with role `admin`.
pub(super) enum Admin {}

impl StaffRoles for Admin {
    const ACCEPTED: &'static [Role] = &[Role::Admin];
}

/// Staff with role `compliance` (the compliance officer).
pub(super) enum Compliance {}

impl StaffRoles for Compliance {
    const ACCEPTED: &'static [Role] = &[Role::Compliance];
}

/// The caller, a staff member holding one of `R`'s roles: a missing or unknown token is 401,
/// another role 403.
pub(super) struct Staff<R>(pub(super) StaffMember, pub(super) PhantomData<R>);

impl<R: StaffRoles> FromRequestParts<AppState> for Staff<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        state
            .staff
            .authorize(&parts.headers, R::ACCEPTED)
            .map(|member| Self(member, PhantomData))
            .map_err(|e| auth_problem(&e))
    }
}

/// A JSON body: `application/json` only, parsed strictly (trailing data refused); a body over
/// the size limit is a 413 problem.
pub(super) struct JsonBody<T>(pub(super) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let JsonBytes(body) = JsonBytes::from_request(req, state).await?;
        serde_json::from_slice(&body).map(Self).map_err(|e| {
            Problem::bad_request(kyc_core::MalformedError::json("body", &e).to_string())
        })
    }
}

/// An `application/json` body as the bytes that were sent (for a signature over them); a body
/// over the size limit is a 413 problem, another media type a 415.
pub(super) struct JsonBytes(pub(super) Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|content_type| content_type.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        // Read first: an unreadable or oversized body is answered as such, whatever its type.
        let body = Bytes::from_request(req, state).await?;
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be application/json",
            ));
        }
        Ok(Self(body))
    }
}
