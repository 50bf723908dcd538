//! The trust list: the issuers whose credentials this relying party accepts.
//!
//! ```toml
//! [[issuer]]
//! did = "did:key:z6Mk…"
//! name = "Example KYC GmbH"
//! ```

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
        /// Position of the entry, from 1.
        index: usize,
        /// Why the DID is refused.
        reason: kyc_core::did::DidError,
    },
    /// No `[[issuer]]` at all: nothing could ever verify.
    #[error("trust list names no issuer")]
    Empty,
}

/// One trusted issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// Its `did:key`.
    pub did: String,
    /// A human-readable name for verdicts.
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    #[serde(default)]
    issuer: Vec<TrustedIssuer>,
}

/// The accepted issuers, with their keys resolved once.
#[derive(Debug, Clone)]
pub struct TrustList {
    issuers: Vec<TrustedIssuer>,
    resolver: Resolver,
}

impl TrustList {
    /// Parse a trust file's text.
    pub fn from_toml(text: &str) -> Result<Self, TrustError> {
        let file: TrustFile =
            toml::from_str(text).map_err(|e| TrustError::Syntax(e.message().to_owned()))?;
        Self::new(file.issuer)
    }

    /// A trust list of these issuers.
    pub fn new(issuers: Vec<TrustedIssuer>) -> Result<Self, TrustError> {
        if issuers.is_empty() {
            return Err(TrustError::Empty);
        }
        let mut resolver = Resolver::new();
        for (i, issuer) in issuers.iter().enumerate() {
            resolver
                .preload(&issuer.did)
                .map_err(|reason| TrustError::Did {
                    index: i + 1,
                    reason,
                })?;
        }
        Ok(Self { issuers, resolver })
    }

    /// The trusted issuer with this DID.
    pub fn get(&self, did: &str) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.did == did)
    }

    /// A resolver with every trusted issuer's key already decompressed.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let did = kyc_core::DidKey::generate().1;
        let t =
            TrustList::from_toml(&format!("[[issuer]]\ndid = \"{did}\"\nname = \"A\"\n")).unwrap();
        assert_eq!(t.get(did.as_str()).unwrap().name, "A");
        assert!(matches!(TrustList::from_toml(""), Err(TrustError::Empty)));
        assert!(matches!(
            TrustList::from_toml("[[issuer]]\ndid = \"did:web:x\"\nname = \"A\"\n"),
            Err(TrustError::Did { index: 1, .. })
        ));
        assert!(matches!(
            TrustList::from_toml("[[issuer]]\nname = 1\n"),
            Err(TrustError::Syntax(_))
        ));
    }
}
