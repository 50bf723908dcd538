//! The holder's private key at rest: a password-based compact JWE (RFC 7516 §7.1) of the private
//! OKP JWK, as RFC 7517 §7 describes for encrypted JWKs.
//!
//! # Parameters (decided here)
//!
//! ```text
//! protected header {"alg":"PBES2-HS512+A256KW","enc":"A256GCM","cty":"jwk+json",
//!                   "p2s":"<16 random bytes, base64url>","p2c":600000}
//! encrypted key    the random 256-bit content key, wrapped with AES-256-KW (RFC 3394): 40 bytes
//! iv, tag          96-bit IV, 128-bit GCM tag (RFC 7518 §5.3)
//! plaintext        {"kty":"OKP","crv":"Ed25519","x":…,"d":…}   (kyc_core::did::private_jwk)
//! ```
//!
//! - **KDF.** PBES2 (RFC 7518 §4.8) derives the key-wrapping key with PBKDF2-HMAC-SHA-512
//!   (RFC 8018 §5.2) over `UTF8(alg) || 0x00 || p2s`. [`ITERATIONS`] = 600,000 follows OWASP's
//!   Password Storage Cheat Sheet (2023) for PBKDF2-HMAC-SHA-256, so it is conservative for
//!   SHA-512 (for which it lists 210,000); one unlock costs about half a second, paid once per
//!   command. The salt is [`SALT_LEN`] = 16 random bytes (RFC 8018 §4.1 asks for at least 8).
//! - **Strict opening.** [`open`] accepts only what [`seal`] writes: exactly those five header
//!   members (no `zip`, no `crit`, no `kid` or `jku` to chase), a 16-byte salt, an iteration
//!   count from [`ITERATIONS`] to [`MAX_ITERATIONS`] (josekit's own ceiling against a crafted
//!   file that would make unlocking take hours), a 40-byte wrapped key, a 96-bit IV and a
//!   128-bit tag. The tag length matters: josekit 0.10 hands the tag to OpenSSL as is, and
//!   OpenSSL accepts a GCM tag of any length from 1 to 16 bytes, so a truncated tag would
//!   otherwise be checked on its first byte only (issuer/src/pii.rs found the same).
//! - **Wrong password or damaged file.** Unlocking is done in the JWE's two steps so the
//!   failures can be told apart: AES key unwrap carries a 64-bit integrity check (RFC 3394
//!   §2.2.3), which fails for a wrong password (or a damaged salt, count or wrapped key); only
//!   when it succeeds is the content decrypted, and a GCM failure then means the header, IV,
//!   ciphertext or tag was altered. The message says which.
//!
//! The password bytes and the decrypted JWK are wiped after use ([`zeroize`]); josekit keeps a
//! transient copy of the password inside its encrypter, which is dropped, not wiped.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use josekit::jwe::{JweContentEncryption as _, JweDecrypter as _, JweHeader, PBES2_HS512_A256KW};
use kyc_core::did::{self, DidError};
use serde_json::Value;
use zeroize::Zeroizing;

