//! The issuer's audit log: durable, append-only and tamper-evident (`docs/design.md`, "Audit log").
//!
//! Every state change at the issuer becomes one [`AuditEvent`], written as the next entry of a
//! hash chain whose entries are also the leaves of an RFC 6962 Merkle tree. The formats, the
//! chain and the proofs are [`kyc_core::tlog`]'s; this module adds the disk, the concurrency
//! and the clock.
//!
//! - **Durable before acknowledged.** [`AuditLog::append`] returns a seq only once its entry
//!   is on disk. One writer thread owns seq assignment, `prev`, the tree and the store;
//!   callers queue requests, and the writer commits everything queued as one batch with one
//!   `fdatasync` (group commit), then answers each caller.
//! - **Time.** An entry's `time` is the writer's clock in UTC when it builds the entry. If the
//!   clock steps back, the entry gets the previous entry's time instead, so times never
//!   decrease (the chain requires it); seq order is the order of events.
//! - **Checkpoints.** Signed C2SP checkpoints on demand ([`AuditLog::checkpoint`]), every
//!   [`AuditSettings::checkpoint_every_entries`] entries, every
//!   [`AuditSettings::checkpoint_interval`] while entries keep coming, and at close. Each is
//!   stored with the entries it signs; asking again with nothing new returns the latest.
//! - **Opening verifies.** [`AuditLog::open`] reads every stored entry, checks the chain and
//!   the latest stored checkpoint against it, and refuses to start on any mismatch, naming the
//!   first seq that fails. It then holds every leaf hash in memory (32 bytes an entry).
//! - **Fail-stop.** If a commit fails, the writer cannot know what reached the disk (after a
//!   failed `fsync` the kernel may have dropped the pages), so it refuses every later append
//!   ([`AuditError::Failed`]); reopening re-reads and re-verifies the store.
//!
//! Storage sits behind [`AuditStore`]; [`SledStore`] is the embedded backend and the only
//! module that knows sled.
//!
//! # Layout
//! - `error`: [`AuditError`], what fails, and [`Corruption`], how a stored entry fails.
//! - `store`: the [`AuditStore`] trait and its [`StoreBatch`] commits.
//! - `sled_store`: [`SledStore`], the sled backend.
//! - `writer`: the writer thread and its group commit.

mod error;
mod published;
mod sled_store;
mod store;
mod writer;

use std::fmt;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kyc_core::audit_event::AuditEvent;
use kyc_core::tlog::{merkle, Chain, Checkpoint, Entry, Hash, Note, SignerKey, Tree, VerifierKey};
use serde::Deserialize;

pub use error::{AuditError, Corruption};
pub use sled_store::{durable_flush, open_db, open_log_file, SledStore, SyncGroup, LOCK_WAIT};
pub use store::{AuditStore, StoreBatch, StoreError, StoredCheckpoint, StoredEntries};

use published::{Counters, Published, Shared};
use writer::{Request, Responder, Writer};

/// The `[audit]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The log's origin line in checkpoints (C2SP tlog-checkpoint), also the note key's name.
    /// Defaults to the public URL's host followed by `/audit`.
    pub origin: Option<String>,
    /// Sign a checkpoint at least every this many entries.
    pub checkpoint_every_entries: u64,
    /// And at least every this many seconds while entries arrive.
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            origin: None,
            checkpoint_every_entries: 1000,
            checkpoint_interval_secs: 60,
        }
    }
}

/// The most entries one call to [`AuditLog::entries`] returns.
pub const MAX_ENTRIES_PER_READ: u64 = 10_000;

/// How the log names itself and how often it signs checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The log's identity, the first line of every checkpoint (C2SP `tlog-checkpoint`); the
    /// signer key must carry this name.
    pub origin: String,
    /// Sign a checkpoint whenever this many entries have been appended since the last one
    /// (at least 1).
    pub checkpoint_every_entries: u64,
    /// Sign a checkpoint when this much time has passed since the last one and there are new
    /// entries (more than zero).
    pub checkpoint_interval: Duration,
}

/// Counters since the log was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Entries appended and made durable.
    pub entries: u64,
    /// Commits to the store, each one `fdatasync` for sled (failed ones included).
    pub commits: u64,
    /// Checkpoints signed and stored.
    pub checkpoints: u64,
}

impl AuditStats {
    /// Commits (fsyncs) per entry appended: 1.0 without group commit, lower with it. Counts
    /// commits made for checkpoints and close too.
    pub fn fsyncs_per_entry(&self) -> f64 {
        if self.entries == 0 {
            return 0.0;
        }
        self.commits as f64 / self.entries as f64
    }
}

