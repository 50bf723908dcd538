//! The wallet directory on disk: the keystore, the applications sent, the credentials held.
//!
//! ```text
//! <wallet>/                 0700, refused when group or others may enter it
//!   wallet.json             {"version":1,"did":"did:key:z…"}: the public half, readable
//!                           without the password (apply, did, list)
//!   keystore.jwe            0600, the private JWK as a PBES2 JWE (see crate::keystore)
//!   applications.json       0600, {"version":1,"applications":[…]}: id, issuer URL, audience,
//!                           last state seen, credential id
//!   credentials/            0700
//!     <uuid>.sd-jwt         0600, the vc+sd-jwt with every disclosure, as issued
//!     <uuid>.jwt            0600, the vc+jwt
//!     <uuid>.json           0600, what the wallet knows of it beyond the issuer's forms
//!                           (CredentialMeta): its application, the label its holder key is
//!                           derived with, its holder DID, the shop it was shown to
//! ```
//!
//! Every file is written to a temporary file in the same directory, synced, then moved into
//! place (rename, or a hard link where an existing file must never be replaced), and the
//! directory synced: a crash leaves the old file or the new one, never half of either. Nothing
//! here holds a lock: two commands that update `applications.json` at the same instant can lose
//! one update (never corrupt the file), which a person at one terminal does not run into.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::DidKey;
use serde::{Deserialize, Serialize};

use crate::keystore::{self, KeystoreError};

/// The public description of the wallet.
pub const WALLET_FILE: &str = "wallet.json";
/// The encrypted private key.
pub const KEYSTORE_FILE: &str = "keystore.jwe";
/// The applications sent from this wallet.
pub const APPLICATIONS_FILE: &str = "applications.json";
/// The directory of stored credentials.
pub const CREDENTIALS_DIR: &str = "credentials";
/// File extension of a stored `vc+sd-jwt`.
pub const SD_JWT_EXT: &str = "sd-jwt";
/// File extension of a stored `vc+jwt`.
pub const JWT_EXT: &str = "jwt";
/// File extension of a credential's [`CredentialMeta`].
pub const META_EXT: &str = "json";
/// The only format version written and read.
const VERSION: u32 = 1;
/// Larger files are not the wallet's.
const MAX_FILE_LEN: u64 = 4 * 1024 * 1024;

