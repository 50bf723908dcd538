//! Subject keys at rest: outside the state store, wrapped under a key-encryption key (KEK) that
//! is kept outside the data directory, one file per key, and destroyed physically on erasure.
//!
//! # Why not in the store
//!
//! A [`SubjectKey`] is what crypto-shredding destroys, so it must be kept where deletion is
//! deletion. sled (like most databases) never rewrites a value in place: an update or a remove
//! appends to its log, and old versions stay in its files until a segment happens to be
//! reclaimed, clean shutdown or not. A key kept in a sled record would survive its erasure, and
//! would sit beside the ciphertexts it opens, so a copy of the data directory would open
//! everything. Here every subject key is
//!
//! - **wrapped** under the KEK ([`KeyEncryptionKey`]: AES-256-GCM as a compact JWE, bound to the
//!   subject id and the KEK id), so that the data directory alone, or a backup of it, opens
//!   nothing;
//! - **in its own file** `<dir>/<subject id>.key` (`<KEK id>\n<wrapped key>\n`, mode 0600),
//!   written to `<dir>/tmp/`, fsynced, renamed into place, the directory fsynced;
//! - **erased physically**: the file is overwritten with zeros in place, fsynced, unlinked, and
//!   the directory fsynced, before the erasure is recorded.
//!
//! Overwriting in place reaches the disk blocks on ext4 and XFS. Copy-on-write filesystems
//! (btrfs, ZFS), filesystem snapshots and SSD wear levelling may keep the old blocks; what they
//! keep is a wrapped key, which opens nothing without the KEK, and rotating the KEK
//! ([`rotate_kek`]) and destroying the old one retires those copies too.
//!
//! # Where the KEK lives
//!
//! In a file outside the data directory: `subject_keys.kek_file`, by default
//! `subject-keys.kek` beside the configuration file (a private oct JWK, mode 0600, created on
//! first start when the key store is empty; refused if group or others can read it, refused
//! inside `data_dir`). `KYC_ISSUER_SUBJECT_KEYS__KEK_FILE` overrides the path like every other
//! key. A KMS would implement [`SubjectKeys`] (or unwrap the KEK at start) without changing the
//! callers.
//!
//! # Rotation
//!
//! `kyc-issuer subject-keys rotate-kek --config FILE`, with the issuer stopped ([`rotate_kek`]):
//! a new KEK is written to `<kek_file>.next`, every key file is rewrapped under it (temp file,
//! fsync, rename), then `<kek_file>.next` replaces `<kek_file>` and the old KEK's file is
//! overwritten with zeros. Each key file names its KEK, so an interrupted rotation is finished by
//! running it again; the service refuses to start while `<kek_file>.next` exists.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use crate::pii::{KeyEncryptionKey, PiiError, SubjectKey};

/// The file name the KEK gets beside the configuration file when `kek_file` is not set.
pub const DEFAULT_KEK_FILE: &str = "subject-keys.kek";
/// The key store's directory under `data_dir` when `dir` is not set.
pub const DEFAULT_DIR: &str = "subject-keys";
/// A key file's name ends so.
const KEY_SUFFIX: &str = ".key";
/// Longest subject id with a key file (the issuer's are UUIDs, 36 characters).
const MAX_SUBJECT_LEN: usize = 64;

/// The subject key store: the `[subject_keys]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubjectKeysConfig {
    /// The KEK file; default `subject-keys.kek` beside the configuration file. Must be outside
    /// `data_dir`: keep it, and its backup, apart from the data and its backups.
    pub kek_file: Option<PathBuf>,
    /// The directory of the wrapped key files; default `<data_dir>/subject-keys`.
    pub dir: Option<PathBuf>,
}

/// Where the key store and its KEK are, resolved from [`SubjectKeysConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKeySettings {
    /// The KEK file.
    pub kek_file: PathBuf,
    /// The key files' directory.
    pub dir: PathBuf,
}

