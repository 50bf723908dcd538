//! What the handlers share ([`AppState`]), the request limits, and the route table that keeps
//! every route's method and path ([`Routes`]).

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use serde::Deserialize;

use crate::applications::Applications;
use crate::audit::AuditLog;
use crate::auth::{NonceStore, StaffDirectory};

/// Request limits (`[limits]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes.
    pub body_bytes: usize,
    /// Requests taking longer are answered 408.
    pub request_timeout_secs: u64,
    /// Connections served at once; more wait.
    pub max_concurrent_requests: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: 8 * 1024 * 1024,
            request_timeout_secs: 30,
            max_concurrent_requests: 1024,
        }
    }
}

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
    /// The API's OpenAPI document, with the public URL as its server (built at start).
    pub openapi: Arc<str>,
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
    pub(super) router: Router<AppState>,
    pub(super) served: Vec<(Method, String)>,
}

impl Routes {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::GET, path, axum::routing::get(handler))
    }

    pub(crate) fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::POST, path, axum::routing::post(handler))
    }

    pub(crate) fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
    ) -> Self {
        self.add(Method::DELETE, path, axum::routing::delete(handler))
    }

    /// `routes` under `prefix`.
    pub(crate) fn nest(mut self, prefix: &str, routes: Routes) -> Self {
        self.router = self.router.nest(prefix, routes.router);
        self.served.extend(
            routes
                .served
                .into_iter()
                .map(|(method, path)| (method, format!("{prefix}{path}"))),
        );
        self
    }

    pub(crate) fn merge(mut self, routes: Routes) -> Self {
        self.router = self.router.merge(routes.router);
        self.served.extend(routes.served);
        self
    }
}
