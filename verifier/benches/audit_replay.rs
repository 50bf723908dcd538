//! The auditor's replay against raw SHA-256 over the same bytes.
//!
//! Generates 1,000,000 realistic entries (application lifecycles: submission, checks, a
//! decision, issuance, some rejections, reviews, new rounds of documents and revocations),
//! writes them to a temporary file, signs a checkpoint, then times, best of a few runs:
//!
//! - (a) raw SHA-256 over the file's bytes, one core: the floor any replay must hash;
//! - (b) the cryptographic replay (strict parse, chain, tree, checkpoint), one thread and
//!   all cores;
//! - (c) the full replay (b plus event decoding and the business rules);
//! - for reference, `kyc_core::tlog::chain::verify_lines` over the same lines, one thread.
//!
//! The target is (b) at ≥ 50% of (a)'s throughput. The machine is shared, so only
//! ratios within one run mean much. Run with `cargo bench -p kyc-verifier --bench audit_replay`;
//! `AUDIT_BENCH_ENTRIES=100000` for a quicker run; `AUDIT_BENCH_PROFILE=crypto1|crypto|full1|full`
//! to loop one configuration only, for a profiler; `AUDIT_BENCH_KEEP=DIR` to keep the log, its
//! checkpoint and key there.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fs::File;
use std::io::{BufReader, Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{
    required_checks, AuditCheck, AuditEvent, CheckOutcome, DecisionAction, RiskLevel,
};
use kyc_core::tlog::{Chain, Checkpoint, SignerKey, VerifierKey};
use kyc_core::{DidKey, KycTier};
use kyc_verifier::audit::{self, ReplayOptions, ReplayReport};
use sha2::{Digest as _, Sha256};

const ORIGIN: &str = "issuer.kyc.example/audit";
const RUNS: usize = 5;

/// Writes `entries` entries to `out`; returns the chain written.
fn generate(entries: u64, out: &mut impl std::io::Write) -> Chain {
    let mut chain = Chain::new();
    let mut time: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut push = |event: AuditEvent, chain: &mut Chain| {
        time += chrono::Duration::microseconds(250_123);
        let (kind, data) = event.to_parts();
        let entry = chain.next_entry(time, kind, data);
        chain.append(&entry).unwrap();
        out.write_all(entry.canonical_line().unwrap().as_bytes())
            .unwrap();
        out.write_all(b"\n").unwrap();
    };
    let mut issued: Vec<String> = Vec::new();
    let mut n = 0u64;
    while chain.len() < entries {
        n += 1;
        let app = format!("{:08x}-7d3c-4e1a-9b2f-{:012x}", n, n * 7919);
        let check = |check, outcome: CheckOutcome| AuditEvent::CheckCompleted {
            application: app.clone(),
            check,
            outcome,
            reasons: if outcome == CheckOutcome::Clear {
                vec![]
            } else {
                vec!["document_expired".into()]
            },
            data_version: (check == AuditCheck::Screening).then(|| "sanctions-2026-02-28".into()),
        };
        let decision = |level, action, tier, reviewer: Option<&str>| AuditEvent::Decision {
            application: app.clone(),
            level,
            action,
            tier,
            reasons: vec!["rules_v3".into(), "all_checks_clear".into()],
            reviewer: reviewer.map(Into::into),
        };
        push(
            AuditEvent::ApplicationSubmitted {
                application: app.clone(),
                subject: format!("psn-{n:016x}"),
                jurisdiction: ["EU", "US", "JP", "CN"][(n % 4) as usize].into(),
                holder_commitment: "q0Xk2lH7dA1b9zD3c0f6e4g8h2i5j7k1m3n5p7r9s0t".into(),
            },
            &mut chain,
        );
        let tier = [
            KycTier::Basic,
            KycTier::Verified,
            KycTier::Verified,
            KycTier::Enhanced,
        ][(n % 4) as usize];
        match n % 10 {
            // Rejected at high risk.
            0 => {
                push(
                    check(AuditCheck::Screening, CheckOutcome::Rejected),
                    &mut chain,
                );
                push(
                    decision(RiskLevel::High, DecisionAction::Reject, None, None),
                    &mut chain,
                );
                continue;
            }
            // In review.
            1 => {
                push(
                    check(AuditCheck::Biometric, CheckOutcome::Consider),
                    &mut chain,
                );
                push(
                    decision(RiskLevel::Medium, DecisionAction::Review, None, None),
                    &mut chain,
                );
                continue;
            }
            // Asked for documents, then a second round.
            2 => {
                push(
                    check(AuditCheck::Document, CheckOutcome::Consider),
                    &mut chain,
                );
                push(
                    decision(
                        RiskLevel::Medium,
                        DecisionAction::RequestDocuments,
                        None,
                        None,
                    ),
                    &mut chain,
                );
                push(
                    AuditEvent::DocumentsSubmitted {
                        application: app.clone(),
                    },
                    &mut chain,
                );
            }
            _ => {}
        }
        for c in required_checks(tier) {
            push(check(*c, CheckOutcome::Clear), &mut chain);
        }
        let (level, reviewer) = if tier == KycTier::Enhanced {
            (RiskLevel::Medium, Some("reviewer-12"))
        } else {
            (RiskLevel::Low, None)
        };
        push(
            decision(level, DecisionAction::Approve, Some(tier), reviewer),
            &mut chain,
        );
        let credential = format!("urn:uuid:{app}");
        push(
            AuditEvent::CredentialIssued {
                application: app.clone(),
                credential: credential.clone(),
                credential_hash: "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg".into(),
                sd_jwt_hash: "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg".into(),
                tier,
                status_list: "https://issuer.kyc.example/status/3".into(),
                status_index: n % 131_072,
            },
            &mut chain,
        );
        issued.push(credential);
        if n % 50 == 7 {
            push(
                AuditEvent::CredentialRevoked {
                    credential: issued.swap_remove((n as usize * 31) % issued.len()),
                    reason: "holder_request".into(),
                    by: "admin-2".into(),
                },
                &mut chain,
            );
        }
    }
    chain
}

fn best<T>(mut run: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = run();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.unwrap())
}

