//! The trust list: the issuers whose credentials this relying party accepts, and the keys each
//! may sign with, when.
//!
//! # The trust file (TOML)
//!
//! ```toml
//! # An issuer with one key, trusted for everything it signs (the short form).
//! [[issuer]]
//! did = "did:key:z6Mk…"
//! name = "Example KYC GmbH"
//!
//! # An issuer that rotated its key. Issuers sign with `did:key`, so a new key is a new DID:
//! # the trust file groups them under one name and says when each was in service.
//! [[issuer]]
//! name = "Rotating KYC AG"
//! [[issuer.key]]
//! did = "did:key:z6MkOld…"
//! until = "2027-01-01T00:00:00Z"   # retired: what it signed from this instant on is refused
//! [[issuer.key]]
//! did = "did:key:z6MkNew…"
//! from = "2026-12-01T00:00:00Z"    # what it signed before this instant is refused
//! ```
//!
//! `from` and `until` are RFC 3339 instants, both optional; the window is `from <= t < until`.
//! `t` is when the key signed: a credential's `validFrom` (the issuer sets it to the moment of
//! issuance), a status list's `validFrom`. A credential signed by a key before that key's
//! `until` stays acceptable after the key is retired, for its own validity period; one dated
//! after it is refused (`key_retired`), and one dated before `from` too (`key_not_yet_active`).
//! A DID may appear once in the whole file. An issuer not in the file is refused as
//! `untrusted_issuer`.
//!
//! Every other field is an error (`deny_unknown_fields`), as is an issuer with both `did` and
//! `[[issuer.key]]`, or with neither.
//!
//! # Learning a rotation
//!
//! An issuer that rotates its key publishes a statement signed by the retiring key
//! (`GET /v1/key-rotations`, [`kyc_core::key_rotation`]). [`TrustList::learn`] (`kyc-verify trust
//! learn`) accepts one only when the retiring key is trusted here: the retiring key gets
//! `until` = the statement's `at`, the successor joins the same issuer with `from` = the start
//! of that day (credentials are dated to the day).

use chrono::{DateTime, Utc};
use kyc_core::did::Resolver;
use serde::Deserialize;

/// Why a trust file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Not valid TOML of the expected shape.
    #[error("trust list is not valid: {0}")]
    Syntax(String),
    /// An entry's `did` is not an Ed25519 did:key.
    #[error("trust list entry {index}: {reason}")]
    Did {
        /// Position of the issuer, from 1.
        index: usize,
        /// Why the DID is refused.
        reason: kyc_core::did::DidError,
    },
    /// An issuer entry is not usable as written.
    #[error("trust list entry {index}: {reason}")]
    Entry {
        /// Position of the issuer, from 1.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// No `[[issuer]]` at all: nothing could ever verify.
    #[error("trust list names no issuer")]
    Empty,
}

/// One signing key of a trusted issuer and when it was in service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerKey {
    /// The key's `did:key`.
    pub did: String,
    /// The first instant it may have signed; `None`: no lower bound.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// The instant it was retired; `None`: still in service.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// Where an instant stands against a key's service window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyWindow {
    /// Within `from <= t < until`.
    InService,
    /// Before `from`.
    NotYetActive(DateTime<Utc>),
    /// At or after `until`.
    Retired(DateTime<Utc>),
}

impl IssuerKey {
    /// A key with no window: trusted for anything it signs.
    pub fn always(did: impl Into<String>) -> Self {
        Self {
            did: did.into(),
            from: None,
            until: None,
        }
    }

    /// Whether the key was in service at `signed`.
    pub fn window(&self, signed: DateTime<Utc>) -> KeyWindow {
        match (self.from, self.until) {
            (Some(from), _) if signed < from => KeyWindow::NotYetActive(from),
            (_, Some(until)) if signed >= until => KeyWindow::Retired(until),
            _ => KeyWindow::InService,
        }
    }
}

/// One trusted issuer: a name and the keys it signs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// A human-readable name for verdicts.
    pub name: String,
    /// Its keys, at least one.
    pub keys: Vec<IssuerKey>,
}

