//! Checkout: the merchant's presentation request and the holder's key-bound SD-JWT presentation.
//!
//! The presentation is the compact SD-JWT with the disclosures the holder chose, followed by a
//! key-binding JWT (RFC 9901 §4.3: `typ: kb+jwt`, `iat`, `aud`, `nonce`, `sd_hash`) signed by the
//! key in `cnf.jwk`. Replay across presentations is the relying party's state and lives with the
//! verifier; everything else that a single request implies is checked here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::credential::{KycCredential, KycTier, DISCLOSABLE_CLAIMS};
use crate::did::{DidKey, Resolver};
use crate::error::{CryptoError, MalformedError, PolicyError, VerifyError};
use crate::jws::{self, CompactJws};
use crate::sd_jwt::{self, SdJwt};

/// `typ` of the key-binding JWT (RFC 9901 §4.3).
pub const TYP_KB_JWT: &str = "kb+jwt";
/// How far a key-binding `iat` may lie in the future (clock skew between wallet and merchant).
pub const KEY_BINDING_MAX_SKEW: Duration = Duration::seconds(60);
/// How old a key-binding `iat` may be when it reaches the verifier.
pub const KEY_BINDING_MAX_AGE: Duration = Duration::minutes(5);
/// Minimum nonce entropy: 128 bits (`docs/design.md` "Presentation request").
const MIN_NONCE_BYTES: usize = 16;

/// What a merchant asks a wallet for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresentationRequest {
    /// ≥128 random bits, base64url; the key-binding JWT must repeat it.
    pub nonce: String,
    /// The merchant's identifier; the key-binding JWT's `aud`.
    pub aud: String,
    /// The lowest acceptable tier.
    pub min_tier: KycTier,
    /// Subject claims to disclose (names from [`DISCLOSABLE_CLAIMS`]).
    pub claims: Vec<String>,
    /// After this instant the request is void.
    pub expires_at: DateTime<Utc>,
}