fn raw_sha256(path: &Path) -> [u8; 32] {
    let mut file = File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().into()
}

fn replay(path: &Path, note: &str, key: &VerifierKey, options: &ReplayOptions) -> ReplayReport {
    let file = BufReader::new(File::open(path).unwrap());
    let report = audit::replay_with(file, note, key, None, options, |_| {}).unwrap();
    assert!(report.valid, "{:?}", report.first_failure);
    report
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    let quick = std::env::args().all(|a| a != "--bench");
    let entries: u64 = std::env::var("AUDIT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 1_000_000 });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let started = Instant::now();
    let chain = {
        let mut out = std::io::BufWriter::new(File::create(&path).unwrap());
        let chain = generate(entries, &mut out);
        out.flush().unwrap();
        chain
    };
    let (signing, _) = DidKey::generate();
    let signer = SignerKey::new(ORIGIN, signing).unwrap();
    let key = signer.verifier();
    let note = Checkpoint::new(ORIGIN, chain.len(), chain.root())
        .unwrap()
        .sign(&signer)
        .unwrap();
    if let Ok(keep) = std::env::var("AUDIT_BENCH_KEEP") {
        // For trying `kyc-verify audit replay` on a big log by hand.
        let keep = Path::new(&keep);
        std::fs::copy(&path, keep.join("audit.jsonl")).unwrap();
        std::fs::write(keep.join("checkpoint"), &note).unwrap();
        std::fs::write(keep.join("log.vkey"), format!("{key}\n")).unwrap();
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let mb = bytes as f64 / 1e6;
    println!(
        "generated {} entries, {:.1} MB ({:.0} bytes/entry) in {:.1?} (not timed below)",
        chain.len(),
        mb,
        bytes as f64 / chain.len() as f64,
        started.elapsed()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("available parallelism: {cores}; best of {RUNS} runs each\n");

    let line = |label: &str, t: Duration, baseline: Option<Duration>| {
        let secs = t.as_secs_f64();
        let ratio = baseline
            .map(|b| format!("  {:5.1}% of (a)", 100.0 * b.as_secs_f64() / secs))
            .unwrap_or_default();
        println!(
            "{label:<44} {:>8.1} ms  {:>7.0} MB/s  {:>6.2} M entries/s{ratio}",
            secs * 1e3,
            mb / secs,
            chain.len() as f64 / secs / 1e6,
        );
    };

    if let Ok(which) = std::env::var("AUDIT_BENCH_PROFILE") {
        let options = match which.as_str() {
            "crypto1" => ReplayOptions::default().cryptographic_only().threads(1),
            "full1" => ReplayOptions::default().threads(1),
            "crypto" => ReplayOptions::default().cryptographic_only(),
            _ => ReplayOptions::default(),
        };
        let start = Instant::now();
        for _ in 0..10 {
            replay(&path, &note, &key, &options);
        }
        println!("{which}: {:?}", start.elapsed() / 10);
        return;
    }
    let (raw, _) = best(|| raw_sha256(&path));
    line("(a) raw SHA-256, 1 core", raw, None);
    let crypto = ReplayOptions::default().cryptographic_only();
    let (t, _) = best(|| replay(&path, &note, &key, &crypto.clone().threads(1)));
    line("(b) cryptographic replay, 1 thread", t, Some(raw));
    let (t, _) = best(|| replay(&path, &note, &key, &crypto));
    line(
        &format!("(b) cryptographic replay, {cores} workers"),
        t,
        Some(raw),
    );
    let full = ReplayOptions::default();
    let (t, _) = best(|| replay(&path, &note, &key, &full.clone().threads(1)));
    line("(c) full replay, 1 thread", t, Some(raw));
    let (t, report) = best(|| replay(&path, &note, &key, &full));
    line(&format!("(c) full replay, {cores} workers"), t, Some(raw));

    let text = std::fs::read_to_string(&path).unwrap();
    let start = Instant::now();
    let reference = kyc_core::tlog::chain::verify_lines(text.lines()).unwrap();
    line(
        "(ref) kyc_core verify_lines, 1 thread, once",
        start.elapsed(),
        Some(raw),
    );
    assert_eq!(reference.root(), chain.root());
    println!(
        "\nreport: {} applications, {} issued, {} revoked, decisions {:?}",
        report.applications,
        report.credentials_issued,
        report.credentials_revoked,
        report.decisions_by_level
    );
}
