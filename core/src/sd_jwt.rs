//! The credential as an SD-JWT (RFC 9901), `typ: vc+sd-jwt`.
//!
//! Every `credentialSubject` claim but `id` and `kycTier` is an object-property disclosure
//! (RFC 9901 §4.2.1); `cnf.jwk` (RFC 7800 §3.2) carries the holder's Ed25519 key, which must be
//! the key of `credentialSubject.id`. Compact serialisation (§4): `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]`.
//!
//! No identifier a relying party could use to recognise the holder across presentations is in
//! the issuer-signed payload (`docs/design.md` "Privacy at checkout", as SD-JWT VC does with
//! `sub`): the credential's `id` is left out (the issuer keeps it in its records, the holder
//! receives it beside the credential), and so is `credentialSubject.id`, which is by definition
//! the did:key of `cnf.jwk`. [`verify`] puts `credentialSubject.id` back from `cnf.jwk`; an
//! SD-JWT that carries one anyway must name that same key.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore as _;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::credential::{resolve_kid, KycCredential, VerifiedCredential, DISCLOSABLE_CLAIMS};
use crate::did::{self, DidKey, Resolver};
use crate::error::{CryptoError, MalformedError, VerifyError};
use crate::jws::{self, CompactJws};

/// `typ` of the issuer-signed SD-JWT.
pub const TYP_VC_SD_JWT: &str = "vc+sd-jwt";
/// The only `_sd_alg` issued and accepted (RFC 9901 §4.1.1).
pub const SD_ALG: &str = "sha-256";
/// Digests in `credentialSubject._sd` are padded with decoys up to this count (RFC 9901 §4.2.5),
/// so the digest count does not reveal which optional claims a credential carries.
const SD_DIGESTS_PER_SUBJECT: usize = 12;

/// `base64url(SHA-256(ascii))`: the digest of a disclosure or of an SD-JWT for `sd_hash`
/// (RFC 9901 §4.2.3 and §4.3.1).
pub fn digest(ascii: &str) -> String {
    B64.encode(Sha256::digest(ascii.as_bytes()))
}

fn salt() -> String {
    // 128 bits of salt, as RFC 9901 §9.3 recommends.
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Issue `credential` as a `vc+sd-jwt` with all disclosures attached: `<JWT>~<D1>~…~<Dn>~`.
pub fn issue(
    credential: &KycCredential,
    issuer_key: &SigningKey,
) -> Result<String, MalformedError> {
    let issuer = DidKey::from_verifying_key(&issuer_key.verifying_key());
    Ok(prepare(credential, &issuer)?.sign(issuer_key))
}

/// A `vc+sd-jwt` before the issuer's signature: its JWT's signing input (salts drawn, digests
/// placed) and its disclosures.
#[derive(Debug, Clone)]
pub struct UnsignedSdJwt {
    /// The issuer-signed JWT, unsigned.
    pub jwt: jws::Unsigned,
    /// The disclosures, in the order they are attached.
    pub disclosures: Vec<String>,
}

impl UnsignedSdJwt {
    /// `<JWT>~<D1>~…~<Dn>~`, the JWT signed by `issuer_key`.
    pub fn sign(self, issuer_key: &SigningKey) -> String {
        let mut out = self.jwt.sign(issuer_key);
        for d in &self.disclosures {
            out.push('~');
            out.push_str(d);
        }
        out.push('~');
        out
    }
}

/// `credential` as a `vc+sd-jwt` of `issuer`, to be signed ([`UnsignedSdJwt::sign`]).
pub fn prepare(
    credential: &KycCredential,
    issuer: &DidKey,
) -> Result<UnsignedSdJwt, MalformedError> {
    if issuer.as_str() != credential.issuer {
        return Err(MalformedError::Structure(
            "signing key is not the issuer's".into(),
        ));
    }
    credential.check_structure()?;
    let holder_key = did::public_key_bytes(&credential.credential_subject.id)?;
    let mut payload =
        serde_json::to_value(credential).map_err(|e| MalformedError::json("credential", &e))?;
    let mut disclosures = Vec::new();
    if let Some(root) = payload.as_object_mut() {
        root.remove("id");
    }
    let Some(Value::Object(subject)) = payload.get_mut("credentialSubject") else {
        return Err(MalformedError::Structure(
            "credentialSubject is not an object".into(),
        ));
    };
    // Implied by `cnf.jwk`, and in the batch every credential has its own key, so it is no
    // stable identifier; left out all the same, as SD-JWT VC leaves `sub` out.
    subject.remove("id");
    let mut digests = Vec::new();
    for name in DISCLOSABLE_CLAIMS {
        if let Some(value) = subject.remove(name) {
            let disclosure =
                B64.encode(Value::Array(vec![salt().into(), name.into(), value]).to_string());
            digests.push(digest(&disclosure));
            disclosures.push(disclosure);
        }
    }
    while digests.len() < SD_DIGESTS_PER_SUBJECT {
        digests.push(digest(&salt()));
    }
    // Sorted, so the order reveals nothing about which digest is which claim (RFC 9901 §4.2.4.1).
    digests.sort_unstable();
    subject.insert(
        "_sd".into(),
        digests.into_iter().map(Value::String).collect(),
    );
    let root = payload
        .as_object_mut()
        .ok_or_else(|| MalformedError::Structure("credential".into()))?;
    root.insert("_sd_alg".into(), SD_ALG.into());
    root.insert(
        "cnf".into(),
        serde_json::json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": B64.encode(holder_key)}}),
    );
    Ok(UnsignedSdJwt {
        jwt: jws::Unsigned::new(
            TYP_VC_SD_JWT,
            Some(&issuer.key_id()),
            payload.to_string().as_bytes(),
        ),
        disclosures,
    })
}

/// An SD-JWT split into its parts (RFC 9901 §4), nothing checked yet but the shape.
#[derive(Debug, Clone)]
pub struct SdJwt<'a> {
    /// The issuer-signed JWT.
    pub jwt: &'a str,
    /// The disclosures, as their base64url strings.
    pub disclosures: Vec<&'a str>,
    /// The key-binding JWT, when present.
    pub key_binding: Option<&'a str>,
    /// `<JWT>~<D1>~…~<Dn>~`: the part `sd_hash` covers.
    pub without_key_binding: &'a str,
}

