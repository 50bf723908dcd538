//! The auditor against logs built here with `kyc-core`'s own writer side (`Chain::next_entry`,
//! `AuditEvent::to_parts`, `SignerKey`): a realistic valid log, then one tampering at a time,
//! each failing for its own reason at its own seq; the proofs; and the `kyc-verify audit` CLI.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use kyc_core::audit_event::{AuditCheck, AuditEvent, CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::tlog::merkle::leaf_hash;
use kyc_core::tlog::{Chain, Checkpoint, Entry, SignerKey, Tree, VerifierKey};
use kyc_core::{DidKey, KycTier};
use kyc_verifier::audit::{
    self, AuditFailure, AuditorState, ConsistencyProof, InclusionProof, ReplayOptions,
    ReplayReport, Violation,
};

const ORIGIN: &str = "issuer.kyc.example/audit";

/// The log's own key: fixed, because the realistic log rotates the issuer's key to it and a
/// checkpoint must be signed by the key the last rotation names.
fn log_key() -> SignerKey {
    SignerKey::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap()
}

fn log_did() -> DidKey {
    DidKey::from_verifying_key(log_key().verifier().verifying_key())
}

fn signer(name: &str) -> SignerKey {
    let (key, _) = DidKey::generate();
    SignerKey::new(name, key).unwrap()
}

/// A log being written: lines, their leaf hashes, and the chain they extend.
struct Log {
    chain: Chain,
    lines: Vec<String>,
    time: DateTime<Utc>,
}

impl Log {
    fn new() -> Self {
        Self {
            chain: Chain::new(),
            lines: Vec::new(),
            time: "2026-03-01T09:00:00Z".parse().unwrap(),
        }
    }

    /// Appends an event one and a half seconds after the previous one.
    fn push(&mut self, event: AuditEvent) -> &mut Self {
        self.time += Duration::milliseconds(1500);
        let (kind, data) = event.to_parts();
        let entry = self.chain.next_entry(self.time, kind, data);
        self.chain.append(&entry).unwrap();
        self.lines.push(entry.canonical_line().unwrap());
        self
    }

    fn seq_of_last(&self) -> u64 {
        self.lines.len() as u64 - 1
    }

    fn text(&self) -> String {
        join(&self.lines)
    }

    fn checkpoint(&self, key: &SignerKey) -> String {
        sign(&self.lines, self.lines.len(), key)
    }

    fn submit(&mut self, app: &str) -> &mut Self {
        self.push(AuditEvent::ApplicationSubmitted {
            application: app.into(),
            subject: format!("psn:{app}"),
            jurisdiction: "EU".into(),
            holder_commitment: "q0Xk2lH7dA1b9zD3c0f6e4g8h2i5j7k1m3n5p7r9s0t".into(),
        })
    }

    fn check(&mut self, app: &str, check: AuditCheck, outcome: CheckOutcome) -> &mut Self {
        self.push(AuditEvent::CheckCompleted {
            application: app.into(),
            check,
            outcome,
            reasons: if outcome == CheckOutcome::Clear {
                vec![]
            } else {
                vec!["needs_review".into()]
            },
            data_version: (check == AuditCheck::Screening).then(|| "sanctions-2026-02-28".into()),
        })
    }

    /// Every check a tier needs, clear.
    fn clear_for(&mut self, app: &str, tier: KycTier) -> &mut Self {
        for check in kyc_core::audit_event::required_checks(tier) {
            self.check(app, *check, CheckOutcome::Clear);
        }
        self
    }

    fn decide(
        &mut self,
        app: &str,
        level: RiskLevel,
        action: DecisionAction,
        tier: Option<KycTier>,
        reviewer: Option<&str>,
    ) -> &mut Self {
        self.push(AuditEvent::Decision {
            application: app.into(),
            level,
            action,
            tier,
            reasons: vec!["rule_set_v3".into()],
            reviewer: reviewer.map(Into::into),
        })
    }

    fn issue(&mut self, app: &str, credential: &str, tier: KycTier) -> &mut Self {
        self.push(AuditEvent::CredentialIssued {
            application: app.into(),
            credential: credential.into(),
            credential_hash: "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg".into(),
            sd_jwt_hash: "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg".into(),
            tier,
            status_list: "https://issuer.kyc.example/status/1".into(),
            status_index: 131_070,
        })
    }

    fn revoke(&mut self, credential: &str) -> &mut Self {
        self.push(AuditEvent::CredentialRevoked {
            credential: credential.into(),
            reason: "holder_request".into(),
            by: "admin-2".into(),
        })
    }
}

