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
///
/// The rate limits apply to the routes anyone may call that create state (`POST /v1/nonce`,
/// `POST /v1/liveness-challenges`, `POST /v1/applications`): per client address and over all
/// clients together, a token bucket each (GCRA), answered 429 with `Retry-After` when empty.
/// Every holder call spends a nonce, so the nonce's limit bounds those too; reads and staff
/// calls are bounded by `max_concurrent_requests`. The client address is the connection's peer
/// (an IPv6 address counts by its /64, what one host is usually given); behind a reverse proxy
/// every request would share the proxy's address, so the operator names the header the proxy
/// sets in `client_ip_header` (e.g. `x-forwarded-for`, whose last entry is the one the proxy
/// appended): only then, and only for that header, is a header believed.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes.
    pub body_bytes: usize,
    /// Requests taking longer are answered 408.
    pub request_timeout_secs: u64,
    /// Requests served at once; more are answered 503 at once (load shedding), so that a
    /// flood cannot queue up work behind the requests already in hand.
    pub max_concurrent_requests: usize,
    /// A connection that does not send a request's whole header within this time is closed
    /// (it also bounds how long an idle keep-alive connection stays open).
    pub header_read_timeout_secs: u64,
    /// Intake requests per minute one client address may make, sustained.
    pub client_requests_per_minute: u32,
    /// Intake requests one client address may make at once before the rate applies.
    pub client_burst: u32,
    /// Intake requests per minute over all clients together, sustained.
    pub requests_per_minute: u32,
    /// Intake requests over all clients at once before the rate applies.
    pub burst: u32,
    /// Nonces one client address may hold outstanding (issued, unused, unexpired).
    pub nonces_per_client: usize,
    /// The header a trusted reverse proxy puts the client's address in (its last value is
    /// used); unset (the default), the connection's peer address is the client's.
    pub client_ip_header: Option<String>,
    /// Applications one holder may have open (submitted and not yet approved or rejected);
    /// one more is refused until a decision closes one.
    pub open_applications_per_holder: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: 8 * 1024 * 1024,
            request_timeout_secs: 30,
            max_concurrent_requests: 1024,
            header_read_timeout_secs: 10,
            client_requests_per_minute: 600,
            client_burst: 120,
            requests_per_minute: 60_000,
            burst: 2_000,
            nonces_per_client: 1_000,
            client_ip_header: None,
            open_applications_per_holder: 3,
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
    /// The key rotation statements published, oldest first (read at start).
    pub key_rotations: Arc<[String]>,
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
