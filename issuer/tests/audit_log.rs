//! The audit log against a real sled store in a temporary directory: appends, reads, proofs
//! and checkpoints checked with `kyc_core::tlog`'s verifiers, reopening, concurrency, and a
//! tampered store.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kyc_core::audit_event::{AuditCheck, AuditEvent, CheckOutcome};
use kyc_core::tlog::chain::verify_lines;
use kyc_core::tlog::merkle::{self, leaf_hash, verify_consistency, verify_inclusion, ProofError};
use kyc_core::tlog::{ChainError, Checkpoint, Entry, SignerKey, VerifierKey};
use kyc_issuer::audit::{
    AuditError, AuditLog, AuditSettings, AuditStore, Corruption, SledStore, StoreBatch, StoreError,
    StoredCheckpoint, StoredEntries,
};

const ORIGIN: &str = "issuer.example/audit";

fn signer() -> SignerKey {
    SignerKey::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap()
}

fn config(every: u64, interval: Duration) -> AuditSettings {
    AuditSettings {
        origin: ORIGIN.into(),
        checkpoint_every_entries: every,
        checkpoint_interval: interval,
    }
}

fn open_with(dir: &Path, every: u64, interval: Duration) -> Result<AuditLog, AuditError> {
    AuditLog::open(
        SledStore::open(dir).unwrap(),
        config(every, interval),
        signer(),
    )
}

fn open(dir: &Path) -> AuditLog {
    open_with(dir, 1000, Duration::from_secs(3600)).unwrap()
}

fn event(i: u64) -> AuditEvent {
    if i % 2 == 0 {
        AuditEvent::DocumentsSubmitted {
            application: format!("app-{i}"),
        }
    } else {
        AuditEvent::CheckCompleted {
            application: format!("app-{i}"),
            check: AuditCheck::Document,
            outcome: CheckOutcome::Clear,
            reasons: vec!["mrz_ok".into()],
            data_version: None,
        }
    }
}

