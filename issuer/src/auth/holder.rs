//! Holder tokens: a JWT signed by the holder's `did:key` over a single-use nonce (see the
//! module documentation of `auth` for the format and the order of the checks).

use chrono::{DateTime, Utc};
use kyc_core::did::DidKey;
use kyc_core::jws::CompactJws;
use kyc_core::{CryptoError, MalformedError, VerifyError};
use serde::Deserialize;

use super::error::AuthError;
use super::limits::{HOLDER_TOKEN_TYP, MAX_CLOCK_SKEW_SECS, MAX_TOKEN_LIFETIME_SECS};
use super::nonces::NonceStore;

/// A holder whose token verified: the DID that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderIdentity {
    /// The holder's `did:key` (the token's `iss`, equal to its `kid`'s DID).
    pub did: String,
}

impl HolderIdentity {
    /// Require this holder to be `holder_did` (e.g. the application's holder).
    pub fn require(&self, holder_did: &str) -> Result<(), AuthError> {
        if self.did == holder_did {
            Ok(())
        } else {
            Err(AuthError::NotTheHolder)
        }
    }
}

/// The claims of a holder token. Unknown claims are ignored (RFC 7519 §4); serde refuses
/// duplicate members and wrong types.
#[derive(Deserialize)]
struct HolderClaims {
    iss: String,
    aud: String,
    nonce: String,
    iat: i64,
    exp: i64,
}

/// Verify a holder token for `audience` at `now`, and consume its nonce.
///
/// See the [module documentation](self) for the format and the order of the checks. On success
/// the nonce is used up: the same token is refused the next time ([`AuthError::NonceRejected`]).
/// The caller still has to check that the holder is the one the resource belongs to
/// ([`HolderIdentity::require`]).
pub fn verify_holder_token(
    token: &str,
    audience: &str,
    nonces: &dyn NonceStore,
    now: DateTime<Utc>,
) -> Result<HolderIdentity, AuthError> {
    let jws = CompactJws::parse(token).map_err(from_jws_error)?;
    jws.expect_typ(&[HOLDER_TOKEN_TYP])
        .map_err(|_| AuthError::WrongType)?;
    let kid = jws
        .header
        .kid
        .as_deref()
        .ok_or_else(|| AuthError::malformed("token header has no kid"))?;
    let signer = DidKey::parse_key_id(kid).map_err(AuthError::BadKeyId)?;
    jws.verify(signer.verifying_key())
        .map_err(|_| AuthError::BadSignature)?;
    let claims: HolderClaims = serde_json::from_slice(&jws.payload).map_err(|e| {
        AuthError::MalformedCredentials(MalformedError::json("token claims", &e).to_string())
    })?;
    if claims.iss != signer.as_str() {
        return Err(AuthError::IssuerMismatch);
    }
    if claims.aud != audience {
        return Err(AuthError::WrongAudience);
    }
    check_time_window(claims.iat, claims.exp, now)?;
    if !nonces.consume(&claims.nonce, now)? {
        return Err(AuthError::NonceRejected);
    }
    Ok(HolderIdentity { did: claims.iss })
}

/// `0 < exp - iat <= 300`, `iat <= now + 60`, `now < exp` (RFC 7519 §4.1.4: the current time
/// must be before `exp`), all in whole seconds.
fn check_time_window(iat: i64, exp: i64, now: DateTime<Utc>) -> Result<(), AuthError> {
    match exp.checked_sub(iat) {
        Some(lifetime) if lifetime > 0 && lifetime <= MAX_TOKEN_LIFETIME_SECS => {}
        _ => return Err(AuthError::BadLifetime),
    }
    let now = now.timestamp();
    if iat > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(AuthError::NotYetValid);
    }
    if exp <= now {
        return Err(AuthError::Expired);
    }
    Ok(())
}

