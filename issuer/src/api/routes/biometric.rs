//! A biometric vendor's late result, on its signed webhook.

use axum::extract::State;
use axum::Json;
use chrono::Utc;

use crate::api::extract::{JsonBytes, VendorSignature};
use crate::api::problem::Problem;
use crate::api::responses::{JsonOnly, ServerError};
use crate::api::state::{AppState, Routes};
use crate::applications::ApplicationView;

pub(crate) fn routes() -> Routes {
    Routes::new().post("/v1/biometric/vendor-results", vendor_result)
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
        (status = 404, description = "No vendor configured, or no request waits for this \
            reference (unknown, or already delivered)",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The application no longer waits for it",
            content_type = "application/problem+json", body = Problem),
        JsonOnly, ServerError,
    ),
)]
pub(crate) async fn vendor_result(
    State(state): State<AppState>,
    VendorSignature(signature): VendorSignature,
    JsonBytes(body): JsonBytes,
) -> Result<Json<ApplicationView>, Problem> {
    let view = state
        .applications
        .vendor_result(signature.as_deref(), &body, Utc::now())
        .await?;
    Ok(Json(view))
}
