//! What can go wrong when reading and checking credentials, kept apart by concern.
//!
//! - [`MalformedError`]: the input is not what it claims to be (encoding, JSON, structure).
//! - [`CryptoError`]: it is well formed but a signature, key or digest does not check out.
//! - [`PolicyError`]: it verifies, but the relying party's rules say no.
//!
//! [`VerifyError`] carries one of the three; [`VerifyError::code`] gives the stable code the
//! command-line verdicts print.

use chrono::{DateTime, Utc};

use crate::did::DidError;

/// The largest compact credential, presentation or status list this crate will look at.
///
/// A KYC credential is about 2 KiB and a status list of 131,072 entries compresses to far less
/// than this; anything bigger is refused before any decoding work is done.
pub const MAX_INPUT_LEN: usize = 256 * 1024;

/// The input cannot be parsed as the format it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedError {
    /// Larger than [`MAX_INPUT_LEN`]; refused before decoding.
    #[error("input of {0} bytes exceeds the limit of {limit} bytes", limit = MAX_INPUT_LEN)]
    TooLarge(usize),
    /// Not a compact JWS: wrong number of segments, or data after the last one.
    #[error("not a compact JWS: {0}")]
    Compact(&'static str),
    /// A segment is not canonical unpadded base64url (RFC 7515 §2).
    #[error("invalid base64url in {0}")]
    Base64(&'static str),
    /// A segment is not the JSON it must be.
    #[error("invalid JSON in {part}: {reason}")]
    Json {
        /// Which part of the input.
        part: &'static str,
        /// The parser's complaint (never echoes input values).
        reason: String,
    },
    /// The JSON parses but breaks a rule of the format.
    #[error("{0}")]
    Structure(String),
    /// An identifier that must be an Ed25519 `did:key` is not one.
    #[error("invalid did:key: {0}")]
    Did(DidError),
    /// The same disclosure appears twice (RFC 9901 §7.1).
    #[error("duplicate disclosure")]
    DuplicateDisclosure,
    /// A presentation without the key-binding JWT that checkout requires.
    #[error("presentation has no key-binding JWT")]
    MissingKeyBinding,
}

// Not `#[from]`: that would also make the DidError the `source()`, and error chains would print
// its message twice.
impl From<DidError> for MalformedError {
    fn from(e: DidError) -> Self {
        Self::Did(e)
    }
}

impl MalformedError {
    /// A JSON error whose message keeps field names and positions but not values: serde_json
    /// quotes offending strings (`invalid type: string "Erika"`), which could be personal data.
    pub fn json(part: &'static str, err: &serde_json::Error) -> Self {
        Self::Json {
            part,
            reason: redact_values(&err.to_string()),
        }
    }
}

/// A serde message without the values it quotes. serde writes what it found in backticks
/// (``unknown variant `Erika Mustermann` ``, ``invalid value: integer `12345678901` ``,
/// ``floating point `1.5` ``, ``unknown field `x` ``) and strings in double quotes; what follows
/// `, expected` is the schema's own vocabulary (``expected one of `EU`, `US` ``), kept. Every
/// span the input could have put there becomes `…`.
pub fn redact_values(message: &str) -> String {
    let (found, expected) = match message.find(", expected") {
        Some(at) => message.split_at(at),
        None => (message, ""),
    };
    // Names the schema gave, not the input: `missing field `nonce``, `duplicate field `tier``;
    // and the body reader's `duplicate member `x``, which names a member only when it is a
    // plain identifier.
    let names_only = ["missing field `", "duplicate field `", "duplicate member `"]
        .iter()
        .any(|p| found.contains(p));
    let quotes: &[char] = if names_only { &['"'] } else { &['`', '"'] };
    let mut out = redact_spans(found, quotes);
    out.push_str(&redact_spans(expected, &['"']));
    out
}

/// `text` with every span between two equal `quotes` characters replaced by `…` (an unclosed
/// one to the end).
fn redact_spans(text: &str, quotes: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if quotes.contains(&c) => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out
}

/// The input is well formed but a cryptographic check fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The JWS `alg` is not `EdDSA` (this rejects `none` and every HMAC variant).
    #[error("algorithm {0:?} is not accepted; only EdDSA is")]
    AlgorithmNotAllowed(String),
    /// The JWS `typ` is not the one this kind of object must carry.
    #[error("type {found:?} is not accepted here; expected {expected}")]
    WrongType {
        /// The `typ` found (empty when absent).
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The JWS names extensions in `crit`, none of which this implementation understands.
    #[error("critical header parameters are not supported")]
    CriticalHeader,
    /// The `kid` is missing or is not a `did:key` DID URL.
    #[error("key id is not a did:key DID URL: {0}")]
    BadKeyId(String),
    /// The `kid` names a different DID than the credential's `issuer`.
    #[error("key id does not belong to the issuer")]
    KeyIdNotIssuer,
    /// The signature does not verify under the key it claims.
    #[error("signature does not verify")]
    BadSignature,
    /// A disclosure's digest is not referenced by any `_sd` array (RFC 9901 §7.1).
    #[error("disclosure not referenced by any digest")]
    UnreferencedDisclosure,
    /// The SD-JWT's `_sd_alg` is not `sha-256`.
    #[error("unsupported _sd_alg {0:?}")]
    DigestAlgorithm(String),
    /// The confirmation key in `cnf.jwk` is not the key of `credentialSubject.id`.
    #[error("cnf.jwk is not the key of the credential subject")]
    HolderKeyMismatch,
    /// The key-binding JWT does not verify under the holder's key.
    #[error("key-binding JWT is not signed by the holder key")]
    KeyBindingSignature,
    /// The key-binding JWT's `sd_hash` does not cover exactly the presented SD-JWT.
    #[error("key-binding sd_hash does not match the presented SD-JWT")]
    SdHashMismatch,
    /// The status list credential was not signed by the credential's issuer.
    #[error("status list is not from the credential's issuer")]
    StatusListIssuer,
}

/// The input verifies, but the relying party's policy rejects it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `validUntil` is before the evaluation time.
    #[error("credential expired at {0}")]
    Expired(DateTime<Utc>),
    /// `validFrom` is after the evaluation time.
    #[error("credential is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    /// The status list marks the credential revoked.
    #[error("credential has been revoked")]
    Revoked,
    /// The issuer is not in the relying party's trust list.
    #[error("issuer {0} is not trusted")]
    UntrustedIssuer(String),
    /// The credential's tier is below what the request asks for.
    #[error("KYC tier {have} is below the required {need}")]
    TierTooLow {
        /// Tier of the credential.
        have: u8,
        /// Tier required.
        need: u8,
    },
    /// A claim the request asks for was not disclosed.
    #[error("requested claim {0} was not disclosed")]
    MissingClaim(String),
    /// The key-binding JWT's `nonce` is not the request's.
    #[error("key-binding nonce does not match the request")]
    WrongNonce,
    /// The key-binding JWT's `aud` is not the request's.
    #[error("key-binding audience does not match the request")]
    WrongAudience,
    /// The key-binding JWT's `iat` is outside the accepted window.
    #[error("key-binding JWT issued at {0}, outside the accepted window")]
    StaleKeyBinding(DateTime<Utc>),
    /// The presentation request itself has expired.
    #[error("presentation request expired at {0}")]
    RequestExpired(DateTime<Utc>),
    /// This presentation (its nonce) was already accepted once.
    #[error("presentation was already accepted (replay)")]
    Replayed,
    /// The status list given is not the one the credential points to, or has no such entry.
    #[error("status list does not cover this credential: {0}")]
    StatusListMismatch(String),
    /// The cached status list is older than the policy allows.
    #[error("status list is stale (issued {0})")]
    StaleStatusList(DateTime<Utc>),
}