fn from_jws_error(e: VerifyError) -> AuthError {
    match e {
        VerifyError::Crypto(CryptoError::AlgorithmNotAllowed(_)) => AuthError::AlgorithmNotAllowed,
        // kyc-core's messages never echo input values.
        other => AuthError::MalformedCredentials(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{generate_nonce, AuthFailure, MemoryNonces, NONCE_TTL_SECS};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    use chrono::TimeDelta;
    use ed25519_dalek::SigningKey;
    use kyc_core::did::DidError;
    use serde_json::{json, Value};

    const AUD: &str = "https://kyc.example";

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    fn holder() -> (SigningKey, DidKey) {
        DidKey::generate()
    }

    /// A token with an arbitrary header, signed by `key` (or a zero signature when `None`).
    fn raw_token(header: &Value, claims: &Value, key: Option<&SigningKey>) -> String {
        use ed25519_dalek::Signer as _;
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = key.map_or([0u8; 64], |k| k.sign(input.as_bytes()).to_bytes());
        format!("{input}.{}", B64.encode(signature))
    }

    fn claims(did: &DidKey, nonce: &str, iat: DateTime<Utc>, lifetime: i64) -> Value {
        json!({
            "iss": did.as_str(),
            "aud": AUD,
            "nonce": nonce,
            "iat": iat.timestamp(),
            "exp": iat.timestamp() + lifetime,
        })
    }

    fn sign_claims(key: &SigningKey, kid: &str, claims: &Value) -> String {
        kyc_core::jws::sign(
            HOLDER_TOKEN_TYP,
            Some(kid),
            claims.to_string().as_bytes(),
            key,
        )
    }

    /// A valid token for a freshly issued nonce.
    fn valid(nonces: &MemoryNonces) -> (String, DidKey) {
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        (
            sign_claims(&key, &did.key_id(), &claims(&did, &nonce, t0(), 120)),
            did,
        )
    }

    fn verify(token: &str, nonces: &MemoryNonces) -> Result<HolderIdentity, AuthError> {
        verify_holder_token(token, AUD, nonces, t0())
    }

    /// The rejection, checked to be a 401 that does not echo the token.
    fn rejected(token: &str, nonces: &MemoryNonces) -> AuthError {
        let err = verify(token, nonces).unwrap_err();
        assert_eq!(err.kind(), AuthFailure::Unauthenticated, "{err}");
        let shown = err.to_string();
        assert!(!token.is_empty() && !shown.contains(token), "{shown}");
        assert!(!shown.contains("did:key:z"), "{shown}");
        err
    }
    // ---- holder tokens ----

    #[test]
    fn valid_token_is_accepted_once() {
        let nonces = MemoryNonces::new();
        let (token, did) = valid(&nonces);
        let identity = verify(&token, &nonces).unwrap();
        assert_eq!(identity.did, did.as_str());
        identity.require(did.as_str()).unwrap();
        assert_eq!(
            identity.require(holder().1.as_str()),
            Err(AuthError::NotTheHolder)
        );
        // Replay: the nonce is spent.
        assert_eq!(rejected(&token, &nonces), AuthError::NonceRejected);
        assert!(nonces.is_empty());
    }

    #[test]
    fn alg_none_and_hs256_are_refused() {
        let nonces = MemoryNonces::new();
        let (_, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let body = claims(&did, &nonce, t0(), 120);
        let none = format!(
            "{}.{}.",
            B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
            B64.encode(body.to_string())
        );
        assert_eq!(rejected(&none, &nonces), AuthError::AlgorithmNotAllowed);
        let hs256 = format!(
            "{}.{}.{}",
            B64.encode(json!({"alg": "HS256", "typ": "JWT", "kid": did.key_id()}).to_string()),
            B64.encode(body.to_string()),
            B64.encode([7u8; 32])
        );
        assert_eq!(rejected(&hs256, &nonces), AuthError::AlgorithmNotAllowed);
        // Neither burnt the nonce.
        assert_eq!(nonces.len(), 1);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let nonces = MemoryNonces::new();
        let (token, _) = valid(&nonces);
        for bad in [
            "abc".to_owned(),
            format!("{token}.x"),
            format!("{token}="),
            token.replacen('.', ".!", 1),
        ] {
            assert!(
                matches!(rejected(&bad, &nonces), AuthError::MalformedCredentials(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn wrong_or_missing_typ_is_refused() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let body = claims(&did, &nonce, t0(), 120);
        let vc = kyc_core::jws::sign(
            "vc+jwt",
            Some(&did.key_id()),
            body.to_string().as_bytes(),
            &key,
        );
        assert_eq!(rejected(&vc, &nonces), AuthError::WrongType);
        let untyped = raw_token(
            &json!({"alg": "EdDSA", "kid": did.key_id()}),
            &body,
            Some(&key),
        );
        assert_eq!(rejected(&untyped, &nonces), AuthError::WrongType);
    }

    #[test]
    fn signature_by_another_key_than_the_kid_is_refused() {
        let nonces = MemoryNonces::new();
        let (_, did) = holder();
        let (other_key, _) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let token = sign_claims(&other_key, &did.key_id(), &claims(&did, &nonce, t0(), 120));
        assert_eq!(rejected(&token, &nonces), AuthError::BadSignature);
        // A zeroed signature as well.
        let zero = raw_token(
            &json!({"alg": "EdDSA", "typ": "JWT", "kid": did.key_id()}),
            &claims(&did, &nonce, t0(), 120),
            None,
        );
        assert_eq!(rejected(&zero, &nonces), AuthError::BadSignature);
    }

    #[test]
    fn kid_must_be_a_did_key_url() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let body = claims(&did, &nonce, t0(), 120);
        let web = sign_claims(&key, "did:web:example.com#key-1", &body);
        assert_eq!(
            rejected(&web, &nonces),
            AuthError::BadKeyId(DidError::BadFragment)
        );
        let bare = sign_claims(&key, did.as_str(), &body);
        assert_eq!(
            rejected(&bare, &nonces),
            AuthError::BadKeyId(DidError::BadFragment)
        );
        let not_key = sign_claims(&key, "did:key:web#web", &body);
        assert_eq!(
            rejected(&not_key, &nonces),
            AuthError::BadKeyId(DidError::NotDidKey)
        );
        let no_kid = raw_token(&json!({"alg": "EdDSA", "typ": "JWT"}), &body, Some(&key));
        assert!(matches!(
            rejected(&no_kid, &nonces),
            AuthError::MalformedCredentials(_)
        ));
    }

    #[test]
    fn iss_must_be_the_kid_did() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let (_, victim) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        // Properly signed by `did`, but claiming to be `victim`.
        let token = sign_claims(&key, &did.key_id(), &claims(&victim, &nonce, t0(), 120));
        assert_eq!(rejected(&token, &nonces), AuthError::IssuerMismatch);
    }

    #[test]
    fn wrong_audience_is_refused_and_keeps_the_nonce() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let mut body = claims(&did, &nonce, t0(), 120);
        body["aud"] = json!("https://other.example");
        let token = sign_claims(&key, &did.key_id(), &body);
        assert_eq!(rejected(&token, &nonces), AuthError::WrongAudience);
        body["aud"] = json!([AUD]);
        let token = sign_claims(&key, &did.key_id(), &body);
        assert!(matches!(
            rejected(&token, &nonces),
            AuthError::MalformedCredentials(_)
        ));
        // A failed token does not burn the nonce: the right token still works.
        let good = sign_claims(&key, &did.key_id(), &claims(&did, &nonce, t0(), 120));
        assert_eq!(verify(&good, &nonces).unwrap().did, did.as_str());
    }

    #[test]
    fn claims_must_have_the_right_types() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        for (claim, value) in [
            ("iat", json!(1.5)),
            ("exp", json!("soon")),
            ("nonce", json!(null)),
        ] {
            let mut body = claims(&did, &nonce, t0(), 120);
            body[claim] = value;
            let token = sign_claims(&key, &did.key_id(), &body);
            assert!(matches!(
                rejected(&token, &nonces),
                AuthError::MalformedCredentials(_)
            ));
        }
        let mut body = claims(&did, &nonce, t0(), 120);
        body.as_object_mut().unwrap().remove("nonce");
        let token = sign_claims(&key, &did.key_id(), &body);
        assert!(matches!(
            rejected(&token, &nonces),
            AuthError::MalformedCredentials(m) if m.contains("nonce")
        ));
    }

    #[test]
    fn time_window_is_enforced() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let with = |iat: DateTime<Utc>, lifetime: i64| {
            sign_claims(&key, &did.key_id(), &claims(&did, &nonce, iat, lifetime))
        };
        // Expired, and exactly at exp (the current time must be before exp).
        assert_eq!(
            rejected(&with(t0() - secs(200), 100), &nonces),
            AuthError::Expired
        );
        assert_eq!(
            rejected(&with(t0() - secs(100), 100), &nonces),
            AuthError::Expired
        );
        // Lifetime over 300 s, zero, negative.
        assert_eq!(rejected(&with(t0(), 301), &nonces), AuthError::BadLifetime);
        assert_eq!(rejected(&with(t0(), 0), &nonces), AuthError::BadLifetime);
        assert_eq!(rejected(&with(t0(), -10), &nonces), AuthError::BadLifetime);
        // iat more than 60 s ahead.
        assert_eq!(
            rejected(&with(t0() + secs(61), 100), &nonces),
            AuthError::NotYetValid
        );
        // Overflowing NumericDates are refused, not wrapped.
        let mut body = claims(&did, &nonce, t0(), 100);
        body["iat"] = json!(i64::MIN);
        body["exp"] = json!(i64::MAX);
        let extreme = sign_claims(&key, &did.key_id(), &body);
        assert_eq!(rejected(&extreme, &nonces), AuthError::BadLifetime);
        // Boundaries that pass: 300 s lifetime, iat exactly 60 s ahead.
        assert!(verify(&with(t0() + secs(60), 300), &nonces).is_ok());
    }

    #[test]
    fn unknown_nonce_is_refused() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let made_up = generate_nonce().unwrap();
        let token = sign_claims(&key, &did.key_id(), &claims(&did, &made_up, t0(), 120));
        assert_eq!(rejected(&token, &nonces), AuthError::NonceRejected);
    }

    #[test]
    fn expired_nonce_is_refused() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces
            .issue(std::net::Ipv4Addr::LOCALHOST.into(), t0())
            .unwrap();
        let later = t0() + secs(NONCE_TTL_SECS);
        let token = sign_claims(&key, &did.key_id(), &claims(&did, &nonce, later, 120));
        assert_eq!(
            verify_holder_token(&token, AUD, &nonces, later),
            Err(AuthError::NonceRejected)
        );
    }
}