fn export(log: &AuditLog) -> Vec<String> {
    let mut out = Vec::new();
    let count = log.export(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(lines.len() as u64, count);
    assert!(text.is_empty() || text.ends_with('\n'));
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_read_and_proofs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    assert_eq!(log.size(), 0);
    for i in 0..40 {
        assert_eq!(log.append(&event(i)).await.unwrap(), i);
    }
    assert_eq!(log.size(), 40);

    // The lines are the events, chained from seq 0.
    let lines = log.entries(0, 40).unwrap();
    let chain = verify_lines(lines.iter().map(String::as_str)).unwrap();
    assert_eq!(chain.len(), 40);
    for (i, line) in lines.iter().enumerate() {
        let entry = Entry::parse_line(line).unwrap();
        assert_eq!(entry.seq, i as u64);
        let (kind, data) = event(i as u64).to_parts();
        assert_eq!((entry.kind, entry.data), (kind, data));
    }
    assert_eq!(log.entries(10, 13).unwrap(), lines[10..13].to_vec());
    assert_eq!(log.entries(40, 40).unwrap(), Vec::<String>::new());
    assert_eq!(export(&log), lines);
    assert_eq!(log.tree_head(), (40, chain.root()));

    // A signed checkpoint of that tree, and an inclusion proof of every entry against it.
    let note = log.checkpoint().await.unwrap();
    let first = Checkpoint::open(&note, &log.verifier_key()).unwrap();
    assert_eq!((first.size(), *first.root()), (40, chain.root()));
    for (seq, line) in lines.iter().enumerate() {
        let proof = log.inclusion_proof(seq as u64, 40).unwrap();
        let leaf = leaf_hash(line.as_bytes());
        verify_inclusion(&leaf, seq as u64, 40, &proof, first.root()).unwrap();
    }
    // And at an earlier size, against that size's root.
    let leaves: Vec<_> = lines.iter().map(|l| leaf_hash(l.as_bytes())).collect();
    let root17 = merkle::root(&leaves[..17]);
    let proof = log.inclusion_proof(5, 17).unwrap();
    verify_inclusion(&leaves[5], 5, 17, &proof, &root17).unwrap();

    // The log grows; the later checkpoint extends the earlier one.
    for i in 40..63 {
        assert_eq!(log.append_blocking(&event(i)).unwrap(), i);
    }
    let second = Checkpoint::open(&log.checkpoint().await.unwrap(), &log.verifier_key()).unwrap();
    assert_eq!(second.size(), 63);
    let proof = log.consistency_proof(40, 63).unwrap();
    verify_consistency(40, 63, &proof, first.root(), second.root()).unwrap();
    let proof = log.consistency_proof(17, 63).unwrap();
    verify_consistency(17, 63, &proof, &root17, second.root()).unwrap();
    let all = export(&log);
    assert_eq!(&all[..40], &lines[..]);
    assert_eq!(
        verify_lines(all.iter().map(String::as_str)).unwrap().root(),
        *second.root()
    );
    log.close().unwrap();
}

#[tokio::test]
async fn malformed_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for i in 0..5 {
        log.append(&event(i)).await.unwrap();
    }
    assert!(matches!(
        log.entries(3, 2),
        Err(AuditError::BadRange {
            from: 3,
            to: 2,
            size: 5
        })
    ));
    assert!(matches!(
        log.entries(0, 6),
        Err(AuditError::BadRange { to: 6, .. })
    ));
    assert!(matches!(
        log.entries(0, 10_001),
        Err(AuditError::RangeTooLarge { max: 10_000, .. })
    ));
    assert!(matches!(
        log.inclusion_proof(5, 5),
        Err(AuditError::Proof(ProofError::IndexOutOfRange {
            index: 5,
            size: 5
        }))
    ));
    assert!(matches!(
        log.inclusion_proof(0, 6),
        Err(AuditError::Proof(ProofError::SizeExceedsLeaves {
            size: 6,
            leaves: 5
        }))
    ));
    assert!(matches!(
        log.consistency_proof(3, 2),
        Err(AuditError::Proof(ProofError::SizesOutOfOrder { .. }))
    ));
    assert!(matches!(
        log.consistency_proof(0, 3),
        Err(AuditError::Proof(ProofError::FromEmptyTree))
    ));
    // Nothing changed.
    assert_eq!(log.size(), 5);
    log.close().unwrap();
    // Closed is closed, and closing again is fine.
    assert!(matches!(
        log.append(&event(5)).await,
        Err(AuditError::Closed)
    ));
    assert!(matches!(log.checkpoint_blocking(), Err(AuditError::Closed)));
    log.close().unwrap();
}

#[test]
fn configuration_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_with(dir.path(), 0, Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, AuditError::Config(_)), "{err}");
    let err = open_with(dir.path(), 1, Duration::ZERO).unwrap_err();
    assert!(matches!(err, AuditError::Config(_)), "{err}");
    let other = SignerKey::new("another.example/log", SigningKey::from_bytes(&[7; 32])).unwrap();
    let err = AuditLog::open(
        SledStore::open(dir.path()).unwrap(),
        config(1, Duration::from_secs(1)),
        other,
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::OriginMismatch { .. }), "{err}");
}

#[tokio::test]
async fn reopen_gives_same_root_and_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for i in 0..10 {
        log.append(&event(i)).await.unwrap();
    }
    let head = log.tree_head();
    log.close().unwrap();
    // Close signed a final checkpoint of everything.
    let closing_note = log.latest_checkpoint().unwrap();
    let closing = Checkpoint::open(&closing_note, &log.verifier_key()).unwrap();
    assert_eq!((closing.size(), *closing.root()), head);
    drop(log);

    let log = open(dir.path());
    assert_eq!(log.tree_head(), head);
    assert_eq!(log.latest_checkpoint(), Some(closing_note));
    for i in 10..15 {
        assert_eq!(log.append(&event(i)).await.unwrap(), i);
    }
    let lines = export(&log);
    let chain = verify_lines(lines.iter().map(String::as_str)).unwrap();
    assert_eq!(chain.len(), 15);
    let new_head = log.tree_head();
    let proof = log.consistency_proof(10, 15).unwrap();
    verify_consistency(10, 15, &proof, &head.1, &new_head.1).unwrap();
    // Dropping the last handle without close also releases the store.
    drop(log);
    assert_eq!(open(dir.path()).tree_head(), new_head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_get_contiguous_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let tasks: Vec<_> = (0..64u64)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..40 {
                    seqs.push(log.append(&event(task * 1000 + i)).await.unwrap());
                }
                seqs
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        // One task's appends are in its order.
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..64 * 40).collect::<Vec<u64>>());
    let lines = export(&log);
    assert_eq!(
        verify_lines(lines.iter().map(String::as_str))
            .unwrap()
            .len(),
        2560
    );
    let stats = log.stats();
    assert_eq!(stats.entries, 2560);
    assert!(stats.commits <= stats.entries, "{stats:?}");
    log.close().unwrap();
}