/// Why the key store cannot be used. Messages name paths and subject ids (pseudonymous), never
/// key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// Reading or writing a file failed.
    #[error("subject key store {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may read the KEK file.
    #[error("KEK file {0} is readable by group or others (mode {1:o}); chmod 600 it")]
    KekExposed(String, u32),
    /// The KEK file is not a KEK.
    #[error("KEK file {0} is not a private oct JWK of 32 bytes")]
    KekInvalid(String),
    /// There is no KEK file and it cannot be created there (on first start).
    #[error(
        "cannot create the KEK file {path} ({source}); create one where the issuer can read it, \
         outside data_dir, with `kyc-issuer subject-keys new-kek --out FILE`, and name it in \
         subject_keys.kek_file"
    )]
    KekCreate {
        /// The KEK file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// There is no KEK file but there are wrapped keys: a new KEK would open none of them.
    #[error(
        "KEK file {kek} is missing but the key store {store} holds wrapped subject keys; \
         restore the KEK (or point subject_keys.kek_file at it)"
    )]
    KekMissing {
        /// The KEK file expected.
        kek: String,
        /// The key store.
        store: String,
    },
    /// The key store's keys are wrapped under another KEK than the one configured.
    #[error(
        "the key store {store} holds keys wrapped under KEK {found}, the configured KEK is {kek}; \
         point subject_keys.kek_file at the right KEK"
    )]
    WrongKek {
        /// The key store.
        store: String,
        /// The id the key files name.
        found: String,
        /// The configured KEK's id.
        kek: String,
    },
    /// A KEK rotation did not finish.
    #[error(
        "a KEK rotation was interrupted ({0} exists); run `kyc-issuer subject-keys rotate-kek` \
         again to finish it"
    )]
    RotationPending(String),
    /// Another process (a running issuer, a rotation) has the key store open.
    #[error("the key store {0} is in use by another process (stop the issuer first)")]
    Locked(String),
    /// A subject id that cannot name a key file.
    #[error("a subject id must be 1 to {MAX_SUBJECT_LEN} ASCII letters, digits or '-'")]
    BadSubject,
    /// A key file does not have the key file format.
    #[error("key file {0} is damaged")]
    Corrupt(String),
    /// Wrapping or unwrapping a key failed (a damaged file or the wrong KEK).
    #[error("subject key of {subject}")]
    Crypto {
        /// The subject.
        subject: String,
        /// What failed.
        #[source]
        source: PiiError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyStoreError + '_ {
    move |source| KeyStoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Where subject keys are kept, separate from the state store (see the [module docs](self)).
pub trait SubjectKeys: Send + Sync + fmt::Debug + 'static {
    /// Keep `key` for a new `subject`; durable on return.
    fn insert(&self, subject: &str, key: &SubjectKey) -> Result<(), KeyStoreError>;
    /// The key of `subject`, `None` when it has none (never had, or erased).
    fn get(&self, subject: &str) -> Result<Option<SubjectKey>, KeyStoreError>;
    /// Destroy the key of `subject` so that no copy is left; whether there was one. Durable on
    /// return.
    fn destroy(&self, subject: &str) -> Result<bool, KeyStoreError>;
}

/// Subject keys in memory (tests, and anything that must not touch a disk).
#[derive(Debug, Default)]
pub struct MemoryKeys {
    keys: Mutex<std::collections::HashMap<String, SubjectKey>>,
}

impl MemoryKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, SubjectKey>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SubjectKeys for MemoryKeys {
    fn insert(&self, subject: &str, key: &SubjectKey) -> Result<(), KeyStoreError> {
        self.lock().insert(subject.to_owned(), key.clone());
        Ok(())
    }

    fn get(&self, subject: &str) -> Result<Option<SubjectKey>, KeyStoreError> {
        Ok(self.lock().get(subject).cloned())
    }

    fn destroy(&self, subject: &str) -> Result<bool, KeyStoreError> {
        // The removed key is dropped here, which wipes its bytes.
        Ok(self.lock().remove(subject).is_some())
    }
}

