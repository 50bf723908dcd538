//! Crash safety (`docs/design.md`, "Invariants": nothing acknowledged is lost; a kill -9 at any
//! moment leaves a log that replays cleanly).
//!
//! The parent test runs this test binary again as a child that appends from 64 tasks and
//! prints `ack <seq>` as each append returns. After enough acknowledgements the parent sends
//! SIGKILL, reopens the log, and checks that every acknowledged seq is there, that the seqs run
//! from 0 without gaps, and that the chain verifies. Three kills, one directory: each child
//! continues the chain the previous one left.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kyc_core::audit_event::AuditEvent;
use kyc_core::tlog::chain::verify_lines;
use kyc_core::tlog::{Entry, SignerKey};
use kyc_issuer::audit::{AuditLog, AuditSettings, SledStore};

/// Set in the child's environment: the log directory it appends to.
const CHILD_DIR_VAR: &str = "KYC_AUDIT_CRASH_CHILD_DIR";
/// The child test's name, for `--exact`.
const CHILD_TEST: &str = "crash_child_appends_until_killed";
const APPENDERS: u64 = 64;
const ACKS_BEFORE_KILL: usize = 2_000;
const KILLS: usize = 3;

fn open(dir: &Path) -> AuditLog {
    let signer = SignerKey::new("issuer.example/audit", SigningKey::from_bytes(&[7; 32])).unwrap();
    let config = AuditSettings {
        origin: "issuer.example/audit".into(),
        checkpoint_every_entries: 500,
        checkpoint_interval: Duration::from_millis(200),
    };
    AuditLog::open(SledStore::open(dir).unwrap(), config, signer).unwrap()
}

/// The child: a no-op unless the parent set [`CHILD_DIR_VAR`]; then it appends until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_child_appends_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let log = open(Path::new(&dir));
    let tasks: Vec<_> = (0..APPENDERS)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let event = AuditEvent::DocumentsSubmitted {
                        application: format!("app-{task}-{i}"),
                    };
                    let seq = log.append(&event).await.unwrap();
                    // Written and flushed only after the append returned: an ack the parent
                    // reads is one the log gave.
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {seq}").unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// Kills the child if the parent test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs one child on `dir` until it has acknowledged enough, SIGKILLs it, and returns every
/// seq it acknowledged (including acks still in the pipe when it died).
fn run_and_kill(dir: &Path) -> Vec<u64> {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut acks = Vec::new();
    let mut line = String::new();
    let mut killed = false;
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(seq) = line.trim_end().strip_prefix("ack ") {
            acks.push(seq.parse::<u64>().unwrap());
        }
        if !killed && acks.len() >= ACKS_BEFORE_KILL {
            // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no goodbye.
            child.0.kill().unwrap();
            killed = true;
        }
    }
    let status = child.0.wait().unwrap();
    assert!(
        killed,
        "child exited ({status}) after only {} acks",
        acks.len()
    );
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(9), "child was not killed: {status}");
    }
    acks
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    if std::env::var_os(CHILD_DIR_VAR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = Vec::new();
    let mut sizes = Vec::new();
    for round in 0..KILLS {
        acknowledged.extend(run_and_kill(dir.path()));

        let log = open(dir.path());
        let size = log.size();
        let mut export = Vec::new();
        assert_eq!(log.export(&mut export).unwrap(), size);
        let export = String::from_utf8(export).unwrap();
        let lines: Vec<&str> = export.lines().collect();
        let chain = verify_lines(lines.iter().copied())
            .unwrap_or_else(|e| panic!("round {round}: chain does not verify: {e}"));
        assert_eq!(chain.len(), size);
        assert_eq!(log.tree_head(), (size, chain.root()));
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(Entry::parse_line(line).unwrap().seq, i as u64);
        }
        let missing: Vec<u64> = acknowledged
            .iter()
            .copied()
            .filter(|seq| *seq >= size)
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged entries lost (log size {size}), e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        // Every ack was a distinct seq.
        let mut unique = acknowledged.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), acknowledged.len());
        eprintln!(
            "round {round}: {} acknowledged, log size {size} ({} durable but never acknowledged)",
            acknowledged.len(),
            size - acknowledged.len() as u64
        );
        sizes.push(size);
        log.close().unwrap();
    }
    // Each child continued the chain the previous one left.
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
}