/// Writes ten entries, then lets `tamper` change the entries tree through sled directly.
fn tampered_log(tamper: impl FnOnce(&sled::Tree)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for i in 0..10 {
        log.append_blocking(&event(i)).unwrap();
    }
    log.close().unwrap();
    drop(log);
    // sled's I/O threads may hold the directory lock a moment after the log is dropped.
    let started = std::time::Instant::now();
    let db = loop {
        match sled::open(dir.path()) {
            Err(_) if started.elapsed() < kyc_issuer::audit::LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            opened => break opened.unwrap(),
        }
    };
    let entries = db.open_tree(SledStore::ENTRIES_TREE).unwrap();
    tamper(&entries);
    db.flush().unwrap();
    dir
}

/// Flips the lowest bit of the first byte of `find` in entry `seq`.
fn flip(entries: &sled::Tree, seq: u64, find: &[u8]) {
    let key = seq.to_be_bytes();
    let mut value = entries.get(key).unwrap().unwrap().to_vec();
    let at = value.windows(find.len()).position(|w| w == find).unwrap();
    value[at] ^= 0x01;
    entries.insert(key, value).unwrap();
}

#[test]
fn flipped_byte_refuses_open_naming_the_seq() {
    // A structural byte: entry 5 is no longer JSON.
    let dir = tampered_log(|entries| flip(entries, 5, b"{"));
    let err = open_with(dir.path(), 1000, Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Corrupt {
                seq: 5,
                source: Corruption::Chain(ChainError::Malformed { seq: 5, .. })
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("entry 5"), "{err}");

    // A byte of a value ("app-5" becomes "`pp-5"): entry 5 is still a canonical entry, but
    // entry 6 no longer links to it.
    let dir = tampered_log(|entries| flip(entries, 5, b"app-5"));
    let err = open_with(dir.path(), 1000, Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Corrupt {
                seq: 6,
                source: Corruption::Chain(ChainError::Prev { seq: 6 })
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("entry 6"), "{err}");

    // Bytes that are not UTF-8.
    let dir = tampered_log(|entries| {
        entries
            .insert(3u64.to_be_bytes(), &[0xff, 0xfe][..])
            .unwrap();
    });
    let err = open_with(dir.path(), 1000, Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Corrupt {
                seq: 3,
                source: Corruption::NotUtf8
            }
        ),
        "{err:?}"
    );

    // A gap.
    let dir = tampered_log(|entries| {
        entries.remove(4u64.to_be_bytes()).unwrap();
    });
    let err = open_with(dir.path(), 1000, Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Corrupt {
                seq: 4,
                source: Corruption::Missing { found: 5 }
            }
        ),
        "{err:?}"
    );

    // The last entry edited, or the tail cut off: the chain alone cannot tell, the checkpoint
    // signed at close can.
    let dir = tampered_log(|entries| flip(entries, 9, b"app-9"));
    let err = open_with(dir.path(), 1000, Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(err, AuditError::CheckpointMismatch { size: 10, .. }),
        "{err:?}"
    );
    let dir = tampered_log(|entries| {
        entries.remove(9u64.to_be_bytes()).unwrap();
    });
    let err = open_with(dir.path(), 1000, Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(err, AuditError::CheckpointMismatch { size: 10, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn checkpoint_signature_verifies_with_the_verifier_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    assert_eq!(log.latest_checkpoint(), None);
    // The empty log has a checkpoint too.
    let empty = Checkpoint::open(&log.checkpoint().await.unwrap(), &log.verifier_key()).unwrap();
    assert_eq!(empty.size(), 0);
    for i in 0..3 {
        log.append(&event(i)).await.unwrap();
    }
    let note = log.checkpoint().await.unwrap();
    assert_eq!(log.latest_checkpoint().as_deref(), Some(note.as_str()));
    // Through the published text form of the key, as an auditor would.
    let published = log.verifier_key().to_string();
    assert!(published.starts_with(&format!("{ORIGIN}+")));
    let key = VerifierKey::parse(&published).unwrap();
    let checkpoint = Checkpoint::open(&note, &key).unwrap();
    assert_eq!(checkpoint.origin(), ORIGIN);
    assert_eq!((checkpoint.size(), *checkpoint.root()), log.tree_head());
    // Another key with the same name does not verify it.
    let stranger = SignerKey::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).unwrap();
    assert!(Checkpoint::open(&note, &stranger.verifier()).is_err());
    // Nor does a changed note.
    assert!(Checkpoint::open(&note.replacen("\n3\n", "\n4\n", 1), &key).is_err());
    // Asking again with nothing new returns the same note without signing or writing.
    let before = log.stats();
    assert_eq!(log.checkpoint().await.unwrap(), note);
    assert_eq!(log.stats(), before);
    log.close().unwrap();
}

#[tokio::test]
async fn a_rotated_key_opens_the_log_and_signs_anew() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for i in 0..4 {
        log.append(&event(i)).await.unwrap();
    }
    let old_note = log.checkpoint().await.unwrap();
    log.close().unwrap();
    drop(log);

    let rotated = SignerKey::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).unwrap();
    let log = AuditLog::open(
        SledStore::open(dir.path()).unwrap(),
        config(1000, Duration::from_secs(3600)),
        rotated,
    )
    .unwrap();
    // The old key's checkpoint still pins the log's contents, but is not the new key's word.
    assert_eq!(log.latest_checkpoint(), None);
    let note = log.checkpoint().await.unwrap();
    assert_ne!(note, old_note);
    let checkpoint = Checkpoint::open(&note, &log.verifier_key()).unwrap();
    assert_eq!((checkpoint.size(), *checkpoint.root()), log.tree_head());
    log.close().unwrap();
}

