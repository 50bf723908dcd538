//! `/v1/audit/*`: the log's signed checkpoint, its entries, and proofs, for auditors and
//! monitors. The JSON proof shapes are the ones `kyc-verify audit inclusion|consistency` read.

use axum::extract::{Query, State};
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use super::AppState;
use crate::audit::AuditError;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/entries", get(entries))
        .route("/proof/inclusion", get(inclusion))
        .route("/proof/consistency", get(consistency))
}

/// Parse the query string into `T`, answering a problem (not axum's plain text) when it fails.
fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, Problem> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| Problem::bad_request(e.body_text()))
}

impl From<AuditError> for Problem {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::BadRange { .. }
            | AuditError::RangeTooLarge { .. }
            | AuditError::Proof(_) => Problem::bad_request(e.to_string()),
            other => {
                tracing::error!(error = %other, "audit log failure");
                Problem::internal()
            }
        }
    }
}

/// A fresh checkpoint over the current tree, as a C2SP signed note (`text/plain`).
async fn checkpoint(State(state): State<AppState>) -> Result<Response, Problem> {
    let note = state.audit.checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    from: u64,
    to: u64,
}

/// Entries `from..to` (half-open) as JSON Lines, exactly the bytes that were hashed.
async fn entries(State(state): State<AppState>, uri: Uri) -> Result<Response, Problem> {
    let Range { from, to } = query(&uri)?;
    let lines = state.audit.entries(from, to)?;
    let mut body = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        body.push_str(&line);
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], body).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    seq: u64,
    size: u64,
}

/// `{"seq", "size", "leafHash", "proof": [base64…]}`: RFC 9162 §2.1.3 inclusion proof.
async fn inclusion(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<serde_json::Value>, Problem> {
    let InclusionQuery { seq, size } = query(&uri)?;
    let proof = state.audit.inclusion_proof(seq, size)?;
    let line = state
        .audit
        .entries(seq, seq + 1)?
        .pop()
        .ok_or_else(Problem::internal)?;
    let leaf = kyc_core::tlog::merkle::leaf_hash(line.as_bytes());
    Ok(Json(json!({
        "seq": seq,
        "size": size,
        "leafHash": B64.encode(leaf),
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    })))
}

/// `{"from", "to", "proof": [base64…]}`: RFC 9162 §2.1.4 consistency proof.
async fn consistency(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<serde_json::Value>, Problem> {
    let Range { from, to } = query(&uri)?;
    let proof = state.audit.consistency_proof(from, to)?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    })))
}