/// Subject keys in files, wrapped under the KEK (see the [module docs](self)). Holds an
/// exclusive lock on the directory while open.
pub struct FileKeys {
    dir: PathBuf,
    tmp: PathBuf,
    kek: KeyEncryptionKey,
    _lock: File,
}

impl fmt::Debug for FileKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKeys")
            .field("dir", &self.dir)
            .field("kek", &self.kek)
            .finish_non_exhaustive()
    }
}

/// Whether `subject` can name a key file (no path separators, no dots).
fn valid_subject(subject: &str) -> bool {
    (1..=MAX_SUBJECT_LEN).contains(&subject.len())
        && subject
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// fsync a directory, so that the names created, renamed or removed in it are durable.
fn sync_dir(dir: &Path) -> Result<(), KeyStoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn create_private_dir(dir: &Path) -> Result<(), KeyStoreError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

/// Write `bytes` to a new file `tmp` (0600), fsync it, rename it to `path`, fsync `path`'s
/// directory.
fn write_atomically(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    // A leftover of an interrupted write is shredded like any key file.
    shred(tmp)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io(tmp))?;
    file.write_all(bytes).map_err(io(tmp))?;
    file.sync_all().map_err(io(tmp))?;
    drop(file);
    std::fs::rename(tmp, path).map_err(io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Overwrite the file at `path` with zeros in place and fsync it, then unlink it and fsync its
/// directory. `false` when there was no file.
fn shred(path: &Path) -> Result<bool, KeyStoreError> {
    let mut file = match OpenOptions::new().write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(path)(e)),
    };
    overwrite(&mut file, path)?;
    drop(file);
    std::fs::remove_file(path).map_err(io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(true)
}

/// Overwrite an open file's bytes with zeros, in place, and fsync it.
fn overwrite(file: &mut File, path: &Path) -> Result<(), KeyStoreError> {
    use std::io::Seek as _;
    let len = file.metadata().map_err(io(path))?.len();
    file.seek(std::io::SeekFrom::Start(0)).map_err(io(path))?;
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.write_all(&zeros).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// A key file's contents: the KEK id line, then the wrapped key.
fn parse_key_file<'a>(path: &Path, text: &'a str) -> Result<(&'a str, &'a str), KeyStoreError> {
    let corrupt = || KeyStoreError::Corrupt(path.display().to_string());
    let (kek, wrapped) = text.trim_end().split_once('\n').ok_or_else(corrupt)?;
    if kek.is_empty() || wrapped.is_empty() {
        return Err(corrupt());
    }
    Ok((kek, wrapped))
}

fn read_text(path: &Path) -> Result<Option<String>, KeyStoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|_| KeyStoreError::Corrupt(path.display().to_string()))?;
    Ok(Some(text))
}

/// The subject ids that have a key file in `dir`.
fn key_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, KeyStoreError> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let Some(subject) = name.to_str().and_then(|n| n.strip_suffix(KEY_SUFFIX)) else {
            continue;
        };
        if valid_subject(subject) {
            found.push((subject.to_owned(), entry.path()));
        }
    }
    Ok(found)
}

/// Take the key store's lock file, or fail if another process holds it.
fn lock(dir: &Path) -> Result<File, KeyStoreError> {
    let path = dir.join(".lock");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    match fs2::FileExt::try_lock_exclusive(&file) {
        Ok(()) => Ok(file),
        Err(e) if e.kind() == fs2::lock_contended_error().kind() => {
            Err(KeyStoreError::Locked(dir.display().to_string()))
        }
        Err(e) => Err(io(&path)(e)),
    }
}