/// Why verification failed: one of the three concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input cannot be parsed.
    #[error(transparent)]
    Malformed(#[from] MalformedError),
    /// A cryptographic check failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The relying party's policy says no.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl VerifyError {
    /// A stable, machine-readable code for verdicts (`snake_case`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(MalformedError::TooLarge(_)) => "too_large",
            Self::Malformed(MalformedError::DuplicateDisclosure) => "duplicate_disclosure",
            Self::Malformed(MalformedError::MissingKeyBinding) => "missing_key_binding",
            Self::Malformed(MalformedError::Did(_)) => "invalid_did",
            Self::Malformed(_) => "malformed",
            Self::Crypto(e) => match e {
                CryptoError::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
                CryptoError::WrongType { .. } => "wrong_type",
                CryptoError::CriticalHeader => "critical_header",
                CryptoError::BadKeyId(_) => "bad_key_id",
                CryptoError::KeyIdNotIssuer => "key_id_not_issuer",
                CryptoError::BadSignature => "bad_signature",
                CryptoError::UnreferencedDisclosure => "unreferenced_disclosure",
                CryptoError::DigestAlgorithm(_) => "digest_algorithm",
                CryptoError::HolderKeyMismatch => "holder_key_mismatch",
                CryptoError::KeyBindingSignature => "key_binding_signature",
                CryptoError::SdHashMismatch => "sd_hash_mismatch",
                CryptoError::StatusListIssuer => "status_list_issuer",
            },
            Self::Policy(e) => e.code(),
        }
    }

    /// True when the input could not be parsed at all (the CLI's exit code 2).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Self::Malformed(_))
    }
}

