//! The nonces a relying party issued, and which of them were spent: a presentation is accepted
//! only when it answers a request this relying party issued, before it expired, and only once.
//!
//! The in-memory store serves a long-running checkout service; the file store serves the
//! one-shot `kyc-verify request --replay-store FILE` / `kyc-verify presentation --replay-store
//! FILE`, and several such processes at once.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kyc_core::presentation::PresentationRequest;
use serde::{Deserialize, Serialize};

/// What the store says about a presentation's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// Issued, unexpired, unused: now marked used.
    Accepted,
    /// Never issued here, or issued with other contents (a request file edited after the fact).
    Unknown,
    /// Issued, but its time is up.
    Expired,
    /// Issued and already used once.
    Replayed,
}

/// Remembers the requests a relying party issued and spends each nonce once.
pub trait ReplayStore {
    /// Record a request just issued.
    fn issue(&mut self, request: &PresentationRequest) -> std::io::Result<()>;

    /// Spend the nonce of `request` at `at`, if it was issued with exactly these contents and is
    /// neither expired nor spent.
    fn redeem(
        &mut self,
        request: &PresentationRequest,
        at: DateTime<Utc>,
    ) -> std::io::Result<Redemption>;
}

/// The decision shared by both stores.
fn decide(
    issued: Option<&PresentationRequest>,
    used: bool,
    request: &PresentationRequest,
    at: DateTime<Utc>,
) -> Redemption {
    match issued {
        Some(issued) if issued != request => Redemption::Unknown,
        None => Redemption::Unknown,
        Some(_) if used => Redemption::Replayed,
        Some(issued) if at >= issued.expires_at => Redemption::Expired,
        Some(_) => Redemption::Accepted,
    }
}

/// In-process store. Expired requests are dropped as new ones are issued.
#[derive(Debug, Default)]
pub struct MemoryReplayStore {
    /// nonce → (request, spent)
    requests: HashMap<String, (PresentationRequest, bool)>,
    issued_since_sweep: usize,
}

impl ReplayStore for MemoryReplayStore {
    fn issue(&mut self, request: &PresentationRequest) -> std::io::Result<()> {
        self.issued_since_sweep += 1;
        if self.issued_since_sweep > 1024 && self.issued_since_sweep > self.requests.len() {
            let now = Utc::now();
            self.requests.retain(|_, (r, _)| r.expires_at > now);
            self.issued_since_sweep = 0;
        }
        self.requests
            .insert(request.nonce.clone(), (request.clone(), false));
        Ok(())
    }

    fn redeem(
        &mut self,
        request: &PresentationRequest,
        at: DateTime<Utc>,
    ) -> std::io::Result<Redemption> {
        let entry = self.requests.get_mut(&request.nonce);
        let (issued, used) = match &entry {
            Some((r, used)) => (Some(r), *used),
            None => (None, false),
        };
        let verdict = decide(issued, used, request, at);
        if verdict == Redemption::Accepted {
            if let Some((_, used)) = entry {
                *used = true;
            }
        }
        Ok(verdict)
    }
}

/// One line of the file store.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
enum Record {
    /// A request issued.
    Issue { request: PresentationRequest },
    /// Its nonce spent.
    Use { nonce: String },
}

/// A JSON Lines file of the requests issued and the nonces spent.
///
/// - **Crash safety.** Records are only appended, each line written whole and the file synced
///   (`fsync`) before the call returns, so an acknowledged issue or acceptance survives a crash.
///   A crash mid-append can leave a final line without its newline: it was never acknowledged,
///   and it is cut off before the next append. Compaction (dropping expired requests once the
///   file has grown past [`FileReplayStore::COMPACT_AT`] bytes) writes a temporary file, syncs
///   it, renames it over the store and syncs the directory: the old file or the new one, never
///   half of either.
/// - **Several processes.** Every call holds an exclusive `flock(2)` on `FILE.lock` from its
///   read to its append, so two `kyc-verify` processes checking the same presentation at once
///   accept it once. (The lock is on a separate file because compaction replaces the store's
///   inode.)
#[derive(Debug)]
pub struct FileReplayStore {
    path: PathBuf,
}

/// The store's contents as read under the lock.
struct Loaded {
    requests: HashMap<String, (PresentationRequest, bool)>,
    file: File,
    /// Bytes of whole lines; anything after is a torn append.
    whole: u64,
    len: u64,
}

impl FileReplayStore {
    /// Compact when the file is larger than this.
    pub const COMPACT_AT: u64 = 1 << 20;

