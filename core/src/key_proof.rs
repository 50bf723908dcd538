//! Proof of possession of a holder key, for batch issuance.
//!
//! The wallet asks for a batch of credentials, each bound to a holder key of its own, so that
//! no two relying parties see the same `cnf` (`docs/design.md` "Privacy at checkout"). For every
//! key it sends one proof, as OpenID4VCI 1.0 does (§8.2.1.1, the `jwt` proof type, one per key
//! in `proofs.jwt`): a compact JWS signed by that key, header `{"alg": "EdDSA", "typ":
//! "openid4vci-proof+jwt", "kid": "<did:key DID URL of the key>"}`, payload `{"aud": "<the
//! issuer's public URL>", "iat": <seconds>, "nonce": "<a nonce of POST /v1/nonce>"}`. Every
//! proof of one request carries the same nonce, which the issuer then uses up once.
//!
//! [`verify_batch`] checks a request's proofs and returns the keys; the issuer binds one
//! credential to each.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::did::DidKey;
use crate::error::{CryptoError, MalformedError, PolicyError, VerifyError};
use crate::jws::{self, CompactJws};

/// `typ` of a key proof (OpenID4VCI 1.0 §8.2.1.1).
pub const TYP_KEY_PROOF: &str = "openid4vci-proof+jwt";
/// How far a proof's `iat` may lie in the future (clock skew).
pub const KEY_PROOF_MAX_SKEW: Duration = Duration::seconds(60);
/// How old a proof's `iat` may be (the nonce it names lives no longer anyway).
pub const KEY_PROOF_MAX_AGE: Duration = Duration::minutes(5);

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofClaims {
    aud: String,
    iat: i64,
    nonce: String,
}

/// A proof that the holder of `key` asks for a credential bound to it, for the issuer whose
/// public URL is `aud`, over the issuer's `nonce`, at `now`.
pub fn sign(key: &SigningKey, aud: &str, nonce: &str, now: DateTime<Utc>) -> String {
    let did = DidKey::from_verifying_key(&key.verifying_key());
    let claims = ProofClaims {
        aud: aud.into(),
        iat: now.timestamp(),
        nonce: nonce.into(),
    };
    // Serialising three plain members cannot fail.
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    jws::sign(TYP_KEY_PROOF, Some(&did.key_id()), &payload, key)
}

/// A checked batch of proofs: the keys, in the order of the proofs, and their common nonce
/// (still to be used up by the caller).
#[derive(Debug, Clone)]
pub struct ProvenKeys {
    /// The holder keys, as did:keys, all distinct.
    pub keys: Vec<DidKey>,
    /// The nonce every proof names.
    pub nonce: String,
}

/// Check `proofs` (at least one) for the issuer `aud` at `now`: each a proof of the
/// [module](self)'s shape, signed by the key its `kid` names, `aud` the issuer's, `iat` within
/// [`KEY_PROOF_MAX_AGE`] and [`KEY_PROOF_MAX_SKEW`]; all naming one nonce; no key twice.
pub fn verify_batch(
    proofs: &[String],
    aud: &str,
    now: DateTime<Utc>,
) -> Result<ProvenKeys, VerifyError> {
    let mut keys: Vec<DidKey> = Vec::with_capacity(proofs.len());
    let mut nonce: Option<String> = None;
    for proof in proofs {
        let jws = CompactJws::parse(proof)?;
        jws.expect_typ(&[TYP_KEY_PROOF])?;
        let kid = jws
            .header
            .kid
            .as_deref()
            .ok_or_else(|| CryptoError::BadKeyId("missing".into()))?;
        let key = DidKey::parse_key_id(kid).map_err(|e| CryptoError::BadKeyId(e.to_string()))?;
        jws.verify(key.verifying_key())?;
        let claims: ProofClaims = jws.payload_json("key proof")?;
        if claims.aud != aud {
            return Err(PolicyError::WrongAudience.into());
        }
        let iat = DateTime::from_timestamp(claims.iat, 0)
            .ok_or_else(|| MalformedError::Structure("iat out of range".into()))?;
        if iat > now + KEY_PROOF_MAX_SKEW || iat < now - KEY_PROOF_MAX_AGE {
            return Err(PolicyError::StaleKeyBinding(iat).into());
        }
        match &nonce {
            None => nonce = Some(claims.nonce),
            Some(n) if *n == claims.nonce => {}
            Some(_) => {
                return Err(
                    MalformedError::Structure("the proofs name different nonces".into()).into(),
                )
            }
        }
        if keys.contains(&key) {
            return Err(MalformedError::Structure("a key is proven twice".into()).into());
        }
        keys.push(key);
    }
    let nonce = nonce.ok_or_else(|| MalformedError::Structure("no key proof".into()))?;
    Ok(ProvenKeys { keys, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://kyc.example";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_batch_of_proofs_gives_its_keys() {
        let keys: Vec<SigningKey> = (0..3).map(|_| DidKey::generate().0).collect();
        let proofs: Vec<String> = keys.iter().map(|k| sign(k, AUD, "n1", now())).collect();
        let proven = verify_batch(&proofs, AUD, now()).unwrap();
        assert_eq!(proven.nonce, "n1");
        for (k, d) in keys.iter().zip(&proven.keys) {
            assert_eq!(*d, DidKey::from_verifying_key(&k.verifying_key()));
        }
    }

    #[test]
    fn refusals() {
        let (k1, _) = DidKey::generate();
        let (k2, _) = DidKey::generate();
        let ok = sign(&k1, AUD, "n", now());
        assert!(verify_batch(&[], AUD, now()).is_err());
        assert!(verify_batch(&[ok.clone(), ok.clone()], AUD, now()).is_err());
        assert!(verify_batch(&[ok.clone(), sign(&k2, AUD, "m", now())], AUD, now()).is_err());
        assert_eq!(
            verify_batch(std::slice::from_ref(&ok), "https://other.example", now()).unwrap_err(),
            VerifyError::Policy(PolicyError::WrongAudience)
        );
        assert!(
            verify_batch(std::slice::from_ref(&ok), AUD, now() + Duration::minutes(6)).is_err()
        );
        // Signed by another key than the one its kid names.
        let (head, _) = ok.split_once('.').unwrap_or_default();
        let other = sign(&k2, AUD, "n", now());
        let forged = format!("{head}.{}", other.split_once('.').unwrap_or_default().1);
        assert_eq!(
            verify_batch(&[forged], AUD, now()).unwrap_err(),
            VerifyError::Crypto(CryptoError::BadSignature)
        );
    }
}