/// A `key_rotated` event from `old` to `new`, its statement signed by `old`.
fn rotation(old: &ed25519_dalek::SigningKey, new: &DidKey) -> AuditEvent {
    let statement = kyc_core::key_rotation::KeyRotation::sign(old, new, Utc::now());
    AuditEvent::KeyRotated {
        previous: DidKey::from_verifying_key(&old.verifying_key())
            .as_str()
            .to_owned(),
        current: new.as_str().to_owned(),
        by: "admin-1".into(),
        statement,
    }
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn leaves(lines: &[String]) -> Tree {
    Tree::from_leaves(lines.iter().map(|l| leaf_hash(l.as_bytes())).collect())
}

/// The checkpoint over the first `size` of `lines`.
fn sign(lines: &[String], size: usize, key: &SignerKey) -> String {
    let root = leaves(lines).root_at(size as u64).unwrap();
    Checkpoint::new(key.name(), size as u64, root)
        .unwrap()
        .sign(key)
        .unwrap()
}

/// Five applications: approved and issued at tier 2; approved by a reviewer at tier 3, issued,
/// later revoked; rejected at high risk; in review; asked for more documents, then approved
/// and issued at tier 1. Plus an erasure and a key rotation.
fn realistic() -> Log {
    use CheckOutcome::*;
    use DecisionAction::*;
    use RiskLevel::*;
    let mut log = Log::new();
    log.submit("app-a")
        .submit("app-b")
        .clear_for("app-a", KycTier::Verified)
        .decide("app-a", Low, Approve, Some(KycTier::Verified), None)
        .issue("app-a", "urn:uuid:cred-a", KycTier::Verified)
        .clear_for("app-b", KycTier::Enhanced)
        .decide(
            "app-b",
            Medium,
            Approve,
            Some(KycTier::Enhanced),
            Some("rev-7"),
        )
        .issue("app-b", "urn:uuid:cred-b", KycTier::Enhanced)
        .submit("app-c")
        .check("app-c", AuditCheck::Screening, Rejected)
        .decide("app-c", High, Reject, None, None)
        .push(AuditEvent::SubjectErased {
            subject: "psn:app-c".into(),
            by: "admin-1".into(),
        })
        .submit("app-d")
        .clear_for("app-d", KycTier::Basic)
        .check("app-d", AuditCheck::Biometric, Consider)
        .decide("app-d", Medium, Review, None, None)
        .submit("app-e")
        .check("app-e", AuditCheck::Identity, Consider)
        .decide("app-e", Medium, RequestDocuments, None, None)
        .push(AuditEvent::DocumentsSubmitted {
            application: "app-e".into(),
        })
        .clear_for("app-e", KycTier::Basic)
        .decide("app-e", Low, Approve, Some(KycTier::Basic), None)
        .issue("app-e", "urn:uuid:cred-e", KycTier::Basic)
        .push(rotation(&DidKey::generate().0, &log_did()))
        .push(AuditEvent::WebhookRegistered {
            webhook: "hook-1".into(),
            url_hash: "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg".into(),
            by: "admin-1".into(),
        })
        .push(AuditEvent::WebhookDeleted {
            webhook: "hook-1".into(),
            by: "admin-1".into(),
        })
        .revoke("urn:uuid:cred-b");
    log
}

fn run(text: &str, note: &str, key: &VerifierKey, state: Option<&AuditorState>) -> ReplayReport {
    audit::replay(Cursor::new(text.as_bytes()), note, key, state, |_| {}).unwrap()
}

/// Asserts the replay failed with `code` at `seq`, and returns the failure.
fn fails(report: &ReplayReport, code: &str, seq: Option<u64>) -> AuditFailure {
    assert!(!report.valid, "{report:#?}");
    let failure = report.failure().unwrap().clone();
    assert_eq!(failure.code(), code, "{failure}");
    assert_eq!(failure.seq(), seq, "{failure}");
    let first = report.first_failure.as_ref().unwrap();
    assert_eq!((first.code, first.seq), (code, seq));
    failure
}

#[test]
fn valid_log_replays() {
    let key = log_key();
    let log = realistic();
    let note = log.checkpoint(&key);
    let mut seen = Vec::new();
    let report = audit::replay(
        Cursor::new(log.text().as_bytes()),
        &note,
        &key.verifier(),
        None,
        |bytes| seen.push(bytes),
    )
    .unwrap();
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.entries, log.lines.len() as u64);
    assert_eq!(report.bytes, log.text().len() as u64);
    assert_eq!(seen.last(), Some(&report.bytes));
    assert!(report.business_replayed);
    assert_eq!(report.applications, 5);
    assert_eq!(report.credentials_issued, 3);
    assert_eq!(report.credentials_revoked, 1);
    let d = &report.decisions_by_level;
    assert_eq!((d.low, d.medium, d.high), (2, 3, 1));
    assert_eq!(report.first_failure, None);
    let checkpoint = report.checkpoint.as_ref().unwrap();
    assert_eq!(checkpoint.origin, ORIGIN);
    assert_eq!(checkpoint.size, log.lines.len() as u64);
    assert_eq!(checkpoint.root, log.chain.root());
    assert_eq!(
        report.next_state(),
        Some(AuditorState {
            origin: ORIGIN.into(),
            size: log.lines.len() as u64,
            root: log.chain.root(),
        })
    );

    // The JSON report, camelCase.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["credentialsIssued"], 3);
    assert_eq!(json["decisionsByLevel"]["medium"], 3);
    assert_eq!(json["checkpoint"]["size"], log.lines.len());
    assert_eq!(json["firstFailure"], serde_json::Value::Null);
    assert!(json["checkpoint"]["root"].as_str().unwrap().ends_with('='));

    // The same verdict on one thread, on many, and without the business replay.
    for options in [
        ReplayOptions::default().threads(1),
        ReplayOptions::default().threads(4),
    ] {
        let again = audit::replay_with(
            Cursor::new(log.text().as_bytes()),
            &note,
            &key.verifier(),
            None,
            &options,
            |_| {},
        )
        .unwrap();
        assert_eq!(again, report);
    }
    let crypto = audit::replay_with(
        Cursor::new(log.text().as_bytes()),
        &note,
        &key.verifier(),
        None,
        &ReplayOptions::default().cryptographic_only(),
        |_| {},
    )
    .unwrap();
    assert!(crypto.valid && !crypto.business_replayed);
    assert_eq!(
        (crypto.entries, crypto.credentials_issued),
        (report.entries, 0)
    );

    // Without a final newline the last line is still a line (JSON Lines).
    let unterminated = log.text().trim_end().to_owned();
    assert!(run(&unterminated, &note, &key.verifier(), None).valid);
}