    /// A store at `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn lock(&self) -> std::io::Result<File> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(name))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(lock)
    }

    fn load(&self) -> std::io::Result<Loaded> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(&self.path)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        let mut requests = HashMap::new();
        for (n, line) in text[..whole].lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(line)
                .map_err(|e| invalid(format!("{} line {}: {e}", self.path.display(), n + 1)))?;
            match record {
                Record::Issue { request } => {
                    requests.insert(request.nonce.clone(), (request, false));
                }
                Record::Use { nonce } => {
                    if let Some((_, used)) = requests.get_mut(&nonce) {
                        *used = true;
                    }
                }
            }
        }
        Ok(Loaded {
            requests,
            file,
            whole: whole as u64,
            len: text.len() as u64,
        })
    }

    fn append(loaded: &mut Loaded, record: &Record) -> std::io::Result<()> {
        if loaded.whole != loaded.len {
            loaded.file.set_len(loaded.whole)?;
            loaded.file.seek(SeekFrom::End(0))?;
        }
        let mut line = serde_json::to_string(record).map_err(|e| invalid(e.to_string()))?;
        line.push('\n');
        loaded.file.write_all(line.as_bytes())?;
        loaded.file.sync_all()
    }

    /// Rewrite the store with the unexpired requests only.
    fn compact(&self, loaded: &Loaded, now: DateTime<Utc>) -> std::io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let mut out = String::new();
        for (request, used) in loaded.requests.values() {
            if request.expires_at <= now {
                continue;
            }
            let issue = Record::Issue {
                request: request.clone(),
            };
            out.push_str(&serde_json::to_string(&issue).map_err(|e| invalid(e.to_string()))?);
            out.push('\n');
            if *used {
                let spent = Record::Use {
                    nonce: request.nonce.clone(),
                };
                out.push_str(&serde_json::to_string(&spent).map_err(|e| invalid(e.to_string()))?);
                out.push('\n');
            }
        }
        let mut file = File::create(&tmp)?;
        file.write_all(out.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        File::open(dir)?.sync_all()
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl ReplayStore for FileReplayStore {
    fn issue(&mut self, request: &PresentationRequest) -> std::io::Result<()> {
        let _lock = self.lock()?;
        let mut loaded = self.load()?;
        if loaded.requests.contains_key(&request.nonce) {
            return Err(invalid("this nonce was issued before".into()));
        }
        Self::append(
            &mut loaded,
            &Record::Issue {
                request: request.clone(),
            },
        )?;
        if loaded.len > Self::COMPACT_AT {
            loaded
                .requests
                .insert(request.nonce.clone(), (request.clone(), false));
            self.compact(&loaded, Utc::now())?;
        }
        Ok(())
    }

    fn redeem(
        &mut self,
        request: &PresentationRequest,
        at: DateTime<Utc>,
    ) -> std::io::Result<Redemption> {
        let _lock = self.lock()?;
        let mut loaded = self.load()?;
        let (issued, used) = match loaded.requests.get(&request.nonce) {
            Some((r, used)) => (Some(r), *used),
            None => (None, false),
        };
        let verdict = decide(issued, used, request, at);
        if verdict == Redemption::Accepted {
            Self::append(
                &mut loaded,
                &Record::Use {
                    nonce: request.nonce.clone(),
                },
            )?;
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use kyc_core::KycTier;

    fn request(now: DateTime<Utc>) -> PresentationRequest {
        PresentationRequest::new("shop", KycTier::Basic, &[], now, Duration::minutes(5)).unwrap()
    }

    fn exercise(store: &mut dyn ReplayStore) {
        let now = Utc::now();
        let r = request(now);
        assert_eq!(store.redeem(&r, now).unwrap(), Redemption::Unknown);
        store.issue(&r).unwrap();
        let mut edited = r.clone();
        edited.min_tier = KycTier::Verified;
        assert_eq!(store.redeem(&edited, now).unwrap(), Redemption::Unknown);
        assert_eq!(
            store.redeem(&r, now + Duration::minutes(5)).unwrap(),
            Redemption::Expired
        );
        assert_eq!(store.redeem(&r, now).unwrap(), Redemption::Accepted);
        assert_eq!(store.redeem(&r, now).unwrap(), Redemption::Replayed);
        let other = request(now);
        store.issue(&other).unwrap();
        assert_eq!(store.redeem(&other, now).unwrap(), Redemption::Accepted);
    }

    #[test]
    fn memory_store() {
        exercise(&mut MemoryReplayStore::default());
    }

    #[test]
    fn file_store_survives_a_torn_append_and_reopening() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nonces.jsonl");
        exercise(&mut FileReplayStore::new(&path));
        let now = Utc::now();
        let r = request(now);
        FileReplayStore::new(&path).issue(&r).unwrap();
        // A crash mid-append: half a line, no newline. It was never acknowledged.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"use","no"#).unwrap();
        drop(f);
        let mut reopened = FileReplayStore::new(&path);
        assert_eq!(reopened.redeem(&r, now).unwrap(), Redemption::Accepted);
        assert_eq!(reopened.redeem(&r, now).unwrap(), Redemption::Replayed);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n') && !text.contains(r#""no{"#), "{text}");
    }

    #[test]
    fn file_store_compacts_expired_requests() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nonces.jsonl");
        let store = FileReplayStore::new(&path);
        let now = Utc::now();
        let live = request(now);
        let mut loaded = store.load().unwrap();
        loaded
            .requests
            .insert(live.nonce.clone(), (live.clone(), true));
        let old = request(now - Duration::hours(1));
        loaded.requests.insert(old.nonce.clone(), (old, false));
        store.compact(&loaded, now).unwrap();
        let mut store = FileReplayStore::new(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(store.redeem(&live, now).unwrap(), Redemption::Replayed);
    }

    #[test]
    fn two_processes_accept_once() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nonces.jsonl");
        let now = Utc::now();
        let r = request(now);
        FileReplayStore::new(&path).issue(&r).unwrap();
        let outcomes: Vec<Redemption> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| FileReplayStore::new(&path).redeem(&r, now).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let accepted = outcomes
            .iter()
            .filter(|o| **o == Redemption::Accepted)
            .count();
        assert_eq!(accepted, 1, "{outcomes:?}");
    }
}
