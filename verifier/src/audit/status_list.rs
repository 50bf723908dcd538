//! Whether a status list is the one the audit log implies (`kyc-verify audit status-list`).
//!
//! The issuer logs every status list before signing it (`status_list_published`, naming the
//! digest of the list's signing input), and every revocation (`credential_revoked`, naming the
//! credential `credential_issued` put in a list slot). So for any list a merchant cached, the
//! auditor replays the log and says:
//!
//! - whether the list is **in the log**: its digest ([`kyc_core::jws::input_digest`]) is named by
//!   a `status_list_published` entry; a list the issuer's key signed that is not there was
//!   signed outside the service (a leaked key, a tool);
//! - whether its bits are **what the log implies**: set exactly at the revocations logged before
//!   that entry, or, for a list not in the log, before its `validFrom`; the first index where
//!   they differ is named, with which side says revoked. A list that un-revokes a logged
//!   revocation is caught here whoever signed it.
//!
//! The log is replayed in full first (chain, tree, checkpoint, business rules): a log that does
//! not verify gives no verdict on a list.

use std::collections::BTreeSet;

use kyc_core::did::Resolver;
use kyc_core::status_list::VerifiedStatusList;
use serde::Serialize;

use super::business::Watch;
use super::failure::ReplayError;
use super::report::ReplayReport;

/// Why no verdict: the list is not a status list, or the log does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// The list does not parse or its signature does not verify with its `kid`.
    #[error("not a verifiable status list: {0}")]
    List(#[from] kyc_core::VerifyError),
    /// The log could not be read.
    #[error(transparent)]
    Read(#[from] ReplayError),
    /// The log does not verify: see the report.
    #[error("the log does not verify ({code})")]
    Log {
        /// The replay's report.
        report: Box<ReplayReport>,
        /// Its failure's code.
        code: &'static str,
    },
}

/// The first index where a list and the log disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDifference {
    /// The index in the list.
    pub index: u64,
    /// Whether the log says it is revoked.
    pub revoked_in_log: bool,
    /// Whether the list says it is revoked.
    pub revoked_in_list: bool,
}

/// The verdict on one status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusListCheck {
    /// Whether the list is the one the log implies: in the log, and every bit as logged.
    pub valid: bool,
    /// The list's URL.
    pub list: String,
    /// Its issuer (the `did:key` that signed it).
    pub issuer: String,
    /// The seq of the `status_list_published` entry naming it, if any.
    pub published_at: Option<u64>,
    /// Revoked entries in the list.
    pub revoked_in_list: u64,
    /// Revoked entries the log implies for it.
    pub revoked_in_log: u64,
    /// The first index where they differ.
    pub first_difference: Option<ListDifference>,
    /// Machine-readable reasons: `not_in_log`, `unrevokes_logged_revocation`,
    /// `revokes_unlogged_entry`.
    pub reasons: Vec<&'static str>,
}

/// `list_jwt` verified, and what to look for in the log about it.
pub(super) fn watch_for(list_jwt: &str) -> Result<(VerifiedStatusList, Watch), StatusListError> {
    let list = kyc_core::status_list::verify_jwt(list_jwt.trim(), &Resolver::new())?;
    let watch = Watch {
        digest: kyc_core::jws::input_digest(list_jwt.trim()).unwrap_or_default(),
        url: list.credential.id.clone(),
        valid_from: list.credential.valid_from,
        ..Watch::default()
    };
    Ok((list, watch))
}

/// The verdict on `list`, given what the replay found about it (`watched`).
pub(super) fn judge(list: VerifiedStatusList, watched: Watch) -> StatusListCheck {
    let (published_at, logged) = match watched.published {
        Some((seq, set)) => (Some(seq), set),
        None => (None, watched.as_of_valid_from.unwrap_or_default()),
    };
    let served: BTreeSet<u64> = list.list.set_indexes().collect();
    let first_difference =
        logged
            .symmetric_difference(&served)
            .next()
            .map(|&index| ListDifference {
                index,
                revoked_in_log: logged.contains(&index),
                revoked_in_list: served.contains(&index),
            });
    let mut reasons = Vec::new();
    if published_at.is_none() {
        reasons.push("not_in_log");
    }
    if logged.difference(&served).next().is_some() {
        reasons.push("unrevokes_logged_revocation");
    }
    if served.difference(&logged).next().is_some() {
        reasons.push("revokes_unlogged_entry");
    }
    StatusListCheck {
        valid: reasons.is_empty(),
        list: list.credential.id,
        issuer: list.credential.issuer,
        published_at,
        revoked_in_list: served.len() as u64,
        revoked_in_log: logged.len() as u64,
        first_difference,
        reasons,
    }
}
