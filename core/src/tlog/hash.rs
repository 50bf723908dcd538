//! [`Hash`]: the log's one hash type, and its one text form.
//!
//! Every hash of the audit log (a leaf, an interior node, a root, an entry's `prev`) is a
//! SHA-256 value, written as standard base64 with padding (RFC 4648 §4): in entries, in C2SP
//! `tlog-checkpoint` bodies and in proofs. As Go's `sumdb/tlog` has `Hash` with `String` and
//! `ParseHash`, this has [`Hash`] with [`Display`](fmt::Display) and [`FromStr`], and serde
//! through them.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::de::Visitor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A SHA-256 value: a leaf hash, an interior node hash, a tree root or an entry's `prev`.
///
/// Its text form is standard base64 with padding (RFC 4648 §4), 44 characters. Parsing is
/// strict: canonical padding, zero trailing bits, exactly 32 bytes; no URL-safe alphabet, no
/// white space. The default is 32 zero bytes, the `prev` of the first entry.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash(pub [u8; Hash::LEN]);

/// A text is not a [`Hash`]: not canonical standard base64, or not of 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("hash is not standard base64 of 32 bytes")]
pub struct ParseHashError;

impl Hash {
    /// The length of a hash in bytes.
    pub const LEN: usize = 32;

    /// The length of its base64 form: 32 bytes are 43 characters and one `=`.
    const BASE64_LEN: usize = 44;

    /// The hash whose base64 form is `text` (the bytes of [`FromStr`]'s input), without
    /// allocating: the auditor parses one per log line.
    pub fn from_base64(text: &[u8]) -> Result<Self, ParseHashError> {
        if text.len() != Self::BASE64_LEN {
            return Err(ParseHashError);
        }
        // One spare byte, so that a longer decoding is reported as such rather than as a short
        // buffer. The STANDARD engine requires canonical padding and zero trailing bits.
        let mut out = [0u8; Self::LEN + 1];
        match B64.decode_slice(text, &mut out) {
            Ok(Self::LEN) => {
                let mut hash = [0u8; Self::LEN];
                hash.copy_from_slice(&out[..Self::LEN]);
                Ok(Self(hash))
            }
            _ => Err(ParseHashError),
        }
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl From<[u8; Hash::LEN]> for Hash {
    fn from(bytes: [u8; Hash::LEN]) -> Self {
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for Hash {
    type Error = std::array::TryFromSliceError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        bytes.try_into().map(Self)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    /// Standard base64 with padding (RFC 4648 §4).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; Self::BASE64_LEN];
        let len = B64
            .encode_slice(self.0, &mut text)
            .map_err(|_| fmt::Error)?;
        // The alphabet is ASCII, so this is never an error.
        f.write_str(std::str::from_utf8(&text[..len]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = ParseHashError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_base64(text.as_bytes())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64;

        impl Visitor<'_> for Base64 {
            type Value = Hash;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hash as standard base64")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hash, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Base64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    /// `SHA-256()`, the root of the empty tree (RFC 9162 §2.1.1).
    fn empty() -> Hash {
        Hash(Sha256::digest(b"").into())
    }

    #[test]
    fn base64_is_strict() {
        let h = Hash(Sha256::digest(b"x").into());
        assert_eq!(h.to_string().parse(), Ok(h));
        assert_eq!(h.to_string().len(), 44);
        // The empty-tree root, as the transparency-dev test data writes it.
        assert_eq!(
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".parse(),
            Ok(empty())
        );
        assert_eq!(
            empty().to_string(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        // Missing padding, non-zero trailing bits, wrong length, URL-safe alphabet, white space,
        // 31 bytes in 44 characters.
        for text in [
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",
            "V3JvbmdSb290",
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",
            " 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==",
        ] {
            assert_eq!(text.parse::<Hash>(), Err(ParseHashError), "{text}");
        }
    }

    #[test]
    fn serde_is_the_base64_string() {
        let json = serde_json::to_string(&empty()).unwrap();
        assert_eq!(json, "\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"");
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), empty());
        for bad in ["\"V3JvbmdSb290\"", "7", "[0]"] {
            assert!(serde_json::from_str::<Hash>(bad).is_err(), "{bad}");
        }
    }
}
