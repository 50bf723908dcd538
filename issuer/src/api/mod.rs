//! The HTTP API (axum): routes, their limits, and RFC 9457 problem responses.
//!
//! Every error is `application/problem+json` ([`problem::Problem`]); query and body rejections
//! are mapped to it too, so no client ever has to parse a plain-text error. The API describes
//! itself at `GET /openapi.json` ([`openapi`]).
//!
//! Routes are added through `Routes`, which keeps the method and path of each: the OpenAPI
//! tests compare that table with the document, so a route cannot be served undocumented.

mod applications;
pub mod audit;
mod extract;
pub mod openapi;
pub mod problem;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

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

/// A router that keeps the method and path of every route added to it, so that the routes
/// served can be compared with the routes documented (`openapi` tests).
pub(crate) struct Routes {
    router: Router<AppState>,
    served: Vec<(Method, String)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    fn add(mut self, method: Method, path: &str, route: MethodRouter<AppState>) -> Self {
        // axum merges the method routers of one path, so `GET` and `POST` may come separately.
        self.router = self.router.route(path, route);
        self.served.push((method, path.to_owned()));
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::GET, path, axum::routing::get(handler))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::POST, path, axum::routing::post(handler))
    }

    fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::DELETE, path, axum::routing::delete(handler))
    }

    /// `routes` under `prefix`.
    fn nest(mut self, prefix: &str, routes: Routes) -> Self {
        self.router = self.router.nest(prefix, routes.router);
        self.served.extend(
            routes
                .served
                .into_iter()
                .map(|(method, path)| (method, format!("{prefix}{path}"))),
        );
        self
    }

    fn merge(mut self, routes: Routes) -> Self {
        self.router = self.router.merge(routes.router);
        self.served.extend(routes.served);
        self
    }
}

/// Every route of the API, without its limits.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/openapi.json", openapi_json)
        .nest("/v1/audit", audit::routes())
        .merge(applications::routes())
}

/// The `(method, path)` of every route [`router`] serves, in the order they are added; paths
/// are in OpenAPI form (`{id}`), as axum writes them. For checking the documentation.
pub fn served_routes() -> Vec<(Method, String)> {
    routes().served
}

/// The whole API with its limits.
pub fn router(state: AppState, config: &Config) -> Router {
    routes()
        .router
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

/// The service's health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Health {
    /// Always `ok`: the service answers.
    #[schema(example = "ok")]
    status: &'static str,
    /// Entries in the audit log.
    audit_size: u64,
}

/// Liveness and the audit log's size.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "The service answers", body = Health)),
)]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        audit_size: state.audit.size(),
    })
}

/// This document: the API in OpenAPI 3.1.
///
/// Built per request (it names the issuer's public URL as its server); requests are rare and
/// the document small.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json",
            body = inline(openapi::OpenApiDocument)),
        (status = 500, description = "The document could not be serialised",
            content_type = "application/problem+json", body = problem::Problem),
    ),
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    match openapi::document(&state.audience) {
        Ok(document) => ([(header::CONTENT_TYPE, "application/json")], document).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "OpenAPI document");
            problem::Problem::internal().into_response()
        }
    }
}
