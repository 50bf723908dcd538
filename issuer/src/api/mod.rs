//! The HTTP API (axum): routes, their limits, and RFC 9457 problem responses. The only part of
//! the issuer that knows HTTP: the domain below takes plain values.
//!
//! Every error is `application/problem+json` ([`problem::Problem`]), and `problem` is the one
//! place where an error becomes a status; query and body rejections are mapped to it too, so no
//! client ever has to parse a plain-text error. The API describes itself at
//! `GET /openapi.json` ([`openapi`]).
//!
//! Routes are added through `Routes`, which keeps the method and path of each: the OpenAPI
//! tests compare that table with the document, so a route cannot be served undocumented.
//!
//! # Layout
//! - `state`: what the handlers share, the limits, the route table.
//! - `extract`: who is calling (holder and staff bearer tokens), a vendor's signature header,
//!   strict JSON bodies.
//! - `problem`: RFC 9457 problems and every error's status.
//! - `responses`: the problem responses many operations share, for the document.
//! - `routes`: the handlers, by resource.
//! - `schemas`: the schemas no derive can give.
//! - `throttle`: the client's address, the rate limits on the intake routes, the answer of
//!   the concurrency limit when it sheds a request.
//! - [`openapi`]: the document.

mod extract;
pub mod openapi;
pub mod problem;
mod responses;
mod routes;
mod schemas;
mod state;
mod throttle;

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// A JSON body as the API's `JsonBody` extractor reads it: every member named once, then
    /// parsed strictly (trailing data refused).
    pub fn json_body(body: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
        super::extract::unique_members(body)?;
        serde_json::from_slice(body)
    }
}

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, LimitsConfig};

/// The `(method, path)` of every route [`router`] serves, in the order they are added; paths
/// are in OpenAPI form (`{id}`), as axum writes them. For checking the documentation.
pub fn served_routes() -> Vec<(Method, String)> {
    routes::all().served
}

/// The whole API with its `limits`: from the outside in, the request trace, the concurrency
/// limit (a request over `max_concurrent_requests` is answered 503 at once), the client's
/// address and the intake rate limits (`throttle`), the request timeout, the body limit.
///
/// Serve it with the peer's address as `ConnectInfo<SocketAddr>` (`crate::service` does):
/// without one, and without a configured proxy header, a request is a 500.
pub fn router(state: AppState, limits: &LimitsConfig) -> Router {
    let throttle = throttle::Throttle::new(limits);
    routes::all()
        .router
        .fallback(|| async { problem::Problem::not_found("no such route") })
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .layer(axum::middleware::from_fn_with_state(
            throttle,
            throttle::throttle,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(throttle::overloaded))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                )),
        )
        // Request lines only (method, matched route, status, latency): paths carry pseudonymous
        // ids at most, bodies are never logged.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