impl<'a> SdJwt<'a> {
    /// Split a compact SD-JWT; refuses empty disclosures and oversize input.
    pub fn parse(input: &'a str) -> Result<Self, MalformedError> {
        if input.len() > crate::error::MAX_INPUT_LEN {
            return Err(MalformedError::TooLarge(input.len()));
        }
        let last_tilde = input
            .rfind('~')
            .ok_or(MalformedError::Compact("an SD-JWT must contain '~'"))?;
        let (head, kb) = input.split_at(last_tilde + 1);
        let mut parts = head[..head.len() - 1].split('~');
        let jwt = parts.next().unwrap_or_default();
        let disclosures: Vec<&str> = parts.collect();
        if jwt.is_empty() || disclosures.iter().any(|d| d.is_empty()) {
            return Err(MalformedError::Compact("empty SD-JWT component"));
        }
        Ok(Self {
            jwt,
            disclosures,
            key_binding: (!kb.is_empty()).then_some(kb),
            without_key_binding: head,
        })
    }

    /// The claim name of each disclosure, in order (for a holder choosing what to show).
    pub fn disclosure_names(&self) -> Result<Vec<String>, MalformedError> {
        self.disclosures
            .iter()
            .map(|d| decode_disclosure(d).map(|(name, _)| name))
            .collect()
    }

    /// `<JWT>~<Di>~…~` keeping only the disclosures whose claim name is in `claims`.
    pub fn select(&self, claims: &[&str]) -> Result<String, MalformedError> {
        let mut out = self.jwt.to_owned();
        for d in &self.disclosures {
            let (name, _) = decode_disclosure(d)?;
            if claims.contains(&name.as_str()) {
                out.push('~');
                out.push_str(d);
            }
        }
        out.push('~');
        Ok(out)
    }
}

/// Decode one object-property disclosure `[salt, name, value]` (RFC 9901 §4.2.1).
fn decode_disclosure(d: &str) -> Result<(String, Value), MalformedError> {
    let bytes = B64
        .decode(d)
        .map_err(|_| MalformedError::Base64("disclosure"))?;
    let parsed: (String, String, Value) =
        serde_json::from_slice(&bytes).map_err(|e| MalformedError::json("disclosure", &e))?;
    let (_salt, name, value) = parsed;
    // §7.1: a disclosure may not use the names `_sd` or `...`; `_sd_alg` and `cnf` would let a
    // disclosure overwrite what the issuer set in plain text.
    if name == "_sd" || name == "..." || name == "_sd_alg" || name == "cnf" {
        return Err(MalformedError::Structure(
            "disclosure uses a reserved claim name".into(),
        ));
    }
    Ok((name, value))
}

