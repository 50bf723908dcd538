//! The embedded backend: the audit log in sled, in the issuer's data directory.
//!
//! Two trees: [`SledStore::ENTRIES_TREE`] maps seq (8 bytes, big-endian, so key order is seq
//! order) to the canonical line's bytes; [`SledStore::CHECKPOINTS_TREE`] maps tree size (same
//! encoding) to the signed checkpoint note. A commit applies the entries as one atomic sled
//! batch, then the checkpoints, then makes them durable with one sync, however many entries the
//! commit holds. sled recovers its log as a prefix after a crash, so a checkpoint recovered
//! implies the entries it signs were too.
//!
//! **sled's `flush` is not enough.** On Linux, sled 0.34's `flush` ends in
//! `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`, not `fsync` (`pagecache/iobuf.rs`,
//! confirmed with `strace`). That waits for the pages to reach the device but neither commits
//! the file's metadata (its growing size) nor flushes the device's volatile write cache, so
//! sync_file_range(2) itself says it guarantees nothing after a crash of the machine. It does
//! survive a killed process, which is why a SIGKILL test cannot tell the difference. So after
//! sled's flush, the store calls `fdatasync` on sled's log file (`<dir>/db`, sled 0.34's
//! layout) through a descriptor of its own: Linux syncs the file, not the descriptor, so this
//! commits the size and flushes the device cache for what sled wrote. It costs one device cache
//! flush per commit, which bounds throughput at (commit batch size) × (the disk's flush rate).

use std::fs::File;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::store::{AuditStore, StoreBatch, StoreError, StoredCheckpoint, StoredEntries};

/// The audit log's sled backend.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    entries: sled::Tree,
    checkpoints: sled::Tree,
    /// sled's log file, opened again so that a commit can `fdatasync` it (see the module docs).
    log_file: File,
    /// The next free seq; held across a commit so two commits cannot interleave.
    next_seq: Mutex<u64>,
}

impl SledStore {
    /// The sled tree holding the entries.
    pub const ENTRIES_TREE: &'static str = "audit_entries";
    /// The sled tree holding the signed checkpoints.
    pub const CHECKPOINTS_TREE: &'static str = "audit_checkpoints";

    /// Opens (or creates) a sled database of its own in directory `dir`.
    ///
    /// sled's background flush is switched off: every commit syncs, so it would only add
    /// writes.
    ///
    /// sled locks the directory while it is open. A handle just dropped (in this process or
    /// one that just exited) can hold the lock a moment longer, while sled's I/O threads let go
    /// of the file, so a lock held by someone else is waited for up to [`LOCK_WAIT`] before
    /// this fails.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = open_db(dir.as_ref())?;
        Self::new(&db, dir)
    }

    /// The audit log's trees in a database already open at `dir`, which the issuer's other
    /// stores may share (sled allows one open handle per directory per process). `dir` must be
    /// the directory `db` was opened at: commits sync sled's log file in it. A commit's sync
    /// also makes the other trees' pending writes durable.
    pub fn new(db: &sled::Db, dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let log_file = open_log_file(dir.as_ref())?;
        let entries = db.open_tree(Self::ENTRIES_TREE).map_err(backend)?;
        let checkpoints = db.open_tree(Self::CHECKPOINTS_TREE).map_err(backend)?;
        let next_seq = match entries.last().map_err(backend)? {
            Some((key, _)) => decode_key(&key)?.saturating_add(1),
            None => 0,
        };
        Ok(Self {
            db: db.clone(),
            entries,
            checkpoints,
            log_file,
            next_seq: Mutex::new(next_seq),
        })
    }
}

impl AuditStore for SledStore {
    fn commit(&self, batch: &StoreBatch) -> Result<(), StoreError> {
        // A panic elsewhere while holding the lock cannot leave the counter half-written.
        let mut next_seq = self.next_seq.lock().unwrap_or_else(PoisonError::into_inner);
        if batch.first_seq != *next_seq {
            return Err(StoreError::Conflict {
                expected: *next_seq,
                found: batch.first_seq,
            });
        }
        let mut entries = sled::Batch::default();
        let mut seq = batch.first_seq;
        for line in &batch.lines {
            entries.insert(&seq.to_be_bytes(), line.as_bytes());
            seq += 1;
        }
        self.entries.apply_batch(entries).map_err(backend)?;
        if !batch.checkpoints.is_empty() {
            let mut checkpoints = sled::Batch::default();
            for checkpoint in &batch.checkpoints {
                checkpoints.insert(&checkpoint.size.to_be_bytes(), checkpoint.note.as_bytes());
            }
            self.checkpoints.apply_batch(checkpoints).map_err(backend)?;
        }
        // The group commit: everything above reaches the disk with sled's flush, and is made
        // durable by one fdatasync (see the module docs for why sled's flush alone is not).
        durable_flush(&self.db, &self.log_file)?;
        *next_seq = seq;
        Ok(())
    }

