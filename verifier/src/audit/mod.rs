//! The auditor: replays the issuer's exported audit log end to end, without trusting the
//! issuer's database, and checks single proofs.
//!
//! A replay ([`replay`]) streams the log (`docs/design.md`, "Audit log": JSON Lines, each line the
//! RFC 8785 form of `{seq, time, kind, prev, data}`) and checks, stopping at the first failure:
//!
//! 1. every line strictly: exactly the canonical form of an entry ([`kyc_core::tlog::Entry`]);
//! 2. the hash chain: seq contiguous from 0, each `prev` the previous entry's hash, time never
//!    going backwards;
//! 3. the RFC 6962 tree over the entries' leaf hashes: the root of the first `size` entries
//!    must be the signed checkpoint's root (signature checked with the log's key first), and a
//!    log shorter than the checkpoint is truncated; entries after the checkpoint's size are
//!    checked as a chain but not covered by the signature;
//! 4. with the state saved by the previous audit ([`AuditorState`]), that the log extends it:
//!    same origin, a checkpoint at least as large, and the first `state.size` entries hashing
//!    to the root verified then. A rewritten, truncated or forked log fails here even when the
//!    issuer signed a fresh checkpoint for it;
//! 5. the business rules, event by event (below).
//!
//! The result is a [`ReplayReport`]: counts, the checkpoint, and the first failure with its seq
//! and a stable code. Only reading errors are `Err` ([`ReplayError`]).
//!
//! # Business rules
//!
//! An application is created by `application_submitted`. Its checks run in rounds: the first
//! starts at submission and each `documents_submitted` starts another, forgetting the previous
//! round's check results and decision. `credential_issued` needs, in the current round, a
//! standing `approve` decision of the credential's tier that
//! [`approval_allows`](kyc_core::audit_event::approval_allows), and every check of
//! [`required_checks`](kyc_core::audit_event::required_checks) for that tier completed `clear`.
//! A `reject` closes the application. `credential_revoked` must name an issued credential not
//! yet revoked. An event kind this auditor has no rules for is a failure.
//!
//! # Speed
//!
//! Lines are parsed and hashed on worker threads ([`ReplayOptions::threads`]); the common
//! canonical line is checked in one pass over its bytes, any other by `Entry::parse_line`, with
//! the same verdict. `benches/audit_replay.rs` measures it against raw SHA-256.

mod business;
mod entry_line;
mod failure;
mod log_integrity;
mod pipeline;
mod proof;
mod report;
mod state;
mod status_list;

use std::io::BufRead;

use kyc_core::tlog::{Checkpoint, VerifierKey};

pub use entry_line::MAX_ENTRY_LEN;
pub use failure::{AuditFailure, ReplayError, Violation};
/// The proofs' JSON, defined once in kyc-core for the issuer and the auditor.
pub use kyc_core::tlog::{ConsistencyProof, InclusionProof};
pub use proof::{
    check_consistency, check_inclusion, verify_consistency_json, verify_inclusion_json,
    ProofFailure, ProofVerdict, ProofVerdictError, MAX_PROOF_LEN,
};
pub use report::{CheckpointSummary, DecisionsByLevel, FirstFailure, ReplayReport};
pub use state::{AuditorState, StateError};
pub use status_list::{ListDifference, StatusListCheck, StatusListError};

use business::BusinessReplay;

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use kyc_core::tlog::{Entry, EntryError};

    /// The replay's line parser on `line` (the fast path, else [`Entry::parse_line`]), then the
    /// line's event decoded; panics when the fast path accepts a line `Entry::parse_line`
    /// refuses or reads it differently (the parser's one promise). `Ok(true)` when the fast
    /// path took it.
    pub fn parse_line(line: &[u8]) -> Result<bool, EntryError> {
        let parsed = super::entry_line::LineEntry::parse(line);
        let strict = std::str::from_utf8(line)
            .map_err(|_| EntryError::Json("audit entry is not UTF-8".into()))
            .and_then(Entry::parse_line);
        match (&parsed, &strict) {
            (Ok(fast), Ok(entry)) => {
                assert_eq!(
                    (fast.seq, fast.time, fast.prev),
                    (entry.seq, entry.time, entry.prev)
                );
                let from_fast = fast.event(&mut Vec::new()).ok();
                let from_parts =
                    kyc_core::audit_event::AuditEvent::from_parts(&entry.kind, &entry.data).ok();
                assert_eq!(from_fast, from_parts, "the two paths read another event");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("the fast path and Entry::parse_line disagree on a line"),
        }
        parsed.map(|entry| entry.is_fast())
    }
}
use log_integrity::LogIntegrity;

/// How to run a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    business: bool,
    threads: usize,
}