impl FileKeys {
    /// The key store in `dir` (created, mode 0700, when missing) under `kek`, locked for this
    /// process; stale temporary files of an interrupted write are shredded. Refused when its
    /// keys name another KEK.
    pub fn open(dir: &Path, kek: KeyEncryptionKey) -> Result<Self, KeyStoreError> {
        let tmp = dir.join("tmp");
        create_private_dir(&tmp)?;
        let lock = lock(dir)?;
        for entry in std::fs::read_dir(&tmp).map_err(io(&tmp))? {
            shred(&entry.map_err(io(&tmp))?.path())?;
        }
        // One file tells whether the KEK is the right one (they all name the same KEK outside
        // a rotation, which holds the lock).
        if let Some((_, path)) = key_files(dir)?.first() {
            if let Some(text) = read_text(path)? {
                let (found, _) = parse_key_file(path, &text)?;
                if found != kek.id() {
                    return Err(KeyStoreError::WrongKek {
                        store: dir.display().to_string(),
                        found: found.to_owned(),
                        kek: kek.id().to_owned(),
                    });
                }
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            tmp,
            kek,
            _lock: lock,
        })
    }

    /// The key store of `settings`: its KEK loaded, or created when there is none and the
    /// store holds no key yet. Refused while a rotation is unfinished.
    pub fn open_configured(settings: &SubjectKeySettings) -> Result<Self, KeyStoreError> {
        let next = next_path(&settings.kek_file);
        if next.exists() {
            return Err(KeyStoreError::RotationPending(next.display().to_string()));
        }
        let kek = match load_kek(&settings.kek_file) {
            Err(KeyStoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                if !key_files(&settings.dir)?.is_empty() {
                    return Err(KeyStoreError::KekMissing {
                        kek: settings.kek_file.display().to_string(),
                        store: settings.dir.display().to_string(),
                    });
                }
                let kek = create_kek(&settings.kek_file).map_err(|e| match e {
                    KeyStoreError::Io { path, source } => KeyStoreError::KekCreate { path, source },
                    other => other,
                })?;
                tracing::info!(
                    kek = kek.id(),
                    file = %settings.kek_file.display(),
                    "created the subject keys' KEK; back it up apart from the data directory"
                );
                kek
            }
            other => other?,
        };
        Self::open(&settings.dir, kek)
    }

    /// The id of the KEK the keys are wrapped under.
    pub fn kek_id(&self) -> &str {
        self.kek.id()
    }

    fn path_of(&self, subject: &str) -> PathBuf {
        self.dir.join(format!("{subject}{KEY_SUFFIX}"))
    }

    fn write(
        &self,
        subject: &str,
        kek: &KeyEncryptionKey,
        key: &SubjectKey,
    ) -> Result<(), KeyStoreError> {
        let wrapped = kek
            .wrap(subject, key)
            .map_err(|source| KeyStoreError::Crypto {
                subject: subject.to_owned(),
                source,
            })?;
        let text = format!("{}\n{wrapped}\n", kek.id());
        write_atomically(
            &self.tmp.join(format!("{subject}{KEY_SUFFIX}")),
            &self.path_of(subject),
            text.as_bytes(),
        )
    }
}

/// Run `f`, which waits for the disk. The key store is called from async handlers; on a
/// multi-threaded runtime the wait is declared with `block_in_place`, so that the worker's other
/// tasks move elsewhere meanwhile (as the state store does for its syncs).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let on_multi_thread =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if on_multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

impl SubjectKeys for FileKeys {
    fn insert(&self, subject: &str, key: &SubjectKey) -> Result<(), KeyStoreError> {
        if !valid_subject(subject) {
            return Err(KeyStoreError::BadSubject);
        }
        blocking(|| self.write(subject, &self.kek, key))
    }

    fn get(&self, subject: &str) -> Result<Option<SubjectKey>, KeyStoreError> {
        if !valid_subject(subject) {
            return Ok(None);
        }
        let path = self.path_of(subject);
        let Some(text) = read_text(&path)? else {
            return Ok(None);
        };
        let (_, wrapped) = parse_key_file(&path, &text)?;
        self.kek
            .unwrap(subject, wrapped)
            .map(Some)
            .map_err(|source| KeyStoreError::Crypto {
                subject: subject.to_owned(),
                source,
            })
    }