    fn entries(&self, from: u64, to: u64) -> StoredEntries<'_> {
        if from >= to {
            return Box::new(std::iter::empty());
        }
        let range = self.entries.range(from.to_be_bytes()..to.to_be_bytes());
        Box::new(range.map(|item| {
            let (key, value) = item.map_err(backend)?;
            Ok((decode_key(&key)?, value.to_vec()))
        }))
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let Some((key, value)) = self.checkpoints.last().map_err(backend)? else {
            return Ok(None);
        };
        let size = decode_key(&key)?;
        let note =
            String::from_utf8(value.to_vec()).map_err(|_| StoreError::BadCheckpoint { size })?;
        Ok(Some(StoredCheckpoint { size, note }))
    }
}

/// Open (or create) the sled database in `dir`, as [`SledStore::open`] describes: background
/// flushes off, a lock held by a handle just dropped waited for, the directory synced.
pub fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    // sled's page cache defaults to 1 GiB; the issuer's working set (open applications, recent
    // credentials, the audit tail) is far smaller, and the OS caches the rest of the files.
    let config = sled::Config::new()
        .path(dir)
        .flush_every_ms(None)
        .cache_capacity(SLED_CACHE_BYTES);
    let waited = Instant::now();
    let db = loop {
        match config.open() {
            Err(error) if is_lock_held(&error) && waited.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            opened => break opened.map_err(backend)?,
        }
    };
    // A new database's files exist for sure only once their directory entries are synced.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing the store directory", &e))?;
    Ok(db)
}

/// sled's log file in `dir`, opened so that [`durable_flush`] can `fdatasync` it.
pub fn open_log_file(dir: &Path) -> Result<File, StoreError> {
    File::open(dir.join(SLED_LOG_FILE)).map_err(|e| io("opening sled's log file", &e))
}

/// Make everything written to `db` durable: sled's flush, then `fdatasync` of its log file (see
/// the module docs for why the flush alone is not enough). Covers every tree of the database.
pub fn durable_flush(db: &sled::Db, log_file: &File) -> Result<(), StoreError> {
    db.flush().map_err(backend)?;
    log_file
        .sync_data()
        .map_err(|e| io("fdatasync of sled's log file", &e))
}

/// Group commit for writers other than the audit log's single writer: many threads asking for
/// durability at once share one [`durable_flush`].
///
/// A writer writes to sled, then calls [`SyncGroup::sync`]. Tickets are taken after the write,
/// so when a sync starts, every write holding a ticket up to the newest one issued is already in
/// sled's buffers; one flush covers them all, and later callers whose ticket it covered return
/// without flushing again.
#[derive(Debug)]
pub struct SyncGroup {
    db: sled::Db,
    log_file: File,
    issued: std::sync::atomic::AtomicU64,
    synced: Mutex<u64>,
}

impl SyncGroup {
    /// A sync group for `db`, opened at `dir`.
    pub fn new(db: &sled::Db, dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: db.clone(),
            log_file: open_log_file(dir)?,
            issued: std::sync::atomic::AtomicU64::new(0),
            synced: Mutex::new(0),
        })
    }

    /// Return once everything this thread wrote before the call is durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let ticket = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        if *synced >= ticket {
            return Ok(());
        }
        let covered = self.issued.load(Ordering::SeqCst);
        durable_flush(&self.db, &self.log_file)?;
        *synced = covered;
        Ok(())
    }
}

/// How long [`SledStore::open`] waits for another handle to release the directory.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// sled 0.34 reports a directory locked by another handle only in an error message
/// (`config.rs`, `try_lock`).
fn is_lock_held(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(e) if e.to_string().starts_with("could not acquire lock"))
}

/// sled's page cache size (see [`open_db`]).
const SLED_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// sled 0.34 keeps its log, the data it recovers from, in this file of its directory.
const SLED_LOG_FILE: &str = "db";

fn io(what: &str, error: &std::io::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {error}"))
}

/// sled's errors name files and offsets, never stored values.
fn backend(error: sled::Error) -> StoreError {
    StoreError::Backend(format!("sled: {error}"))
}

/// A key as a seq or size: 8 bytes, big-endian, so that the byte order of keys is their numeric
/// order.
fn decode_key(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| StoreError::BadKey { len: key.len() })?;
    Ok(u64::from_be_bytes(bytes))
}