/// JWE `alg`: PBES2 with HMAC-SHA-512 and AES-256 key wrap (RFC 7518 §4.8).
pub const ALG: &str = "PBES2-HS512+A256KW";
/// JWE `enc`: AES-256-GCM (RFC 7518 §5.3).
pub const ENC: &str = "A256GCM";
/// JWE `cty` of an encrypted JWK (RFC 7517 §7).
pub const CTY: &str = "jwk+json";
/// PBKDF2 iterations (`p2c`) written by [`seal`], and the fewest [`open`] accepts.
pub const ITERATIONS: u32 = 600_000;
/// The most iterations [`open`] will run (josekit 0.10 refuses more).
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// Salt input (`p2s`) length in bytes.
pub const SALT_LEN: usize = 16;
/// The shortest password [`check_new_password`] accepts, in characters (NIST SP 800-63B §5.1.1.2
/// sets 8 as the minimum for user-chosen secrets).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// A keystore is a few hundred bytes; anything much bigger is not one.
const MAX_KEYSTORE_LEN: usize = 4096;
/// AES-256 key wrapped with AES-KW: 32 bytes plus the 8-byte integrity block.
const WRAPPED_KEY_LEN: usize = 40;
/// GCM IV and tag lengths (RFC 7518 §5.3).
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a keystore cannot be written or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// The file is not a keystore this wallet wrote: wrong shape, header, lengths or parameters.
    #[error("the keystore is damaged or not a kyc-wallet keystore ({0})")]
    Malformed(&'static str),
    /// The password does not unwrap the content key.
    #[error("wrong password")]
    WrongPassword,
    /// The password is right but the encrypted content does not authenticate: the file was
    /// altered after it was written.
    #[error("the keystore is damaged: its contents do not authenticate (the password is right)")]
    Tampered,
    /// It decrypts, but not to a private Ed25519 JWK.
    #[error("the keystore does not hold an Ed25519 private key: {0}")]
    NotAKey(DidError),
    /// The password is not acceptable for a new keystore.
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// josekit or OpenSSL failed while encrypting.
    #[error("encrypting the keystore failed: {0}")]
    Encryption(String),
}

/// Refuse a password too weak to protect a new keystore.
pub fn check_new_password(password: &str) -> Result<(), KeystoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(KeystoreError::WeakPassword);
    }
    Ok(())
}

/// Encrypt `key` under `password` as the compact JWE described in the module documentation.
pub fn seal(key: &SigningKey, password: &str) -> Result<String, KeystoreError> {
    let jwk = Zeroizing::new(did::private_jwk(key));
    seal_bytes(jwk.as_bytes(), password, CTY)
}

/// Encrypt `plaintext` under `password` with this module's parameters and content type `cty`
/// (the keystore, and the wallet backup of [`crate::backup`]).
pub(crate) fn seal_bytes(
    plaintext: &[u8],
    password: &str,
    cty: &str,
) -> Result<String, KeystoreError> {
    check_new_password(password)?;
    let fail = |e: josekit::JoseError| KeystoreError::Encryption(e.to_string());
    let mut header = JweHeader::new();
    header.set_content_encryption(ENC);
    header.set_content_type(cty);
    let mut encrypter = PBES2_HS512_A256KW
        .encrypter_from_bytes(password.as_bytes())
        .map_err(fail)?;
    encrypter.set_salt_len(SALT_LEN);
    encrypter.set_iter_count(ITERATIONS as usize);
    josekit::jwe::serialize_compact(plaintext, &header, &encrypter).map_err(fail)
}

/// Decrypt a keystore written by [`seal`], strictly (see the module documentation).
pub fn open(jwe: &str, password: &str) -> Result<SigningKey, KeystoreError> {
    let plaintext = open_bytes(jwe, password, CTY, MAX_KEYSTORE_LEN)?;
    let jwk =
        std::str::from_utf8(&plaintext).map_err(|_| KeystoreError::NotAKey(DidError::Encoding))?;
    did::from_private_jwk(jwk).map_err(KeystoreError::NotAKey)
}

/// Decrypt what [`seal_bytes`] wrote with content type `cty`, at most `max_len` bytes of JWE.
pub(crate) fn open_bytes(
    jwe: &str,
    password: &str,
    cty: &str,
    max_len: usize,
) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let parts = Parts::parse(jwe.trim_end_matches('\n'), cty, max_len)?;
    // Step 1 (RFC 7516 §5.2 steps 7–10): derive the wrapping key and unwrap the content key.
    let decrypter = PBES2_HS512_A256KW
        .decrypter_from_bytes(password.as_bytes())
        .map_err(|_| KeystoreError::WrongPassword)?;
    let cek = decrypter
        .decrypt(
            Some(&parts.wrapped_key),
            &josekit::jwe::enc::A256GCM,
            &parts.header,
        )
        .map_err(|_| KeystoreError::WrongPassword)?;
    let cek = Zeroizing::new(cek.into_owned());
    // Step 2 (§5.2 steps 14–16): AAD is ASCII(BASE64URL(UTF8(protected header))).
    let plaintext = josekit::jwe::enc::A256GCM
        .decrypt(
            &cek,
            Some(&parts.iv),
            &parts.ciphertext,
            parts.header_b64.as_bytes(),
            Some(&parts.tag),
        )
        .map_err(|_| KeystoreError::Tampered)?;
    Ok(Zeroizing::new(plaintext))
}