/// A handle on the audit log: cheap to clone, shared by every task that appends or reads.
///
/// The log closes when [`AuditLog::close`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    requests: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    store: Arc<dyn AuditStore>,
    verifier: VerifierKey,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens the log in `store`: reads and verifies every stored entry and the latest stored
    /// checkpoint, rebuilds the Merkle tree, and starts the writer thread.
    ///
    /// Fails with [`AuditError::Corrupt`] naming the first seq that does not verify, with
    /// [`AuditError::CheckpointMismatch`] if the log no longer matches what it signed, and with
    /// [`AuditError::OriginMismatch`] unless `signer` is named after `config.origin`.
    pub fn open(
        store: impl AuditStore,
        config: AuditSettings,
        signer: SignerKey,
    ) -> Result<Self, AuditError> {
        check_settings(&config, &signer)?;
        let store: Arc<dyn AuditStore> = Arc::new(store);
        let (chain, leaves, last_line) = replay(store.as_ref())?;
        let tree = Tree::from_leaves(leaves);
        let latest_checkpoint = store.latest_checkpoint()?;
        if let Some(stored) = &latest_checkpoint {
            check_stored_checkpoint(stored, &config.origin, &tree)?;
        }
        let verifier = signer.verifier();
        // A checkpoint signed before a key rotation is history, not this key's latest word.
        let latest_note = latest_checkpoint
            .as_ref()
            .map(|c| c.note.clone())
            .filter(|note| Checkpoint::open(note, &verifier).is_ok());
        // Sign once now, so a bad origin fails here rather than in the writer.
        Checkpoint::new(&config.origin, tree.size(), tree.root())?.sign(&signer)?;
        let last_time = last_line
            .map(|line| time_of(&line, tree.size().saturating_sub(1)))
            .transpose()?;
        tracing::info!(size = tree.size(), origin = %config.origin, "audit log opened");

        let shared = Arc::new(Shared {
            published: RwLock::new(Published {
                tree,
                latest_checkpoint: latest_note.clone(),
            }),
            stats: Counters::default(),
        });
        let writer = Writer {
            store: Arc::clone(&store),
            shared: Arc::clone(&shared),
            checkpointed_size: latest_checkpoint.map_or(0, |c| c.size),
            latest_note,
            signer,
            origin: config.origin,
            checkpoint_every_entries: config.checkpoint_every_entries,
            checkpoint_interval: config.checkpoint_interval,
            last_time,
            checkpoint_due: Instant::now().checked_add(config.checkpoint_interval),
            chain,
            failure: None,
            last_batch: 0,
        };
        let (requests, receiver) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(AuditError::Thread)?;
        Ok(Self {
            inner: Arc::new(Inner {
                requests,
                shared,
                store,
                verifier,
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    /// Appends `event` and returns its seq once the entry is durable.
    ///
    /// If the future is dropped before it completes, the entry may still be appended.
    pub async fn append(&self, event: &AuditEvent) -> Result<u64, AuditError> {
        let (kind, data) = event.to_parts();
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Request::Append {
            kind,
            data,
            reply: Responder::Async(reply),
        })?;
        answer.await.map_err(|_| AuditError::Closed)?
    }

    /// Appends `events` in order and returns their seqs once all are durable.
    ///
    /// They are queued together, so the writer usually commits them with one sync; other
    /// callers' entries may fall between them. If one fails, those before it may stand.
    pub async fn append_all(&self, events: &[AuditEvent]) -> Result<Vec<u64>, AuditError> {
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            let (kind, data) = event.to_parts();
            let (reply, answer) = tokio::sync::oneshot::channel();
            self.send(Request::Append {
                kind,
                data,
                reply: Responder::Async(reply),
            })?;
            answers.push(answer);
        }
        let mut seqs = Vec::with_capacity(answers.len());
        for answer in answers {
            seqs.push(answer.await.map_err(|_| AuditError::Closed)??);
        }
        Ok(seqs)
    }

    /// [`AuditLog::append`] for threads outside an async runtime: blocks until the entry is
    /// durable. In async code, use `append` (this would stall the runtime's thread).
    pub fn append_blocking(&self, event: &AuditEvent) -> Result<u64, AuditError> {
        let (kind, data) = event.to_parts();
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Request::Append {
            kind,
            data,
            reply: Responder::Blocking(reply),
        })?;
        answer.recv().map_err(|_| AuditError::Closed)?
    }

    /// A signed checkpoint (C2SP `tlog-checkpoint`) of every entry appended so far, stored
    /// durably: the latest one if it already covers them all, else a new one.
    pub async fn checkpoint(&self) -> Result<String, AuditError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Request::Checkpoint {
            reply: Responder::Async(reply),
        })?;
        answer.await.map_err(|_| AuditError::Closed)?
    }

    /// [`AuditLog::checkpoint`] for threads outside an async runtime.
    pub fn checkpoint_blocking(&self) -> Result<String, AuditError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Request::Checkpoint {
            reply: Responder::Blocking(reply),
        })?;
        answer.recv().map_err(|_| AuditError::Closed)?
    }

    /// The latest durable checkpoint (on demand or periodic) signed with this log's current
    /// key, if any; it may lag the entries by up to the configured count and interval.
    pub fn latest_checkpoint(&self) -> Option<String> {
        self.inner.shared.read().latest_checkpoint.clone()
    }

    /// The key that verifies this log's checkpoints; its `Display` form is the C2SP verifier
    /// key text to publish.
    pub fn verifier_key(&self) -> VerifierKey {
        self.inner.verifier.clone()
    }

    /// The number of durable entries; also the next seq.
    pub fn size(&self) -> u64 {
        self.inner.shared.read().tree.size()
    }

    /// The size and RFC 6962 root of the durable entries (unsigned; see
    /// [`AuditLog::checkpoint`] for the signed form).
    pub fn tree_head(&self) -> (u64, Hash) {
        let published = self.inner.shared.read();
        (published.tree.size(), published.tree.root())
    }

    /// The canonical lines of entries `from..to` (half-open), at most
    /// [`MAX_ENTRIES_PER_READ`] of them.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<String>, AuditError> {
        let size = self.size();
        if from > to {
            return Err(AuditError::BadRange { from, to, size });
        }
        if to - from > MAX_ENTRIES_PER_READ {
            return Err(AuditError::RangeTooLarge {
                from,
                to,
                max: MAX_ENTRIES_PER_READ,
            });
        }
        if to > size {
            return Err(AuditError::BadRange { from, to, size });
        }
        let mut lines = Vec::with_capacity((to - from) as usize);
        self.read_lines(from, to, |line| {
            lines.push(line);
            Ok(())
        })?;
        Ok(lines)
    }

    /// The inclusion proof of entry `seq` in the tree of the first `size` entries (RFC 9162
    /// §2.1.3.1), to check with [`kyc_core::tlog::merkle::verify_inclusion`].
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        let leaves = self.leaves(size)?;
        Ok(merkle::inclusion_proof(&leaves, seq, size)?)
    }

    /// The consistency proof from the tree of `from` entries to the tree of `to` (RFC 9162
    /// §2.1.4.1), to check with [`kyc_core::tlog::merkle::verify_consistency`].
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, AuditError> {
        let leaves = self.leaves(to)?;
        Ok(merkle::consistency_proof(&leaves, from, to)?)
    }

    /// Writes every durable entry as JSON Lines (one canonical line and `\n` each), streaming
    /// from the store; returns how many. Entries appended during the export are not included.
    pub fn export(&self, out: &mut impl Write) -> Result<u64, AuditError> {
        let size = self.size();
        self.read_lines(0, size, |line| {
            out.write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .map_err(AuditError::Export)
        })?;
        out.flush().map_err(AuditError::Export)?;
        Ok(size)
    }

    /// Counters since open.
    pub fn stats(&self) -> AuditStats {
        let counters = &self.inner.shared.stats;
        AuditStats {
            entries: counters.entries.load(Ordering::Relaxed),
            commits: counters.commits.load(Ordering::Relaxed),
            checkpoints: counters.checkpoints.load(Ordering::Relaxed),
        }
    }

    /// Commits what is queued, signs a final checkpoint if there are entries since the last,
    /// flushes, and stops the writer thread; blocks until it has. Later appends fail with
    /// [`AuditError::Closed`]. Closing twice is fine.
    pub fn close(&self) -> Result<(), AuditError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let result = match self.send(Request::Close {
            reply: Responder::Blocking(reply),
        }) {
            Ok(()) => answer.recv().unwrap_or(Ok(())),
            Err(AuditError::Closed) => Ok(()),
            Err(error) => Err(error),
        };
        self.inner.join_writer();
        result
    }

    fn send(&self, request: Request) -> Result<(), AuditError> {
        self.inner
            .requests
            .send(request)
            .map_err(|_| AuditError::Closed)
    }

    /// A copy of the first `size` leaf hashes, so proofs are computed without holding the lock
    /// the writer needs.
    fn leaves(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        let published = self.inner.shared.read();
        let leaves = published.tree.leaves();
        usize::try_from(size)
            .ok()
            .and_then(|n| leaves.get(..n))
            .map(<[Hash]>::to_vec)
            .ok_or(AuditError::Proof(merkle::ProofError::SizeExceedsLeaves {
                size,
                leaves: leaves.len() as u64,
            }))
    }

    /// Reads stored lines `from..to`, all of which must be durable, checking that none is
    /// missing and each is UTF-8.
    fn read_lines(
        &self,
        from: u64,
        to: u64,
        mut each: impl FnMut(String) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        let mut expected = from;
        for item in self.inner.store.entries(from, to) {
            let (seq, bytes) = item?;
            let line = stored_line(expected, seq, bytes)?;
            each(line)?;
            expected += 1;
        }
        if expected != to {
            return Err(AuditError::Corrupt {
                seq: expected,
                source: Corruption::Missing { found: to },
            });
        }
        Ok(())
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.inner.verifier.name())
            .field("size", &self.size())
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn join_writer(&self) {
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("audit writer thread panicked");
            }
        }
    }
}