/// A verified SD-JWT: issuer signature, disclosures and holder binding all checked.
#[derive(Debug, Clone)]
pub struct VerifiedSdJwt {
    /// The credential with the disclosed claims put back, and the issuer.
    pub verified: VerifiedCredential,
    /// Names of the disclosed subject claims, in presentation order.
    pub disclosed: Vec<String>,
    /// The holder's public key from `cnf.jwk` (equal to `credentialSubject.id`'s).
    pub holder_key: [u8; 32],
}

/// Verify the issuer-signed part of an SD-JWT and its disclosures (RFC 9901 §7.1).
///
/// Key binding, when the SD-JWT carries one, is [`crate::presentation`]'s business.
pub fn verify(sd_jwt: &SdJwt<'_>, resolver: &Resolver) -> Result<VerifiedSdJwt, VerifyError> {
    let jws = CompactJws::parse(sd_jwt.jwt)?;
    jws.expect_typ(&[TYP_VC_SD_JWT])?;
    let issuer = resolve_kid(&jws, resolver)?;
    jws.verify(issuer.verifying_key())?;
    let mut payload: Map<String, Value> = jws.payload_json("SD-JWT payload")?;
    match payload.remove("_sd_alg") {
        Some(Value::String(alg)) if alg == SD_ALG => {}
        Some(Value::String(alg)) => return Err(CryptoError::DigestAlgorithm(alg).into()),
        _ => return Err(MalformedError::Structure("_sd_alg must be \"sha-256\"".into()).into()),
    }
    // §7.1: digest every disclosure; the same disclosure twice is refused.
    let mut by_digest: Pending = HashMap::with_capacity(sd_jwt.disclosures.len());
    for (pos, d) in sd_jwt.disclosures.iter().enumerate() {
        let decoded = decode_disclosure(d)?;
        if by_digest.insert(digest(d), (pos, Some(decoded))).is_some() {
            return Err(MalformedError::DuplicateDisclosure.into());
        }
    }
    let mut disclosed = Vec::with_capacity(by_digest.len());
    reveal(&mut payload, &mut by_digest, &mut disclosed)?;
    // §7.1: every disclosure must have been referenced by a digest, or the SD-JWT is rejected.
    if by_digest.values().any(|(_, unused)| unused.is_some()) {
        return Err(CryptoError::UnreferencedDisclosure.into());
    }
    let holder_key = confirmation_key(&payload)?;
    if let Some(Value::Object(subject)) = payload.get_mut("credentialSubject") {
        if !subject.contains_key("id") {
            let key = VerifyingKey::from_bytes(&holder_key).map_err(|_| {
                MalformedError::Structure("cnf.jwk is not a valid Ed25519 key".into())
            })?;
            subject.insert(
                "id".into(),
                DidKey::from_verifying_key(&key).as_str().into(),
            );
        }
    }
    let credential: KycCredential = serde_json::from_value(Value::Object(payload))
        .map_err(|e| MalformedError::json("credential", &e))?;
    if credential.issuer != issuer.as_str() {
        return Err(CryptoError::KeyIdNotIssuer.into());
    }
    credential.check_structure_of_verified(issuer.as_str())?;
    if did::public_key_bytes(&credential.credential_subject.id).map_err(MalformedError::from)?
        != holder_key
    {
        return Err(CryptoError::HolderKeyMismatch.into());
    }
    // Present claims in presentation order, so the verdict is reproducible.
    disclosed.sort_by_key(|(pos, _)| *pos);
    Ok(VerifiedSdJwt {
        verified: VerifiedCredential { credential, issuer },
        disclosed: disclosed.into_iter().map(|(_, name)| name).collect(),
        holder_key,
    })
}

/// Disclosures by digest: their position in the presentation, and the claim until revealed.
type Pending = HashMap<String, (usize, Option<(String, Value)>)>;