    fn destroy(&self, subject: &str) -> Result<bool, KeyStoreError> {
        if !valid_subject(subject) {
            return Ok(false);
        }
        blocking(|| shred(&self.path_of(subject)))
    }
}

/// `<kek_file>.next`: the new KEK during a rotation.
fn next_path(kek_file: &Path) -> PathBuf {
    let mut name = kek_file.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// The KEK as a private oct JWK (RFC 7517 §6.4).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OctJwk {
    kty: String,
    k: String,
}

/// Create a new KEK at `path` (which must not exist), mode 0600, durable on return.
pub fn create_kek(path: &Path) -> Result<KeyEncryptionKey, KeyStoreError> {
    let kek = KeyEncryptionKey::generate();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    let jwk = zeroize::Zeroizing::new(format!(
        "{{\"kty\":\"oct\",\"k\":\"{}\"}}\n",
        URL_SAFE_NO_PAD.encode(kek.as_bytes())
    ));
    file.write_all(jwk.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(parent)?;
    Ok(kek)
}

/// Load the KEK at `path`, refusing a file that group or others can read.
pub fn load_kek(path: &Path) -> Result<KeyEncryptionKey, KeyStoreError> {
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyStoreError::KekExposed(
            path.display().to_string(),
            mode & 0o777,
        ));
    }
    let invalid = || KeyStoreError::KekInvalid(path.display().to_string());
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
    let jwk: OctJwk = serde_json::from_str(text.trim()).map_err(|_| invalid())?;
    if jwk.kty != "oct" {
        return Err(invalid());
    }
    let bytes = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.decode(&jwk.k).map_err(|_| invalid())?);
    drop(jwk);
    KeyEncryptionKey::from_slice(&bytes).map_err(|_| invalid())
}

/// What [`rotate_kek`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The retired KEK's id.
    pub old: String,
    /// The new KEK's id.
    pub new: String,
    /// Key files rewrapped by this run.
    pub rewrapped: usize,
    /// Key files already under the new KEK (an interrupted run's).
    pub already: usize,
}