impl Drop for Inner {
    /// The last handle is gone: let the writer finish and release the store (sled holds a lock
    /// on its directory until then).
    fn drop(&mut self) {
        let (reply, _ignored) = mpsc::sync_channel(1);
        // Fails only if the writer has already stopped.
        let _ = self.requests.send(Request::Close {
            reply: Responder::Blocking(reply),
        });
        self.join_writer();
    }
}

/// Reads the whole stored log from seq 0, checking every link; returns the chain, every leaf
/// hash, and the last line.
/// Settings the writer cannot work with, and a key not named after the log's origin.
fn check_settings(config: &AuditSettings, signer: &SignerKey) -> Result<(), AuditError> {
    if config.checkpoint_every_entries == 0 {
        return Err(AuditError::Config(
            "checkpoint_every_entries must be at least 1",
        ));
    }
    if config.checkpoint_interval.is_zero() {
        return Err(AuditError::Config(
            "checkpoint_interval must be more than zero",
        ));
    }
    if signer.name() != config.origin {
        return Err(AuditError::OriginMismatch {
            origin: config.origin.clone(),
            key_name: signer.name().to_owned(),
        });
    }
    Ok(())
}

/// The time of the stored entry `seq`, whose `line` the replay returned.
fn time_of(line: &str, seq: u64) -> Result<chrono::DateTime<chrono::Utc>, AuditError> {
    Entry::parse_line(line)
        .map(|entry| entry.time)
        .map_err(|source| AuditError::Corrupt {
            seq,
            source: Corruption::Chain(kyc_core::tlog::ChainError::Malformed { seq, source }),
        })
}