/// Replace every `_sd` digest that has a disclosure by the disclosed claim, recursively
/// (RFC 9901 §7.1); digests without one are decoys or withheld claims and vanish.
fn reveal(
    object: &mut Map<String, Value>,
    pending: &mut Pending,
    disclosed: &mut Vec<(usize, String)>,
) -> Result<(), VerifyError> {
    if let Some(sd) = object.remove("_sd") {
        let Value::Array(digests) = sd else {
            return Err(MalformedError::Structure("_sd must be an array".into()).into());
        };
        for d in digests {
            let Value::String(d) = d else {
                return Err(MalformedError::Structure("_sd entries must be strings".into()).into());
            };
            let Some((pos, slot)) = pending.get_mut(&d) else {
                continue;
            };
            // A digest that appears twice would be consumed already (§7.1: MUST be rejected).
            let (name, value) = slot.take().ok_or_else(|| {
                MalformedError::Structure("a digest is referenced more than once".into())
            })?;
            if object.contains_key(&name) {
                return Err(
                    MalformedError::Structure("disclosed claim already present".into()).into(),
                );
            }
            disclosed.push((*pos, name.clone()));
            object.insert(name, value);
        }
    }
    for value in object.values_mut() {
        if let Value::Object(inner) = value {
            reveal(inner, pending, disclosed)?;
        }
    }
    Ok(())
}

/// The holder key from `cnf.jwk`: an OKP Ed25519 JWK (RFC 8037 §2).
fn confirmation_key(payload: &Map<String, Value>) -> Result<[u8; 32], MalformedError> {
    let bad = || MalformedError::Structure("cnf.jwk must be an Ed25519 OKP key".into());
    let jwk = payload
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .ok_or_else(bad)?;
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
        || jwk.get("d").is_some()
    {
        return Err(bad());
    }
    let x = jwk.get("x").and_then(Value::as_str).ok_or_else(bad)?;
    let mut key = [0u8; 32];
    match B64.decode_slice(x, &mut key) {
        Ok(32) => Ok(key),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::tests::sample;

    #[test]
    fn issue_and_verify_all_disclosures() {
        let (ik, issuer) = DidKey::generate();
        let (_, holder) = DidKey::generate();
        let c = sample(&issuer, &holder);
        let sd = issue(&c, &ik).unwrap();
        let parsed = SdJwt::parse(&sd).unwrap();
        assert_eq!(parsed.disclosures.len(), 8);
        assert!(parsed.key_binding.is_none());
        let v = verify(&parsed, &Resolver::new()).unwrap();
        // No credential id in this form; the subject id comes back from cnf.jwk.
        assert!(!parsed.jwt.is_empty() && !sd.contains("urn:uuid"));
        let mut expected = c.clone();
        expected.id = None;
        assert_eq!(v.verified.credential, expected);
        assert_eq!(v.disclosed.len(), 8);
    }

    #[test]
    fn selective_disclosure_hides_the_rest() {
        let (ik, issuer) = DidKey::generate();
        let (_, holder) = DidKey::generate();
        let sd = issue(&sample(&issuer, &holder), &ik).unwrap();
        let only = SdJwt::parse(&sd).unwrap().select(&["ageOver18"]).unwrap();
        let v = verify(&SdJwt::parse(&only).unwrap(), &Resolver::new()).unwrap();
        assert_eq!(v.disclosed, ["ageOver18"]);
        let s = &v.verified.credential.credential_subject;
        assert_eq!(s.age_over_18, Some(true));
        assert!(s.given_name.is_none() && s.birth_date.is_none());
    }

    #[test]
    fn refuses_duplicate_and_unreferenced_disclosures() {
        let (ik, issuer) = DidKey::generate();
        let (_, holder) = DidKey::generate();
        let sd = issue(&sample(&issuer, &holder), &ik).unwrap();
        let parsed = SdJwt::parse(&sd).unwrap();
        let d = parsed.disclosures[0];
        let dup = format!("{}{d}~", sd);
        assert_eq!(
            verify(&SdJwt::parse(&dup).unwrap(), &Resolver::new()).unwrap_err(),
            VerifyError::Malformed(MalformedError::DuplicateDisclosure)
        );
        let stray = B64.encode(r#"["c2FsdHNhbHRzYWx0","givenName","Max"]"#);
        let extra = format!("{sd}{stray}~");
        assert_eq!(
            verify(&SdJwt::parse(&extra).unwrap(), &Resolver::new()).unwrap_err(),
            VerifyError::Crypto(CryptoError::UnreferencedDisclosure)
        );
    }
}
