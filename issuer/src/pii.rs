//! Personal data at rest: compact JWE under a per-subject key, and keyed commitments.
//!
//! Every piece of personal data the issuer keeps (identity fields, document scans, selfies) is
//! stored as a compact JWE (RFC 7516 §7.1) with `alg: dir` and `enc: A256GCM` under a random
//! 256-bit [`SubjectKey`] that belongs to one subject. Destroying that key erases the data
//! everywhere it was copied (crypto-shredding), and makes the subject's [`commitment`]s in the
//! audit log unlinkable to any value.
//!
//! Subject keys are never stored beside the data: they are wrapped under a
//! [`KeyEncryptionKey`] kept outside the data directory, one file per key
//! (`crate::subject_keys`), and erasure destroys the file. A backup of the key store taken
//! before an erasure still holds the key, wrapped: erasure reaches that backup once the KEK it
//! was taken under is retired (rotated and destroyed).
//!
//! # The sealed form
//!
//! The protected header is exactly
//! `{"alg":"dir","enc":"A256GCM","crit":["ctx"],"ctx":"<context>"}` (member order may vary).
//! Any JOSE library opens it with the 32 key bytes; [`open`] is stricter than a generic one.
//!
//! **Why a private `ctx` member and not `kid`.** The context binds a ciphertext to the record it
//! was written for, e.g. `subject/<id>/application/<id>/identity`. The key is already per
//! subject, so a ciphertext copied to another subject's record fails on the key alone; the
//! context is what stops a ciphertext being moved *within* a subject (to another application or
//! another field). That is more than a key identifier, and `kid` is read by JOSE libraries (and
//! by key rotation later) to select a key, so overloading it would mix two meanings. The
//! protected header is the AES-GCM additional authenticated data (RFC 7516 §5.1 step 14), so
//! `ctx` cannot be changed without failing the tag; it is listed in `crit` (RFC 7515 §4.1.11) so
//! that a library that does not know it refuses the JWE instead of silently skipping the check.
//!
//! The header is not encrypted: the context must be made of pseudonymous ids, never of personal
//! data.
//!
//! # What [`open`] refuses
//!
//! Anything [`seal`] would not have produced: an `alg` other than `dir`, an `enc` other than
//! `A256GCM`, any other header member (`zip`, `jku`, `jwk`, `kid`, …), a `crit` other than
//! `["ctx"]`, an encrypted-key part, an IV other than 96 bits and a tag other than 128 bits.
//! The last check matters: josekit 0.10 passes the tag to OpenSSL as is, and OpenSSL accepts a
//! GCM tag of any length from 1 to 16 bytes, so without it a 1-byte tag would be accepted (and a
//! forgery would take about 256 tries). josekit 0.10 also ignores `crit`; it is checked here.
//!
//! # Nonces and key memory
//!
//! Each [`seal`] draws a fresh random 96-bit IV (OpenSSL's RNG, through josekit). A subject key
//! seals a handful of records, far below the 2^32 messages per key that random GCM nonces allow.
//! [`SubjectKey`] wipes its bytes on drop; josekit keeps a transient copy of the key in its
//! encrypter/decrypter that it does not wipe, and the plaintext returned by [`open`] is the
//! caller's to wipe (e.g. with `zeroize::Zeroizing`).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use josekit::jwe::{Dir, JweHeader};
use rand::RngCore as _;
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::Zeroize;

/// The one key management algorithm accepted: the subject key is the content encryption key.
const ALG: &str = "dir";
/// The one content encryption algorithm accepted.
const ENC: &str = "A256GCM";
/// The private header member that carries the record context.
const CTX: &str = "ctx";
/// The header members a sealed record has, and the only ones [`open`] accepts.
const HEADER_MEMBERS: [&str; 4] = ["alg", "enc", "crit", CTX];
/// AES-GCM IV length, bytes (RFC 7518 §5.3).
const IV_LEN: usize = 12;
/// AES-GCM tag length, bytes (RFC 7518 §5.3).
const TAG_LEN: usize = 16;
/// Longest protected header accepted by [`open`], in base64url characters. A sealed header with
/// a context of [`MAX_CONTEXT_LEN`] bytes fits with room to spare.
const MAX_HEADER_B64_LEN: usize = 1024;

/// Longest context accepted by [`seal`] and [`open`], in bytes.
pub const MAX_CONTEXT_LEN: usize = 256;

/// Length of a [`SubjectKey`], in bytes.
pub const SUBJECT_KEY_LEN: usize = 32;