#[tokio::test]
async fn periodic_checkpoint_after_n_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with(dir.path(), 8, Duration::from_secs(3600)).unwrap();
    for i in 0..7 {
        log.append(&event(i)).await.unwrap();
    }
    assert_eq!(log.latest_checkpoint(), None);
    for i in 7..20 {
        log.append(&event(i)).await.unwrap();
    }
    let latest = Checkpoint::open(&log.latest_checkpoint().unwrap(), &log.verifier_key()).unwrap();
    assert_eq!(latest.size(), 16);
    let lines = log.entries(0, 16).unwrap();
    assert_eq!(
        verify_lines(lines.iter().map(String::as_str))
            .unwrap()
            .root(),
        *latest.root()
    );
    assert_eq!(log.stats().checkpoints, 2);
    log.close().unwrap();
    assert_eq!(log.stats().checkpoints, 3);
}

#[tokio::test]
async fn timed_checkpoint_when_there_are_new_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with(dir.path(), 1000, Duration::from_millis(100)).unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    // Nothing appended, nothing signed.
    assert_eq!(log.stats().checkpoints, 0);
    for i in 0..3 {
        log.append(&event(i)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let latest = Checkpoint::open(&log.latest_checkpoint().unwrap(), &log.verifier_key()).unwrap();
    assert_eq!(latest.size(), 3);
    assert!(log.stats().checkpoints >= 1);
    log.close().unwrap();
}

#[test]
fn blocking_appends_from_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    std::thread::scope(|scope| {
        for t in 0..8 {
            let log = &log;
            scope.spawn(move || {
                for i in 0..25 {
                    log.append_blocking(&event(t * 100 + i)).unwrap();
                }
            });
        }
    });
    assert_eq!(log.size(), 200);
    let lines = export(&log);
    assert_eq!(
        verify_lines(lines.iter().map(String::as_str))
            .unwrap()
            .len(),
        200
    );
    log.close().unwrap();
}

