//! Manual review: the queue, a reviewer's decision, the compliance officer's reports.

use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use crate::api::extract::{Compliance, JsonBody, Reviewer, Staff};
use crate::api::problem::Problem;
use crate::api::responses::{ComplianceToken, JsonOnly, ReviewerToken, ServerError};
use crate::api::state::{AppState, Routes};
use kyc_core::audit_event::DecisionAction;
use kyc_core::KycTier;

use crate::applications::ApplicationView;
use crate::model::{ReportRecord, ReviewDecision};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/v1/review/queue", review_queue)
        .get("/v1/reports", reports)
        .post("/v1/review/{id}", review)
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
        ReviewerToken, ServerError,
    ),
)]
pub(crate) async fn review_queue(
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
        ComplianceToken, ServerError,
    ),
)]
pub(crate) async fn reports(
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
    request_body(content = ReviewRequest, content_type = "application/json",
        description = "The reviewer's decision"),
    responses(
        (status = 200, description = "Decided; the application in its new state",
            body = ApplicationView),
        (status = 400, description = "Not a decision (unknown field, `review`, approve without a \
            tier)", content_type = "application/problem+json", body = Problem),
        (status = 404, description = "No such application",
            content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The application is not in review, or changed concurrently",
            content_type = "application/problem+json", body = Problem),
        (status = 422, description = "The tier is not backed by the checks, or not allowed at \
            this risk level", content_type = "application/problem+json", body = Problem),
        ReviewerToken, JsonOnly, ServerError,
    ),
)]
pub(crate) async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Staff(reviewer, _): Staff<Reviewer>,
    JsonBody(decision): JsonBody<ReviewRequest>,
) -> Result<Json<ApplicationView>, Problem> {
    let view = state
        .applications
        .review(&id, &reviewer.id, decision.into(), Utc::now())
        .await?;
    Ok(Json(view))
}

/// A reviewer's decision on an application in review.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ReviewDecision)]
pub(crate) struct ReviewRequest {
    /// approve, reject or request_documents.
    #[schema(schema_with = crate::api::schemas::reviewer_action)]
    action: DecisionAction,
    /// The tier, with approve.
    #[serde(default)]
    tier: Option<KycTier>,
    /// Reason codes.
    #[serde(default)]
    reasons: Vec<String>,
    /// Screening-list entity ids the reviewer found are not this customer (false positives);
    /// remembered for the subject, so that later checks of it do not raise them again.
    #[serde(default)]
    cleared_screening_matches: Vec<String>,
}

impl From<ReviewRequest> for ReviewDecision {
    fn from(r: ReviewRequest) -> Self {
        Self {
            action: r.action,
            tier: r.tier,
            reasons: r.reasons,
            cleared_screening_matches: r.cleared_screening_matches,
        }
    }
}
