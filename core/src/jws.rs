//! Compact JWS (RFC 7515 §7.1) with `EdDSA` over Ed25519 (RFC 8037 §3.1), and nothing else.
//!
//! Parsing is strict: exactly three segments of canonical unpadded base64url, a JSON header with
//! no duplicate members, `alg` exactly `EdDSA` (so `none` and every HMAC are refused before any
//! key is touched), no `crit`. Signatures verify with `verify_strict`, which also refuses
//! small-order keys and non-canonical `R`/`s` (malleability).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Deserialize;

use crate::error::{CryptoError, MalformedError, VerifyError};

/// The only JWS algorithm accepted (RFC 8037 §3.1).
pub const ALG_EDDSA: &str = "EdDSA";

/// The protected header members this implementation reads. Others are ignored (RFC 7515 §4),
/// except `crit`, which names extensions we would have to understand.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// Algorithm; must be `EdDSA`.
    pub alg: String,
    /// Media type of the whole object (`vc+jwt`, `vc+sd-jwt`, `kb+jwt`).
    #[serde(default)]
    pub typ: Option<String>,
    /// Key id: a `did:key` DID URL for issuer-signed objects.
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A parsed compact JWS whose signature has not been checked yet.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    signing_input: &'a str,
    /// The decoded protected header.
    pub header: Header,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    signature: Signature,
}