#[test]
fn empty_log_and_entries_beyond_the_checkpoint() {
    let key = log_key();
    let log = realistic();
    let empty = sign(&log.lines, 0, &key);
    let report = run("", &empty, &key.verifier(), None);
    assert!(report.valid);
    assert_eq!(report.entries, 0);
    // A checkpoint of an earlier size: the entries after it are chained, and replayed.
    let earlier = sign(&log.lines, 10, &key);
    let report = run(&log.text(), &earlier, &key.verifier(), None);
    assert!(report.valid);
    assert_eq!(report.entries, log.lines.len() as u64);
    assert_eq!(report.checkpoint.unwrap().size, 10);
}

/// A small PRNG, so the test needs no dependency and is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn one_flipped_byte_anywhere_fails() {
    let key = log_key();
    let log = realistic();
    let note = log.checkpoint(&key);
    let text = log.text().into_bytes();
    // The line each byte belongs to (its terminator included).
    let mut line_of = Vec::with_capacity(text.len());
    let mut line = 0u64;
    for &b in &text {
        line_of.push(line);
        if b == b'\n' {
            line += 1;
        }
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut positions: Vec<usize> = (0..400).map(|_| rng.next() as usize % text.len()).collect();
    // The first and last bytes, and every line terminator.
    positions.extend([0, text.len() - 1]);
    positions.extend(
        text.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i),
    );
    for pos in positions {
        let mut flipped = text.clone();
        let mask = (rng.next() % 255 + 1) as u8;
        flipped[pos] ^= mask;
        // Bytes, not text: a flip may leave invalid UTF-8.
        let report =
            audit::replay(Cursor::new(&flipped), &note, &key.verifier(), None, |_| {}).unwrap();
        assert!(!report.valid, "flip {mask:#04x} at {pos} went unnoticed");
        // It fails at the line changed (it no longer parses, links or obeys the rules) or at
        // the next (whose prev no longer matches), or, for the last line, at the root.
        let seq = report.failure().unwrap().seq().unwrap();
        let line = line_of[pos];
        assert!(
            seq == line || seq == line + 1,
            "flip at {pos} (line {line}) reported at {seq}: {:?}",
            report.first_failure
        );
    }
}

#[test]
fn deleted_and_swapped_lines() {
    let key = log_key();
    let log = realistic();
    let note = log.checkpoint(&key);
    let mut deleted = log.lines.clone();
    deleted.remove(5);
    let report = run(&join(&deleted), &note, &key.verifier(), None);
    let failure = fails(&report, "seq_mismatch", Some(5));
    assert_eq!(report.exit_code(), 1);
    assert!(failure.to_string().contains("has seq 6"), "{failure}");
    assert_eq!(report.entries, 5);

    let mut swapped = log.lines.clone();
    swapped.swap(3, 4);
    fails(
        &run(&join(&swapped), &note, &key.verifier(), None),
        "seq_mismatch",
        Some(3),
    );

    // The deleted line's successor, renumbered and relinked, still breaks the chain: its prev.
    let mut relinked = log.lines[..5].to_vec();
    let mut next = Entry::parse_line(&log.lines[6]).unwrap();
    next.seq = 5;
    relinked.push(next.canonical_line().unwrap());
    fails(
        &run(&join(&relinked), &note, &key.verifier(), None),
        "prev_mismatch",
        Some(5),
    );
}

#[test]
fn truncated_log_with_old_checkpoint_against_newer_state() {
    let key = log_key();
    let log = realistic();
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    assert_eq!(AuditorState::load(&state_path).unwrap(), None);

    // The first audit saw the whole log.
    let full = run(&log.text(), &log.checkpoint(&key), &key.verifier(), None);
    full.next_state().unwrap().save(&state_path).unwrap();
    let state = AuditorState::load(&state_path).unwrap().unwrap();
    assert_eq!(state.size, log.lines.len() as u64);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    // The issuer truncates the log and re-serves a validly signed old checkpoint.
    let truncated = &log.lines[..10];
    let old_note = sign(&log.lines, 10, &key);
    assert!(run(&join(truncated), &old_note, &key.verifier(), None).valid);
    let report = run(&join(truncated), &old_note, &key.verifier(), Some(&state));
    fails(&report, "checkpoint_rollback", Some(10));
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.next_state(), None);

    // Or serves the current checkpoint with the truncated log.
    let report = run(
        &join(truncated),
        &log.checkpoint(&key),
        &key.verifier(),
        Some(&state),
    );
    fails(&report, "log_truncated", Some(10));
}

#[test]
fn forked_log_against_state() {
    let key = log_key();
    let log = realistic();
    let state = run(&log.text(), &log.checkpoint(&key), &key.verifier(), None)
        .next_state()
        .unwrap();

    // Same first 12 entries, then another history, longer than the state, validly signed.
    let mut fork = Log::new();
    for line in &log.lines[..12] {
        let entry = Entry::parse_line(line).unwrap();
        fork.chain.append(&entry).unwrap();
        fork.lines.push(line.clone());
        fork.time = entry.time;
    }
    for i in 0..40 {
        let app = format!("app-f{i}");
        fork.submit(&app);
    }
    assert!(fork.lines.len() > log.lines.len());
    let fork_note = fork.checkpoint(&key);
    // On its own the fork is a fine log; only the state catches it.
    assert!(run(&fork.text(), &fork_note, &key.verifier(), None).valid);
    let report = run(&fork.text(), &fork_note, &key.verifier(), Some(&state));
    fails(&report, "state_fork", Some(state.size - 1));
    assert_eq!(report.exit_code(), 1);

    // A state from another log.
    let other = AuditorState {
        origin: "other.example/log".into(),
        ..state.clone()
    };
    fails(
        &run(
            &log.text(),
            &log.checkpoint(&key),
            &key.verifier(),
            Some(&other),
        ),
        "state_origin_mismatch",
        None,
    );
}

