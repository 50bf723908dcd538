//! Bitstring Status List v1.0 (W3C Recommendation): the bitstring, its encoding, and the status
//! list credential secured as `vc+jwt`.

use std::io::{Read as _, Write as _};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::credential::{resolve_kid, StatusEntry, TYP_VC_JWT, TYP_VC_LD_JWT, VC_V2_CONTEXT};
use crate::did::{DidKey, Resolver};
use crate::error::{CryptoError, MalformedError, PolicyError, VerifyError};
use crate::jws::{self, CompactJws};

/// The smallest list the spec allows: 16 KiB, 131,072 entries (§2.1, herd privacy).
pub const MIN_ENTRIES: usize = 131_072;
/// The largest decoded list accepted (16 MiB, 134 M entries), a bound against GZIP bombs.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// A status bitstring. Entry 0 is the left-most (most significant) bit of the first byte (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// A list of `entries` zero bits, at least [`MIN_ENTRIES`] and a whole number of bytes.
    pub fn new(entries: usize) -> Self {
        let bytes = entries.max(MIN_ENTRIES).div_ceil(8).min(MAX_BYTES);
        Self {
            bytes: vec![0; bytes],
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Never true: a list has at least [`MIN_ENTRIES`] entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The indexes of the set bits (revoked entries), in order.
    pub fn set_indexes(&self) -> impl Iterator<Item = u64> + '_ {
        self.bytes.iter().enumerate().flat_map(|(i, &byte)| {
            (0..8u64)
                .filter(move |bit| byte & (0x80 >> bit) != 0)
                .map(move |bit| i as u64 * 8 + bit)
        })
    }

    /// The bit at `index`, or `None` beyond the end.
    pub fn get(&self, index: u64) -> Option<bool> {
        let i = usize::try_from(index).ok()?;
        let byte = self.bytes.get(i / 8)?;
        Some(byte & (0x80 >> (i % 8)) != 0)
    }

    /// Set the bit at `index`; `false` when beyond the end.
    pub fn set(&mut self, index: u64, value: bool) -> bool {
        let Ok(i) = usize::try_from(index) else {
            return false;
        };
        let Some(byte) = self.bytes.get_mut(i / 8) else {
            return false;
        };
        let mask = 0x80 >> (i % 8);
        if value {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        true
    }

    /// `encodedList`: multibase base64url (`u`) of the GZIP-compressed bitstring (§4.1).
    pub fn encode(&self) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing into a Vec cannot fail.
        let compressed = gz
            .write_all(&self.bytes)
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        let mut out = String::from("u");
        B64.encode_string(compressed, &mut out);
        out
    }

    /// Decode an `encodedList`, refusing lists below the minimum size or beyond [`MAX_BYTES`].
    pub fn decode(encoded: &str) -> Result<Self, MalformedError> {
        let b64 = encoded.strip_prefix('u').ok_or(MalformedError::Base64(
            "encodedList (multibase prefix must be 'u')",
        ))?;
        let compressed = B64
            .decode(b64)
            .map_err(|_| MalformedError::Base64("encodedList"))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| MalformedError::Structure("encodedList is not valid GZIP".into()))?;
        if bytes.len() > MAX_BYTES || bytes.len() * 8 < MIN_ENTRIES {
            return Err(MalformedError::Structure(
                "status list size out of bounds".into(),
            ));
        }
        Ok(Self { bytes })
    }
}

/// The `credentialSubject` of a status list credential (§2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusListSubject {
    /// `<list URL>#list`.
    pub id: String,
    /// `BitstringStatusList`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `revocation` here.
    pub status_purpose: String,
    /// The encoded bitstring.
    pub encoded_list: String,
}

/// A `BitstringStatusListCredential` (§2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusListCredential {
    /// `[VC v2 context]`.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// The list's URL, which credentials name in `statusListCredential`.
    pub id: String,
    /// `["VerifiableCredential", "BitstringStatusListCredential"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// The issuer's `did:key`.
    pub issuer: String,
    /// When this version of the list was published.
    pub valid_from: DateTime<Utc>,
    /// When relying parties should fetch a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// The list.
    pub credential_subject: StatusListSubject,
}

impl StatusListCredential {
    /// A revocation list credential for `list`, published at `url` by `issuer`.
    pub fn revocation(
        issuer: &DidKey,
        url: &str,
        list: &Bitstring,
        valid_from: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            context: vec![VC_V2_CONTEXT.into()],
            id: url.into(),
            types: vec![
                "VerifiableCredential".into(),
                "BitstringStatusListCredential".into(),
            ],
            issuer: issuer.as_str().into(),
            valid_from,
            valid_until,
            credential_subject: StatusListSubject {
                id: format!("{url}#list"),
                kind: "BitstringStatusList".into(),
                status_purpose: "revocation".into(),
                encoded_list: list.encode(),
            },
        }
    }

    /// Sign as `vc+jwt` with the issuer's key.
    pub fn sign_jwt(&self, issuer_key: &SigningKey) -> Result<String, MalformedError> {
        let issuer = DidKey::from_verifying_key(&issuer_key.verifying_key());
        Ok(self.unsigned_jwt(&issuer)?.sign(issuer_key))
    }

    /// The `vc+jwt` form before its signature by `issuer`'s key ([`jws::Unsigned`]).
    pub fn unsigned_jwt(&self, issuer: &DidKey) -> Result<jws::Unsigned, MalformedError> {
        if issuer.as_str() != self.issuer {
            return Err(MalformedError::Structure(
                "signing key is not the issuer's".into(),
            ));
        }
        let payload =
            serde_json::to_vec(self).map_err(|e| MalformedError::json("status list", &e))?;
        Ok(jws::Unsigned::new(
            TYP_VC_JWT,
            Some(&issuer.key_id()),
            &payload,
        ))
    }
}

