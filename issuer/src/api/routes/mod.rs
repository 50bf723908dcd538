//! The routes, by resource. Each file's `routes()` adds its handlers to the route table.

pub(crate) mod applications;
pub(crate) mod audit;
pub(crate) mod biometric;
pub(crate) mod credentials;
pub(crate) mod holders;
pub(crate) mod review;
pub(crate) mod service;
pub(crate) mod subjects;
pub(crate) mod webhooks;

use super::state::Routes;

/// Every route of the API, without its limits.
pub(crate) fn all() -> Routes {
    Routes::new()
        .merge(service::routes())
        .nest("/v1/audit", audit::routes())
        .merge(holders::routes())
        .merge(biometric::routes())
        .merge(applications::routes())
        .merge(review::routes())
        .merge(credentials::routes())
        .merge(webhooks::routes())
        .merge(subjects::routes())
}
