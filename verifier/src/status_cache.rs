//! Status lists held for offline use: fetched while online (`kyc-verify status sync`), verified
//! before they are stored, and read back without any network I/O at checkout.
//!
//! # The cache directory
//!
//! ```text
//! <cache>/<hex SHA-256 of the list URL>.json   {"url": "<list URL>", "fetchedAt": "<RFC 3339>",
//!                                               "jwt": "<the vc+jwt as served>"}
//! ```
//!
//! The URL is the status list credential's `id`, which credentials name in
//! `credentialStatus.statusListCredential` (the issuer's *public* URL, whatever address it was
//! fetched from). Each file is written to a temporary file, synced, renamed into place and the
//! directory synced. Reading verifies every list's signature again (a few microseconds each),
//! so a damaged or edited cache is an error, never a silently wrong status.
//!
//! **Age.** A list's age is measured from `fetchedAt`, the moment the issuer served it as
//! current, or, for a list given as a bare file, from its `validFrom`. A list past its own
//! `validUntil` is stale whatever its age.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kyc_core::did::Resolver;
use kyc_core::status_list::{self, VerifiedStatusList};
use kyc_core::VerifyError;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::trust::{KeyWindow, TrustList};

/// Why a status list cannot be cached or read from the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusCacheError {
    /// Reading or writing the cache failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A cache file is not what this cache writes.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The list does not verify.
    #[error("the status list does not verify: {0}")]
    Invalid(#[from] VerifyError),
    /// The list's signer is not a trusted issuer key (or was not in service when it signed).
    #[error("the status list is signed by {0}, which the trust list does not accept")]
    Untrusted(String),
}

/// A verified status list and when it was fetched.
#[derive(Debug, Clone)]
pub struct CachedList {
    /// The list.
    pub list: VerifiedStatusList,
    /// When it was fetched from the issuer; `None` for a list given as a file.
    pub fetched_at: Option<DateTime<Utc>>,
}

impl CachedList {
    /// The instant its age is measured from (module documentation).
    pub fn as_of(&self) -> DateTime<Utc> {
        self.fetched_at.unwrap_or(self.list.credential.valid_from)
    }
}

/// The status lists at hand, by URL.
#[derive(Debug, Clone, Default)]
pub struct StatusLists {
    lists: HashMap<String, CachedList>,
    /// One list given explicitly: it is checked against every credential, so that a list for
    /// another URL is reported as the wrong list rather than as no list.
    explicit: bool,
}

impl StatusLists {
    /// Exactly this list, given by the caller.
    pub fn single(list: VerifiedStatusList) -> Self {
        let mut lists = HashMap::new();
        lists.insert(
            list.credential.id.clone(),
            CachedList {
                list,
                fetched_at: None,
            },
        );
        Self {
            lists,
            explicit: true,
        }
    }

    /// Add or replace a list.
    pub fn insert(&mut self, cached: CachedList) {
        self.lists.insert(cached.list.credential.id.clone(), cached);
    }

    /// The list for a credential whose status entry names `url`.
    pub fn for_url(&self, url: &str) -> Option<&CachedList> {
        match self.lists.get(url) {
            Some(list) => Some(list),
            None if self.explicit => self.lists.values().next(),
            None => None,
        }
    }

