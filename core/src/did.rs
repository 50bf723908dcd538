//! Ed25519 `did:key` identifiers (W3C CCG did:key method, Ed25519 only).
//!
//! `did:key:z<base58btc(0xed 0x01 || public key)>`: multibase prefix `z` (base58btc), multicodec
//! `ed25519-pub` (0xed, varint-encoded as `0xed 0x01`), then the 32-byte public key. Resolution is
//! offline by construction: the key is in the identifier.

use std::collections::HashMap;

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Multicodec `ed25519-pub` (0xed) as an unsigned varint.
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];
const PREFIX: &str = "did:key:";

/// Why a string is not an Ed25519 `did:key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// Does not start with `did:key:z`.
    #[error("not a did:key with a base58btc multibase value")]
    NotDidKey,
    /// The multibase value is not base58btc, or not in its canonical form.
    #[error("invalid base58btc encoding")]
    Encoding,
    /// The multicodec is not `ed25519-pub`, or the key is not 32 bytes.
    #[error("not an Ed25519 public key")]
    NotEd25519,
    /// The 32 bytes are not a usable Ed25519 point (not on the curve, or of small order).
    #[error("invalid Ed25519 public key")]
    InvalidKey,
    /// A DID URL whose fragment is not the key's own multibase value.
    #[error("DID URL fragment does not name the key")]
    BadFragment,
}

/// An Ed25519 `did:key`, parsed and with its public key resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct DidKey {
    did: String,
    key: VerifyingKey,
}

impl std::fmt::Debug for DidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DidKey").field(&self.did).finish()
    }
}

impl std::fmt::Display for DidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.did)
    }
}

impl DidKey {
    /// The `did:key` of a public key.
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        let mut bytes = Vec::with_capacity(34);
        bytes.extend_from_slice(&ED25519_PUB_MULTICODEC);
        bytes.extend_from_slice(key.as_bytes());
        let did = format!("{PREFIX}z{}", bs58::encode(bytes).into_string());
        Self { did, key: *key }
    }

    /// Generate a fresh key pair from the operating system's RNG.
    pub fn generate() -> (SigningKey, Self) {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let did = Self::from_verifying_key(&signing.verifying_key());
        (signing, did)
    }

    /// Parse a `did:key` and resolve its key, rejecting non-canonical encodings and weak keys.
    pub fn parse(did: &str) -> Result<Self, DidError> {
        let bytes = public_key_bytes(did)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| DidError::InvalidKey)?;
        if key.is_weak() {
            return Err(DidError::InvalidKey);
        }
        Ok(Self {
            did: did.to_owned(),
            key,
        })
    }

    /// Parse a DID URL `did:key:z…#z…` as used in a JWS `kid`; the fragment must repeat the key.
    pub fn parse_key_id(kid: &str) -> Result<Self, DidError> {
        let (did, _) = split_key_id(kid)?;
        Self::parse(did)
    }

    /// The DID string.
    pub fn as_str(&self) -> &str {
        &self.did
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The DID URL of the key's verification method, `did:key:z…#z…`, used as JWS `kid`.
    pub fn key_id(&self) -> String {
        format!("{}#{}", self.did, self.multibase())
    }

    fn multibase(&self) -> &str {
        &self.did[PREFIX.len()..]
    }
}

/// Split a `did:key` DID URL into the DID and the fragment, and check the fragment repeats the
/// DID's multibase value.
pub fn split_key_id(kid: &str) -> Result<(&str, &str), DidError> {
    let (did, fragment) = kid.split_once('#').ok_or(DidError::BadFragment)?;
    if !did.starts_with(PREFIX) || &did[PREFIX.len()..] != fragment {
        return Err(DidError::BadFragment);
    }
    Ok((did, fragment))
}

/// The raw 32 public-key bytes of an Ed25519 `did:key`, without decompressing the point.
///
/// Enough to compare a DID with a JWK; use [`DidKey::parse`] to get a key that can verify.
pub fn public_key_bytes(did: &str) -> Result<[u8; 32], DidError> {
    let encoded = did
        .strip_prefix(PREFIX)
        .and_then(|v| v.strip_prefix('z'))
        .ok_or(DidError::NotDidKey)?;
    let mut buf = [0u8; 40];
    let n = bs58::decode(encoded)
        .onto(&mut buf)
        .map_err(|_| DidError::Encoding)?;
    if n != 34 || buf[..2] != ED25519_PUB_MULTICODEC {
        return Err(DidError::NotEd25519);
    }
    // base58 has no padding ambiguity, but leading '1's decode to zero bytes; since the first
    // byte is 0xed, a canonical encoding never starts with '1'.
    if encoded.starts_with('1') {
        return Err(DidError::Encoding);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&buf[2..34]);
    Ok(key)
}

/// Resolves `did:key` identifiers to keys, keeping the keys it has already decompressed.
///
/// A relying party verifies credentials from a handful of issuers; preloading their DIDs takes
/// the point decompression off the per-credential path. Any other `did:key` still resolves.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    known: HashMap<String, DidKey>,
}