#[test]
fn checkpoint_by_an_unknown_key() {
    let key = log_key();
    let impostor = signer(ORIGIN);
    let log = realistic();
    let report = run(
        &log.text(),
        &log.checkpoint(&impostor),
        &key.verifier(),
        None,
    );
    let failure = fails(&report, "checkpoint_signature", None);
    assert!(matches!(failure, AuditFailure::Checkpoint(_)));
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.checkpoint, None);

    // Another log's key (another name): the note carries no signature by it either.
    let other = signer("other.example/log");
    fails(
        &run(&log.text(), &log.checkpoint(&other), &key.verifier(), None),
        "checkpoint_signature",
        None,
    );
    // A checkpoint that is not a note at all is malformed.
    let report = run(&log.text(), "not a checkpoint", &key.verifier(), None);
    fails(&report, "checkpoint_malformed", None);
    assert_eq!(report.exit_code(), 2);
    // A root that is not the log's.
    let wrong = Checkpoint::new(ORIGIN, log.lines.len() as u64, [7; 32].into())
        .unwrap()
        .sign(&key)
        .unwrap();
    fails(
        &run(&log.text(), &wrong, &key.verifier(), None),
        "checkpoint_root_mismatch",
        Some(log.seq_of_last()),
    );
}

#[test]
fn non_canonical_lines_are_malformed() {
    let key = log_key();
    let log = realistic();
    let note = log.checkpoint(&key);
    let spaced = log.lines[7].replacen(",\"kind\"", ", \"kind\"", 1);
    assert_ne!(spaced, log.lines[7]);
    let entry = Entry::parse_line(&log.lines[7]).unwrap();
    // Members in another order: the same entry, not in RFC 8785 form (`data` last).
    let data = serde_json::to_string(&entry.data).unwrap();
    let rest = log.lines[7]
        .strip_prefix(&format!("{{\"data\":{data},"))
        .unwrap()
        .strip_suffix('}')
        .unwrap();
    let reordered = format!("{{{rest},\"data\":{data}}}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&reordered).unwrap(),
        serde_json::from_str::<serde_json::Value>(&log.lines[7]).unwrap()
    );
    assert!(!reordered.starts_with("{\"data\""));
    for bad in [spaced, reordered, format!("{}\r", log.lines[7])] {
        let mut lines = log.lines.clone();
        lines[7] = bad;
        let report = run(&join(&lines), &note, &key.verifier(), None);
        fails(&report, "entry_not_canonical", Some(7));
        assert_eq!(report.exit_code(), 2);
    }
    // Not JSON, an empty line, an over-long line: malformed at their position.
    for bad in ["{", "", &"x".repeat(audit::MAX_ENTRY_LEN + 1)] {
        let mut lines = log.lines.clone();
        lines[3] = bad.to_owned();
        let report = run(&join(&lines), &note, &key.verifier(), None);
        fails(&report, "entry_malformed", Some(3));
        assert_eq!(report.exit_code(), 2);
    }
    // An unknown event kind is a malformed event.
    let mut unknown = realistic();
    let entry = unknown
        .chain
        .next_entry(unknown.time, "no_such_event", Default::default());
    unknown.lines.push(entry.canonical_line().unwrap());
    let report = run(
        &unknown.text(),
        &sign(&unknown.lines, unknown.lines.len(), &key),
        &key.verifier(),
        None,
    );
    fails(&report, "event_malformed", Some(unknown.seq_of_last()));
    assert_eq!(report.exit_code(), 2);
}

/// `setup` appends valid events to the realistic log, `bad` one more that breaks a rule: the
/// replay fails there, with `code`, and the cryptographic replay alone does not.
fn business_fails(
    setup: impl FnOnce(&mut Log),
    bad: impl FnOnce(&mut Log),
    code: &str,
) -> AuditFailure {
    let key = log_key();
    let mut log = realistic();
    setup(&mut log);
    let seq = log.lines.len() as u64;
    bad(&mut log);
    let note = log.checkpoint(&key);
    let report = run(&log.text(), &note, &key.verifier(), None);
    let failure = fails(&report, code, Some(seq));
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.entries, seq + 1);
    let crypto = audit::replay_with(
        Cursor::new(log.text().as_bytes()),
        &note,
        &key.verifier(),
        None,
        &ReplayOptions::default().cryptographic_only(),
        |_| {},
    )
    .unwrap();
    assert!(crypto.valid, "{crypto:#?}");
    failure
}

#[test]
fn issued_without_approve_decision() {
    use DecisionAction::*;
    use RiskLevel::*;
    // Checks done, no decision yet.
    business_fails(
        |log| {
            log.submit("app-x").clear_for("app-x", KycTier::Verified);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Verified);
        },
        "issued_without_approval",
    );
    // Sent to review, not approved.
    business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Verified)
                .decide("app-x", Medium, Review, None, None);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Verified);
        },
        "issued_without_approval",
    );
    // Approved, then new documents: the approval was for the previous round.
    business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Verified)
                .decide("app-x", Low, Approve, Some(KycTier::Verified), None)
                .push(AuditEvent::DocumentsSubmitted {
                    application: "app-x".into(),
                })
                .clear_for("app-x", KycTier::Verified);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Verified);
        },
        "issued_without_approval",
    );
    // An approve decision without a tier is itself a violation.
    business_fails(
        |log| {
            log.submit("app-x");
        },
        |log| {
            log.decide("app-x", Low, Approve, None, None);
        },
        "approve_without_tier",
    );
}