/// The five decoded parts of a compact JWE, checked against what [`seal`] writes.
struct Parts<'a> {
    header_b64: &'a str,
    header: JweHeader,
    wrapped_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

impl<'a> Parts<'a> {
    fn parse(jwe: &'a str, cty: &str, max_len: usize) -> Result<Self, KeystoreError> {
        use KeystoreError::Malformed;
        if jwe.len() > max_len {
            return Err(Malformed("larger than any file of its kind"));
        }
        let parts: Vec<&str> = jwe.split('.').collect();
        let [header_b64, wrapped_key, iv, ciphertext, tag] = parts[..] else {
            return Err(Malformed("not a compact JWE of five parts"));
        };
        let decode = |part: &str, what: &'static str| B64.decode(part).map_err(|_| Malformed(what));
        let header_bytes = decode(header_b64, "header is not base64url")?;
        let members: serde_json::Map<String, Value> =
            serde_json::from_slice(&header_bytes).map_err(|_| Malformed("header is not JSON"))?;
        check_header(&members, cty)?;
        let header =
            JweHeader::from_map(members).map_err(|_| Malformed("header is not a JWE header"))?;
        let parts = Self {
            header_b64,
            header,
            wrapped_key: decode(wrapped_key, "encrypted key is not base64url")?,
            iv: decode(iv, "IV is not base64url")?,
            ciphertext: decode(ciphertext, "ciphertext is not base64url")?,
            tag: decode(tag, "tag is not base64url")?,
        };
        if parts.wrapped_key.len() != WRAPPED_KEY_LEN {
            return Err(Malformed("encrypted key is not a wrapped 256-bit key"));
        }
        if parts.iv.len() != IV_LEN {
            return Err(Malformed("IV is not 96 bits"));
        }
        if parts.tag.len() != TAG_LEN {
            return Err(Malformed("tag is not 128 bits"));
        }
        if parts.ciphertext.is_empty() {
            return Err(Malformed("ciphertext is empty"));
        }
        Ok(parts)
    }
}