/// Why the wallet cannot be created, opened or updated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// There is no wallet in the directory.
    #[error("no wallet at {0}; create one with `kyc-wallet init`")]
    NoWallet(PathBuf),
    /// `init` found a wallet already there.
    #[error("a wallet already exists at {0}; refusing to replace it")]
    Exists(PathBuf),
    /// `init` found other files in the directory.
    #[error("{0} is not empty and holds no wallet; choose another directory")]
    NotEmpty(PathBuf),
    /// Group or others may read the directory or a private file.
    #[error("{path} is accessible by group or others (mode {mode:o}); {fix} it")]
    Exposed {
        /// The directory or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The command that repairs it (`chmod 700` or `chmod 600`).
        fix: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A wallet file is not what this wallet writes.
    #[error("{path} is damaged: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong (never its contents).
        reason: String,
    },
    /// The keystore cannot be opened.
    #[error("{path}: {source}")]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// Why.
        source: KeystoreError,
    },
    /// The keystore opens, but to a key whose DID is not the one in `wallet.json`.
    #[error(
        "the keystore's key is not this wallet's DID; wallet.json or keystore.jwe was replaced"
    )]
    KeyMismatch,
    /// No application has been sent from this wallet yet.
    #[error("this wallet has sent no application yet; run `kyc-wallet apply`")]
    NoApplications,
    /// No application with that id (or prefix).
    #[error("no application {0} in this wallet; `kyc-wallet list` shows them")]
    UnknownApplication(String),
    /// No credential with that id (or prefix).
    #[error("no credential {0} in this wallet; `kyc-wallet list` shows them")]
    UnknownCredential(String),
    /// More than one credential or application starts with the prefix given.
    #[error("{0} matches more than one entry; give more of the id")]
    Ambiguous(String),
    /// An identifier from the issuer cannot be used as a file name or URL segment.
    #[error("the issuer returned an unusable {0} (expected letters, digits and '-')")]
    BadIdentifier(&'static str),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
    move |source| WalletError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `wallet.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WalletFile {
    version: u32,
    did: String,
}

/// One application sent from this wallet, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationRecord {
    /// The issuer's application id.
    pub id: String,
    /// The issuer's base URL, as given to `apply --issuer`.
    pub issuer: String,
    /// The audience holder tokens name for this issuer (its public URL).
    pub audience: String,
    /// The jurisdiction applied under.
    pub jurisdiction: String,
    /// When the issuer recorded the submission.
    pub submitted_at: DateTime<Utc>,
    /// The state last seen (`in_review`, `approved`, `issued`, …).
    pub state: String,
    /// The credential's id, once collected.
    #[serde(default)]
    pub credential: Option<String>,
    /// When this record was last updated.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationsFile {
    version: u32,
    applications: Vec<ApplicationRecord>,
}

/// A credential held in the wallet, in both securing forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The file stem: the credential id without `urn:uuid:`.
    pub stem: String,
    /// The `vc+sd-jwt` with every disclosure.
    pub sd_jwt: String,
    /// The `vc+jwt`, when stored.
    pub jwt: Option<String>,
    /// What the wallet knows of it; none for a credential bound to the wallet's own DID and
    /// never presented.
    pub meta: Option<CredentialMeta>,
}

impl StoredCredential {
    /// The DID the credential must be bound to: its own holder key's, else the wallet's.
    pub fn holder(&self, wallet: &DidKey) -> Result<DidKey, WalletError> {
        match self.meta.as_ref().and_then(|m| m.holder.as_deref()) {
            None => Ok(wallet.clone()),
            Some(did) => DidKey::parse(did).map_err(|_| WalletError::Corrupt {
                path: PathBuf::from(format!("{CREDENTIALS_DIR}/{}.{META_EXT}", self.stem)),
                reason: "holder is not a did:key".into(),
            }),
        }
    }

    /// The audience it was presented to, if any.
    pub fn presented_to(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.presented_to.as_deref())
    }
}

/// What the wallet records of a credential beside the issuer's forms (`<uuid>.json`).
///
/// Each credential of a batch is bound to a holder key of its own, derived from the wallet key
/// and `keyLabel` (`crate::batch`), so that no two shops see the same key; and it is shown to
/// one shop only (`presentedTo`), so that no two shops see the same credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialMeta {
    /// The application it was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// base64url of the 32-byte label its holder key is derived with; none: the wallet's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
    /// The holder key's did:key (public; lets `list` check the binding without the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The audience (`aud`) of the one shop it was presented to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented_to: Option<String>,
}

/// An opened wallet: its directory and DID. The private key stays encrypted until
/// [`Wallet::unlock`].
#[derive(Debug, Clone)]
pub struct Wallet {
    dir: PathBuf,
    did: DidKey,
}

impl Wallet {
    /// Create a wallet in `dir` (created with mode 0700, or an existing empty directory): a new
    /// holder key, sealed under `password`.
    pub fn init(dir: &Path, password: &str) -> Result<Self, WalletError> {
        keystore::check_new_password(password).map_err(|source| WalletError::Keystore {
            path: dir.join(KEYSTORE_FILE),
            source,
        })?;
        prepare_new_dir(dir)?;
        let (key, did) = DidKey::generate();
        let keystore_path = dir.join(KEYSTORE_FILE);
        let sealed = keystore::seal(&key, password).map_err(|source| WalletError::Keystore {
            path: keystore_path.clone(),
            source,
        })?;
        write_private(&keystore_path, sealed.as_bytes(), Replace::Never)?;
        // wallet.json last: a wallet exists once it names its DID, and by then the key is safe.
        let public = WalletFile {
            version: VERSION,
            did: did.as_str().to_owned(),
        };
        write_json(&dir.join(WALLET_FILE), &public, Replace::Never)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            did,
        })
    }

    /// Open the wallet in `dir`, refusing one that group or others can enter.
    pub fn open(dir: &Path) -> Result<Self, WalletError> {
        let path = dir.join(WALLET_FILE);
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.is_dir() => check_private(dir, &meta, "chmod 700")?,
            Ok(_) => return Err(WalletError::NoWallet(dir.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WalletError::NoWallet(dir.to_path_buf()))
            }
            Err(e) => return Err(io(dir)(e)),
        }
        if !path.exists() {
            return Err(WalletError::NoWallet(dir.to_path_buf()));
        }
        let public: WalletFile = read_json(&path)?;
        if public.version != VERSION {
            return Err(corrupt(&path, "unknown version"));
        }
        let did = DidKey::parse(&public.did).map_err(|_| corrupt(&path, "did is not a did:key"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            did,
        })
    }

    /// The wallet directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The holder's DID.
    pub fn did(&self) -> &DidKey {
        &self.did
    }

    /// Decrypt the holder key with `password`; it must be the key of [`Wallet::did`].
    pub fn unlock(&self, password: &str) -> Result<SigningKey, WalletError> {
        let path = self.dir.join(KEYSTORE_FILE);
        let text = read_private(&path)?;
        let key = keystore::open(&text, password)
            .map_err(|source| WalletError::Keystore { path, source })?;
        if DidKey::from_verifying_key(&key.verifying_key()) != self.did {
            return Err(WalletError::KeyMismatch);
        }
        Ok(key)
    }

    /// Every application sent from this wallet, oldest first.
    pub fn applications(&self) -> Result<Vec<ApplicationRecord>, WalletError> {
        let path = self.dir.join(APPLICATIONS_FILE);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let file: ApplicationsFile = read_json(&path)?;
        if file.version != VERSION {
            return Err(corrupt(&path, "unknown version"));
        }
        Ok(file.applications)
    }

    /// The application `id` (a full id or a unique prefix), or the latest one when `None`.
    pub fn application(&self, id: Option<&str>) -> Result<ApplicationRecord, WalletError> {
        let all = self.applications()?;
        match id {
            None => all.into_iter().last().ok_or(WalletError::NoApplications),
            Some(id) => pick(all, id, |a| &a.id, WalletError::UnknownApplication),
        }
    }

    /// Add `record`, or replace the record with the same id.
    pub fn record_application(&self, record: &ApplicationRecord) -> Result<(), WalletError> {
        check_identifier(&record.id, "application id")?;
        let mut all = self.applications()?;
        match all.iter_mut().find(|a| a.id == record.id) {
            Some(existing) => *existing = record.clone(),
            None => all.push(record.clone()),
        }
        let file = ApplicationsFile {
            version: VERSION,
            applications: all,
        };
        write_json(&self.dir.join(APPLICATIONS_FILE), &file, Replace::Allowed)
    }

    /// Store a credential's two forms under its id (`urn:uuid:…`); returns the file stem.
    pub fn store_credential(
        &self,
        id: &str,
        sd_jwt: &str,
        jwt: &str,
    ) -> Result<String, WalletError> {
        let stem = credential_stem(id)?;
        let dir = self.dir.join(CREDENTIALS_DIR);
        ensure_private_dir(&dir)?;
        write_private(
            &dir.join(format!("{stem}.{JWT_EXT}")),
            jwt.as_bytes(),
            Replace::Allowed,
        )?;
        // The SD-JWT last: listing goes by it, so a credential appears only once complete.
        write_private(
            &dir.join(format!("{stem}.{SD_JWT_EXT}")),
            sd_jwt.as_bytes(),
            Replace::Allowed,
        )?;
        Ok(stem)
    }

    /// Store a credential (as [`Wallet::store_credential`]) with what the wallet knows of it,
    /// the record first, so that a listed credential always has its holder key.
    pub fn store_batch_credential(
        &self,
        id: &str,
        sd_jwt: &str,
        jwt: &str,
        meta: &CredentialMeta,
    ) -> Result<String, WalletError> {
        let stem = credential_stem(id)?;
        ensure_private_dir(&self.dir.join(CREDENTIALS_DIR))?;
        self.record_credential_meta(&stem, meta)?;
        self.store_credential(id, sd_jwt, jwt)
    }

    /// Write the record of credential `stem` (replacing it).
    pub fn record_credential_meta(
        &self,
        stem: &str,
        meta: &CredentialMeta,
    ) -> Result<(), WalletError> {
        check_identifier(stem, "credential id")?;
        let path = self
            .dir
            .join(CREDENTIALS_DIR)
            .join(format!("{stem}.{META_EXT}"));
        write_json(&path, meta, Replace::Allowed)
    }

    /// Every stored credential, ordered by file name.
    pub fn credentials(&self) -> Result<Vec<StoredCredential>, WalletError> {
        let dir = self.dir.join(CREDENTIALS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut stems = Vec::new();
        for entry in entries {
            let name = entry.map_err(io(&dir))?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(&format!(".{SD_JWT_EXT}")) {
                if check_identifier(stem, "credential id").is_ok() {
                    stems.push(stem.to_owned());
                }
            }
        }
        stems.sort();
        stems
            .into_iter()
            .map(|s| self.load_credential(&s))
            .collect()
    }

    /// The credential `id`: `urn:uuid:…`, the bare uuid, or a unique prefix of it.
    pub fn credential(&self, id: &str) -> Result<StoredCredential, WalletError> {
        let wanted = id.strip_prefix("urn:uuid:").unwrap_or(id);
        pick(
            self.credentials()?,
            wanted,
            |c| &c.stem,
            WalletError::UnknownCredential,
        )
    }

    fn load_credential(&self, stem: &str) -> Result<StoredCredential, WalletError> {
        let dir = self.dir.join(CREDENTIALS_DIR);
        let sd_jwt = read_private(&dir.join(format!("{stem}.{SD_JWT_EXT}")))?;
        let jwt_path = dir.join(format!("{stem}.{JWT_EXT}"));
        let jwt = if jwt_path.exists() {
            Some(read_private(&jwt_path)?)
        } else {
            None
        };
        let meta_path = dir.join(format!("{stem}.{META_EXT}"));
        let meta = if meta_path.exists() {
            Some(read_json(&meta_path)?)
        } else {
            None
        };
        Ok(StoredCredential {
            stem: stem.to_owned(),
            sd_jwt: sd_jwt.trim().to_owned(),
            jwt: jwt.map(|j| j.trim().to_owned()),
            meta,
        })
    }
}

impl Wallet {
    /// Every file of the wallet, as `(path relative to the wallet, contents)`: what a backup
    /// holds. The keystore stays sealed under the wallet password.
    pub fn snapshot(&self) -> Result<Vec<(String, String)>, WalletError> {
        let mut files = Vec::new();
        for name in [WALLET_FILE, KEYSTORE_FILE, APPLICATIONS_FILE] {
            let path = self.dir.join(name);
            if name != APPLICATIONS_FILE || path.exists() {
                files.push((name.to_owned(), read_private(&path)?));
            }
        }
        for c in self.credentials()? {
            files.push((
                format!("{CREDENTIALS_DIR}/{}.{SD_JWT_EXT}", c.stem),
                c.sd_jwt,
            ));
            if let Some(jwt) = c.jwt {
                files.push((format!("{CREDENTIALS_DIR}/{}.{JWT_EXT}", c.stem), jwt));
            }
            let meta = self
                .dir
                .join(CREDENTIALS_DIR)
                .join(format!("{}.{META_EXT}", c.stem));
            if c.meta.is_some() {
                files.push((
                    format!("{CREDENTIALS_DIR}/{}.{META_EXT}", c.stem),
                    read_private(&meta)?,
                ));
            }
        }
        Ok(files)
    }
}

/// A wallet written to a staging directory beside its destination, checked, and then moved into
/// place by [`Staged::commit`]; dropped uncommitted, it is removed and the destination is as it
/// was.
#[derive(Debug)]
pub struct Staged {
    staging: PathBuf,
    dest: PathBuf,
    wallet: Wallet,
    committed: bool,
}

/// Whether a backup's relative path is one of the wallet's files.
fn is_wallet_file(rel: &str) -> bool {
    if [WALLET_FILE, KEYSTORE_FILE, APPLICATIONS_FILE].contains(&rel) {
        return true;
    }
    let Some(name) = rel.strip_prefix(&format!("{CREDENTIALS_DIR}/")) else {
        return false;
    };
    [SD_JWT_EXT, JWT_EXT, META_EXT].iter().any(|ext| {
        name.strip_suffix(&format!(".{ext}"))
            .is_some_and(|stem| check_identifier(stem, "credential id").is_ok())
    })
}

impl Staged {
    /// Write `files` (from [`Wallet::snapshot`]) into a new private directory next to `dest`
    /// and open it as a wallet. Refuses a path that is not a wallet file.
    pub fn new(dest: &Path, files: &[(String, String)]) -> Result<Self, WalletError> {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| corrupt(dest, "no directory name"))?;
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let staging = parent.join(format!(".{name}.import-{}", std::process::id()));
        if staging.exists() {
            // Left by a crashed import of a process with our pid.
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&staging)
            .map_err(io(&staging))?;
        let mut staged = Self {
            wallet: Wallet {
                dir: staging.clone(),
                did: DidKey::generate().1,
            },
            staging,
            dest: dest.to_path_buf(),
            committed: false,
        };
        for (rel, text) in files {
            if !is_wallet_file(rel) {
                return Err(WalletError::Corrupt {
                    path: dest.to_path_buf(),
                    reason: "the backup names a file that is not a wallet file".into(),
                });
            }
            let path = staged.staging.join(rel);
            if let Some(dir) = path.parent().filter(|d| *d != staged.staging) {
                ensure_private_dir(dir)?;
            }
            write_private(&path, text.as_bytes(), Replace::Never)?;
        }
        staged.wallet = Wallet::open(&staged.staging)?;
        staged.wallet.applications()?;
        staged.wallet.credentials()?;
        Ok(staged)
    }

    /// The staged wallet, to check before committing.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// Move the staged wallet to its destination. An existing wallet there is replaced only
    /// when `replace` is true; any other existing content is never touched.
    pub fn commit(mut self, replace: bool) -> Result<Wallet, WalletError> {
        let dest = self.dest.clone();
        let parent = self
            .staging
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut old = None;
        match check_can_init(&dest) {
            Ok(()) => {
                if dest.is_dir() {
                    std::fs::remove_dir(&dest).map_err(io(&dest))?;
                }
            }
            Err(WalletError::Exists(_)) if replace => {
                let name = dest
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("wallet");
                let aside = parent.join(format!(".{name}.replaced-{}", std::process::id()));
                std::fs::rename(&dest, &aside).map_err(io(&dest))?;
                old = Some(aside);
            }
            Err(e) => return Err(e),
        }
        if let Err(e) = std::fs::rename(&self.staging, &dest) {
            if let Some(aside) = &old {
                let _ = std::fs::rename(aside, &dest);
            }
            return Err(io(&dest)(e));
        }
        self.committed = true;
        std::fs::File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(io(&parent))?;
        if let Some(aside) = old {
            std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
        }
        Wallet::open(&dest)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// The file stem of a credential id: `urn:uuid:<uuid>` → `<uuid>`.
pub fn credential_stem(id: &str) -> Result<String, WalletError> {
    let stem = id.strip_prefix("urn:uuid:").unwrap_or(id);
    check_identifier(stem, "credential id")?;
    Ok(stem.to_owned())
}

/// Ids end up in file names and URL paths: 1 to 64 ASCII letters, digits and '-'.
pub fn check_identifier(id: &str, what: &'static str) -> Result<(), WalletError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(WalletError::BadIdentifier(what))
    }
}

/// The one entry whose key equals `wanted`, or else the only one it prefixes.
fn pick<T>(
    all: Vec<T>,
    wanted: &str,
    key: impl Fn(&T) -> &String,
    unknown: fn(String) -> WalletError,
) -> Result<T, WalletError> {
    if wanted.is_empty() {
        return Err(unknown(String::new()));
    }
    let mut matches: Vec<T> = Vec::new();
    for item in all {
        if key(&item) == wanted {
            return Ok(item);
        }
        if key(&item).starts_with(wanted) {
            matches.push(item);
        }
    }
    match matches.len() {
        0 => Err(unknown(wanted.to_owned())),
        1 => Ok(matches.remove(0)),
        _ => Err(WalletError::Ambiguous(wanted.to_owned())),
    }
}

fn corrupt(path: &Path, reason: &str) -> WalletError {
    WalletError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

fn check_private(
    path: &Path,
    meta: &std::fs::Metadata,
    fix: &'static str,
) -> Result<(), WalletError> {
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(WalletError::Exposed {
            path: path.to_path_buf(),
            mode,
            fix,
        });
    }
    Ok(())
}

/// Whether `init` may create a wallet in `dir`: no wallet there, and nothing else either. Lets
/// `init` refuse before it asks for a password; [`Wallet::init`] checks again.
pub fn check_can_init(dir: &Path) -> Result<(), WalletError> {
    if dir.join(WALLET_FILE).exists() || dir.join(KEYSTORE_FILE).exists() {
        return Err(WalletError::Exists(dir.to_path_buf()));
    }
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(WalletError::NotEmpty(dir.to_path_buf())),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if !dir.is_dir() && dir.exists() => Err(WalletError::NotEmpty(dir.to_path_buf())),
        Err(e) => Err(io(dir)(e)),
    }
}

/// For `init`: create `dir` with mode 0700, or accept an existing empty directory (made
/// private).
fn prepare_new_dir(dir: &Path) -> Result<(), WalletError> {
    check_can_init(dir)?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if !dir.is_dir() {
                return Err(WalletError::NotEmpty(dir.to_path_buf()));
            }
            if std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
                return Err(WalletError::NotEmpty(dir.to_path_buf()));
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))
        }
        Err(e) => Err(io(dir)(e)),
    }
}

fn ensure_private_dir(dir: &Path) -> Result<(), WalletError> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
            if !meta.is_dir() {
                return Err(corrupt(dir, "not a directory"));
            }
            check_private(dir, &meta, "chmod 700")
        }
        Err(e) => Err(io(dir)(e)),
    }
}

/// Read a wallet file that must be private (mode 0600 or stricter) and of a sane size.
fn read_private(path: &Path) -> Result<String, WalletError> {
    let meta = std::fs::symlink_metadata(path).map_err(io(path))?;
    if !meta.is_file() {
        return Err(corrupt(path, "not a regular file"));
    }
    check_private(path, &meta, "chmod 600")?;
    if meta.len() > MAX_FILE_LEN {
        return Err(corrupt(path, "far larger than any wallet file"));
    }
    let bytes = std::fs::read(path).map_err(io(path))?;
    String::from_utf8(bytes).map_err(|_| corrupt(path, "not UTF-8 text"))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, WalletError> {
    let text = read_private(path)?;
    serde_json::from_str(&text).map_err(|e| {
        corrupt(
            path,
            &kyc_core::MalformedError::json("wallet file", &e).to_string(),
        )
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T, replace: Replace) -> Result<(), WalletError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| corrupt(path, &e.to_string()))?;
    text.push('\n');
    write_private(path, text.as_bytes(), replace)
}

/// Whether [`write_private`] may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replace {
    Allowed,
    Never,
}

/// Write `bytes` to `path` with mode 0600, atomically: a temporary file in the same directory,
/// synced, then renamed over `path` (or hard-linked to it, which fails rather than replace an
/// existing file), then the directory synced.
fn write_private(path: &Path, bytes: &[u8], replace: Replace) -> Result<(), WalletError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| corrupt(path, "no file name"))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A file of this name can only be left over from a crashed process that had our pid.
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        match replace {
            Replace::Allowed => std::fs::rename(&tmp, path),
            Replace::Never => std::fs::hard_link(&tmp, path),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && replace == Replace::Never => {
            return Err(WalletError::Exists(dir.to_path_buf()))
        }
        other => other.map_err(io(path))?,
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "a wallet password";

    #[test]
    fn init_open_unlock() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("w");
        let wallet = Wallet::init(&dir, PASSWORD).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(KEYSTORE_FILE)), 0o600);
        assert_eq!(mode(&dir.join(WALLET_FILE)), 0o600);
        let opened = Wallet::open(&dir).unwrap();
        assert_eq!(opened.did(), wallet.did());
        let key = opened.unlock(PASSWORD).unwrap();
        assert_eq!(
            &DidKey::from_verifying_key(&key.verifying_key()),
            wallet.did()
        );
        assert!(matches!(
            Wallet::init(&dir, PASSWORD),
            Err(WalletError::Exists(_))
        ));
        // Leftover temporary files would be a leak of the keystore.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn exposed_directory_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("w");
        Wallet::init(&dir, PASSWORD).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Wallet::open(&dir).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");
    }

    #[test]
    fn applications_upsert_and_pick() {
        let tmp = tempfile::tempdir().unwrap();
        let wallet = Wallet::init(&tmp.path().join("w"), PASSWORD).unwrap();
        assert!(matches!(
            wallet.application(None),
            Err(WalletError::NoApplications)
        ));
        let now = Utc::now();
        let mut record = ApplicationRecord {
            id: "aaaa-1".into(),
            issuer: "http://127.0.0.1:1".into(),
            audience: "https://kyc.example".into(),
            jurisdiction: "EU".into(),
            submitted_at: now,
            state: "in_review".into(),
            credential: None,
            updated_at: now,
        };
        wallet.record_application(&record).unwrap();
        record.id = "aaab-2".into();
        wallet.record_application(&record).unwrap();
        record.state = "approved".into();
        wallet.record_application(&record).unwrap();
        assert_eq!(wallet.applications().unwrap().len(), 2);
        assert_eq!(wallet.application(None).unwrap().state, "approved");
        assert_eq!(wallet.application(Some("aaaa")).unwrap().id, "aaaa-1");
        assert!(matches!(
            wallet.application(Some("aaa")),
            Err(WalletError::Ambiguous(_))
        ));
        assert!(matches!(
            wallet.application(Some("b")),
            Err(WalletError::UnknownApplication(_))
        ));
        record.id = "../../etc".into();
        assert!(matches!(
            wallet.record_application(&record),
            Err(WalletError::BadIdentifier(_))
        ));
    }
}
