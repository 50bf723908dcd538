//! RFC 9457 problem details: every error the API returns is `application/problem+json`, and
//! this is the one place where an error becomes an HTTP status.

use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::applications::ApplicationError;
use crate::audit::AuditError;
use crate::auth::{AuthError, AuthFailure};
use crate::webhooks::WebhookError;

/// One problem: an HTTP status, a stable type, a title and a detail that never holds personal
/// data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "https://kyc.invalid/problems/not-found",
    "title": "Not found",
    "status": 404,
    "detail": "not found"
}))]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` semantics are not used: each has its own).
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub kind: String,
    /// Short, stable summary of the type.
    #[schema(value_type = String)]
    pub title: &'static str,
    /// The HTTP status code, repeated in the body (RFC 9457 §3.1.3).
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
}

impl Problem {
    /// A problem of type `https://kyc.invalid/problems/<code>`.
    pub fn new(
        status: StatusCode,
        code: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: format!("https://kyc.invalid/problems/{code}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// 404: nothing there.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 500: our fault; the detail is logged, not returned.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the issuer could not complete the request; it has been logged",
        )
    }
}

/// A body that could not be read: 413 over the size limit, otherwise as axum classifies it.
impl From<BytesRejection> for Problem {
    fn from(rejection: BytesRejection) -> Self {
        let status = rejection.status();
        let (code, title) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Payload too large"),
            s if s.is_server_error() => ("internal", "Internal error"),
            _ => ("bad-request", "Bad request"),
        };
        Self::new(
            status,
            code,
            title,
            kyc_core::error::redact_values(&rejection.body_text()),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
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
            // A quota, not a rate: retrying helps only once a decision closes an application.
            ApplicationError::TooManyOpen(_) => (
                StatusCode::CONFLICT,
                "too-many-open-applications",
                "Too many open applications",
            ),
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
            ApplicationError::State(_)
            | ApplicationError::SubjectKeys(_)
            | ApplicationError::Audit(_)
            | ApplicationError::Pii(_)
            | ApplicationError::Webhook(_)
            | ApplicationError::Broken(_) => {
                // The whole chain of causes, for the operator; the caller learns nothing of it.
                tracing::error!(error = %ErrorChain(&e), "request failed");
                return Problem::internal();
            }
        };
        Problem::new(status, code, title, e.to_string())
    }
}

impl From<AuditError> for Problem {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::BadRange { .. }
            | AuditError::RangeTooLarge { .. }
            | AuditError::Proof(_) => Problem::bad_request(e.to_string()),
            other => {
                tracing::error!(error = %other, "audit log failure");
                Problem::internal()
            }
        }
    }
}

impl From<WebhookError> for Problem {
    fn from(e: WebhookError) -> Self {
        match &e {
            WebhookError::BadUrl(_) | WebhookError::Forbidden(_) => {
                Problem::bad_request(e.to_string())
            }
            WebhookError::NotFound => Problem::not_found(e.to_string()),
            _ => {
                tracing::error!(error = %e, "webhook request failed");
                Problem::internal()
            }
        }
    }
}

/// An error with its sources, `: `-separated, for the log.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

/// 401 for no usable credentials or credentials that do not verify, 403 for a caller not
/// allowed, 429 when the client used up its share, 503 when a bound is reached, 500 when the
/// server failed.
fn auth_status(e: &AuthError) -> StatusCode {
    match e.kind() {
        AuthFailure::Unauthenticated => StatusCode::UNAUTHORIZED,
        AuthFailure::Forbidden => StatusCode::FORBIDDEN,
        AuthFailure::Throttled => StatusCode::TOO_MANY_REQUESTS,
        AuthFailure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AuthFailure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `WWW-Authenticate` challenge for a 401 or 403 response (RFC 6750 §3, §3.1): no error
/// code when credentials are missing, `invalid_request` when malformed, `invalid_token` when
/// they do not verify, `insufficient_scope` when forbidden. `None` for server errors.
fn www_authenticate(e: &AuthError) -> Option<&'static str> {
    match (e, e.kind()) {
        (AuthError::MissingCredentials, _) => Some("Bearer"),
        (AuthError::MalformedCredentials(_), _) => Some("Bearer error=\"invalid_request\""),
        (_, AuthFailure::Forbidden) => Some("Bearer error=\"insufficient_scope\""),
        (_, AuthFailure::Unauthenticated) => Some("Bearer error=\"invalid_token\""),
        _ => None,
    }
}

/// An authentication failure as a problem, with its RFC 6750 challenge.
pub(super) fn auth_problem(e: &AuthError) -> Response {
    let status = auth_status(e);
    let mut response =
        Problem::new(status, e.code(), "Not authorised", e.to_string()).into_response();
    if let Some(challenge) = www_authenticate(e) {
        if let Ok(value) = HeaderValue::from_str(challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_challenges() {
        assert_eq!(
            www_authenticate(&AuthError::MissingCredentials),
            Some("Bearer")
        );
        assert_eq!(
            www_authenticate(&AuthError::Expired),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_eq!(auth_status(&AuthError::NotTheHolder), StatusCode::FORBIDDEN);
        assert_eq!(www_authenticate(&AuthError::TooManyNonces), None);
        assert_eq!(
            auth_status(&AuthError::NonceStore("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            auth_status(&AuthError::TooManyNonces),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(AuthError::BadSignature.code(), "bad-signature");
        assert_eq!(
            www_authenticate(&AuthError::malformed("x")),
            Some("Bearer error=\"invalid_request\"")
        );
    }
}