impl<'a> CompactJws<'a> {
    /// Split and decode `header.payload.signature`; checks `alg` and `crit`.
    pub fn parse(input: &'a str) -> Result<Self, VerifyError> {
        if input.len() > crate::error::MAX_INPUT_LEN {
            return Err(MalformedError::TooLarge(input.len()).into());
        }
        let mut parts = input.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MalformedError::Compact("expected three dot-separated segments").into());
        };
        let header_bytes = B64
            .decode(h)
            .map_err(|_| MalformedError::Base64("JWS header"))?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|e| MalformedError::json("JWS header", &e))?;
        if header.alg != ALG_EDDSA {
            return Err(CryptoError::AlgorithmNotAllowed(header.alg).into());
        }
        if header.crit.is_some() {
            return Err(CryptoError::CriticalHeader.into());
        }
        let mut sig = [0u8; 64];
        match B64.decode_slice(s, &mut sig) {
            Ok(64) => {}
            _ => return Err(MalformedError::Base64("JWS signature").into()),
        }
        let payload = B64
            .decode(p)
            .map_err(|_| MalformedError::Base64("JWS payload"))?;
        Ok(Self {
            signing_input: &input[..h.len() + 1 + p.len()],
            header,
            payload,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// Require the header's `typ` to be one of `accepted`.
    pub fn expect_typ(&self, accepted: &[&'static str]) -> Result<(), CryptoError> {
        match &self.header.typ {
            Some(t) if accepted.contains(&t.as_str()) => Ok(()),
            other => Err(CryptoError::WrongType {
                found: other.clone().unwrap_or_default(),
                expected: accepted.first().copied().unwrap_or_default(),
            }),
        }
    }

    /// The payload parsed as JSON into `T`; `part` names it in the error.
    ///
    /// The payload is checked as UTF-8 once, as a whole, and parsed as text: `from_slice` would
    /// check every string on its own, which cost as much as the rest of the parse. A JSON text
    /// can hold non-UTF-8 bytes only inside strings, so the two accept exactly the same inputs;
    /// on a failure `from_slice` runs to give the complaint it always gave.
    pub fn payload_json<T: serde::de::DeserializeOwned>(
        &self,
        part: &'static str,
    ) -> Result<T, MalformedError> {
        match std::str::from_utf8(&self.payload) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(&self.payload),
        }
        .map_err(|e| MalformedError::json(part, &e))
    }

    /// Verify the signature over `ASCII(header) || '.' || ASCII(payload)` (RFC 7515 §5.2).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CryptoError> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// A compact JWS before its signature: the signing input `ASCII(header) '.' ASCII(payload)`.
///
/// Ed25519 signatures are deterministic, so the signing input fixes the whole JWS: an issuer
/// can record [`Unsigned::digest`] in its audit log first and sign after, and every signature it
/// makes is then one the log named beforehand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    signing_input: String,
}

impl Unsigned {
    /// `payload` under the header `{"alg":"EdDSA","typ":typ,"kid":kid}`.
    pub fn new(typ: &str, kid: Option<&str>, payload: &[u8]) -> Self {
        let mut header = serde_json::Map::new();
        header.insert("alg".into(), ALG_EDDSA.into());
        header.insert("typ".into(), typ.into());
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        let header = serde_json::Value::Object(header).to_string();
        let mut signing_input = B64.encode(header);
        signing_input.push('.');
        B64.encode_string(payload, &mut signing_input);
        Self { signing_input }
    }

    /// The signing input.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// `base64url(SHA-256(signing input))`, as [`input_digest`] gives for the signed JWS.
    pub fn digest(&self) -> String {
        digest(&self.signing_input)
    }

    /// The compact JWS, signed by `key`.
    pub fn sign(self, key: &SigningKey) -> String {
        let mut out = self.signing_input;
        let signature = key.sign(out.as_bytes());
        out.push('.');
        B64.encode_string(signature.to_bytes(), &mut out);
        out
    }
}

/// `base64url(SHA-256(signing input))` of a compact JWS (its first two segments), without
/// checking anything else: what an issuer's audit log names a signed object by.
pub fn input_digest(compact: &str) -> Option<String> {
    let end = compact.rfind('.')?;
    let input = &compact[..end];
    input.contains('.').then(|| digest(input))
}

/// `base64url(SHA-256(ascii))`.
fn digest(ascii: &str) -> String {
    use sha2::{Digest as _, Sha256};
    B64.encode(Sha256::digest(ascii.as_bytes()))
}

/// Sign `payload` as a compact JWS with header `{"alg":"EdDSA","typ":typ,"kid":kid}`.
pub fn sign(typ: &str, kid: Option<&str>, payload: &[u8], key: &SigningKey) -> String {
    Unsigned::new(typ, kid, payload).sign(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    #[test]
    fn sign_then_verify() {
        let jws = sign("vc+jwt", Some("k"), b"{}", &key());
        let parsed = CompactJws::parse(&jws).unwrap();
        parsed.verify(&key().verifying_key()).unwrap();
        assert_eq!(parsed.payload, b"{}");
    }

    #[test]
    fn refuses_other_algorithms_and_shapes() {
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode("{}"));
        assert!(matches!(
            CompactJws::parse(&none),
            Err(VerifyError::Crypto(CryptoError::AlgorithmNotAllowed(a))) if a == "none"
        ));
        let jws = sign("vc+jwt", None, b"{}", &key());
        assert!(matches!(
            CompactJws::parse(&format!("{jws}.x")),
            Err(VerifyError::Malformed(MalformedError::Compact(_)))
        ));
        assert!(matches!(
            CompactJws::parse(&format!("{jws}=")),
            Err(VerifyError::Malformed(MalformedError::Base64(_)))
        ));
        let crit = format!(
            "{}.{}.{}",
            B64.encode(r#"{"alg":"EdDSA","crit":["b64"],"b64":false}"#),
            B64.encode("{}"),
            B64.encode([0u8; 64])
        );
        assert!(matches!(
            CompactJws::parse(&crit),
            Err(VerifyError::Crypto(CryptoError::CriticalHeader))
        ));
        let dup = format!(
            "{}.{}.{}",
            B64.encode(r#"{"alg":"EdDSA","alg":"none"}"#),
            B64.encode("{}"),
            B64.encode([0u8; 64])
        );
        assert!(matches!(
            CompactJws::parse(&dup),
            Err(VerifyError::Malformed(MalformedError::Json { .. }))
        ));
    }
}
