//! The HTTP API (axum): routes, their limits, and RFC 9457 problem responses.
//!
//! Every error is `application/problem+json` ([`problem::Problem`]); query and body rejections
//! are mapped to it too, so no client ever has to parse a plain-text error.

mod applications;
pub mod audit;
pub mod problem;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use std::sync::Arc;

use crate::applications::Applications;
use crate::audit::AuditLog;
use crate::auth::{NonceStore, StaffDirectory};
use crate::config::Config;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The durable audit log.
    pub audit: AuditLog,
    /// The business logic.
    pub applications: Arc<Applications>,
    /// Server nonces for holder tokens.
    pub nonces: Arc<dyn NonceStore>,
    /// Staff and roles.
    pub staff: Arc<StaffDirectory>,
    /// The audience holder tokens must name (the issuer's public URL).
    pub audience: String,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// The whole API with its limits.
pub fn router(state: AppState, config: &Config) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/v1/audit", audit::routes())
        .merge(applications::routes())
        .fallback(|| async { problem::Problem::not_found("no such route") })
        .layer(DefaultBodyLimit::max(config.limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.limits.request_timeout_secs),
        ))
        // Request lines only (method, matched route, status, latency): paths carry pseudonymous
        // ids at most, bodies are never logged.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "auditSize": state.audit.size()}))
}