impl TrustedIssuer {
    /// An issuer with a single key and no window (the short form of the file).
    pub fn single(did: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            keys: vec![IssuerKey::always(did)],
        }
    }

    /// Its key with this DID.
    pub fn key(&self, did: &str) -> Option<&IssuerKey> {
        self.keys.iter().find(|k| k.did == did)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    name: String,
    #[serde(default)]
    did: Option<String>,
    #[serde(default)]
    key: Vec<IssuerKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    #[serde(default)]
    issuer: Vec<IssuerEntry>,
}

/// The accepted issuers, with their keys resolved once.
#[derive(Debug, Clone)]
pub struct TrustList {
    issuers: Vec<TrustedIssuer>,
    resolver: Resolver,
}

impl TrustList {
    /// Parse a trust file's text (format: the module documentation).
    pub fn from_toml(text: &str) -> Result<Self, TrustError> {
        let file: TrustFile =
            toml::from_str(text).map_err(|e| TrustError::Syntax(e.message().to_owned()))?;
        let mut issuers = Vec::with_capacity(file.issuer.len());
        for (i, entry) in file.issuer.into_iter().enumerate() {
            let keys = match (entry.did, entry.key) {
                (Some(did), keys) if keys.is_empty() => vec![IssuerKey::always(did)],
                (Some(_), _) => {
                    return Err(TrustError::Entry {
                        index: i + 1,
                        reason: "give either did or [[issuer.key]] tables, not both",
                    })
                }
                (None, keys) => keys,
            };
            issuers.push(TrustedIssuer {
                name: entry.name,
                keys,
            });
        }
        Self::new(issuers)
    }

    /// A trust list of these issuers.
    pub fn new(issuers: Vec<TrustedIssuer>) -> Result<Self, TrustError> {
        if issuers.is_empty() {
            return Err(TrustError::Empty);
        }
        let mut resolver = Resolver::new();
        let mut seen = std::collections::HashSet::new();
        for (i, issuer) in issuers.iter().enumerate() {
            let entry = |reason| TrustError::Entry {
                index: i + 1,
                reason,
            };
            if issuer.keys.is_empty() {
                return Err(entry(
                    "an issuer needs a did or at least one [[issuer.key]]",
                ));
            }
            for key in &issuer.keys {
                if key.from.zip(key.until).is_some_and(|(f, u)| u <= f) {
                    return Err(entry("a key's until is not after its from"));
                }
                if !seen.insert(key.did.as_str()) {
                    return Err(entry("a key's did appears more than once in the file"));
                }
                resolver
                    .preload(&key.did)
                    .map_err(|reason| TrustError::Did {
                        index: i + 1,
                        reason,
                    })?;
            }
        }
        Ok(Self { issuers, resolver })
    }

    /// The trusted issuer one of whose keys is this DID, with that key.
    pub fn get(&self, did: &str) -> Option<(&TrustedIssuer, &IssuerKey)> {
        self.issuers.iter().find_map(|i| i.key(did).map(|k| (i, k)))
    }

    /// Whether two DIDs are keys of the same trusted issuer.
    pub fn same_issuer(&self, a: &str, b: &str) -> bool {
        self.get(a)
            .is_some_and(|(issuer, _)| issuer.key(b).is_some())
    }

    /// Every trusted issuer, in file order.
    pub fn issuers(&self) -> &[TrustedIssuer] {
        &self.issuers
    }

    /// A resolver with every trusted key already decompressed.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }
}

/// What [`TrustList::learn`] did with a rotation statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Learned {
    /// The trusted issuer's name.
    pub issuer: String,
    /// The retired key.
    pub previous: String,
    /// The key that succeeds it.
    pub current: String,
    /// From when.
    pub at: DateTime<Utc>,
    /// Whether the file changed (false: it already knew the successor).
    pub changed: bool,
}

