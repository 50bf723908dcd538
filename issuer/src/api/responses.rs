//! Response sets many operations share, so that each operation lists only what is its own:
//! who may call it (a refused holder or staff token), what body it takes, what erasure means.

use std::collections::BTreeMap;

use utoipa::openapi::response::Response;
use utoipa::openapi::schema::Ref;
use utoipa::openapi::{ContentBuilder, RefOr};
use utoipa::{IntoResponses, ToSchema as _};

use super::problem::Problem;

/// A response whose body is a [`Problem`].
pub(super) fn problem_response(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        "application/problem+json".into(),
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(Problem::name())))
            .build(),
    );
    response
}

/// Declares a set of problem responses: `status => description`, each.
macro_rules! problem_responses {
    ($(#[$doc:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($status.to_owned(), RefOr::T(problem_response($description)))),+]
                    .into_iter()
                    .collect()
            }
        }
    };
}

problem_responses!(
    /// A holder route: the token refused.
    HolderToken {
    "401" => "No valid holder token",
});

problem_responses!(
    /// An admin route: the token refused, or another role.
    AdminToken {
    "401" => "No valid staff token",
    "403" => "The caller's role is not admin",
});

problem_responses!(
    /// A reviewer route: the token refused, or another role.
    ReviewerToken {
    "401" => "No valid staff token",
    "403" => "The caller's role is not reviewer",
});

problem_responses!(
    /// An auditor's route: the token refused, or another role.
    AuditorToken {
    "401" => "No valid staff token",
    "403" => "The caller's role is not auditor",
});

problem_responses!(
    /// The compliance officer's route: the token refused, or another role.
    ComplianceToken {
    "401" => "No valid staff token",
    "403" => "The caller's role is not compliance",
});

problem_responses!(
    /// A route that takes a JSON body: another media type refused.
    JsonOnly {
    "415" => "The body is not application/json",
});

problem_responses!(
    /// A route that reads the subject's personal data: gone once erased.
    Erased {
    "410" => "The subject's data has been erased",
});

problem_responses!(
    /// Any route: the issuer's own failure (its store, audit log, signing), logged, not shown.
    ServerError {
    "500" => "The issuer failed (its store, audit log, nonce store or signing); logged, not shown",
});
