//! Durable audit appends: the target is ≥ 20,000 entries/s with 64 concurrent writers.
//!
//! Prints, for one temporary directory on the machine's disk:
//! - the baseline: small `write_all` + `sync_data` pairs per second (the disk's fsync rate);
//! - one writer appending in a loop (every append waits for its own commit);
//! - 64 writers appending concurrently (commits shared by group commit);
//!
//! each with entries/s and commits (fsyncs) per entry. A custom harness (`harness = false`):
//! the figures are throughputs over a fixed time, which criterion's per-iteration model does
//! not fit. Run with `cargo bench -p kyc-issuer --bench audit_append`; set
//! `AUDIT_BENCH_SECS` to change the measuring time per case (default 3).

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kyc_core::audit_event::{AuditCheck, AuditEvent, CheckOutcome};
use kyc_core::tlog::SignerKey;
use kyc_issuer::audit::{AuditLog, AuditSettings, AuditStats, SledStore};

const ORIGIN: &str = "bench.example/audit";
const WRITERS: usize = 64;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One case's figures.
struct Measured {
    entries_per_sec: f64,
    stats: AuditStats,
    /// Append latency, median and 99th percentile.
    latency: Option<(Duration, Duration)>,
}

fn main() -> BenchResult<()> {
    // `cargo test --all-targets` runs bench targets without `--bench`: a short smoke run then.
    let measuring = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("AUDIT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 3.0 } else { 0.2 });
    let period = Duration::from_secs_f64(secs);
    let dir = tempfile::tempdir()?;
    println!(
        "audit_append: {} s per case in {}",
        secs,
        dir.path().display()
    );

    let syncs = baseline_fsyncs(dir.path(), period)?;
    println!("baseline      write_all+sync_data: {syncs:>9.0} /s");

    report(
        "1 writer  ",
        &single_writer(&dir.path().join("single"), period)?,
    );
    report(
        "64 writers",
        &concurrent_writers(&dir.path().join("concurrent"), period)?,
    );
    Ok(())
}

fn report(name: &str, measured: &Measured) {
    let stats = &measured.stats;
    print!(
        "{name}    durable appends:   {:>9.0} entries/s, {:.4} fsyncs/entry ({} entries, {} commits, {} checkpoints)",
        measured.entries_per_sec,
        stats.fsyncs_per_entry(),
        stats.entries,
        stats.commits,
        stats.checkpoints
    );
    if let Some((p50, p99)) = measured.latency {
        print!(", append latency p50 {p50:.2?} p99 {p99:.2?}");
    }
    println!();
}

/// One small write and one `fdatasync` at a time, as fast as the disk allows.
fn baseline_fsyncs(dir: &Path, period: Duration) -> std::io::Result<f64> {
    let mut file = std::fs::File::create(dir.join("baseline"))?;
    let line = [b'x'; 200];
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < period {
        file.write_all(&line)?;
        file.sync_data()?;
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

fn open(dir: &Path) -> BenchResult<AuditLog> {
    let signer = SignerKey::new(ORIGIN, SigningKey::from_bytes(&[9; 32]))?;
    let config = AuditSettings {
        origin: ORIGIN.into(),
        checkpoint_every_entries: 10_000,
        checkpoint_interval: Duration::from_secs(10),
    };
    Ok(AuditLog::open(SledStore::open(dir)?, config, signer)?)
}

/// A realistic event: a check result with reason codes and a data version.
fn event(writer: usize, i: u64) -> AuditEvent {
    AuditEvent::CheckCompleted {
        application: format!("2f1c7a52-6d0e-4c1b-9a43-{writer:04}{i:08}"),
        check: AuditCheck::Screening,
        outcome: CheckOutcome::Clear,
        reasons: vec!["sanctions_clear".into(), "pep_clear".into()],
        data_version: Some("ofac-2026-11-25".into()),
    }
}

fn single_writer(dir: &Path, period: Duration) -> BenchResult<Measured> {
    let log = open(dir)?;
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < period {
        log.append_blocking(&event(0, i))?;
        i += 1;
    }
    let entries_per_sec = i as f64 / start.elapsed().as_secs_f64();
    let stats = log.stats();
    log.close()?;
    Ok(Measured {
        entries_per_sec,
        stats,
        latency: None,
    })
}

fn concurrent_writers(dir: &Path, period: Duration) -> BenchResult<Measured> {
    let log = open(dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let tasks: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut i = 0;
                    while start.elapsed() < period {
                        let before = Instant::now();
                        log.append(&event(writer, i)).await?;
                        latencies.push(before.elapsed());
                        i += 1;
                    }
                    Ok::<_, kyc_issuer::audit::AuditError>(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        BenchResult::Ok(all)
    })?;
    let entries_per_sec = latencies.len() as f64 / start.elapsed().as_secs_f64();
    let stats = log.stats();
    log.close()?;
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = (latencies.len().saturating_sub(1) as f64 * q) as usize;
        latencies.get(index).copied().unwrap_or_default()
    };
    Ok(Measured {
        entries_per_sec,
        stats,
        latency: Some((at(0.5), at(0.99))),
    })
}