/// Why sealing or opening personal data failed. Messages never contain plaintext, key bytes or
/// the context; where a header value is shown it is cut to a few characters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PiiError {
    /// Key material handed to [`SubjectKey::from_slice`] is not [`SUBJECT_KEY_LEN`] bytes.
    #[error("a subject key is {SUBJECT_KEY_LEN} bytes, got {0}")]
    InvalidKeyLength(usize),
    /// The context is empty or longer than [`MAX_CONTEXT_LEN`] bytes.
    #[error("a record context must be 1 to {MAX_CONTEXT_LEN} bytes")]
    InvalidContext,
    /// The input is not a compact JWE of the shape [`seal`] produces (five base64url parts, a
    /// JSON object header, no encrypted key, a 96-bit IV, a 128-bit tag).
    #[error("malformed sealed record: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not `dir`.
    #[error("unsupported JWE alg {0:?}: only \"dir\" is accepted")]
    UnsupportedAlgorithm(String),
    /// The header's `enc` is not `A256GCM`.
    #[error("unsupported JWE enc {0:?}: only \"A256GCM\" is accepted")]
    UnsupportedEncryption(String),
    /// The header has a member [`seal`] never writes, or a `crit` other than `["ctx"]`.
    #[error("unexpected JWE header member {0:?}")]
    UnexpectedHeader(String),
    /// The record was sealed for another context: it was moved from the record it belongs to.
    #[error("the sealed record belongs to another context")]
    ContextMismatch,
    /// Authenticated decryption failed: the key is not the one it was sealed with, or the
    /// header, IV, ciphertext or tag was altered.
    #[error("decryption failed: wrong key, or the sealed record was altered")]
    Decryption,
    /// The JWE library failed to encrypt (an OpenSSL error; it never carries the plaintext).
    #[error("encryption failed")]
    Encryption(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A subject's 256-bit data key: encrypts its personal data and keys its audit commitments.
/// Destroying every copy of it is how the subject's data is erased.
///
/// `Debug` shows no key bytes; the bytes are overwritten with zeros on drop.
#[derive(Clone)]
pub struct SubjectKey([u8; SUBJECT_KEY_LEN]);

impl SubjectKey {
    /// A fresh key of 32 bytes from the operating system's RNG.
    ///
    /// # Panics
    ///
    /// If the operating system's RNG fails, as `rand`'s `OsRng` does: there is no safe way to go
    /// on without randomness.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; SUBJECT_KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key with these bytes (as stored). The caller's copy of the array is not wiped.
    #[must_use]
    pub fn from_bytes(bytes: [u8; SUBJECT_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The key with these bytes, checking the length (for bytes read back from a store).
    ///
    /// # Errors
    ///
    /// [`PiiError::InvalidKeyLength`] unless `bytes` is exactly [`SUBJECT_KEY_LEN`] long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PiiError> {
        let array: [u8; SUBJECT_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| PiiError::InvalidKeyLength(bytes.len()))?;
        Ok(Self(array))
    }

    /// The key bytes, to store the key.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; SUBJECT_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectKey(<redacted>)")
    }
}

impl Drop for SubjectKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Encrypts `plaintext` for the record named by `aad_context` (pseudonymous ids, e.g.
/// `subject/<id>/application/<id>/identity`; it is bound into the authenticated header and
/// stored in clear). Returns the compact JWE described in the [module docs](self).
///
/// # Errors
///
/// [`PiiError::InvalidContext`] if the context is empty or longer than [`MAX_CONTEXT_LEN`];
/// [`PiiError::Encryption`] if OpenSSL fails.
pub fn seal(key: &SubjectKey, plaintext: &[u8], aad_context: &str) -> Result<String, PiiError> {
    seal_with(key.as_bytes(), plaintext, aad_context)
}

fn seal_with(
    key: &[u8; SUBJECT_KEY_LEN],
    plaintext: &[u8],
    aad_context: &str,
) -> Result<String, PiiError> {
    check_context(aad_context)?;
    let encryption = |err: josekit::JoseError| PiiError::Encryption(Box::new(err));
    let mut header = JweHeader::new();
    header.set_content_encryption(ENC);
    header.set_critical(&vec![CTX]);
    header
        .set_claim(CTX, Some(Value::String(aad_context.to_owned())))
        .map_err(encryption)?;
    let encrypter = Dir.encrypter_from_bytes(key).map_err(encryption)?;
    josekit::jwe::serialize_compact(plaintext, &header, &encrypter).map_err(encryption)
}

/// Decrypts a record made by [`seal`], checking that it was sealed for `expected_context`.
///
/// # Errors
///
/// [`PiiError::InvalidContext`] for an empty or over-long `expected_context`;
/// [`PiiError::Malformed`], [`PiiError::UnsupportedAlgorithm`],
/// [`PiiError::UnsupportedEncryption`] or [`PiiError::UnexpectedHeader`] for input [`seal`]
/// would not produce; [`PiiError::ContextMismatch`] for a record of another context;
/// [`PiiError::Decryption`] for a wrong key or altered data.
pub fn open(key: &SubjectKey, jwe: &str, expected_context: &str) -> Result<Vec<u8>, PiiError> {
    open_with(key.as_bytes(), jwe, expected_context)
}

fn open_with(
    key: &[u8; SUBJECT_KEY_LEN],
    jwe: &str,
    expected_context: &str,
) -> Result<Vec<u8>, PiiError> {
    check_context(expected_context)?;
    let header = check_shape(jwe)?;
    if context_of(&header)? != expected_context {
        return Err(PiiError::ContextMismatch);
    }
    let decrypter = Dir
        .decrypter_from_bytes(key)
        .map_err(|_| PiiError::Decryption)?;
    // josekit re-parses the same header bytes, checks alg and decrypts with the header as AAD.
    // Its error text is not passed on: it can quote header values.
    let (plaintext, authenticated) =
        josekit::jwe::deserialize_compact(jwe, &decrypter).map_err(|_| PiiError::Decryption)?;
    // Defence in depth: the header josekit authenticated says the same.
    if authenticated.claim(CTX).and_then(Value::as_str) != Some(expected_context)
        || authenticated.content_encryption() != Some(ENC)
    {
        return Err(PiiError::ContextMismatch);
    }
    Ok(plaintext)
}

/// A keyed commitment for the audit log:
/// `base64url(HMAC-SHA-256(key, label || 0x00 || value))`, no padding (43 characters).
///
/// `label` names what is committed to (e.g. `"holderDid"`, `"documentNumber"`), so equal values
/// under different labels give unrelated commitments; it must not contain a NUL character, which
/// would make the encoding ambiguous. The same key, label and value always give the same
/// commitment, so the issuer can later prove what it committed to; without the key a commitment
/// reveals nothing about the value, and once the key is destroyed it is linkable to nothing.
///
/// The key is the same [`SubjectKey`] that encrypts the subject's records (AES-256-GCM there,
/// HMAC-SHA-256 here): one key to erase, no known interaction between the two uses.
#[must_use]
pub fn commitment(key: &SubjectKey, label: &str, value: &str) -> String {
    keyed_commitment(key.as_bytes(), label, value)
}

/// [`commitment`] under any key: `base64url(HMAC-SHA-256(key, label || 0x00 || value))`.
#[must_use]
pub(crate) fn keyed_commitment(key: &[u8], label: &str, value: &str) -> String {
    debug_assert!(
        !label.contains('\0'),
        "a commitment label must not contain NUL"
    );
    // HMAC takes a key of any length; `new_from_slice` cannot fail for HMAC.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Length of a [`KeyEncryptionKey`], in bytes.
pub const KEK_LEN: usize = 32;

/// The key-encryption key (KEK): wraps every [`SubjectKey`] before it is written to disk, so
/// that a copy of the data directory (or of a backup) without the KEK opens nothing. It is kept
/// outside the data directory (see `crate::subject_keys`); its bytes are wiped on drop and
/// `Debug` shows only its [id](Self::id).
///
/// **Wrap algorithm.** A wrapped key is a sealed record of this module ([`seal`]'s compact JWE,
/// `dir` + `A256GCM`, the KEK as the content key) whose plaintext is the 32 key bytes and whose
/// context is `subject-key/<subject id>/kek/<KEK id>`. That is AES-256-GCM key wrapping with the
/// subject and the KEK named in the authenticated header (what JOSE's `A256GCMKW` does, without
/// a second header): a wrapped key moved to another subject's name, or presented to another KEK,
/// fails before decryption. RFC 3394 key wrap (`A256KW`) was not chosen because it has no
/// associated data to bind the subject to, and this path reuses the strict [`open`]. Each wrap
/// draws a fresh 96-bit IV; one KEK wraps each subject key once (and once more per rotation onto
/// it), far below the 2^32 wraps per key that random GCM nonces allow.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    bytes: [u8; KEK_LEN],
    id: String,
}

impl KeyEncryptionKey {
    /// A fresh KEK from the operating system's RNG.
    ///
    /// # Panics
    ///
    /// If the operating system's RNG fails (see [`SubjectKey::generate`]).
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEK_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// The KEK with these bytes. The caller's copy of the array is not wiped.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEK_LEN]) -> Self {
        // A public name for the key that reveals nothing about it: the first 96 bits of a
        // domain-separated SHA-256 of it.
        let mut hash = <Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut hash, b"kyc-issuer/kek-id/v1\0");
        sha2::Digest::update(&mut hash, bytes);
        let id = URL_SAFE_NO_PAD.encode(&sha2::Digest::finalize(hash)[..12]);
        Self { bytes, id }
    }

    /// The KEK with these bytes, checking the length (for bytes read from a file).
    ///
    /// # Errors
    ///
    /// [`PiiError::InvalidKeyLength`] unless `bytes` is exactly [`KEK_LEN`] long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PiiError> {
        let array: [u8; KEK_LEN] = bytes
            .try_into()
            .map_err(|_| PiiError::InvalidKeyLength(bytes.len()))?;
        Ok(Self::from_bytes(array))
    }

    /// The key bytes, to store the KEK.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEK_LEN] {
        &self.bytes
    }

    /// The KEK's public name (16 base64url characters), recorded with every key it wraps.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `key`, wrapped for `subject` under this KEK (a compact JWE; see the type's docs).
    ///
    /// # Errors
    ///
    /// [`PiiError::InvalidContext`] for a subject id longer than about 200 bytes;
    /// [`PiiError::Encryption`] if OpenSSL fails.
    pub fn wrap(&self, subject: &str, key: &SubjectKey) -> Result<String, PiiError> {
        seal_with(&self.bytes, key.as_bytes(), &self.wrap_context(subject))
    }

    /// The subject key [`wrap`](Self::wrap) wrapped for `subject` under this KEK.
    ///
    /// # Errors
    ///
    /// [`PiiError::ContextMismatch`] when `wrapped` was wrapped for another subject or under
    /// another KEK; [`PiiError::Decryption`] when it was altered; the shape errors of [`open`].
    pub fn unwrap(&self, subject: &str, wrapped: &str) -> Result<SubjectKey, PiiError> {
        let bytes = zeroize::Zeroizing::new(open_with(
            &self.bytes,
            wrapped,
            &self.wrap_context(subject),
        )?);
        SubjectKey::from_slice(&bytes)
    }

    fn wrap_context(&self, subject: &str) -> String {
        format!("subject-key/{subject}/kek/{}", self.id)
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyEncryptionKey({})", self.id)
    }
}