/// A store that works until told to fail: the log must stop appending, not guess.
#[derive(Debug)]
struct FailingStore {
    inner: SledStore,
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl AuditStore for FailingStore {
    fn commit(&self, batch: &StoreBatch) -> Result<(), StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Backend("disk on fire".into()));
        }
        self.inner.commit(batch)
    }

    fn entries(&self, from: u64, to: u64) -> StoredEntries<'_> {
        self.inner.entries(from, to)
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.inner.latest_checkpoint()
    }
}

#[tokio::test]
async fn a_failed_commit_stops_the_log_and_reopen_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let fail = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = FailingStore {
        inner: SledStore::open(dir.path()).unwrap(),
        fail: fail.clone(),
    };
    let log = AuditLog::open(store, config(1000, Duration::from_secs(3600)), signer()).unwrap();
    for i in 0..3 {
        log.append(&event(i)).await.unwrap();
    }
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(
        log.append(&event(3)).await,
        Err(AuditError::Store(StoreError::Backend(_)))
    ));
    // Even once the store works again, the writer does not know what reached the disk.
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(
        log.append(&event(4)).await,
        Err(AuditError::Failed(_))
    ));
    assert!(matches!(log.checkpoint().await, Err(AuditError::Failed(_))));
    // Readers still see what was acknowledged.
    assert_eq!(log.size(), 3);
    assert_eq!(log.entries(0, 3).unwrap().len(), 3);
    assert!(log.close().is_err());
    drop(log);

    // Reopening re-verifies whatever is on disk and carries on from there.
    let log = open(dir.path());
    assert!(log.size() >= 3);
    let seq = log.append(&event(5)).await.unwrap();
    assert_eq!(seq, log.size() - 1);
    let lines = export(&log);
    verify_lines(lines.iter().map(String::as_str)).unwrap();
    log.close().unwrap();
}

#[tokio::test]
async fn an_event_the_log_cannot_write_is_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&event(0)).await.unwrap();
    // RFC 8785 writes numbers as IEEE 754 doubles: 2^64 - 1 has no exact form.
    let huge = AuditEvent::CredentialIssued {
        application: "app-x".into(),
        credential: "urn:uuid:00000000-0000-4000-8000-000000000000".into(),
        credential_hash: "AAAA".into(),
        sd_jwt_hash: "AAAA".into(),
        tier: kyc_core::credential::KycTier::Basic,
        status_list: "https://issuer.example/status/1".into(),
        status_index: u64::MAX,
    };
    match log.append(&huge).await {
        Err(AuditError::Event(ChainError::Malformed { seq: 1, .. })) => {
            assert_eq!(log.size(), 1);
        }
        // If the canonicaliser accepts it, it must still round-trip as a valid entry.
        Ok(seq) => {
            assert_eq!(seq, 1);
            let lines = log.entries(0, 2).unwrap();
            verify_lines(lines.iter().map(String::as_str)).unwrap();
        }
        Err(other) => panic!("{other:?}"),
    }
    assert_eq!(log.append(&event(2)).await.unwrap(), log.size() - 1);
    let lines = export(&log);
    verify_lines(lines.iter().map(String::as_str)).unwrap();
    log.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_all_keeps_order_and_shares_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let events: Vec<AuditEvent> = (0..8).map(event).collect();
    let seqs = log.append_all(&events).await.unwrap();
    assert_eq!(seqs, (0..8).collect::<Vec<u64>>());
    let lines = export(&log);
    for (line, i) in lines.iter().zip(0u64..) {
        assert!(line.contains(&format!("\"app-{i}\"")), "{line}");
    }
    // Queued together: far fewer commits than entries (one, unless the writer woke between).
    assert!(log.stats().commits < 8, "{:?}", log.stats());
    assert!(log.append_all(&[]).await.unwrap().is_empty());
    log.close().unwrap();
}

#[test]
fn sync_group_coalesces_concurrent_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let db = kyc_issuer::audit::open_db(dir.path()).unwrap();
    let group = std::sync::Arc::new(kyc_issuer::audit::SyncGroup::new(&db, dir.path()).unwrap());
    let tree = db.open_tree("t").unwrap();
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let (group, tree) = (std::sync::Arc::clone(&group), tree.clone());
            s.spawn(move || {
                for i in 0..20u8 {
                    tree.insert([t, i], &[1]).unwrap();
                    group.sync().unwrap();
                }
            });
        }
    });
    assert_eq!(tree.len(), 160);
}