impl Default for ReplayOptions {
    /// The full replay, with one worker per available core.
    fn default() -> Self {
        Self {
            business: true,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl ReplayOptions {
    /// Only the cryptographic replay: lines, chain, tree, checkpoint and state; no business
    /// rules (events are not even decoded).
    pub fn cryptographic_only(mut self) -> Self {
        self.business = false;
        self
    }

    /// Parse and hash on `threads` worker threads; 0 or 1 runs everything on the calling
    /// thread.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// Replays a log against a signed checkpoint, with the default options: see the [module
/// docs](self). `progress` is called with the bytes read so far, about once a megabyte.
pub fn replay(
    reader: impl BufRead,
    checkpoint_note: &str,
    key: &VerifierKey,
    state: Option<&AuditorState>,
    progress: impl FnMut(u64),
) -> Result<ReplayReport, ReplayError> {
    replay_with(
        reader,
        checkpoint_note,
        key,
        state,
        &ReplayOptions::default(),
        progress,
    )
}

/// [`replay`] with options.
pub fn replay_with(
    reader: impl BufRead,
    checkpoint_note: &str,
    key: &VerifierKey,
    state: Option<&AuditorState>,
    options: &ReplayOptions,
    progress: impl FnMut(u64),
) -> Result<ReplayReport, ReplayError> {
    replay_watching(reader, checkpoint_note, key, state, options, None, progress)
        .map(|(report, _)| report)
}

/// [`replay_with`], looking for a status list on the way ([`status_list`]).
fn replay_watching(
    reader: impl BufRead,
    checkpoint_note: &str,
    key: &VerifierKey,
    state: Option<&AuditorState>,
    options: &ReplayOptions,
    watch: Option<business::Watch>,
    progress: impl FnMut(u64),
) -> Result<(ReplayReport, Option<business::Watch>), ReplayError> {
    let mut report = ReplayReport::new(options.business);
    let checkpoint = match Checkpoint::open(checkpoint_note, key) {
        Ok(checkpoint) => checkpoint,
        Err(e) => {
            report.conclude(Some(AuditFailure::Checkpoint(e)));
            return Ok((report, None));
        }
    };
    report.checkpoint = Some(CheckpointSummary::from(&checkpoint));
    let mut log = match LogIntegrity::new(&checkpoint, state) {
        Ok(log) => log,
        Err(failure) => {
            report.conclude(Some(failure));
            return Ok((report, None));
        }
    };
    let mut business = options.business.then(|| BusinessReplay::watching(watch));
    let (consumed, outcome) = pipeline::run(
        reader,
        options.threads,
        options.business,
        |record, event| {
            log.link(record.seq, record.time, &record.prev, record.leaf)?;
            if let (Some(business), Some(event)) = (business.as_mut(), event) {
                let event = event.map_err(|reason| AuditFailure::Event {
                    seq: record.seq,
                    reason,
                })?;
                business
                    .apply(record.seq, record.time, event)
                    .map_err(|violation| AuditFailure::Invariant {
                        seq: record.seq,
                        violation,
                    })?;
            }
            Ok(())
        },
        progress,
    )?;
    report.entries = log.len();
    report.bytes = consumed.bytes;
    let mut watched = None;
    let mut key_refused = None;
    if let Some(mut business) = business {
        business.finish();
        key_refused = business
            .checkpoint_key_refused(checkpoint.size(), key.verifying_key().as_bytes())
            .map(|seq| AuditFailure::Invariant {
                seq,
                violation: Violation::CheckpointKeyNotInLog,
            });
        watched = business.watch.take();
        let counts = business.counts;
        report.applications = counts.applications;
        report.credentials_issued = counts.credentials_issued;
        report.credentials_revoked = counts.credentials_revoked;
        report.decisions_by_level = counts.decisions;
    }
    report.conclude(
        outcome
            .and_then(|()| log.finish())
            .and_then(|()| key_refused.map_or(Ok(()), Err))
            .err(),
    );
    Ok((report, watched))
}

/// Replay `log` against `checkpoint_note` (signed by `key`) and judge the status list
/// `list_jwt` by it ([`status_list`]'s module docs): whether it is the one the log implies.
pub fn check_status_list(
    log: impl BufRead,
    checkpoint_note: &str,
    key: &VerifierKey,
    list_jwt: &str,
) -> Result<StatusListCheck, StatusListError> {
    let (list, watch) = status_list::watch_for(list_jwt)?;
    let (report, watched) = replay_watching(
        log,
        checkpoint_note,
        key,
        None,
        &ReplayOptions::default(),
        Some(watch),
        |_| {},
    )?;
    if let Some(failure) = &report.first_failure {
        let code = failure.code;
        return Err(StatusListError::Log {
            report: Box::new(report),
            code,
        });
    }
    Ok(status_list::judge(list, watched.unwrap_or_default()))
}