impl Drop for KeyEncryptionKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

fn check_context(context: &str) -> Result<(), PiiError> {
    if context.is_empty() || context.len() > MAX_CONTEXT_LEN {
        return Err(PiiError::InvalidContext);
    }
    Ok(())
}

/// Checks the compact form against what [`seal`] produces and returns its protected header.
fn check_shape(jwe: &str) -> Result<Map<String, Value>, PiiError> {
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header_b64, encrypted_key, iv_b64, ciphertext_b64, tag_b64] = parts[..] else {
        return Err(PiiError::Malformed("a compact JWE has five parts"));
    };
    if header_b64.len() > MAX_HEADER_B64_LEN {
        return Err(PiiError::Malformed("protected header too long"));
    }
    let b64 = |part: &str, what: &'static str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| PiiError::Malformed(what))
    };
    let header: Map<String, Value> =
        serde_json::from_slice(&b64(header_b64, "protected header is not base64url")?)
            .map_err(|_| PiiError::Malformed("protected header is not a JSON object"))?;

    match header.get("alg") {
        Some(Value::String(alg)) if alg == ALG => {}
        Some(Value::String(alg)) => return Err(PiiError::UnsupportedAlgorithm(shown(alg))),
        Some(_) => return Err(PiiError::Malformed("alg is not a string")),
        None => return Err(PiiError::Malformed("alg is missing")),
    }
    match header.get("enc") {
        Some(Value::String(enc)) if enc == ENC => {}
        Some(Value::String(enc)) => return Err(PiiError::UnsupportedEncryption(shown(enc))),
        Some(_) => return Err(PiiError::Malformed("enc is not a string")),
        None => return Err(PiiError::Malformed("enc is missing")),
    }
    if let Some(member) = header
        .keys()
        .find(|member| !HEADER_MEMBERS.contains(&member.as_str()))
    {
        return Err(PiiError::UnexpectedHeader(shown(member)));
    }
    match header.get("crit") {
        Some(Value::Array(crit)) if crit.len() == 1 && crit[0].as_str() == Some(CTX) => {}
        Some(_) => return Err(PiiError::UnexpectedHeader("crit".to_owned())),
        None => return Err(PiiError::Malformed("crit is missing")),
    }

    if !encrypted_key.is_empty() {
        return Err(PiiError::Malformed("alg dir has no encrypted key"));
    }
    if b64(iv_b64, "IV is not base64url")?.len() != IV_LEN {
        return Err(PiiError::Malformed("IV is not 96 bits"));
    }
    b64(ciphertext_b64, "ciphertext is not base64url")?;
    if b64(tag_b64, "tag is not base64url")?.len() != TAG_LEN {
        return Err(PiiError::Malformed("tag is not 128 bits"));
    }
    Ok(header)
}