/// A status list credential whose signature checked out, with its bitstring decoded.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    /// The credential.
    pub credential: StatusListCredential,
    /// The decoded list.
    pub list: Bitstring,
}

impl VerifiedStatusList {
    /// Whether `entry` of a credential issued by `issuer` is set (revoked) in this list.
    pub fn is_set(&self, entry: &StatusEntry, issuer: &str) -> Result<bool, VerifyError> {
        if self.credential.issuer != issuer {
            return Err(CryptoError::StatusListIssuer.into());
        }
        if entry.status_list_credential != self.credential.id {
            return Err(PolicyError::StatusListMismatch("a different list".into()).into());
        }
        if entry.status_purpose != self.credential.credential_subject.status_purpose {
            return Err(
                PolicyError::StatusListMismatch("a different status purpose".into()).into(),
            );
        }
        self.list
            .get(entry.index()?)
            .ok_or_else(|| PolicyError::StatusListMismatch("index beyond the list".into()).into())
    }
}

/// Verify a status list credential secured as `vc+jwt` and decode its list.
pub fn verify_jwt(input: &str, resolver: &Resolver) -> Result<VerifiedStatusList, VerifyError> {
    let jws = CompactJws::parse(input)?;
    jws.expect_typ(&[TYP_VC_JWT, TYP_VC_LD_JWT])?;
    let issuer = resolve_kid(&jws, resolver)?;
    jws.verify(issuer.verifying_key())?;
    let credential: StatusListCredential = jws.payload_json("status list")?;
    if credential.issuer != issuer.as_str() {
        return Err(CryptoError::KeyIdNotIssuer.into());
    }
    if !credential
        .types
        .iter()
        .any(|t| t == "BitstringStatusListCredential")
        || credential.credential_subject.kind != "BitstringStatusList"
    {
        return Err(MalformedError::Structure("not a BitstringStatusListCredential".into()).into());
    }
    let list = Bitstring::decode(&credential.credential_subject.encoded_list)?;
    Ok(VerifiedStatusList { credential, list })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_order_and_round_trip() {
        let mut l = Bitstring::new(0);
        assert_eq!(l.len(), MIN_ENTRIES);
        assert!(l.set(0, true) && l.set(9, true));
        assert!(!l.set(MIN_ENTRIES as u64, true));
        assert_eq!(l.bytes[0], 0x80);
        assert_eq!(l.bytes[1], 0x40);
        let d = Bitstring::decode(&l.encode()).unwrap();
        assert_eq!(d, l);
        assert_eq!(d.get(9), Some(true));
        assert_eq!(d.set_indexes().collect::<Vec<_>>(), [0, 9]);
        assert_eq!(d.get(10), Some(false));
        assert_eq!(d.get(MIN_ENTRIES as u64), None);
    }

    #[test]
    fn refuses_small_bad_and_huge_lists() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[0u8; 100]).unwrap();
        let small = format!("u{}", B64.encode(gz.finish().unwrap()));
        assert!(Bitstring::decode(&small).is_err());
        assert!(Bitstring::decode("zabc").is_err());
        assert!(Bitstring::decode("uAAAA").is_err());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; MAX_BYTES + 1]).unwrap();
        let bomb = format!("u{}", B64.encode(gz.finish().unwrap()));
        assert!(Bitstring::decode(&bomb).is_err());
    }

    #[test]
    fn signed_list_lookup() {
        let (ik, issuer) = DidKey::generate();
        let url = "https://issuer.example/v1/status-lists/1";
        let mut list = Bitstring::new(0);
        list.set(7, true);
        let jwt = StatusListCredential::revocation(&issuer, url, &list, Utc::now(), None)
            .sign_jwt(&ik)
            .unwrap();
        let v = verify_jwt(&jwt, &Resolver::new()).unwrap();
        assert!(v
            .is_set(&StatusEntry::revocation(url, 7), issuer.as_str())
            .unwrap());
        assert!(!v
            .is_set(&StatusEntry::revocation(url, 8), issuer.as_str())
            .unwrap());
        assert!(v
            .is_set(
                &StatusEntry::revocation("https://other/1", 7),
                issuer.as_str()
            )
            .is_err());
        let other = DidKey::generate().1;
        assert_eq!(
            v.is_set(&StatusEntry::revocation(url, 7), other.as_str())
                .unwrap_err(),
            VerifyError::Crypto(CryptoError::StatusListIssuer)
        );
    }
}
