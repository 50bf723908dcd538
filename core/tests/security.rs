//! Every hostile input the foundation issue names, each asserting the error variant it must
//! produce (malformed, crypto or policy), through kyc-core's public API.
#![allow(clippy::unwrap_used)] // test helpers, not only #[test] fns

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac as _};
use kyc_core::credential::{self, CountryCode, StatusEntry};
use kyc_core::did::Resolver;
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::sd_jwt::{self, SdJwt};
use kyc_core::status_list::{self, Bitstring, StatusListCredential};
use kyc_core::{
    CryptoError, DidKey, KycCredential, KycSubject, KycTier, MalformedError, PolicyError,
    VerifyError,
};

struct Fixture {
    issuer_key: SigningKey,
    issuer: DidKey,
    holder_key: SigningKey,
    credential: KycCredential,
}

fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    t(2027, 3, 1)
}

const LIST: &str = "https://issuer.example/v1/status-lists/1";

fn fixture() -> Fixture {
    let (issuer_key, issuer) = DidKey::generate();
    let (holder_key, holder) = DidKey::generate();
    let mut credential = KycCredential::new(
        &issuer,
        KycSubject {
            id: holder.as_str().into(),
            kyc_tier: KycTier::Verified,
            assurance_level: KycTier::Verified.assurance_level(),
            age_over_18: Some(true),
            age_over_21: Some(false),
            country_of_residence: Some(CountryCode::parse("FR").unwrap()),
            nationality: Some(CountryCode::parse("FR").unwrap()),
            given_name: Some("Marianne".into()),
            family_name: Some("Dupont".into()),
            birth_date: chrono::NaiveDate::from_ymd_opt(2007, 6, 1),
        },
        t(2026, 11, 26),
        Some(t(2027, 11, 26)),
    );
    credential.credential_status = Some(StatusEntry::revocation(LIST, 42));
    Fixture {
        issuer_key,
        issuer,
        holder_key,
        credential,
    }
}

/// A compact JWS with an arbitrary header, signed by `key` (EdDSA) regardless of what it says.
fn forge(header: &serde_json::Value, payload: &[u8], key: &SigningKey) -> String {
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig.to_bytes()))
}

fn payload(f: &Fixture) -> Vec<u8> {
    serde_json::to_vec(&f.credential).unwrap()
}

fn verify(jwt: &str) -> Result<credential::VerifiedCredential, VerifyError> {
    credential::verify_jwt(jwt, &Resolver::new())
}

#[test]
fn alg_none_is_refused() {
    let f = fixture();
    let h = serde_json::json!({"alg": "none", "typ": "vc+jwt", "kid": f.issuer.key_id()});
    let jwt = format!("{}.{}.", B64.encode(h.to_string()), B64.encode(payload(&f)));
    assert_eq!(
        verify(&jwt).unwrap_err(),
        VerifyError::Crypto(CryptoError::AlgorithmNotAllowed("none".into()))
    );
}

#[test]
fn hs256_keyed_with_the_issuer_public_key_is_refused() {
    let f = fixture();
    let h = serde_json::json!({"alg": "HS256", "typ": "vc+jwt", "kid": f.issuer.key_id()});
    let input = format!("{}.{}", B64.encode(h.to_string()), B64.encode(payload(&f)));
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(f.issuer.verifying_key().as_bytes()).unwrap();
    mac.update(input.as_bytes());
    let jwt = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
    assert_eq!(
        verify(&jwt).unwrap_err(),
        VerifyError::Crypto(CryptoError::AlgorithmNotAllowed("HS256".into()))
    );
}

#[test]
fn signature_by_a_key_other_than_the_kid_is_refused() {
    let f = fixture();
    let (other, _) = DidKey::generate();
    let h = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": f.issuer.key_id()});
    assert_eq!(
        verify(&forge(&h, &payload(&f), &other)).unwrap_err(),
        VerifyError::Crypto(CryptoError::BadSignature)
    );
}

#[test]
fn kid_of_another_did_than_the_issuer_is_refused() {
    let f = fixture();
    let (other_key, other) = DidKey::generate();
    let h = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": other.key_id()});
    assert_eq!(
        verify(&forge(&h, &payload(&f), &other_key)).unwrap_err(),
        VerifyError::Crypto(CryptoError::KeyIdNotIssuer)
    );
}

#[test]
fn tampered_payload_is_refused() {
    let f = fixture();
    let jwt = f.credential.sign_jwt(&f.issuer_key).unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    claims["credentialSubject"]["kycTier"] = 3.into();
    parts[1] = B64.encode(claims.to_string());
    assert_eq!(
        verify(&parts.join(".")).unwrap_err(),
        VerifyError::Crypto(CryptoError::BadSignature)
    );
}