impl Resolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse and remember a DID.
    pub fn preload(&mut self, did: &str) -> Result<&DidKey, DidError> {
        let parsed = DidKey::parse(did)?;
        Ok(self.known.entry(did.to_owned()).or_insert(parsed))
    }

    /// Resolve a DID URL (`kid`) to its DID and key.
    pub fn resolve_key_id(&self, kid: &str) -> Result<DidKey, DidError> {
        let (did, _) = split_key_id(kid)?;
        match self.known.get(did) {
            Some(known) => Ok(known.clone()),
            None => DidKey::parse(did),
        }
    }
}

/// A private key as an OKP JWK (RFC 8037 §2): `{"kty":"OKP","crv":"Ed25519","x":…,"d":…}`.
///
/// The form key files take; writing them somewhere private is the caller's business.
pub fn private_jwk(key: &SigningKey) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64.encode(key.verifying_key().as_bytes()),
        "d": b64.encode(key.to_bytes()),
    })
    .to_string()
}

/// The `kid` of a test key: written by the test kit's signer (`kyc-test-signer keygen`), which
/// signs with no other key, and refused by the issuer, which never signs with one.
pub const TEST_KEY_ID: &str = "kyc-test-signer";

/// [`private_jwk`] marked as a test key ([`TEST_KEY_ID`]).
pub fn private_test_jwk(key: &SigningKey) -> String {
    let mut jwk: serde_json::Value =
        serde_json::from_str(&private_jwk(key)).unwrap_or_else(|_| serde_json::json!({}));
    jwk["kid"] = TEST_KEY_ID.into();
    jwk.to_string()
}

/// Whether the private JWK `jwk` is marked as a test key.
pub fn is_test_jwk(jwk: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(jwk).is_ok_and(|v| v["kid"] == TEST_KEY_ID)
}

/// Read a private key written by [`private_jwk`]; `x`, when present, must match `d`.
pub fn from_private_jwk(jwk: &str) -> Result<SigningKey, DidError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let value: serde_json::Value = serde_json::from_str(jwk).map_err(|_| DidError::Encoding)?;
    if value["kty"] != "OKP" || value["crv"] != "Ed25519" {
        return Err(DidError::NotEd25519);
    }
    let mut seed = [0u8; 32];
    match value["d"].as_str().map(|d| b64.decode_slice(d, &mut seed)) {
        Some(Ok(32)) => {}
        _ => return Err(DidError::Encoding),
    }
    let key = SigningKey::from_bytes(&seed);
    if let Some(x) = value["x"].as_str() {
        if b64.encode(key.verifying_key().as_bytes()) != x {
            return Err(DidError::InvalidKey);
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_jwk_round_trip() {
        let (key, _) = DidKey::generate();
        let back = from_private_jwk(&private_jwk(&key)).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
        let other = DidKey::generate().0;
        let mut mixed: serde_json::Value = serde_json::from_str(&private_jwk(&key)).unwrap();
        mixed["x"] =
            serde_json::from_str::<serde_json::Value>(&private_jwk(&other)).unwrap()["x"].clone();
        assert_eq!(
            from_private_jwk(&mixed.to_string()).unwrap_err(),
            DidError::InvalidKey
        );
    }

    #[test]
    fn round_trip() {
        let (_, did) = DidKey::generate();
        let parsed = DidKey::parse(did.as_str()).unwrap();
        assert_eq!(parsed, did);
        assert_eq!(DidKey::parse_key_id(&did.key_id()).unwrap(), did);
    }

    // W3C CCG did-method-key test-vectors/ed25519-x25519.json: seed 0x00…00.
    #[test]
    fn known_answer_zero_seed() {
        let key = SigningKey::from_bytes(&[0u8; 32]);
        let did = DidKey::from_verifying_key(&key.verifying_key());
        assert_eq!(
            did.as_str(),
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        );
    }

    #[test]
    fn rejects_bad_identifiers() {
        let (_, did) = DidKey::generate();
        let s = did.as_str();
        assert_eq!(
            DidKey::parse("did:web:example.com"),
            Err(DidError::NotDidKey)
        );
        assert_eq!(
            DidKey::parse(&s.replace("did:key:z", "did:key:f")),
            Err(DidError::NotDidKey)
        );
        assert_eq!(DidKey::parse(&format!("{s}0")), Err(DidError::Encoding));
        assert_eq!(DidKey::parse(&format!("{s}1")), Err(DidError::NotEd25519));
        // secp256k1 did:key (multicodec 0xe7)
        assert_eq!(
            DidKey::parse("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"),
            Err(DidError::NotEd25519)
        );
        let other = DidKey::generate().1;
        assert_eq!(
            DidKey::parse_key_id(&format!("{s}#{}", &other.as_str()[8..])),
            Err(DidError::BadFragment)
        );
        // the identity point is a weak (small-order) key
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut bytes = ED25519_PUB_MULTICODEC.to_vec();
        bytes.extend_from_slice(&identity);
        let weak = format!("did:key:z{}", bs58::encode(bytes).into_string());
        assert_eq!(DidKey::parse(&weak), Err(DidError::InvalidKey));
    }
}