    /// How many lists.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// No list at all.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Every list, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &CachedList> {
        self.lists.values()
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CacheFile {
    url: String,
    fetched_at: DateTime<Utc>,
    jwt: String,
}

/// The list (`vc+jwt`) a cache file's `text` holds, as [`store`] writes it; nothing is
/// verified yet.
pub fn cached_jwt(text: &str) -> Result<String, serde_json::Error> {
    serde_json::from_str::<CacheFile>(text).map(|file| file.jwt)
}

/// Verify a status list `jwt` for caching: its signature, and that its signer is a trusted
/// issuer key in service when the list was published.
pub fn verify_trusted(
    jwt: &str,
    trust: &TrustList,
) -> Result<VerifiedStatusList, StatusCacheError> {
    let list = status_list::verify_jwt(jwt.trim(), trust.resolver())?;
    let signer = &list.credential.issuer;
    match trust.get(signer) {
        Some((_, key)) if key.window(list.credential.valid_from) == KeyWindow::InService => {
            Ok(list)
        }
        _ => Err(StatusCacheError::Untrusted(signer.clone())),
    }
}

/// The cache file for the list at `url`.
fn file_for(dir: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.json"))
}

/// Store a list already verified (by [`verify_trusted`], or by a holder against its
/// credential's issuer), with the time it was fetched.
pub fn store(
    dir: &Path,
    jwt: &str,
    list: &VerifiedStatusList,
    fetched_at: DateTime<Utc>,
) -> Result<PathBuf, StatusCacheError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StatusCacheError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = file_for(dir, &list.credential.id);
    let body = CacheFile {
        url: list.credential.id.clone(),
        fetched_at,
        jwt: jwt.trim().to_owned(),
    };
    let text = serde_json::to_string(&body).map_err(|e| StatusCacheError::Damaged {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io(&path))?;
    Ok(path)
}

/// Every list in the cache directory, each verified again with `resolver`. No network I/O.
/// A missing directory is an empty cache.
pub fn load(dir: &Path, resolver: &Resolver) -> Result<StatusLists, StatusCacheError> {
    let mut lists = StatusLists::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(lists),
        Err(source) => {
            return Err(StatusCacheError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries {
        let path = entry
            .map_err(|source| StatusCacheError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        lists.insert(load_file(&path, resolver)?);
    }
    Ok(lists)
}

fn load_file(path: &Path, resolver: &Resolver) -> Result<CachedList, StatusCacheError> {
    let damaged = |reason: String| StatusCacheError::Damaged {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| StatusCacheError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: CacheFile = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
    let list = status_list::verify_jwt(&file.jwt, resolver)
        .map_err(|e| damaged(format!("its list does not verify: {e}")))?;
    if list.credential.id != file.url
        || file_for(path.parent().unwrap_or(Path::new(".")), &file.url) != path
    {
        return Err(damaged(
            "its list is not the one the file is named for".into(),
        ));
    }
    Ok(CachedList {
        list,
        fetched_at: Some(file.fetched_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyc_core::status_list::{Bitstring, StatusListCredential};
    use kyc_core::DidKey;

    use crate::trust::TrustedIssuer;

    #[test]
    fn store_load_and_refuse() {
        let (key, did) = DidKey::generate();
        let now = Utc::now();
        let url = "https://kyc.example/v1/status-lists/1";
        let jwt = StatusListCredential::revocation(&did, url, &Bitstring::new(0), now, None)
            .sign_jwt(&key)
            .unwrap();
        let trust = TrustList::new(vec![TrustedIssuer::single(did.as_str(), "I")]).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let list = verify_trusted(&jwt, &trust).unwrap();
        store(tmp.path(), &jwt, &list, now).unwrap();
        let lists = load(tmp.path(), trust.resolver()).unwrap();
        assert_eq!(lists.len(), 1);
        assert_eq!(lists.for_url(url).unwrap().as_of(), now);
        assert!(lists.for_url("https://other.example/1").is_none());

        // A list by an issuer not in the trust list is not cached.
        let (other_key, other) = DidKey::generate();
        let foreign = StatusListCredential::revocation(&other, url, &Bitstring::new(0), now, None)
            .sign_jwt(&other_key)
            .unwrap();
        assert!(matches!(
            verify_trusted(&foreign, &trust),
            Err(StatusCacheError::Untrusted(_))
        ));

        // An edited cache file is damaged, not believed.
        let path = file_for(tmp.path(), url);
        let text = std::fs::read_to_string(&path).unwrap();
        let tail = &jwt[jwt.len() - 8..];
        std::fs::write(&path, text.replace(tail, "AAAAAAAA")).unwrap();
        assert!(matches!(
            load(tmp.path(), trust.resolver()),
            Err(StatusCacheError::Damaged { .. })
        ));
    }
}