#[test]
fn kid_that_is_not_a_did_key_is_refused() {
    let f = fixture();
    for kid in [
        "did:web:issuer.example#key-1",
        "https://issuer.example/key",
        "",
    ] {
        let h = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": kid});
        let err = verify(&forge(&h, &payload(&f), &f.issuer_key)).unwrap_err();
        assert!(
            matches!(err, VerifyError::Crypto(CryptoError::BadKeyId(_))),
            "{kid}: {err:?}"
        );
    }
    let h = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt"});
    let err = verify(&forge(&h, &payload(&f), &f.issuer_key)).unwrap_err();
    assert!(matches!(err, VerifyError::Crypto(CryptoError::BadKeyId(_))));
}

#[test]
fn wrong_typ_is_refused() {
    let f = fixture();
    let h = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": f.issuer.key_id()});
    let err = verify(&forge(&h, &payload(&f), &f.issuer_key)).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Crypto(CryptoError::WrongType { .. })
    ));
    // but the older vc-ld+jwt is accepted
    let h = serde_json::json!({"alg": "EdDSA", "typ": "vc-ld+jwt", "kid": f.issuer.key_id()});
    verify(&forge(&h, &payload(&f), &f.issuer_key)).unwrap();
}

#[test]
fn expired_and_not_yet_valid() {
    let f = fixture();
    let v = verify(&f.credential.sign_jwt(&f.issuer_key).unwrap())
        .unwrap()
        .credential;
    assert_eq!(
        v.check_validity(t(2027, 11, 27)),
        [PolicyError::Expired(t(2027, 11, 26))]
    );
    assert_eq!(
        v.check_validity(t(2026, 11, 25)),
        [PolicyError::NotYetValid(t(2026, 11, 26))]
    );
    assert!(v.check_validity(now()).is_empty());
}

#[test]
fn revoked_entry() {
    let f = fixture();
    let mut list = Bitstring::new(0);
    list.set(42, true);
    let jwt = StatusListCredential::revocation(&f.issuer, LIST, &list, now(), None)
        .sign_jwt(&f.issuer_key)
        .unwrap();
    let verified = status_list::verify_jwt(&jwt, &Resolver::new()).unwrap();
    let entry = f.credential.credential_status.as_ref().unwrap();
    assert!(verified.is_set(entry, f.issuer.as_str()).unwrap());
    assert!(!verified
        .is_set(&StatusEntry::revocation(LIST, 41), f.issuer.as_str())
        .unwrap());
}

#[test]
fn trailing_garbage_is_refused() {
    let f = fixture();
    let jwt = f.credential.sign_jwt(&f.issuer_key).unwrap();
    for bad in [
        format!("{jwt}.x"),
        format!("{jwt}x"),
        format!("{jwt} trailing"),
        format!("{jwt}="),
    ] {
        let err = verify(&bad).unwrap_err();
        assert!(
            err.is_malformed() || err == VerifyError::Crypto(CryptoError::BadSignature),
            "{bad}: {err:?}"
        );
    }
    assert!(matches!(
        verify(&format!("{jwt}.x")).unwrap_err(),
        VerifyError::Malformed(MalformedError::Compact(_))
    ));
    assert!(matches!(
        verify(&format!("{jwt}=")).unwrap_err(),
        VerifyError::Malformed(MalformedError::Base64(_))
    ));
    // trailing data inside the payload JSON, under a valid signature
    let mut bytes = payload(&f);
    bytes.extend_from_slice(b" {}");
    let h = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": f.issuer.key_id()});
    assert!(matches!(
        verify(&forge(&h, &bytes, &f.issuer_key)).unwrap_err(),
        VerifyError::Malformed(MalformedError::Json { .. })
    ));
}

#[test]
fn ten_megabyte_input_is_refused_before_decoding() {
    let huge = "a".repeat(10 * 1024 * 1024);
    assert_eq!(
        verify(&huge).unwrap_err(),
        VerifyError::Malformed(MalformedError::TooLarge(huge.len()))
    );
    let req = request();
    let err = presentation::verify_presentation(&huge, &req, &Resolver::new(), now()).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Malformed(MalformedError::TooLarge(huge.len()))
    );
}

fn request() -> PresentationRequest {
    PresentationRequest::new(
        "shop.example",
        KycTier::Verified,
        &["ageOver18"],
        now() - Duration::seconds(10),
        Duration::minutes(5),
    )
    .unwrap()
}

fn sd(f: &Fixture) -> String {
    sd_jwt::issue(&f.credential, &f.issuer_key).unwrap()
}