impl PresentationRequest {
    /// A fresh request with a 128-bit random nonce, valid for `ttl` from `now`.
    pub fn new(
        aud: &str,
        min_tier: KycTier,
        claims: &[&str],
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Self, MalformedError> {
        let mut nonce = [0u8; MIN_NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let request = Self {
            nonce: B64.encode(nonce),
            aud: aud.into(),
            min_tier,
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            expires_at: now + ttl,
        };
        request.check()?;
        Ok(request)
    }

    /// Parse and check a request received as JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, MalformedError> {
        let request: Self = serde_json::from_slice(json)
            .map_err(|e| MalformedError::json("presentation request", &e))?;
        request.check()?;
        Ok(request)
    }

    /// The rules serde cannot express: nonce entropy, known and distinct claim names, an audience.
    pub fn check(&self) -> Result<(), MalformedError> {
        let bad = |m: &str| Err(MalformedError::Structure(m.into()));
        match B64.decode(&self.nonce) {
            Ok(n) if n.len() >= MIN_NONCE_BYTES => {}
            _ => return bad("nonce must be at least 128 bits of base64url"),
        }
        if self.aud.is_empty() {
            return bad("aud must not be empty");
        }
        for (i, c) in self.claims.iter().enumerate() {
            if !DISCLOSABLE_CLAIMS.contains(&c.as_str()) {
                return bad("a requested claim is not a disclosable KYC claim");
            }
            if self.claims[..i].contains(c) {
                return bad("a claim is requested twice");
            }
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBindingClaims {
    iat: i64,
    aud: String,
    nonce: String,
    sd_hash: String,
}

/// Holder side: present `sd_jwt` (as issued, all disclosures) for `request`, disclosing exactly
/// the requested claims, key-bound with `holder_key` at `now`.
pub fn present(
    sd_jwt: &str,
    request: &PresentationRequest,
    holder_key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<String, MalformedError> {
    let parsed = SdJwt::parse(sd_jwt)?;
    let claims: Vec<&str> = request.claims.iter().map(String::as_str).collect();
    let mut out = parsed.select(&claims)?;
    let kb = KeyBindingClaims {
        iat: now.timestamp(),
        aud: request.aud.clone(),
        nonce: request.nonce.clone(),
        sd_hash: sd_jwt::digest(&out),
    };
    let payload =
        serde_json::to_vec(&kb).map_err(|e| MalformedError::json("key-binding JWT", &e))?;
    out.push_str(&jws::sign(TYP_KB_JWT, None, &payload, holder_key));
    Ok(out)
}

/// A presentation that satisfies its request.
#[derive(Debug, Clone)]
pub struct VerifiedPresentation {
    /// The credential with only the disclosed claims.
    pub credential: KycCredential,
    /// The issuer.
    pub issuer: DidKey,
    /// Names of the disclosed subject claims.
    pub disclosed: Vec<String>,
    /// When the holder signed the key binding.
    pub key_bound_at: DateTime<Utc>,
}

/// Merchant side: verify `input` against `request` at `now`, offline.
///
/// Checks, in this order: size and shape; the issuer's signature, disclosures and `cnf`; the
/// key-binding JWT's signature by the holder and its `sd_hash`; then policy: the request's
/// expiry, `nonce`, `aud`, the `iat` window, the credential's validity, the tier, and that every
/// requested claim was disclosed. Trust in the issuer, status and replay are the caller's.
pub fn verify_presentation(
    input: &str,
    request: &PresentationRequest,
    resolver: &Resolver,
    now: DateTime<Utc>,
) -> Result<VerifiedPresentation, VerifyError> {
    let parsed = SdJwt::parse(input)?;
    let kb_jwt = parsed
        .key_binding
        .ok_or(MalformedError::MissingKeyBinding)?;
    let verified = sd_jwt::verify(&parsed, resolver)?;
    let kb = CompactJws::parse(kb_jwt)?;
    kb.expect_typ(&[TYP_KB_JWT])?;
    let holder = VerifyingKey::from_bytes(&verified.holder_key)
        .map_err(|_| MalformedError::Structure("cnf.jwk is not a valid Ed25519 key".into()))?;
    kb.verify(&holder)
        .map_err(|_| CryptoError::KeyBindingSignature)?;
    let claims: KeyBindingClaims = kb.payload_json("key-binding JWT")?;
    if claims.sd_hash != sd_jwt::digest(parsed.without_key_binding) {
        return Err(CryptoError::SdHashMismatch.into());
    }

    if now >= request.expires_at {
        return Err(PolicyError::RequestExpired(request.expires_at).into());
    }
    if claims.nonce != request.nonce {
        return Err(PolicyError::WrongNonce.into());
    }
    if claims.aud != request.aud {
        return Err(PolicyError::WrongAudience.into());
    }
    let iat = DateTime::from_timestamp(claims.iat, 0)
        .ok_or_else(|| MalformedError::Structure("iat out of range".into()))?;
    if iat > now + KEY_BINDING_MAX_SKEW || iat < now - KEY_BINDING_MAX_AGE {
        return Err(PolicyError::StaleKeyBinding(iat).into());
    }
    let credential = verified.verified.credential;
    if let Some(e) = credential.check_validity(now).into_iter().next() {
        return Err(e.into());
    }
    let tier = credential.credential_subject.kyc_tier;
    if tier < request.min_tier {
        return Err(PolicyError::TierTooLow {
            have: tier.as_u8(),
            need: request.min_tier.as_u8(),
        }
        .into());
    }
    if let Some(missing) = request
        .claims
        .iter()
        .find(|c| !verified.disclosed.contains(c))
    {
        return Err(PolicyError::MissingClaim(missing.clone()).into());
    }
    Ok(VerifiedPresentation {
        credential,
        issuer: verified.verified.issuer,
        disclosed: verified.disclosed,
        key_bound_at: iat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::tests::sample;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
    }

    #[test]
    fn present_and_verify() {
        let (ik, issuer) = DidKey::generate();
        let (hk, holder) = DidKey::generate();
        let sd = sd_jwt::issue(&sample(&issuer, &holder), &ik).unwrap();
        let req = PresentationRequest::new(
            "shop.example",
            KycTier::Verified,
            &["ageOver18", "countryOfResidence"],
            now(),
            Duration::minutes(5),
        )
        .unwrap();
        let p = present(&sd, &req, &hk, now()).unwrap();
        let v = verify_presentation(&p, &req, &Resolver::new(), now()).unwrap();
        assert_eq!(v.disclosed, ["ageOver18", "countryOfResidence"]);
        assert!(v.credential.credential_subject.given_name.is_none());
    }

    #[test]
    fn request_rules() {
        let r = PresentationRequest::new(
            "m",
            KycTier::Basic,
            &["ageOver18"],
            now(),
            Duration::minutes(1),
        )
        .unwrap();
        let mut short = r.clone();
        short.nonce = "AAAA".into();
        assert!(short.check().is_err());
        let mut unknown = r.clone();
        unknown.claims = vec!["ssn".into()];
        assert!(unknown.check().is_err());
        assert!(PresentationRequest::from_json(br#"{"nonce":"x"}"#).is_err());
    }
}