impl PolicyError {
    /// A stable, machine-readable code for verdicts (`snake_case`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired(_) => "expired",
            Self::NotYetValid(_) => "not_yet_valid",
            Self::Revoked => "revoked",
            Self::UntrustedIssuer(_) => "untrusted_issuer",
            Self::TierTooLow { .. } => "tier_too_low",
            Self::MissingClaim(_) => "missing_claim",
            Self::WrongNonce => "wrong_nonce",
            Self::WrongAudience => "wrong_audience",
            Self::StaleKeyBinding(_) => "stale_key_binding",
            Self::RequestExpired(_) => "request_expired",
            Self::Replayed => "replayed",
            Self::StatusListMismatch(_) => "status_list_mismatch",
            Self::StaleStatusList(_) => "stale_status_list",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_do_not_echo_values() {
        let err = serde_json::from_str::<u64>(r#""Erika Mustermann""#).unwrap_err();
        let shown = MalformedError::json("subject", &err).to_string();
        assert!(!shown.contains("Erika"), "{shown}");
        assert!(shown.contains("invalid type"), "{shown}");
    }

    /// Issue 12, finding 9: backtick-quoted values (variants, numbers, fields) are redacted
    /// too; the schema's own words after `expected` stay.
    #[test]
    fn backticked_values_and_numbers_are_redacted() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Review {
            decision: Decision,
            tier: Option<u8>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Decision {
            Approve,
            Reject,
        }
        for (body, secret, kept) in [
            (
                r#"{"decision": "Erika Mustermann 1990-01-31"}"#,
                "Erika",
                "`approve`",
            ),
            (r#"{"decision": "approve", "tier": 1.5}"#, "1.5", "u8"),
            (
                r#"{"decision": "approve", "tier": 12345678901}"#,
                "12345678901",
                "u8",
            ),
            (r#"{"decision": "approve", "Erika": 1}"#, "Erika", "`tier`"),
            (r#"{"decision": true}"#, "true", "line 1"),
        ] {
            let err = serde_json::from_str::<Review>(body).unwrap_err();
            let shown = MalformedError::json("review", &err).to_string();
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains(kept), "{shown}");
        }
        assert_eq!(redact_values("unclosed `Erika"), "unclosed `…");
    }
}