fn context_of(header: &Map<String, Value>) -> Result<&str, PiiError> {
    match header.get(CTX) {
        Some(Value::String(context)) => Ok(context),
        Some(_) => Err(PiiError::Malformed("ctx is not a string")),
        None => Err(PiiError::Malformed("ctx is missing")),
    }
}

/// A header value cut short for an error message.
fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 24;
    let mut out: String = value.chars().take(MAX_CHARS).collect();
    if value.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use josekit::jwe::{self, Dir, JweHeader, A256KW};

    use super::*;

    const CONTEXT: &str = "subject/0b6c7a1e/application/5f2d/identity";
    const PLAINTEXT: &[u8] = br#"{"givenName":"Erika","familyName":"Mustermann"}"#;

    fn parts(jwe: &str) -> Vec<String> {
        jwe.split('.').map(str::to_owned).collect()
    }

    /// Replaces one part of a compact JWE.
    fn with_part(jwe: &str, index: usize, part: &str) -> String {
        let mut parts = parts(jwe);
        parts[index] = part.to_owned();
        parts.join(".")
    }

    /// Flips one bit in the decoded bytes of a part.
    fn flip_bit(jwe: &str, index: usize) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(&parts(jwe)[index]).unwrap();
        bytes[0] ^= 1;
        with_part(jwe, index, &URL_SAFE_NO_PAD.encode(bytes))
    }

    fn header_of(jwe: &str) -> Map<String, Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(jwe)[0]).unwrap()).unwrap()
    }

    fn header_b64(header: &Map<String, Value>) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap())
    }

    /// A JWE made by josekit directly, with a header of our choice and the subject key.
    fn foreign(key: &SubjectKey, alg_dir: bool, enc: &str, extra: &[(&str, Value)]) -> String {
        let mut header = JweHeader::new();
        header.set_content_encryption(enc);
        header.set_critical(&vec![CTX]);
        header.set_claim(CTX, Some(Value::from(CONTEXT))).unwrap();
        for (name, value) in extra {
            header.set_claim(name, Some(value.clone())).unwrap();
        }
        if alg_dir {
            // A key of the length `enc` needs, made from the subject key.
            let key = key.as_bytes().repeat(2);
            let encrypter = Dir
                .encrypter_from_bytes(&key[..josekit_key_len(enc)])
                .unwrap();
            jwe::serialize_compact(PLAINTEXT, &header, &encrypter).unwrap()
        } else {
            let encrypter = A256KW.encrypter_from_bytes(key.as_bytes()).unwrap();
            jwe::serialize_compact(PLAINTEXT, &header, &encrypter).unwrap()
        }
    }

    fn josekit_key_len(enc: &str) -> usize {
        match enc {
            "A128GCM" => 16,
            "A192GCM" => 24,
            "A256CBC-HS512" => 64,
            _ => 32,
        }
    }

    #[test]
    fn round_trip() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        assert_eq!(open(&key, &sealed, CONTEXT).unwrap(), PLAINTEXT);

        let header = header_of(&sealed);
        assert_eq!(header.len(), 4, "{header:?}");
        assert_eq!(header["alg"], "dir");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["ctx"], CONTEXT);
        assert_eq!(header["crit"], serde_json::json!(["ctx"]));
        assert_eq!(parts(&sealed)[1], "", "dir has no encrypted key");

        // Empty plaintext, and a key that went through storage.
        let restored = SubjectKey::from_slice(key.as_bytes()).unwrap();
        let empty = seal(&key, b"", CONTEXT).unwrap();
        assert_eq!(open(&restored, &empty, CONTEXT).unwrap(), b"");
    }

    #[test]
    fn fresh_iv_each_time() {
        let key = SubjectKey::generate();
        let a = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let b = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        assert_ne!(parts(&a)[2], parts(&b)[2]);
        assert_ne!(a, b);
    }

    #[test]
    fn plaintext_not_visible() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        assert!(!sealed.contains("Mustermann"));
        let decoded = URL_SAFE_NO_PAD.decode(&parts(&sealed)[3]).unwrap();
        assert!(!decoded.windows(10).any(|w| w == b"Mustermann"));
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal(&SubjectKey::generate(), PLAINTEXT, CONTEXT).unwrap();
        let err = open(&SubjectKey::generate(), &sealed, CONTEXT).unwrap_err();
        assert!(matches!(err, PiiError::Decryption), "{err:?}");
    }

    #[test]
    fn erased_key_erases_data() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        drop(key);
        // Nothing derived from the sealed record opens it: not an all-zero key either.
        let zero = SubjectKey::from_bytes([0; SUBJECT_KEY_LEN]);
        assert!(matches!(
            open(&zero, &sealed, CONTEXT),
            Err(PiiError::Decryption)
        ));
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let err = open(&key, &flip_bit(&sealed, 3), CONTEXT).unwrap_err();
        assert!(matches!(err, PiiError::Decryption), "{err:?}");
    }

    #[test]
    fn tampered_iv_fails() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let err = open(&key, &flip_bit(&sealed, 2), CONTEXT).unwrap_err();
        assert!(matches!(err, PiiError::Decryption), "{err:?}");
    }

    #[test]
    fn tampered_tag_fails() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let err = open(&key, &flip_bit(&sealed, 4), CONTEXT).unwrap_err();
        assert!(matches!(err, PiiError::Decryption), "{err:?}");
    }

    #[test]
    fn tampered_header_fails() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();

        // The same members re-encoded (different bytes, same meaning): the AAD changed.
        let mut header = header_of(&sealed);
        let reencoded = format!(
            "{{\"ctx\":{},\"enc\":\"A256GCM\",\"alg\":\"dir\",\"crit\":[\"ctx\"]}}",
            serde_json::to_string(&header["ctx"]).unwrap()
        );
        let forged = with_part(&sealed, 0, &URL_SAFE_NO_PAD.encode(reencoded));
        assert!(matches!(
            open(&key, &forged, CONTEXT),
            Err(PiiError::Decryption)
        ));

        // A record of another context relabelled to pass the context check.
        let other = seal(
            &key,
            PLAINTEXT,
            "subject/0b6c7a1e/application/9a9a/identity",
        )
        .unwrap();
        let relabelled = with_part(&other, 0, &header_b64(&header));
        assert!(matches!(
            open(&key, &relabelled, CONTEXT),
            Err(PiiError::Decryption)
        ));

        // An extra member is refused before decryption.
        header.insert("zip".into(), Value::from("DEF"));
        let err = open(&key, &with_part(&sealed, 0, &header_b64(&header)), CONTEXT).unwrap_err();
        assert!(
            matches!(err, PiiError::UnexpectedHeader(ref m) if m == "zip"),
            "{err:?}"
        );
    }

    #[test]
    fn truncated_tag_refused() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let tag = URL_SAFE_NO_PAD.decode(&parts(&sealed)[4]).unwrap();
        let truncated = with_part(&sealed, 4, &URL_SAFE_NO_PAD.encode(&tag[..1]));

        // josekit 0.10 + OpenSSL alone accept a 1-byte prefix of the right tag …
        let decrypter = Dir.decrypter_from_bytes(key.as_bytes()).unwrap();
        assert!(jwe::deserialize_compact(&truncated, &decrypter).is_ok());
        // … `open` does not.
        let err = open(&key, &truncated, CONTEXT).unwrap_err();
        assert!(matches!(err, PiiError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn malformed_input_refused() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let cases = [
            String::new(),
            "not a jwe".to_owned(),
            parts(&sealed)[..4].join("."),
            format!("{sealed}.x"),
            with_part(&sealed, 1, "AAAA"),
            with_part(&sealed, 2, "AAAAAAAAAAAAAAAAAAAA"),
            with_part(&sealed, 3, "***"),
            with_part(&sealed, 0, &URL_SAFE_NO_PAD.encode("[1,2]")),
            with_part(&sealed, 0, &"A".repeat(MAX_HEADER_B64_LEN + 1)),
        ];
        for case in cases {
            let err = open(&key, &case, CONTEXT).unwrap_err();
            assert!(matches!(err, PiiError::Malformed(_)), "{case:?}: {err:?}");
        }
    }

    #[test]
    fn other_enc_refused() {
        let key = SubjectKey::generate();
        for enc in ["A128GCM", "A256CBC-HS512"] {
            let jwe = foreign(&key, true, enc, &[]);
            // A valid JWE: josekit alone opens it with a key of the right length …
            let raw = key.as_bytes().repeat(2);
            let decrypter = Dir
                .decrypter_from_bytes(&raw[..josekit_key_len(enc)])
                .unwrap();
            assert_eq!(
                jwe::deserialize_compact(&jwe, &decrypter).unwrap().0,
                PLAINTEXT
            );
            // … `open` refuses it.
            let err = open(&key, &jwe, CONTEXT).unwrap_err();
            assert!(
                matches!(err, PiiError::UnsupportedEncryption(ref e) if e == enc),
                "{enc}: {err:?}"
            );
        }
    }

    #[test]
    fn other_alg_refused() {
        let key = SubjectKey::generate();
        let jwe = foreign(&key, false, "A256GCM", &[]);
        assert_eq!(header_of(&jwe)["alg"], "A256KW");
        let decrypter = A256KW.decrypter_from_bytes(key.as_bytes()).unwrap();
        assert_eq!(
            jwe::deserialize_compact(&jwe, &decrypter).unwrap().0,
            PLAINTEXT
        );
        let err = open(&key, &jwe, CONTEXT).unwrap_err();
        assert!(
            matches!(err, PiiError::UnsupportedAlgorithm(ref a) if a == "A256KW"),
            "{err:?}"
        );
    }

    #[test]
    fn foreign_dir_a256gcm_opens_and_extra_members_refused() {
        let key = SubjectKey::generate();
        // The same shape made by josekit directly opens: the format is plain JWE.
        let plain = foreign(&key, true, "A256GCM", &[]);
        assert_eq!(open(&key, &plain, CONTEXT).unwrap(), PLAINTEXT);
        // With compression or a kid it does not.
        for (name, value) in [("zip", Value::from("DEF")), ("kid", Value::from("k1"))] {
            let jwe = foreign(&key, true, "A256GCM", &[(name, value)]);
            let err = open(&key, &jwe, CONTEXT).unwrap_err();
            assert!(
                matches!(err, PiiError::UnexpectedHeader(ref m) if m == name),
                "{err:?}"
            );
        }
        // Nor with another crit list.
        let mut header = header_of(&plain);
        header.insert("crit".into(), serde_json::json!(["ctx", "b64"]));
        let err = open(&key, &with_part(&plain, 0, &header_b64(&header)), CONTEXT).unwrap_err();
        assert!(
            matches!(err, PiiError::UnexpectedHeader(ref m) if m == "crit"),
            "{err:?}"
        );
    }

    #[test]
    fn context_mismatch_refused() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        for other in [
            "subject/0b6c7a1e/application/5f2d/address",
            "subject/0b6c7a1e/application/5f2d/identity ",
        ] {
            let err = open(&key, &sealed, other).unwrap_err();
            assert!(matches!(err, PiiError::ContextMismatch), "{err:?}");
        }
        // Moved to another subject's record: that subject's key and context both differ.
        let err = open(
            &SubjectKey::generate(),
            &sealed,
            "subject/77aa/application/1/identity",
        );
        assert!(matches!(err, Err(PiiError::ContextMismatch)));
    }

    #[test]
    fn invalid_context_refused() {
        let key = SubjectKey::generate();
        let long = "x".repeat(MAX_CONTEXT_LEN + 1);
        for context in ["", long.as_str()] {
            assert!(matches!(
                seal(&key, PLAINTEXT, context),
                Err(PiiError::InvalidContext)
            ));
        }
        let sealed = seal(&key, PLAINTEXT, &"x".repeat(MAX_CONTEXT_LEN)).unwrap();
        assert!(matches!(
            open(&key, &sealed, ""),
            Err(PiiError::InvalidContext)
        ));
    }

    #[test]
    fn errors_do_not_leak() {
        let key = SubjectKey::generate();
        let sealed = seal(&key, PLAINTEXT, CONTEXT).unwrap();
        let other = SubjectKey::generate();
        let errors = [
            open(&other, &sealed, CONTEXT).unwrap_err(),
            open(&key, &sealed, "subject/x/application/y/identity").unwrap_err(),
            open(&key, &flip_bit(&sealed, 3), CONTEXT).unwrap_err(),
            open(&key, &foreign(&key, true, "A128GCM", &[]), CONTEXT).unwrap_err(),
        ];
        for err in errors {
            let text = format!("{err} {err:?}");
            assert!(!text.contains("Mustermann"), "{text}");
            assert!(!text.contains("0b6c7a1e"), "{text}");
        }
        // A long attacker-chosen alg is cut short.
        let mut header = header_of(&sealed);
        header.insert("alg".into(), Value::from("A".repeat(1000)));
        let err = open(&key, &with_part(&sealed, 0, &header_b64(&header)), CONTEXT).unwrap_err();
        assert!(err.to_string().len() < 100, "{err}");
    }

    #[test]
    fn commitment_stable_and_keyed() {
        let key = SubjectKey::generate();
        let a = commitment(&key, "documentNumber", "C01X00T47");
        assert_eq!(a, commitment(&key, "documentNumber", "C01X00T47"));
        assert_eq!(a.len(), 43);
        assert!(!a.contains('='));
        assert_ne!(a, commitment(&key, "documentNumber", "C01X00T48"));
        assert_ne!(a, commitment(&key, "holderDid", "C01X00T47"));
        assert_ne!(
            a,
            commitment(&SubjectKey::generate(), "documentNumber", "C01X00T47")
        );
        let copy = SubjectKey::from_bytes(*key.as_bytes());
        assert_eq!(a, commitment(&copy, "documentNumber", "C01X00T47"));
        // The label separator keeps (label, value) pairs apart.
        assert_ne!(commitment(&key, "ab", "c"), commitment(&key, "a", "bc"));
    }

    #[test]
    fn commitment_known_answer() {
        // HMAC-SHA-256 with key 0x00..0x1f over "label\0value", computed independently
        // (Python: hmac.new(bytes(range(32)), b"label\x00value", "sha256")).
        let key = SubjectKey::from_bytes(std::array::from_fn(|i| i as u8));
        assert_eq!(commitment(&key, "label", "value"), KNOWN_COMMITMENT);
    }
    const KNOWN_COMMITMENT: &str = "QhrQHSQb8AJdcqJDwRKyaUpfmRDgza1qds52zUUUFW0";

    #[test]
    fn debug_shows_no_key() {
        let key = SubjectKey::from_bytes([0xab; SUBJECT_KEY_LEN]);
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn kek_wraps_for_one_subject_only() {
        let kek = KeyEncryptionKey::generate();
        let key = SubjectKey::generate();
        let wrapped = kek.wrap("subject-a", &key).unwrap();
        assert_eq!(
            kek.unwrap("subject-a", &wrapped).unwrap().as_bytes(),
            key.as_bytes()
        );
        // The key bytes are not in the wrapped form, in any encoding.
        assert!(!wrapped.contains(&URL_SAFE_NO_PAD.encode(key.as_bytes())));
        for part in parts(&wrapped) {
            let bytes = URL_SAFE_NO_PAD.decode(&part).unwrap_or_default();
            assert!(!bytes
                .windows(8)
                .any(|w| key.as_bytes().windows(8).any(|k| k == w)));
        }
        // Another subject's name, another KEK, an altered wrap: refused.
        assert!(matches!(
            kek.unwrap("subject-b", &wrapped),
            Err(PiiError::ContextMismatch)
        ));
        let other = KeyEncryptionKey::generate();
        assert!(matches!(
            other.unwrap("subject-a", &wrapped),
            Err(PiiError::ContextMismatch)
        ));
        // The same context under another KEK's bytes but this KEK's id fails the tag.
        let impostor = KeyEncryptionKey {
            bytes: *other.as_bytes(),
            id: kek.id().to_owned(),
        };
        assert!(matches!(
            impostor.unwrap("subject-a", &wrapped),
            Err(PiiError::Decryption)
        ));
        assert!(matches!(
            kek.unwrap("subject-a", &flip_bit(&wrapped, 3)),
            Err(PiiError::Decryption)
        ));
    }

    #[test]
    fn kek_id_names_the_key_without_showing_it() {
        let kek = KeyEncryptionKey::from_bytes([0xab; KEK_LEN]);
        assert_eq!(kek.id().len(), 16);
        assert_eq!(kek.id(), KeyEncryptionKey::from_bytes([0xab; KEK_LEN]).id());
        assert_ne!(kek.id(), KeyEncryptionKey::generate().id());
        let shown = format!("{kek:?}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        assert!(shown.contains(kek.id()));
        assert!(matches!(
            KeyEncryptionKey::from_slice(&[0; 16]),
            Err(PiiError::InvalidKeyLength(16))
        ));
    }

    #[test]
    fn key_length_checked() {
        assert!(matches!(
            SubjectKey::from_slice(&[0; 31]),
            Err(PiiError::InvalidKeyLength(31))
        ));
        assert!(SubjectKey::from_slice(&[0; 33]).is_err());
        assert_ne!(
            SubjectKey::generate().as_bytes(),
            SubjectKey::generate().as_bytes()
        );
    }
}