fn replay(store: &dyn AuditStore) -> Result<(Chain, Vec<Hash>, Option<String>), AuditError> {
    let mut chain = Chain::new();
    let mut leaves = Vec::new();
    let mut last = None;
    for item in store.entries(0, u64::MAX) {
        let (seq, bytes) = item?;
        let line = stored_line(chain.len(), seq, bytes)?;
        let leaf = chain
            .append_line(&line)
            .map_err(|error| AuditError::Corrupt {
                seq: error.seq(),
                source: Corruption::Chain(error),
            })?;
        leaves.push(leaf);
        last = Some(line);
    }
    Ok((chain, leaves, last))
}

/// A stored value as the line of entry `expected`.
fn stored_line(expected: u64, seq: u64, bytes: Vec<u8>) -> Result<String, AuditError> {
    if seq != expected {
        return Err(AuditError::Corrupt {
            seq: expected,
            source: Corruption::Missing { found: seq },
        });
    }
    String::from_utf8(bytes).map_err(|_| AuditError::Corrupt {
        seq,
        source: Corruption::NotUtf8,
    })
}

/// The latest stored checkpoint must sign this log: same origin, a size it has, the root it
/// had then. This catches a log cut short or rewritten below a published checkpoint, which the
/// chain alone cannot. The signature is not checked again: the key may have been rotated since.
fn check_stored_checkpoint(
    stored: &StoredCheckpoint,
    origin: &str,
    tree: &Tree,
) -> Result<(), AuditError> {
    let mismatch = |reason| AuditError::CheckpointMismatch {
        size: stored.size,
        reason,
    };
    let note = Note::parse(&stored.note).map_err(|_| mismatch("not a signed note"))?;
    let checkpoint =
        Checkpoint::parse_body(note.text()).map_err(|_| mismatch("not a checkpoint"))?;
    if checkpoint.size() != stored.size {
        return Err(mismatch("stored under another size"));
    }
    if checkpoint.origin() != origin {
        return Err(mismatch("signed for another origin"));
    }
    let root = tree
        .root_at(checkpoint.size())
        .map_err(|_| mismatch("the log has fewer entries"))?;
    if &root != checkpoint.root() {
        return Err(mismatch("root differs"));
    }
    Ok(())
}