#[test]
fn issued_above_the_tier_earned() {
    use DecisionAction::*;
    use RiskLevel::*;
    // Tier 2 approved and issued, but biometric came back "consider".
    let failure = business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Basic)
                .check("app-x", AuditCheck::Document, CheckOutcome::Clear)
                .check("app-x", AuditCheck::Biometric, CheckOutcome::Consider)
                .check("app-x", AuditCheck::Risk, CheckOutcome::Clear)
                .decide("app-x", Low, Approve, Some(KycTier::Verified), None);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Verified);
        },
        "tier_not_earned",
    );
    assert_eq!(
        failure,
        AuditFailure::Invariant {
            seq: failure.seq().unwrap(),
            violation: Violation::TierNotEarned {
                tier: KycTier::Verified,
                check: AuditCheck::Biometric,
            },
        }
    );
    // A check never run counts as not clear.
    business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Verified)
                .decide(
                    "app-x",
                    Medium,
                    Approve,
                    Some(KycTier::Enhanced),
                    Some("rev-1"),
                );
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Enhanced);
        },
        "tier_not_earned",
    );
    // Approved at tier 1, issued at tier 2.
    business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Verified)
                .decide("app-x", Low, Approve, Some(KycTier::Basic), None);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Verified);
        },
        "tier_mismatch",
    );
    // Tier 3 needs a reviewer.
    business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Enhanced)
                .decide("app-x", Low, Approve, Some(KycTier::Enhanced), None);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Enhanced);
        },
        "approval_not_allowed",
    );
}

#[test]
fn revocations_refer_to_issued_credentials() {
    business_fails(
        |_| {},
        |log| {
            log.revoke("urn:uuid:never-issued");
        },
        "revoke_unknown_credential",
    );
    business_fails(
        |_| {},
        |log| {
            log.revoke("urn:uuid:cred-b");
        },
        "revoke_twice",
    );
}

#[test]
fn application_lifecycle_rules() {
    business_fails(
        |_| {},
        |log| {
            log.submit("app-a");
        },
        "duplicate_application",
    );
    business_fails(
        |_| {},
        |log| {
            log.check("app-nobody", AuditCheck::Identity, CheckOutcome::Clear);
        },
        "unknown_application",
    );
    // app-c was rejected.
    business_fails(
        |_| {},
        |log| {
            log.push(AuditEvent::DocumentsSubmitted {
                application: "app-c".into(),
            });
        },
        "application_closed",
    );
    business_fails(
        |log| {
            log.submit("app-x")
                .clear_for("app-x", KycTier::Basic)
                .decide(
                    "app-x",
                    RiskLevel::Low,
                    DecisionAction::Approve,
                    Some(KycTier::Basic),
                    None,
                )
                .issue("app-x", "urn:uuid:x", KycTier::Basic);
        },
        |log| {
            log.issue("app-x", "urn:uuid:x", KycTier::Basic);
        },
        "duplicate_credential",
    );
}

#[test]
fn time_going_backwards() {
    let key = log_key();
    let mut log = realistic();
    // Chain::append refuses it, so the issuer's own writer could not have: write it by hand.
    let (kind, data) = AuditEvent::DocumentsSubmitted {
        application: "app-d".into(),
    }
    .to_parts();
    let back = log.time - Duration::seconds(1);
    let entry = log.chain.next_entry(back, kind, data);
    log.lines.push(entry.canonical_line().unwrap());
    let report = run(&log.text(), &log.checkpoint(&key), &key.verifier(), None);
    let failure = fails(&report, "time_reversed", Some(log.seq_of_last()));
    assert!(
        failure.to_string().contains("before the previous"),
        "{failure}"
    );
    assert_eq!(report.exit_code(), 1);
}

/// Enough entries for several 1 MiB chunks, so that the workers' hand-over is exercised: one
/// thread and four agree, and a failure deep in a later chunk has its exact seq.
#[test]
fn many_chunks() {
    let key = log_key();
    let mut log = Log::new();
    for i in 0..2_000 {
        let app = format!("7f3c{i:08}-5b1e-4c1a-9d2e-0a4b6c8d0e1f");
        log.submit(&app)
            .clear_for(&app, KycTier::Verified)
            .decide(
                &app,
                RiskLevel::Low,
                DecisionAction::Approve,
                Some(KycTier::Verified),
                None,
            )
            .issue(&app, &format!("urn:uuid:{app}"), KycTier::Verified);
    }
    let text = log.text();
    assert!(text.len() > 3 << 20, "{}", text.len());
    let note = log.checkpoint(&key);
    let mut reports = Vec::new();
    for threads in [1, 4] {
        let options = ReplayOptions::default().threads(threads);
        let mut calls = 0;
        let report = audit::replay_with(
            Cursor::new(text.as_bytes()),
            &note,
            &key.verifier(),
            None,
            &options,
            |_| calls += 1,
        )
        .unwrap();
        assert!(report.valid, "{report:#?}");
        assert!(calls >= 3);
        reports.push(report);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0].credentials_issued, 2_000);

    let mut lines = log.lines.clone();
    lines.remove(15_001);
    for threads in [1, 4] {
        let report = audit::replay_with(
            Cursor::new(join(&lines).as_bytes()),
            &note,
            &key.verifier(),
            None,
            &ReplayOptions::default().threads(threads),
            |_| {},
        )
        .unwrap();
        fails(&report, "seq_mismatch", Some(15_001));
        assert_eq!(report.entries, 15_001);
    }
}