fn check_header(members: &serde_json::Map<String, Value>, cty: &str) -> Result<(), KeystoreError> {
    use KeystoreError::Malformed;
    const MEMBERS: [&str; 5] = ["alg", "enc", "cty", "p2s", "p2c"];
    if members.len() != MEMBERS.len() || !MEMBERS.iter().all(|m| members.contains_key(*m)) {
        return Err(Malformed("header members are not alg, enc, cty, p2s, p2c"));
    }
    if members["alg"] != ALG || members["enc"] != ENC || members["cty"] != cty {
        return Err(Malformed(
            "header is not PBES2-HS512+A256KW, A256GCM and the expected cty",
        ));
    }
    let salt = members["p2s"]
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .ok_or(Malformed("p2s is not base64url"))?;
    if salt.len() != SALT_LEN {
        return Err(Malformed("p2s is not 16 bytes"));
    }
    match members["p2c"].as_u64() {
        Some(n) if (u64::from(ITERATIONS)..=u64::from(MAX_ITERATIONS)).contains(&n) => Ok(()),
        _ => Err(Malformed(
            "p2c is not an iteration count from 600000 to 1000000",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery";

    fn sealed() -> (SigningKey, String) {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let jwe = seal(&key, PASSWORD).unwrap();
        (key, jwe)
    }

    fn header(jwe: &str) -> serde_json::Map<String, Value> {
        let h = jwe.split('.').next().unwrap();
        serde_json::from_slice(&B64.decode(h).unwrap()).unwrap()
    }

    fn with_part(jwe: &str, index: usize, part: &str) -> String {
        let mut parts: Vec<&str> = jwe.split('.').collect();
        parts[index] = part;
        parts.join(".")
    }

    fn with_header(jwe: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut h = header(jwe);
        edit(&mut h);
        with_part(jwe, 0, &B64.encode(Value::Object(h).to_string()))
    }

    #[test]
    fn round_trip_with_the_documented_parameters() {
        let (key, jwe) = sealed();
        let h = header(&jwe);
        assert_eq!(h["alg"], ALG);
        assert_eq!(h["enc"], ENC);
        assert_eq!(h["cty"], CTY);
        assert_eq!(h["p2c"], ITERATIONS);
        assert_eq!(
            B64.decode(h["p2s"].as_str().unwrap()).unwrap().len(),
            SALT_LEN
        );
        assert_eq!(h.len(), 5);
        assert!(!jwe.contains(&B64.encode(key.to_bytes())));
        assert_eq!(open(&jwe, PASSWORD).unwrap().to_bytes(), key.to_bytes());
        // A fresh salt each time.
        let again = seal(&key, PASSWORD).unwrap();
        assert_ne!(header(&again)["p2s"], h["p2s"]);
    }

    #[test]
    fn wrong_password() {
        let (_, jwe) = sealed();
        assert!(matches!(
            open(&jwe, "incorrect horse"),
            Err(KeystoreError::WrongPassword)
        ));
    }

    #[test]
    fn tampered_content_is_not_a_wrong_password() {
        let (_, jwe) = sealed();
        let parts: Vec<&str> = jwe.split('.').collect();
        let mut ciphertext = B64.decode(parts[3]).unwrap();
        ciphertext[0] ^= 1;
        let tampered = with_part(&jwe, 3, &B64.encode(&ciphertext));
        assert!(matches!(
            open(&tampered, PASSWORD),
            Err(KeystoreError::Tampered)
        ));
        let mut tag = B64.decode(parts[4]).unwrap();
        tag[15] ^= 0x80;
        let tampered = with_part(&jwe, 4, &B64.encode(&tag));
        assert!(matches!(
            open(&tampered, PASSWORD),
            Err(KeystoreError::Tampered)
        ));
    }

    #[test]
    fn truncated_tag_refused() {
        let (_, jwe) = sealed();
        let tag = B64.decode(jwe.split('.').nth(4).unwrap()).unwrap();
        // OpenSSL alone would check a 1-byte prefix of the right tag and accept it.
        let truncated = with_part(&jwe, 4, &B64.encode(&tag[..1]));
        assert!(matches!(
            open(&truncated, PASSWORD),
            Err(KeystoreError::Malformed("tag is not 128 bits"))
        ));
    }

    #[test]
    fn strict_header() {
        let (_, jwe) = sealed();
        let cases: Vec<(String, &str)> = vec![
            (
                with_header(&jwe, |h| {
                    h.insert("zip".into(), "DEF".into());
                }),
                "header members are not alg, enc, cty, p2s, p2c",
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("alg".into(), "PBES2-HS256+A128KW".into());
                }),
                "header is not PBES2-HS512+A256KW, A256GCM and the expected cty",
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("p2c".into(), 1000.into());
                }),
                "p2c is not an iteration count from 600000 to 1000000",
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("p2c".into(), 100_000_000.into());
                }),
                "p2c is not an iteration count from 600000 to 1000000",
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("p2s".into(), B64.encode([0u8; 8]).into());
                }),
                "p2s is not 16 bytes",
            ),
            (format!("{jwe}.x"), "not a compact JWE of five parts"),
            (
                jwe[..jwe.len() / 2].to_owned(),
                "not a compact JWE of five parts",
            ),
            (with_part(&jwe, 2, "AAAA"), "IV is not 96 bits"),
        ];
        for (input, reason) in cases {
            match open(&input, PASSWORD) {
                Err(KeystoreError::Malformed(r)) => assert_eq!(r, reason),
                other => panic!("expected Malformed({reason}), got {other:?}"),
            }
        }
    }

    #[test]
    fn weak_password_refused() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        assert!(matches!(
            seal(&key, "short"),
            Err(KeystoreError::WeakPassword)
        ));
    }
}
