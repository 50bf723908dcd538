//! `/v1/audit/*`: the log's signed checkpoint, its entries, and proofs. The JSON proofs are
//! kyc-core's `tlog::proof` types, the ones `kyc-verify audit inclusion|consistency` read.
//!
//! Only the checkpoint is public: anyone may watch the tree grow and hold the issuer to one
//! history. The entries and the proofs are for staff with the `auditor` role: even
//! pseudonymous, the log tells a case's story (checks, reasons, reviews), and a merchant who
//! saw one credential must not be able to read the story of its holder.

use axum::extract::{Query, State};
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kyc_core::tlog::merkle::leaf_hash;
pub(crate) use kyc_core::tlog::{ConsistencyProof, InclusionProof};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::api::extract::{Auditor, Staff};
use crate::api::problem::Problem;
use crate::api::responses::{AuditorToken, ServerError};
use crate::api::state::{AppState, Routes};

/// Served under `/v1/audit`.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/checkpoint", checkpoint)
        .get("/entries", entries)
        .get("/proof/inclusion", inclusion)
        .get("/proof/consistency", consistency)
}

/// Parse the query string into `T`, answering a problem (not axum's plain text) when it fails.
fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, Problem> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| Problem::bad_request(kyc_core::error::redact_values(&e.body_text())))
}

/// A fresh checkpoint over the current tree, as a C2SP signed note (`text/plain`).
///
/// Public: it commits to the whole log without revealing an entry.
#[utoipa::path(
    get,
    path = "/v1/audit/checkpoint",
    tag = "audit",
    responses(
        (status = 200, description = "The checkpoint: origin, size, base64 root hash, signature \
            lines (C2SP tlog-checkpoint, signed-note)", content_type = "text/plain", body = String),
        ServerError,
    ),
)]
pub(crate) async fn checkpoint(State(state): State<AppState>) -> Result<Response, Problem> {
    let note = state.audit.checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// A range of the log, or of the tree sizes between two checkpoints.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct Range {
    /// The first (entries) or older tree size (consistency).
    from: u64,
    /// One past the last (entries) or the newer tree size (consistency).
    to: u64,
}

/// Entries `from..to` (half-open) as JSON Lines, exactly the bytes that were hashed.
///
/// Caller: staff with role `auditor`.
#[utoipa::path(
    get,
    path = "/v1/audit/entries",
    tag = "audit",
    security(("staffToken" = ["auditor"])),
    params(Range),
    responses(
        (status = 200, description = "One audit event per line, as hashed into the tree",
            content_type = "application/jsonl", body = String),
        (status = 400, description = "Missing, unknown or malformed parameters, a range outside \
            the log or too large", content_type = "application/problem+json", body = Problem),
        AuditorToken, ServerError,
    ),
)]
pub(crate) async fn entries(
    _: Staff<Auditor>,
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Response, Problem> {
    let Range { from, to } = query(&uri)?;
    let lines = state.audit.entries(from, to)?;
    let mut body = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        body.push_str(&line);
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], body).into_response())
}

/// Which entry, in which tree.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct InclusionQuery {
    /// The entry's index.
    seq: u64,
    /// The tree size the proof is for (greater than `seq`).
    size: u64,
}

/// Prove that entry `seq` is in the tree of size `size` (RFC 9162 §2.1.3).
///
/// Caller: staff with role `auditor`.
#[utoipa::path(
    get,
    path = "/v1/audit/proof/inclusion",
    tag = "audit",
    security(("staffToken" = ["auditor"])),
    params(InclusionQuery),
    responses(
        (status = 200, description = "The inclusion proof", body = InclusionProof),
        (status = 400, description = "Missing, unknown or malformed parameters, or no such entry \
            or tree size", content_type = "application/problem+json", body = Problem),
        AuditorToken, ServerError,
    ),
)]
pub(crate) async fn inclusion(
    _: Staff<Auditor>,
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<InclusionProof>, Problem> {
    let InclusionQuery { seq, size } = query(&uri)?;
    let proof = state.audit.inclusion_proof(seq, size)?;
    let line = state
        .audit
        .entries(seq, seq + 1)?
        .pop()
        .ok_or_else(Problem::internal)?;
    Ok(Json(InclusionProof {
        seq,
        size,
        leaf_hash: leaf_hash(line.as_bytes()),
        proof,
        root: None,
    }))
}

/// Prove that the tree of size `from` is a prefix of the tree of size `to` (RFC 9162 §2.1.4).
///
/// Caller: staff with role `auditor`.
#[utoipa::path(
    get,
    path = "/v1/audit/proof/consistency",
    tag = "audit",
    security(("staffToken" = ["auditor"])),
    params(Range),
    responses(
        (status = 200, description = "The consistency proof", body = ConsistencyProof),
        (status = 400, description = "Missing, unknown or malformed parameters, or sizes out of \
            order or beyond the log", content_type = "application/problem+json", body = Problem),
        AuditorToken, ServerError,
    ),
)]
pub(crate) async fn consistency(
    _: Staff<Auditor>,
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<ConsistencyProof>, Problem> {
    let Range { from, to } = query(&uri)?;
    let proof = state.audit.consistency_proof(from, to)?;
    Ok(Json(ConsistencyProof {
        from,
        to,
        proof,
        root: None,
    }))
}