/// Why a rotation statement was not learnt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnError {
    /// The statement is not one, or the key it retires did not sign it.
    #[error("not a valid key rotation statement: {0}")]
    Statement(#[from] kyc_core::VerifyError),
    /// The key it retires is not trusted here: it cannot vouch for anything.
    #[error("the retiring key {0} is not in the trust list")]
    UntrustedPrevious(String),
    /// The successor is already another issuer's key.
    #[error("the succeeding key {0} already belongs to another issuer in the trust list")]
    CurrentElsewhere(String),
    /// The result would not be a valid trust list.
    #[error(transparent)]
    Trust(#[from] TrustError),
}

impl TrustList {
    /// Learn an issuer's key rotation from its statement
    /// ([`kyc_core::key_rotation::KeyRotation`]): the statement must be signed by a key this
    /// list trusts; that key is retired at the statement's `at` (what it signs from then on is
    /// refused) and its successor added to the same issuer from the start of that day (UTC:
    /// credentials are dated to the day). Learning a statement twice changes nothing.
    pub fn learn(&mut self, statement: &str) -> Result<Learned, LearnError> {
        let rotation = kyc_core::key_rotation::KeyRotation::verify(statement)?;
        let (index, name) = self
            .issuers
            .iter()
            .position(|i| i.key(&rotation.previous).is_some())
            .map(|i| (i, self.issuers[i].name.clone()))
            .ok_or_else(|| LearnError::UntrustedPrevious(rotation.previous.clone()))?;
        let mut learned = Learned {
            issuer: name,
            previous: rotation.previous.clone(),
            current: rotation.current.clone(),
            at: rotation.at,
            changed: false,
        };
        match self.get(&rotation.current) {
            Some((other, _)) if other.name != learned.issuer => {
                return Err(LearnError::CurrentElsewhere(rotation.current));
            }
            Some(_) => return Ok(learned),
            None => {}
        }
        let mut issuers = self.issuers.clone();
        let issuer = &mut issuers[index];
        for key in &mut issuer.keys {
            if key.did == rotation.previous {
                key.until = Some(key.until.map_or(rotation.at, |u| u.min(rotation.at)));
            }
        }
        // Credentials are dated to the day (midnight UTC): the successor's window opens at the
        // start of the day it took over, or the first it signed would be "not yet active".
        let day = rotation
            .at
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map_or(rotation.at, |d| d.and_utc());
        issuer.keys.push(IssuerKey {
            did: rotation.current,
            from: Some(day),
            until: None,
        });
        *self = Self::new(issuers)?;
        learned.changed = true;
        Ok(learned)
    }

    /// The list as a trust file (the long form for issuers with more than one key or a
    /// window), which [`TrustList::from_toml`] reads back to the same list.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let mut out = String::new();
        for issuer in &self.issuers {
            let _ = writeln!(out, "[[issuer]]\nname = {}", quote(&issuer.name));
            match issuer.keys.as_slice() {
                [key] if key.from.is_none() && key.until.is_none() => {
                    let _ = writeln!(out, "did = {}", quote(&key.did));
                }
                keys => {
                    for key in keys {
                        let _ = writeln!(out, "[[issuer.key]]\ndid = {}", quote(&key.did));
                        if let Some(from) = key.from {
                            let _ = writeln!(out, "from = {}", quote(&time(from)));
                        }
                        if let Some(until) = key.until {
                            let _ = writeln!(out, "until = {}", quote(&time(until)));
                        }
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_rotation_signed_by_a_trusted_key_only() {
        use kyc_core::key_rotation::KeyRotation;
        use kyc_core::DidKey;
        let (old, old_did) = DidKey::generate();
        let (_, new_did) = DidKey::generate();
        let (stranger, stranger_did) = DidKey::generate();
        let mut list = TrustList::new(vec![
            TrustedIssuer::single(old_did.as_str(), "Rotating KYC"),
            TrustedIssuer::single(stranger_did.as_str(), "Someone Else"),
        ])
        .unwrap();
        let at: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        let statement = KeyRotation::sign(&old, &new_did, at);
        let learned = list.learn(&statement).unwrap();
        assert!(learned.changed);
        assert_eq!(learned.issuer, "Rotating KYC");
        assert!(list.same_issuer(old_did.as_str(), new_did.as_str()));
        let (_, retired) = list.get(old_did.as_str()).unwrap();
        assert_eq!(retired.until, Some(at));
        assert_eq!(list.get(new_did.as_str()).unwrap().1.from, Some(at));
        // Written and read back: the same list; learnt again: no change.
        let again = TrustList::from_toml(&list.to_toml()).unwrap();
        assert_eq!(again.issuers(), list.issuers());
        assert!(!list.learn(&statement).unwrap().changed);

        // A statement by a key this list does not trust vouches for nothing.
        let (unknown, _) = DidKey::generate();
        let (_, successor) = DidKey::generate();
        assert!(matches!(
            list.learn(&KeyRotation::sign(&unknown, &successor, at)),
            Err(LearnError::UntrustedPrevious(_))
        ));
        // Nor may one issuer's key claim another issuer's key as its successor.
        assert!(matches!(
            list.learn(&KeyRotation::sign(&stranger, &new_did, at)),
            Err(LearnError::CurrentElsewhere(_))
        ));
        // Nor is an unsigned or garbled statement anything.
        assert!(matches!(
            list.learn("eyJhbGciOiJub25lIn0.e30."),
            Err(LearnError::Statement(_))
        ));
    }

    #[test]
    fn parses_and_refuses() {
        let did = kyc_core::DidKey::generate().1;
        let t =
            TrustList::from_toml(&format!("[[issuer]]\ndid = \"{did}\"\nname = \"A\"\n")).unwrap();
        assert_eq!(t.get(did.as_str()).unwrap().0.name, "A");
        assert!(matches!(TrustList::from_toml(""), Err(TrustError::Empty)));
        assert!(matches!(
            TrustList::from_toml("[[issuer]]\ndid = \"did:web:x\"\nname = \"A\"\n"),
            Err(TrustError::Did { index: 1, .. })
        ));
        assert!(matches!(
            TrustList::from_toml("[[issuer]]\nname = 1\n"),
            Err(TrustError::Syntax(_))
        ));
        assert!(matches!(
            TrustList::from_toml("[[issuer]]\nname = \"A\"\n"),
            Err(TrustError::Entry { index: 1, .. })
        ));
        let twice = format!(
            "[[issuer]]\nname = \"A\"\ndid = \"{did}\"\n[[issuer]]\nname = \"B\"\ndid = \"{did}\"\n"
        );
        assert!(matches!(
            TrustList::from_toml(&twice),
            Err(TrustError::Entry { index: 2, .. })
        ));
    }

    #[test]
    fn rotated_keys_and_windows() {
        let (old, new) = (
            kyc_core::DidKey::generate().1,
            kyc_core::DidKey::generate().1,
        );
        let other = kyc_core::DidKey::generate().1;
        let text = format!(
            "[[issuer]]\nname = \"R\"\n\
             [[issuer.key]]\ndid = \"{old}\"\nuntil = \"2027-01-01T00:00:00Z\"\n\
             [[issuer.key]]\ndid = \"{new}\"\nfrom = \"2026-12-01T00:00:00Z\"\n\
             [[issuer]]\nname = \"O\"\ndid = \"{other}\"\n"
        );
        let t = TrustList::from_toml(&text).unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let (issuer, key) = t.get(old.as_str()).unwrap();
        assert_eq!(issuer.name, "R");
        assert_eq!(key.window(at("2026-06-01T00:00:00Z")), KeyWindow::InService);
        assert_eq!(
            key.window(at("2027-01-01T00:00:00Z")),
            KeyWindow::Retired(at("2027-01-01T00:00:00Z"))
        );
        let (_, key) = t.get(new.as_str()).unwrap();
        assert!(matches!(
            key.window(at("2026-11-30T23:59:59Z")),
            KeyWindow::NotYetActive(_)
        ));
        assert!(t.same_issuer(old.as_str(), new.as_str()));
        assert!(!t.same_issuer(old.as_str(), other.as_str()));
        let backwards = format!(
            "[[issuer]]\nname = \"R\"\n[[issuer.key]]\ndid = \"{old}\"\n\
             from = \"2027-01-01T00:00:00Z\"\nuntil = \"2026-01-01T00:00:00Z\"\n"
        );
        assert!(matches!(
            TrustList::from_toml(&backwards),
            Err(TrustError::Entry { index: 1, .. })
        ));
    }
}
