//! RFC 9457 problem details: every error the API returns is `application/problem+json`.

use axum::extract::rejection::BytesRejection;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
        Self::new(status, code, title, rejection.body_text())
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