#[test]
fn disclosure_not_referenced_by_any_digest() {
    let f = fixture();
    let issued = sd(&f);
    let stray = B64.encode(r#"["bm90LWEtcmVhbC1zYWx0","givenName","Jean"]"#);
    let parsed_err = sd_jwt::verify(
        &SdJwt::parse(&format!("{issued}{stray}~")).unwrap(),
        &Resolver::new(),
    )
    .unwrap_err();
    assert_eq!(
        parsed_err,
        VerifyError::Crypto(CryptoError::UnreferencedDisclosure)
    );
    // a disclosure lifted from another credential is just as unreferenced
    let other = sd(&fixture());
    let foreign = SdJwt::parse(&other).unwrap().disclosures[0].to_owned();
    let err = sd_jwt::verify(
        &SdJwt::parse(&format!("{issued}{foreign}~")).unwrap(),
        &Resolver::new(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::Crypto(CryptoError::UnreferencedDisclosure)
    );
}

#[test]
fn duplicated_disclosure() {
    let f = fixture();
    let issued = sd(&f);
    let first = SdJwt::parse(&issued).unwrap().disclosures[0].to_owned();
    let err = sd_jwt::verify(
        &SdJwt::parse(&format!("{issued}{first}~")).unwrap(),
        &Resolver::new(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::Malformed(MalformedError::DuplicateDisclosure)
    );
}

/// A presentation of `f`'s credential with a key-binding JWT whose claims are `kb`, signed by `key`.
fn present_with(f: &Fixture, kb: serde_json::Value, key: &SigningKey) -> String {
    let selected = SdJwt::parse(&sd(f))
        .unwrap()
        .select(&["ageOver18"])
        .unwrap();
    let mut kb = kb;
    if kb.get("sd_hash").is_none() {
        kb["sd_hash"] = sd_jwt::digest(&selected).into();
    }
    selected
        + &forge(
            &serde_json::json!({"alg": "EdDSA", "typ": "kb+jwt"}),
            kb.to_string().as_bytes(),
            key,
        )
}

fn kb_claims(req: &PresentationRequest) -> serde_json::Value {
    serde_json::json!({"iat": now().timestamp(), "aud": req.aud, "nonce": req.nonce})
}

fn verify_p(
    p: &str,
    req: &PresentationRequest,
) -> Result<presentation::VerifiedPresentation, VerifyError> {
    presentation::verify_presentation(p, req, &Resolver::new(), now())
}

#[test]
fn honest_presentation_passes() {
    let f = fixture();
    let req = request();
    let v = verify_p(&present_with(&f, kb_claims(&req), &f.holder_key), &req).unwrap();
    assert_eq!(v.disclosed, ["ageOver18"]);
    let v = verify_p(
        &presentation::present(&sd(&f), &req, &f.holder_key, now()).unwrap(),
        &req,
    )
    .unwrap();
    assert_eq!(v.credential.credential_subject.given_name, None);
}

#[test]
fn key_binding_by_another_key() {
    let f = fixture();
    let req = request();
    let (other, _) = DidKey::generate();
    assert_eq!(
        verify_p(&present_with(&f, kb_claims(&req), &other), &req).unwrap_err(),
        VerifyError::Crypto(CryptoError::KeyBindingSignature)
    );
}

#[test]
fn wrong_nonce_audience_iat_and_sd_hash() {
    let f = fixture();
    let req = request();
    let mut kb = kb_claims(&req);
    kb["nonce"] = B64.encode([9u8; 16]).into();
    assert_eq!(
        verify_p(&present_with(&f, kb, &f.holder_key), &req).unwrap_err(),
        VerifyError::Policy(PolicyError::WrongNonce)
    );

    let mut kb = kb_claims(&req);
    kb["aud"] = "evil.example".into();
    assert_eq!(
        verify_p(&present_with(&f, kb, &f.holder_key), &req).unwrap_err(),
        VerifyError::Policy(PolicyError::WrongAudience)
    );

    for iat in [now() - Duration::minutes(6), now() + Duration::minutes(2)] {
        let mut kb = kb_claims(&req);
        kb["iat"] = iat.timestamp().into();
        assert_eq!(
            verify_p(&present_with(&f, kb, &f.holder_key), &req).unwrap_err(),
            VerifyError::Policy(PolicyError::StaleKeyBinding(iat))
        );
    }

    let mut kb = kb_claims(&req);
    kb["sd_hash"] = sd_jwt::digest("something else").into();
    assert_eq!(
        verify_p(&present_with(&f, kb, &f.holder_key), &req).unwrap_err(),
        VerifyError::Crypto(CryptoError::SdHashMismatch)
    );
}

#[test]
fn sd_hash_covers_exactly_the_chosen_disclosures() {
    let f = fixture();
    let req = request();
    let issued = sd(&f);
    let honest = presentation::present(&issued, &req, &f.holder_key, now()).unwrap();
    let parsed = SdJwt::parse(&honest).unwrap();
    let kb = parsed.key_binding.unwrap();
    // Someone who saw the full credential adds a disclosure the holder chose to withhold: it is
    // referenced by the issuer's digests, so only the key binding's sd_hash catches it.
    let all = SdJwt::parse(&issued).unwrap();
    let withheld = all
        .disclosures
        .iter()
        .find(|d| !parsed.disclosures.contains(d))
        .unwrap();
    let wider = format!("{}{withheld}~{kb}", parsed.without_key_binding);
    assert_eq!(
        verify_p(&wider, &req).unwrap_err(),
        VerifyError::Crypto(CryptoError::SdHashMismatch)
    );
    // Dropping the chosen disclosure after signing.
    let narrower = format!("{}~{kb}", parsed.jwt);
    assert_eq!(
        verify_p(&narrower, &req).unwrap_err(),
        VerifyError::Crypto(CryptoError::SdHashMismatch)
    );
    // A disclosure from another issuance is not referenced at all.
    let other = sd(&fixture());
    let foreign = SdJwt::parse(&other).unwrap().disclosures[0].to_owned();
    let spliced = format!("{}{foreign}~{kb}", parsed.without_key_binding);
    assert_eq!(
        verify_p(&spliced, &req).unwrap_err(),
        VerifyError::Crypto(CryptoError::UnreferencedDisclosure)
    );
}

#[test]
fn policy_tier_claims_expiry() {
    let f = fixture();
    let mut req = request();
    req.min_tier = KycTier::Enhanced;
    assert_eq!(
        verify_p(
            &presentation::present(&sd(&f), &req, &f.holder_key, now()).unwrap(),
            &req
        )
        .unwrap_err(),
        VerifyError::Policy(PolicyError::TierTooLow { have: 2, need: 3 })
    );
    let req = request();
    let without = present_with(&f, kb_claims(&req), &f.holder_key);
    let mut asks_more = req.clone();
    asks_more.claims.push("countryOfResidence".into());
    assert_eq!(
        verify_p(&without, &asks_more).unwrap_err(),
        VerifyError::Policy(PolicyError::MissingClaim("countryOfResidence".into()))
    );
    let mut expired = req.clone();
    expired.expires_at = now() - Duration::seconds(1);
    assert_eq!(
        verify_p(&present_with(&f, kb_claims(&req), &f.holder_key), &expired).unwrap_err(),
        VerifyError::Policy(PolicyError::RequestExpired(expired.expires_at))
    );
    let late = t(2027, 12, 1);
    let mut req_late = req.clone();
    req_late.expires_at = late + Duration::minutes(5);
    let mut kb = kb_claims(&req);
    kb["iat"] = late.timestamp().into();
    assert_eq!(
        presentation::verify_presentation(
            &present_with(&f, kb, &f.holder_key),
            &req_late,
            &Resolver::new(),
            late
        )
        .unwrap_err(),
        VerifyError::Policy(PolicyError::Expired(t(2027, 11, 26)))
    );
}

#[test]
fn presentation_without_key_binding() {
    let f = fixture();
    let only = SdJwt::parse(&sd(&f))
        .unwrap()
        .select(&["ageOver18"])
        .unwrap();
    assert_eq!(
        verify_p(&only, &request()).unwrap_err(),
        VerifyError::Malformed(MalformedError::MissingKeyBinding)
    );
}

#[test]
fn cnf_must_be_the_subject_key() {
    // An issuer bug or a spliced payload: cnf names a key other than credentialSubject.id's.
    let f = fixture();
    let mut claims: serde_json::Value = {
        let jwt = SdJwt::parse(&sd(&f)).unwrap().jwt.to_owned();
        serde_json::from_slice(&B64.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
    };
    // kyc-core's SD-JWT leaves credentialSubject.id out (it is implied by cnf); one that
    // carries it anyway must name cnf's key.
    let holder = claims["cnf"]["jwk"]["x"].as_str().unwrap().to_owned();
    let holder = DidKey::from_verifying_key(
        &ed25519_dalek::VerifyingKey::from_bytes(&B64.decode(holder).unwrap().try_into().unwrap())
            .unwrap(),
    );
    claims["credentialSubject"]["id"] = holder.as_str().into();
    let (_, stranger) = DidKey::generate();
    claims["cnf"]["jwk"]["x"] = B64.encode(stranger.verifying_key().as_bytes()).into();
    let h = serde_json::json!({"alg": "EdDSA", "typ": "vc+sd-jwt", "kid": f.issuer.key_id()});
    let jwt = forge(&h, claims.to_string().as_bytes(), &f.issuer_key);
    let err =
        sd_jwt::verify(&SdJwt::parse(&format!("{jwt}~")).unwrap(), &Resolver::new()).unwrap_err();
    assert_eq!(err, VerifyError::Crypto(CryptoError::HolderKeyMismatch));
}