#[test]
fn inclusion_and_consistency_proofs() {
    let key = log_key();
    let log = realistic();
    let tree = leaves(&log.lines);
    let size = log.lines.len() as u64;
    let note = log.checkpoint(&key);
    let checkpoint = Checkpoint::open(&note, &key.verifier()).unwrap();
    for seq in 0..size {
        let proof = InclusionProof {
            seq,
            size,
            leaf_hash: tree.leaves()[seq as usize],
            proof: tree.inclusion_proof(seq, size).unwrap(),
            root: None,
        };
        let line = &log.lines[seq as usize];
        audit::check_inclusion(&proof, Some(line), &checkpoint).unwrap();
        // The JSON form round-trips, and `leafIndex` names the seq too.
        let json = serde_json::to_string(&proof).unwrap();
        assert!(json.starts_with("{\"seq\":"), "{json}");
        let verdict = audit::verify_inclusion_json(
            json.replace("\"seq\"", "\"leafIndex\"").as_bytes(),
            Some(line),
            &note,
            &key.verifier(),
        );
        assert!(verdict.valid, "{verdict:?}");
        assert_eq!(verdict.exit_code(), 0);
        // Another entry's line is not the leaf proved.
        let other = &log.lines[((seq + 1) % size) as usize];
        let err = audit::check_inclusion(&proof, Some(other), &checkpoint).unwrap_err();
        assert_eq!(err.code(), "seq_mismatch");
    }
    let mut proof = InclusionProof {
        seq: 3,
        size,
        leaf_hash: tree.leaves()[3],
        proof: tree.inclusion_proof(3, size).unwrap(),
        root: Some(tree.root()),
    };
    audit::check_inclusion(&proof, None, &checkpoint).unwrap();
    proof.leaf_hash = tree.leaves()[4];
    assert_eq!(
        audit::check_inclusion(&proof, None, &checkpoint)
            .unwrap_err()
            .code(),
        "proof_root_mismatch"
    );
    proof.leaf_hash = tree.leaves()[3];
    proof.proof.pop();
    let err = audit::check_inclusion(&proof, None, &checkpoint).unwrap_err();
    assert_eq!((err.code(), err.is_malformed()), ("proof_malformed", true));
    proof.size -= 1;
    assert_eq!(
        audit::check_inclusion(&proof, None, &checkpoint)
            .unwrap_err()
            .code(),
        "size_mismatch"
    );
    let verdict = audit::verify_inclusion_json(b"{\"seq\":1}", None, &note, &key.verifier());
    assert_eq!(verdict.exit_code(), 2);

    // Consistency from every earlier checkpoint to the latest.
    for from in 1..size {
        let old_note = sign(&log.lines, from as usize, &key);
        let proof = ConsistencyProof {
            from,
            to: size,
            proof: tree.consistency_proof(from, size).unwrap(),
            root: None,
        };
        let json = serde_json::to_vec(&proof).unwrap();
        let verdict = audit::verify_consistency_json(&json, &old_note, &note, &key.verifier());
        assert!(verdict.valid, "{from}: {verdict:?}");
        // Against a forked history's checkpoint of the same size: not consistent.
        let mut forked = log.lines.clone();
        forked[0] = forked[0].replace("app-a", "app-z");
        let forked_note = sign(&forked, from as usize, &key);
        let verdict = audit::verify_consistency_json(&json, &forked_note, &note, &key.verifier());
        assert_eq!(verdict.exit_code(), 1);
        // For a power-of-two `from` the proof omits the old root, so only the new one differs.
        let code = verdict.error.unwrap().code;
        assert!(
            ["proof_first_root_mismatch", "proof_root_mismatch"].contains(&code),
            "{from}: {code}"
        );
    }
}

// The CLI: `kyc-verify audit …`, run as a process.