/// Rewrap every key of the store of `settings` under a new KEK, then make it the configured
/// one and overwrite the old KEK's file (see the [module docs](self)). The issuer must be
/// stopped (the store's lock is taken). Running it again after an interruption finishes the
/// same rotation.
pub fn rotate_kek(settings: &SubjectKeySettings) -> Result<Rotation, KeyStoreError> {
    // The lock first: nothing changes while an issuer has the store open.
    let tmp = settings.dir.join("tmp");
    create_private_dir(&tmp)?;
    let lock = lock(&settings.dir)?;
    let old = load_kek(&settings.kek_file)?;
    let next = next_path(&settings.kek_file);
    let new = match load_kek(&next) {
        Err(KeyStoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            create_kek(&next)?
        }
        other => other?,
    };
    // Opened under the new KEK without the start-up check (a rotation may be half done).
    let store = FileKeys {
        dir: settings.dir.clone(),
        tmp,
        kek: new.clone(),
        _lock: lock,
    };
    let mut rotation = Rotation {
        old: old.id().to_owned(),
        new: new.id().to_owned(),
        rewrapped: 0,
        already: 0,
    };
    for (subject, path) in key_files(&settings.dir)? {
        let Some(text) = read_text(&path)? else {
            continue;
        };
        let (kek_id, wrapped) = parse_key_file(&path, &text)?;
        if kek_id == new.id() {
            rotation.already += 1;
            continue;
        }
        if kek_id != old.id() {
            return Err(KeyStoreError::WrongKek {
                store: settings.dir.display().to_string(),
                found: kek_id.to_owned(),
                kek: old.id().to_owned(),
            });
        }
        let key = old
            .unwrap(&subject, wrapped)
            .map_err(|source| KeyStoreError::Crypto {
                subject: subject.clone(),
                source,
            })?;
        store.write(&subject, &new, &key)?;
        rotation.rewrapped += 1;
    }
    // Every key is under the new KEK: make it the configured one, then wipe the old one's
    // bytes through a handle kept across the rename (the old file is unlinked by then).
    let mut retired = OpenOptions::new()
        .write(true)
        .open(&settings.kek_file)
        .map_err(io(&settings.kek_file))?;
    std::fs::rename(&next, &settings.kek_file).map_err(io(&settings.kek_file))?;
    let parent = match settings.kek_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(parent)?;
    overwrite(&mut retired, &settings.kek_file)?;
    Ok(rotation)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settings(root: &Path) -> SubjectKeySettings {
        SubjectKeySettings {
            kek_file: root.join("kek.jwk"),
            dir: root.join("data").join(DEFAULT_DIR),
        }
    }

    /// Every byte of every file under `dir`.
    fn all_bytes(dir: &Path) -> Vec<u8> {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                bytes.extend(all_bytes(&path));
            } else {
                bytes.extend(std::fs::read(&path).unwrap());
            }
        }
        bytes
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn keys_round_trip_wrapped_and_shredded() {
        let root = tempfile::tempdir().unwrap();
        let settings = settings(root.path());
        let store = FileKeys::open_configured(&settings).unwrap();
        let mode = std::fs::metadata(&settings.kek_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let key = SubjectKey::generate();
        let subject = "0b6c7a1e-5f2d-4c1e-9a9a-1234567890ab";
        store.insert(subject, &key).unwrap();
        assert_eq!(
            store.get(subject).unwrap().unwrap().as_bytes(),
            key.as_bytes()
        );
        let file = settings.dir.join(format!("{subject}.key"));
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Wrapped: the key's bytes are nowhere in the store, raw or base64url.
        let stored = all_bytes(&settings.dir);
        assert!(!contains(&stored, key.as_bytes()));
        assert!(!contains(
            &stored,
            URL_SAFE_NO_PAD.encode(key.as_bytes()).as_bytes()
        ));

        // Another subject's file renamed over: refused (the wrap names its subject).
        let other = "77aa0000-0000-0000-0000-000000000000";
        std::fs::copy(&file, settings.dir.join(format!("{other}.key"))).unwrap();
        assert!(matches!(
            store.get(other),
            Err(KeyStoreError::Crypto { .. })
        ));

        assert!(store.destroy(subject).unwrap());
        assert!(!file.exists());
        assert!(store.get(subject).unwrap().is_none());
        assert!(!store.destroy(subject).unwrap());
        // Ids that cannot name a file name no key.
        for bad in ["", "../x", "a/b", "a.b", &"a".repeat(65)] {
            assert!(store.get(bad).unwrap().is_none());
            assert!(!store.destroy(bad).unwrap());
            assert!(matches!(
                store.insert(bad, &key),
                Err(KeyStoreError::BadSubject)
            ));
        }
    }

    #[test]
    fn one_process_at_a_time_and_the_right_kek() {
        let root = tempfile::tempdir().unwrap();
        let settings = settings(root.path());
        let store = FileKeys::open_configured(&settings).unwrap();
        store.insert("s1", &SubjectKey::generate()).unwrap();
        assert!(matches!(
            FileKeys::open_configured(&settings),
            Err(KeyStoreError::Locked(_))
        ));
        drop(store);

        // The KEK gone while keys remain: no new KEK is made.
        let saved = std::fs::read(&settings.kek_file).unwrap();
        std::fs::remove_file(&settings.kek_file).unwrap();
        assert!(matches!(
            FileKeys::open_configured(&settings),
            Err(KeyStoreError::KekMissing { .. })
        ));
        assert!(!settings.kek_file.exists());
        // Another KEK: refused, naming both ids.
        create_kek(&settings.kek_file).unwrap();
        assert!(matches!(
            FileKeys::open_configured(&settings),
            Err(KeyStoreError::WrongKek { .. })
        ));
        std::fs::write(&settings.kek_file, &saved).unwrap();
        std::fs::set_permissions(&settings.kek_file, std::fs::Permissions::from_mode(0o640))
            .unwrap();
        assert!(matches!(
            FileKeys::open_configured(&settings),
            Err(KeyStoreError::KekExposed(_, 0o640))
        ));
        std::fs::set_permissions(&settings.kek_file, std::fs::Permissions::from_mode(0o600))
            .unwrap();
        assert!(FileKeys::open_configured(&settings).is_ok());
    }

    #[test]
    fn a_kek_that_cannot_be_created_says_what_to_do() {
        let root = tempfile::tempdir().unwrap();
        let settings = SubjectKeySettings {
            kek_file: root.path().join("no-such-dir").join("kek.jwk"),
            dir: root.path().join("keys"),
        };
        let err = FileKeys::open_configured(&settings).unwrap_err();
        assert!(matches!(err, KeyStoreError::KekCreate { .. }), "{err:?}");
        assert!(err.to_string().contains("subject_keys.kek_file"), "{err}");
    }

    #[test]
    fn rotation_rewraps_every_key_and_retires_the_old_kek() {
        let root = tempfile::tempdir().unwrap();
        let settings = settings(root.path());
        let store = FileKeys::open_configured(&settings).unwrap();
        let subjects: Vec<(String, SubjectKey)> = (0..5)
            .map(|i| (format!("subject-{i}"), SubjectKey::generate()))
            .collect();
        for (subject, key) in &subjects {
            store.insert(subject, key).unwrap();
        }
        let old = load_kek(&settings.kek_file).unwrap();
        let before: Vec<Vec<u8>> = subjects
            .iter()
            .map(|(s, _)| std::fs::read(settings.dir.join(format!("{s}.key"))).unwrap())
            .collect();

        // Not while the issuer has the store open, and nothing changed by trying.
        assert!(matches!(
            rotate_kek(&settings),
            Err(KeyStoreError::Locked(_))
        ));
        assert!(!next_path(&settings.kek_file).exists());
        drop(store);

        // An interrupted rotation: the new KEK written, two keys rewrapped under it.
        let new = create_kek(&next_path(&settings.kek_file)).unwrap();
        {
            let half = FileKeys {
                dir: settings.dir.clone(),
                tmp: settings.dir.join("tmp"),
                kek: new.clone(),
                _lock: lock(&settings.dir).unwrap(),
            };
            for (subject, key) in &subjects[..2] {
                half.write(subject, &new, key).unwrap();
            }
        }
        assert!(matches!(
            FileKeys::open_configured(&settings),
            Err(KeyStoreError::RotationPending(_))
        ));

        let rotation = rotate_kek(&settings).unwrap();
        assert_eq!(rotation.old, old.id());
        assert_eq!(rotation.new, new.id());
        assert_eq!((rotation.rewrapped, rotation.already), (3, 2));
        assert!(!next_path(&settings.kek_file).exists());
        assert_eq!(load_kek(&settings.kek_file).unwrap().id(), new.id());

        let store = FileKeys::open_configured(&settings).unwrap();
        assert_eq!(store.kek_id(), new.id());
        for ((subject, key), before) in subjects.iter().zip(&before) {
            assert_eq!(
                store.get(subject).unwrap().unwrap().as_bytes(),
                key.as_bytes()
            );
            // The retired KEK opens none of the files now, and the old wraps are gone.
            let path = settings.dir.join(format!("{subject}.key"));
            let text = std::fs::read_to_string(&path).unwrap();
            let (_, wrapped) = parse_key_file(&path, &text).unwrap();
            assert!(old.unwrap(subject, wrapped).is_err());
            assert_ne!(&text.into_bytes(), before);
        }
        // Nothing under the key store or beside the KEK holds the old KEK's bytes.
        let old_b64 = URL_SAFE_NO_PAD.encode(old.as_bytes());
        for dir in [root.path(), settings.dir.as_path()] {
            let bytes = all_bytes(dir);
            assert!(!contains(&bytes, old_b64.as_bytes()));
        }
    }
}