fn kyc_verify(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-verify"))
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap(), json)
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn cli_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = log_key();
    let log = realistic();
    let key_file = write(d, "log.vkey", &format!("{}\n", key.verifier()));
    let key_text = key.verifier().to_string();
    let log_file = write(d, "log.jsonl", &log.text());
    let checkpoint = write(d, "checkpoint", &log.checkpoint(&key));
    let state = d.join("state.json");
    let state = state.to_str().unwrap();

    // Valid: exit 0, the report on stdout, the state created.
    let (code, report) = kyc_verify(&[
        "audit",
        "replay",
        "--log",
        &log_file,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
        "--state",
        state,
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["credentialsRevoked"], 1);
    let saved = AuditorState::load(Path::new(state)).unwrap().unwrap();
    assert_eq!(saved.size, log.lines.len() as u64);

    // Truncated, with an old checkpoint, against that state: exit 1, state unchanged.
    let truncated = write(d, "truncated.jsonl", &join(&log.lines[..10]));
    let old = write(d, "old-checkpoint", &sign(&log.lines, 10, &key));
    let (code, report) = kyc_verify(&[
        "audit",
        "replay",
        "--log",
        &truncated,
        "--checkpoint",
        &old,
        "--key",
        &key_text,
        "--state",
        state,
    ]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["firstFailure"]["code"], "checkpoint_rollback");
    assert_eq!(report["firstFailure"]["seq"], 10);
    assert_eq!(
        AuditorState::load(Path::new(state)).unwrap().unwrap(),
        saved
    );

    // A non-canonical line: exit 2.
    let mut lines = log.lines.clone();
    lines[4] = lines[4].replacen(':', ": ", 1);
    let spaced = write(d, "spaced.jsonl", &join(&lines));
    let (code, report) = kyc_verify(&[
        "audit",
        "replay",
        "--log",
        &spaced,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["firstFailure"]["code"], "entry_not_canonical");
    assert_eq!(report["firstFailure"]["seq"], 4);

    // Unreadable inputs: exit 2, no report.
    let missing = d.join("missing.jsonl");
    let (code, _) = kyc_verify(&[
        "audit",
        "replay",
        "--log",
        missing.to_str().unwrap(),
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 2);
    let (code, _) = kyc_verify(&[
        "audit",
        "replay",
        "--log",
        &log_file,
        "--checkpoint",
        &checkpoint,
        "--key",
        "nonsense",
    ]);
    assert_eq!(code, 2);

    // Proofs.
    let tree = leaves(&log.lines);
    let size = log.lines.len() as u64;
    let proof = InclusionProof {
        seq: 6,
        size,
        leaf_hash: tree.leaves()[6],
        proof: tree.inclusion_proof(6, size).unwrap(),
        root: None,
    };
    let proof_file = write(d, "inclusion.json", &serde_json::to_string(&proof).unwrap());
    let entry = write(d, "entry.json", &format!("{}\n", log.lines[6]));
    let (code, verdict) = kyc_verify(&[
        "audit",
        "inclusion",
        "--proof",
        &proof_file,
        "--entry",
        &entry,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 0, "{verdict}");
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["seq"], 6);
    let other_entry = write(d, "other.json", &log.lines[7]);
    let (code, verdict) = kyc_verify(&[
        "audit",
        "inclusion",
        "--proof",
        &proof_file,
        "--entry",
        &other_entry,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 1, "{verdict}");
    let garbage = write(d, "garbage.json", "{\"seq\": \"six\"}");
    let (code, verdict) = kyc_verify(&[
        "audit",
        "inclusion",
        "--proof",
        &garbage,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 2, "{verdict}");
    assert_eq!(verdict["error"]["code"], "proof_malformed");

    let consistency = ConsistencyProof {
        from: 10,
        to: size,
        proof: tree.consistency_proof(10, size).unwrap(),
        root: None,
    };
    let consistency = write(
        d,
        "consistency.json",
        &serde_json::to_string(&consistency).unwrap(),
    );
    let (code, verdict) = kyc_verify(&[
        "audit",
        "consistency",
        "--proof",
        &consistency,
        "--old-checkpoint",
        &old,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 0, "{verdict}");
    assert_eq!(
        (verdict["from"].as_u64(), verdict["size"].as_u64()),
        (Some(10), Some(size))
    );
    let (code, verdict) = kyc_verify(&[
        "audit",
        "consistency",
        "--proof",
        &consistency,
        "--old-checkpoint",
        &checkpoint,
        "--checkpoint",
        &checkpoint,
        "--key",
        &key_file,
    ]);
    assert_eq!(code, 1, "{verdict}");
    assert_eq!(verdict["error"]["code"], "size_mismatch");
}

// Status lists: every publication is logged, and a list is judged by the log (issue 19).

const LIST_URL: &str = "https://issuer.kyc.example/status/1";

/// A status list of `issuer_key` at [`LIST_URL`] with `revoked` set, valid from `from`: the
/// JWT, and the digest of its signing input (what `status_list_published` names).
fn status_list(
    issuer_key: &ed25519_dalek::SigningKey,
    revoked: &[u64],
    from: DateTime<Utc>,
) -> (String, String) {
    use kyc_core::status_list::{Bitstring, StatusListCredential};
    let issuer = DidKey::from_verifying_key(&issuer_key.verifying_key());
    let mut bits = Bitstring::new(0);
    for &i in revoked {
        assert!(bits.set(i, true));
    }
    let list = StatusListCredential::revocation(
        &issuer,
        LIST_URL,
        &bits,
        from,
        Some(from + Duration::hours(1)),
    );
    let unsigned = list.unsigned_jwt(&issuer).unwrap();
    let digest = unsigned.digest();
    let jwt = unsigned.sign(issuer_key);
    assert_eq!(kyc_core::jws::input_digest(&jwt), Some(digest.clone()));
    (jwt, digest)
}

fn published(list_hash: &str, revoked: u64) -> AuditEvent {
    AuditEvent::StatusListPublished {
        status_list: LIST_URL.into(),
        list_hash: list_hash.into(),
        revoked,
    }
}

#[test]
fn publications_count_the_logged_revocations() {
    // The realistic log revoked one credential of LIST_URL (index 131,070).
    business_fails(
        |log| {
            log.push(published("AAAA", 1));
        },
        |log| {
            log.push(published("BBBB", 0));
        },
        "status_list_count_mismatch",
    );
}

#[test]
fn a_status_list_is_judged_by_the_log() {
    let key = log_key();
    let (issuer_key, _) = DidKey::generate();
    let mut log = realistic();
    let at = log.time;
    // Published through the log, with the logged revocation: the one the log implies.
    let (served, digest) = status_list(&issuer_key, &[131_070], at);
    log.push(published(&digest, 1));
    let note = log.checkpoint(&key);
    let check = |list: &str| {
        audit::check_status_list(
            Cursor::new(log.text().as_bytes()),
            &note,
            &key.verifier(),
            list,
        )
        .unwrap()
    };
    let verdict = check(&served);
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.published_at, Some(log.seq_of_last()));
    assert_eq!((verdict.revoked_in_list, verdict.revoked_in_log), (1, 1));

    // Signed with the issuer's key outside the log, un-revoking the logged revocation.
    let (forged, _) = status_list(&issuer_key, &[], Utc::now());
    let verdict = check(&forged);
    assert!(!verdict.valid);
    assert_eq!(verdict.published_at, None);
    assert_eq!(
        verdict.reasons,
        ["not_in_log", "unrevokes_logged_revocation"]
    );
    let first = verdict.first_difference.unwrap();
    assert_eq!(first.index, 131_070);
    assert!(first.revoked_in_log && !first.revoked_in_list);

    // Revoking what the log never revoked is named too.
    let (extra, _) = status_list(&issuer_key, &[7, 131_070], Utc::now());
    let verdict = check(&extra);
    assert_eq!(verdict.reasons, ["not_in_log", "revokes_unlogged_entry"]);
    assert_eq!(verdict.first_difference.unwrap().index, 7);

    // The CLI: 0 for the served list, 1 for the forged one, 2 for a list that is not one.
    let dir = tempfile::tempdir().unwrap();
    let log_path = write(dir.path(), "log.jsonl", &log.text());
    let note_path = write(dir.path(), "checkpoint", &note);
    let verifier = key.verifier().to_string();
    // A file of the shop's status cache (as `kyc-verify status sync` writes it) is read too;
    // other JSON is no cache file.
    let cached = serde_json::json!({
        "url": LIST_URL, "fetchedAt": "2026-03-01T10:00:00Z", "jwt": served
    })
    .to_string();
    for (name, list, exit) in [
        ("served.jwt", served.as_str(), 0),
        ("cached.json", cached.as_str(), 0),
        ("forged.jwt", forged.as_str(), 1),
        ("garbage.jwt", "not.a.list", 2),
        ("other.json", "{\"jwt\": 1}", 2),
    ] {
        let list = write(dir.path(), name, list);
        let (code, json) = kyc_verify(&[
            "audit",
            "status-list",
            "--list",
            &list,
            "--log",
            &log_path,
            "--checkpoint",
            &note_path,
            "--key",
            &verifier,
        ]);
        assert_eq!(code, exit, "{name}: {json}");
        if exit == 1 {
            assert_eq!(json["firstDifference"]["index"], 131_070);
        }
    }

    // A log that does not verify gives no verdict on a list.
    let mut tampered = log.text();
    tampered = tampered.replacen("app-a", "app-z", 1);
    assert!(matches!(
        audit::check_status_list(
            Cursor::new(tampered.as_bytes()),
            &note,
            &key.verifier(),
            &served
        ),
        Err(audit::StatusListError::Log { .. })
    ));
}

#[test]
fn a_rotation_needs_the_retiring_keys_statement() {
    let (old, old_did) = DidKey::generate();
    let (new, new_did) = DidKey::generate();
    // Signed by the new key, claiming to retire the old one.
    business_fails(
        |_| {},
        |log| {
            let payload = serde_json::json!({
                "previous": old_did.as_str(), "current": new_did.as_str(),
                "at": "2026-03-01T10:00:00Z"
            });
            let statement = kyc_core::jws::sign(
                kyc_core::key_rotation::TYP_KEY_ROTATION,
                Some(&new_did.key_id()),
                payload.to_string().as_bytes(),
                &new,
            );
            log.push(AuditEvent::KeyRotated {
                previous: old_did.as_str().into(),
                current: new_did.as_str().into(),
                by: "admin-1".into(),
                statement,
            });
        },
        "rotation_not_signed",
    );
    // A genuine statement, but for another successor than the entry names.
    business_fails(
        |_| {},
        |log| {
            let AuditEvent::KeyRotated { statement, .. } = rotation(&old, &DidKey::generate().1)
            else {
                unreachable!()
            };
            log.push(AuditEvent::KeyRotated {
                previous: old_did.as_str().into(),
                current: new_did.as_str().into(),
                by: "admin-1".into(),
                statement,
            });
        },
        "rotation_not_signed",
    );
}

#[test]
fn after_a_rotation_only_the_key_it_names_signs_checkpoints() {
    // The realistic log rotated the issuer's key to the log's key: a checkpoint by any other
    // key of the same origin, even over the right tree, names a key the log never did.
    let mut log = realistic();
    let rotated_at = log
        .lines
        .iter()
        .position(|l| l.contains("\"key_rotated\""))
        .unwrap() as u64;
    let impostor = signer(ORIGIN);
    let report = run(
        &log.text(),
        &log.checkpoint(&impostor),
        &impostor.verifier(),
        None,
    );
    fails(&report, "checkpoint_key_not_in_log", Some(rotated_at));

    // A rotation must retire the key in service.
    let mut stray = realistic();
    let seq = stray.lines.len() as u64;
    stray.push(rotation(&DidKey::generate().0, &DidKey::generate().1));
    let report = run(
        &stray.text(),
        &stray.checkpoint(&log_key()),
        &log_key().verifier(),
        None,
    );
    fails(&report, "rotation_out_of_chain", Some(seq));

    // The checkpoint that closes a rotation may be the retiring key's; a later one not.
    let old = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    log.push(rotation(&old, &DidKey::generate().1));
    let retiring = log_key();
    let size = log.lines.len();
    let closing = sign(&log.lines, size, &retiring);
    let report = run(&log.text(), &closing, &retiring.verifier(), None);
    assert!(report.valid, "{report:#?}");
    log.submit("app-late");
    let later = log.checkpoint(&retiring);
    let report = run(&log.text(), &later, &retiring.verifier(), None);
    fails(&report, "checkpoint_key_not_in_log", Some(size as u64 - 1));
}
