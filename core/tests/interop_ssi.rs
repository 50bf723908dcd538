//! Interoperability with an implementation nobody here wrote: SpruceID's `ssi` 0.16.
//!
//! Every format kyc-core produces must be accepted by ssi, and every form ssi produces for the
//! same credential must be accepted by kyc-core: `vc+jwt`, `vc+sd-jwt` with key binding, the
//! Bitstring Status List encoding, and the JSON-LD context.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound as _, Utc};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use ssi::claims::jws::{JwsPayload, JwsSlice};
use ssi::claims::sd_jwt::{JsonPointerBuf, SdAlg, SdJwt as SsiSdJwt, SdJwtPayload};
use ssi::claims::vc::v2::JsonCredential;
use ssi::claims::vc_jose_cose::JoseVc;
use ssi::claims::VerificationParameters;
use ssi::dids::{DIDKey, DIDResolver as _, VerificationMethodDIDResolver};
use ssi::jwk::JWK;
use ssi::status::bitstring_status_list::{
    EncodedList, SizedBitString, StatusList, StatusSize, TimeToLive,
};
use ssi::verification_methods::AnyMethod;

use kyc_core::credential::{
    CheckKind, CheckOutcome, CountryCode, Evidence, StatusEntry, DISCLOSABLE_CLAIMS,
};
use kyc_core::did::Resolver;
use kyc_core::presentation::{present, verify_presentation, PresentationRequest};
use kyc_core::sd_jwt::{self, SdJwt};
use kyc_core::status_list::{Bitstring, StatusListCredential};
use kyc_core::{DidKey, KycCredential, KycSubject, KycTier};

const STATUS_LIST_URL: &str = "https://issuer.example/v1/status-lists/1";

/// Now, to the second (the credential's times are whole seconds on the wire).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A full KYC credential valid from yesterday for a year (ssi checks validity against now).
fn credential(issuer: &DidKey, holder: &DidKey) -> KycCredential {
    let from = now() - Duration::days(1);
    let de = CountryCode::parse("DE").expect("country");
    let mut c = KycCredential::new(
        issuer,
        KycSubject {
            id: holder.as_str().into(),
            kyc_tier: KycTier::Verified,
            assurance_level: KycTier::Verified.assurance_level(),
            age_over_18: Some(true),
            age_over_21: Some(true),
            country_of_residence: Some(de),
            nationality: Some(de),
            given_name: Some("Erika".into()),
            family_name: Some("Mustermann".into()),
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 31),
        },
        from,
        Some(from + Duration::days(365)),
    );
    c.credential_status = Some(StatusEntry::revocation(STATUS_LIST_URL, 7));
    c.evidence.push(Evidence::new(
        CheckKind::Document,
        CheckOutcome::Clear,
        from,
    ));
    c
}

/// An issuer key made by ssi, with `kid` = its did:key URL, and that DID parsed by kyc-core.
fn ssi_issuer() -> (JWK, DidKey) {
    let mut jwk = JWK::generate_ed25519().expect("ssi key");
    let did = DIDKey::generate(&jwk).expect("ssi did:key");
    jwk.key_id = Some(DIDKey::generate_url(&jwk).expect("did url").to_string());
    let did = DidKey::parse(did.as_str()).expect("kyc-core parses ssi's did:key");
    (jwk, did)
}

/// kyc-core's private key as an ssi JWK (through the RFC 8037 OKP form kyc-core writes).
fn ssi_jwk(key: &SigningKey) -> JWK {
    serde_json::from_str(&kyc_core::did::private_jwk(key)).expect("ssi reads kyc-core's JWK")
}

/// ssi's verification parameters resolving `did:key` offline.
fn ssi_params() -> VerificationParameters<VerificationMethodDIDResolver<DIDKey, AnyMethod>> {
    VerificationParameters::from_resolver(DIDKey.into_vm_resolver::<AnyMethod>())
}

/// Verify a `vc+jwt` with ssi's VC-JOSE verifier; anything but `Ok(Ok(()))` is an error.
async fn ssi_verify_vc_jwt(compact: &str) -> Result<(), String> {
    let jws = JwsSlice::new(compact).map_err(|_| "not a compact JWS".to_string())?;
    let decoded = JoseVc::decode_any(jws).map_err(|e| e.to_string())?;
    match decoded.verify(ssi_params()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(invalid)) => Err(format!("invalid: {invalid}")),
        Err(e) => Err(format!("verification error: {e}")),
    }
}

/// The decoded JSON of a compact JWS segment (0 = header, 1 = payload).
fn jws_part(compact: &str, index: usize) -> Value {
    let part = compact.split('.').nth(index).expect("JWS segment");
    serde_json::from_slice(&B64.decode(part).expect("base64url")).expect("JSON")
}

/// The same JWS with its payload replaced (the signature kept, so it no longer matches).
fn with_payload(compact: &str, payload: &Value) -> String {
    let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
    parts[1] = B64.encode(payload.to_string());
    parts.join(".")
}

/// A payload ssi signs with exactly `typ: vc+jwt`.
struct VcJwt<'a>(&'a Value);

impl JwsPayload for VcJwt<'_> {
    fn typ(&self) -> Option<&str> {
        Some("vc+jwt")
    }

    fn payload_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(serde_json::to_vec(self.0).expect("JSON"))
    }
}

/// A concealed SD-JWT payload ssi signs with `typ: vc+sd-jwt`.
struct VcSdJwt<'a>(&'a SdJwtPayload);

impl JwsPayload for VcSdJwt<'_> {
    fn typ(&self) -> Option<&str> {
        Some("vc+sd-jwt")
    }

    fn payload_bytes(&self) -> Cow<'_, [u8]> {
        self.0.payload_bytes()
    }
}

/// A presentation request for `claims` made now, valid five minutes.
fn request(claims: &[&str]) -> PresentationRequest {
    PresentationRequest::new(
        "shop.example",
        KycTier::Verified,
        claims,
        now(),
        Duration::minutes(5),
    )
    .expect("request")
}

// kyc-core's vc+jwt verifies with ssi's VC-JOSE verifier; tampered payloads and signatures do not.
#[tokio::test]
async fn kyc_vc_jwt_verifies_in_ssi() {
    let (ik, issuer) = DidKey::generate();
    let (_, holder) = DidKey::generate();
    let jwt = credential(&issuer, &holder).sign_jwt(&ik).expect("sign");
    assert_eq!(jws_part(&jwt, 0)["typ"], "vc+jwt");
    ssi_verify_vc_jwt(&jwt)
        .await
        .expect("ssi accepts kyc-core's vc+jwt");

    let mut payload = jws_part(&jwt, 1);
    payload["credentialSubject"]["kycTier"] = json!(3);
    let tampered = with_payload(&jwt, &payload);
    assert!(
        ssi_verify_vc_jwt(&tampered).await.is_err(),
        "tampered payload"
    );

    let (head, sig) = jwt.rsplit_once('.').expect("JWS");
    let mut sig = B64.decode(sig).expect("base64url");
    sig[0] ^= 1;
    let bad_sig = format!("{head}.{}", B64.encode(sig));
    assert!(
        ssi_verify_vc_jwt(&bad_sig).await.is_err(),
        "tampered signature"
    );
}

// A credential ssi signs with its default VC-JOSE header (vc-ld+jwt, cty vc) verifies in kyc-core.
#[tokio::test]
async fn ssi_vc_ld_jwt_verifies_in_kyc_core() {
    let (jwk, issuer) = ssi_issuer();
    let (_, holder) = DidKey::generate();
    let c = credential(&issuer, &holder);
    let vc: JsonCredential =
        serde_json::from_value(serde_json::to_value(&c).expect("JSON")).expect("ssi reads it");
    let jws = JoseVc(vc)
        .sign(&jwk)
        .await
        .expect("ssi signs")
        .into_string();
    let header = jws_part(&jws, 0);
    assert_eq!(header["typ"], "vc-ld+jwt");
    assert_eq!(header["cty"], "vc");
    assert_eq!(header["kid"], json!(jwk.key_id));

    let v = kyc_core::credential::verify_jwt(&jws, &Resolver::new())
        .expect("kyc-core accepts ssi's vc-ld+jwt");
    assert_eq!(v.credential, c);
    assert_eq!(v.issuer, issuer);
}

// Everything of ssi's re-serialisation but `evidence` (which ssi writes as one object with a
// string `type`) is accepted by kyc-core: isolates the failure of the test above to `evidence`.
#[tokio::test]
async fn ssi_normalised_credential_without_evidence_verifies_in_kyc_core() {
    let (jwk, issuer) = ssi_issuer();
    let (_, holder) = DidKey::generate();
    let mut c = credential(&issuer, &holder);
    let vc: JsonCredential =
        serde_json::from_value(serde_json::to_value(&c).expect("JSON")).expect("ssi reads it");
    let mut normalised = serde_json::to_value(&vc).expect("JSON");
    assert_eq!(
        normalised["evidence"]["type"], "KycEvidence",
        "ssi's evidence shape"
    );
    normalised
        .as_object_mut()
        .expect("object")
        .remove("evidence");
    let jws = VcJwt(&normalised)
        .sign(&jwk)
        .await
        .expect("ssi signs")
        .into_string();

    let v = kyc_core::credential::verify_jwt(&jws, &Resolver::new())
        .expect("kyc-core accepts ssi's credential JSON without evidence");
    c.evidence.clear();
    assert_eq!(v.credential, c);
}

// A credential ssi signs with typ exactly vc+jwt verifies in kyc-core.
#[tokio::test]
async fn ssi_vc_jwt_verifies_in_kyc_core() {
    let (jwk, issuer) = ssi_issuer();
    let (_, holder) = DidKey::generate();
    let c = credential(&issuer, &holder);
    let payload = serde_json::to_value(&c).expect("JSON");
    let jws = VcJwt(&payload)
        .sign(&jwk)
        .await
        .expect("ssi signs")
        .into_string();
    assert_eq!(jws_part(&jws, 0)["typ"], "vc+jwt");

    let v = kyc_core::credential::verify_jwt(&jws, &Resolver::new())
        .expect("kyc-core accepts ssi's vc+jwt");
    assert_eq!(v.credential, c);
}

// kyc-core's SD-JWT verifies in ssi with exactly kyc-core's subject claims revealed.
#[tokio::test]
async fn kyc_sd_jwt_verifies_in_ssi() {
    let (ik, issuer) = DidKey::generate();
    let (_, holder) = DidKey::generate();
    let c = credential(&issuer, &holder);
    let sd = sd_jwt::issue(&c, &ik).expect("issue");

    let sd_jwt = SsiSdJwt::new(&sd).expect("ssi parses kyc-core's SD-JWT");
    let (revealed, verification) = sd_jwt
        .decode_reveal_verify_any(ssi_params())
        .await
        .expect("ssi decodes");
    assert_eq!(verification, Ok(()));
    assert_eq!(revealed.disclosures.len(), DISCLOSABLE_CLAIMS.len());
    let subject = revealed
        .claims()
        .private
        .get("credentialSubject")
        .expect("credentialSubject");
    // kyc-core's SD-JWT leaves `credentialSubject.id` out (it is the did:key of `cnf.jwk`).
    let mut expected = serde_json::to_value(&c.credential_subject).expect("JSON");
    expected.as_object_mut().expect("subject").remove("id");
    assert_eq!(*subject, expected);
}

// A selected subset of kyc-core's SD-JWT reveals only that claim in ssi.
#[tokio::test]
async fn kyc_sd_jwt_subset_reveals_only_that_claim_in_ssi() {
    let (ik, issuer) = DidKey::generate();
    let (_, holder) = DidKey::generate();
    let sd = sd_jwt::issue(&credential(&issuer, &holder), &ik).expect("issue");
    let only = SdJwt::parse(&sd)
        .expect("parse")
        .select(&["ageOver18"])
        .expect("select");

    let (revealed, verification) = SsiSdJwt::new(&only)
        .expect("ssi parses")
        .decode_reveal_verify_any(ssi_params())
        .await
        .expect("ssi decodes");
    assert_eq!(verification, Ok(()));
    let pointers: Vec<String> = revealed.disclosures.keys().map(|p| p.to_string()).collect();
    assert_eq!(pointers, ["/credentialSubject/ageOver18"]);
    let subject = revealed.claims().private.get("credentialSubject");
    assert_eq!(
        subject.expect("credentialSubject"),
        &json!({"kycTier": 2, "ageOver18": true})
    );
}

// kyc-core's presentation has a KB-JWT ssi decodes, whose sd_hash and cnf.jwk signature ssi checks.
#[tokio::test]
async fn kyc_presentation_key_binding_verifies_in_ssi() {
    let (ik, issuer) = DidKey::generate();
    let (hk, holder) = DidKey::generate();
    let sd = sd_jwt::issue(&credential(&issuer, &holder), &ik).expect("issue");
    let req = request(&["ageOver18", "countryOfResidence"]);
    let presentation = present(&sd, &req, &hk, now()).expect("present");

    let sd_jwt = SsiSdJwt::new(&presentation).expect("ssi parses the presentation");
    let (revealed, verification) = sd_jwt
        .decode_reveal_verify_any(ssi_params())
        .await
        .expect("ssi decodes");
    assert_eq!(verification, Ok(()));
    assert_eq!(revealed.disclosures.len(), 2);

    let kb = sd_jwt
        .decode_kb()
        .expect("ssi decodes the KB-JWT")
        .expect("a KB-JWT");
    assert_eq!(kb.signing_bytes.header.type_.as_deref(), Some("kb+jwt"));
    let claims = &kb.signing_bytes.payload;
    assert_eq!(claims.aud, req.aud);
    assert_eq!(claims.nonce.0, req.nonce);
    assert!(claims.sd_hash.verify(revealed.sd_alg, sd_jwt), "sd_hash");

    let cnf = revealed.claims().private.get("cnf").expect("cnf");
    let cnf: JWK = serde_json::from_value(cnf["jwk"].clone()).expect("ssi reads cnf.jwk");
    assert_eq!(cnf, ssi_jwk(&hk).to_public());
    let kb_check = kb.verify(VerificationParameters::from_resolver(&cnf)).await;
    assert!(
        matches!(kb_check, Ok(Ok(()))),
        "KB-JWT signature: {kb_check:?}"
    );

    let other = ssi_jwk(&DidKey::generate().0).to_public();
    let wrong = kb
        .verify(VerificationParameters::from_resolver(&other))
        .await;
    assert!(!matches!(wrong, Ok(Ok(()))), "KB-JWT under another key");
}

// An SD-JWT ssi issues (all 8 claims concealed, typ vc+sd-jwt, cnf.jwk) verifies in kyc-core,
// and kyc-core presents it to a verifier that accepts.
#[tokio::test]
async fn ssi_sd_jwt_verifies_and_presents_in_kyc_core() {
    let (jwk, issuer) = ssi_issuer();
    let (hk, holder) = DidKey::generate();
    let c = credential(&issuer, &holder);
    let mut payload = serde_json::to_value(&c).expect("JSON");
    payload["cnf"] = json!({"jwk": ssi_jwk(&hk).to_public()});
    let pointers: Vec<JsonPointerBuf> = DISCLOSABLE_CLAIMS
        .iter()
        .map(|n| format!("/credentialSubject/{n}").parse().expect("pointer"))
        .collect();
    let (concealed, disclosures) =
        SdJwtPayload::conceal(&payload, SdAlg::Sha256, &pointers).expect("ssi conceals");
    let mut sd = VcSdJwt(&concealed)
        .sign(&jwk)
        .await
        .expect("ssi signs")
        .into_string();
    sd.push('~');
    for d in &disclosures {
        sd.push_str(d.encoded.as_str());
        sd.push('~');
    }
    let header = jws_part(&sd, 0);
    assert_eq!(header["typ"], "vc+sd-jwt");
    assert_eq!(header["kid"], json!(jwk.key_id));

    let v = sd_jwt::verify(&SdJwt::parse(&sd).expect("parse"), &Resolver::new())
        .expect("kyc-core accepts ssi's SD-JWT");
    assert_eq!(v.verified.credential, c);
    let mut disclosed = v.disclosed.clone();
    disclosed.sort();
    let mut all = DISCLOSABLE_CLAIMS.map(str::to_owned).to_vec();
    all.sort();
    assert_eq!(disclosed, all);
    assert_eq!(&v.holder_key, holder.verifying_key().as_bytes());

    let req = request(&["ageOver18", "nationality"]);
    let presentation = present(&sd, &req, &hk, now()).expect("present");
    let vp = verify_presentation(&presentation, &req, &Resolver::new(), now())
        .expect("kyc-core accepts the presentation");
    let mut disclosed = vp.disclosed.clone();
    disclosed.sort();
    assert_eq!(disclosed, ["ageOver18", "nationality"]);
    assert_eq!(vp.issuer, issuer);
    assert!(vp.credential.credential_subject.given_name.is_none());
}

/// Status list indices set in both directions (first, byte-boundary, middle and last entries).
const SET_INDICES: [usize; 6] = [0, 7, 8, 42, 65_537, 131_071];

// kyc-core's encodedList decodes in ssi to the same bytes and bits.
#[test]
fn kyc_status_list_decodes_in_ssi() {
    let mut list = Bitstring::new(0);
    let mut expected = vec![0u8; list.len() / 8];
    for i in SET_INDICES {
        assert!(list.set(i as u64, true));
        expected[i / 8] |= 0x80 >> (i % 8);
    }
    let bytes = EncodedList::new(list.encode())
        .decode(None)
        .expect("ssi decodes kyc-core's list");
    assert_eq!(bytes, expected);
    let ssi_list = StatusList::from_bytes(bytes, TimeToLive::DEFAULT);
    for i in 0..list.len() {
        let ours = list.get(i as u64).expect("in range");
        assert_eq!(
            ssi_list.get(StatusSize::DEFAULT, i),
            Some(u8::from(ours)),
            "bit {i}"
        );
    }
}

// ssi's encodedList decodes in kyc-core to the same bits.
#[test]
fn ssi_status_list_decodes_in_kyc_core() {
    let mut bits =
        SizedBitString::new_zeroed(StatusSize::DEFAULT, kyc_core::status_list::MIN_ENTRIES);
    for i in SET_INDICES {
        bits.set(i, 1).expect("in range");
    }
    let encoded = serde_json::to_value(bits.encode()).expect("JSON");
    let encoded = encoded.as_str().expect("a string");
    let list = Bitstring::decode(encoded).expect("kyc-core decodes ssi's list");
    assert_eq!(list.len(), bits.len());
    for i in 0..bits.len() {
        assert_eq!(list.get(i as u64).map(u8::from), bits.get(i), "bit {i}");
    }
}

// kyc-core's signed status list credential verifies in ssi, and its list decodes there.
#[tokio::test]
async fn kyc_status_list_credential_verifies_in_ssi() {
    let (ik, issuer) = DidKey::generate();
    let mut list = Bitstring::new(0);
    list.set(7, true);
    let from = now() - Duration::minutes(1);
    let slc = StatusListCredential::revocation(
        &issuer,
        STATUS_LIST_URL,
        &list,
        from,
        Some(from + Duration::days(1)),
    );
    let jwt = slc.sign_jwt(&ik).expect("sign");
    ssi_verify_vc_jwt(&jwt)
        .await
        .expect("ssi accepts kyc-core's status list credential");
    let encoded = jws_part(&jwt, 1)["credentialSubject"]["encodedList"]
        .as_str()
        .expect("encodedList")
        .to_owned();
    let bytes = EncodedList::new(encoded).decode(None).expect("ssi decodes");
    let ssi_list = StatusList::from_bytes(bytes, TimeToLive::DEFAULT);
    assert_eq!(ssi_list.get(StatusSize::DEFAULT, 7), Some(1));
    assert_eq!(ssi_list.get(StatusSize::DEFAULT, 8), Some(0));
}

/// ssi's JSON-LD loader with the KYC context registered under its URL.
fn kyc_loader() -> ssi::json_ld::ContextLoader {
    ssi::json_ld::ContextLoader::default()
        .with_context_map_from(HashMap::from([(
            kyc_core::credential::KYC_CONTEXT.to_owned(),
            kyc_core::context::KYC_CONTEXT_DOCUMENT.to_owned(),
        )]))
        .expect("ssi accepts the KYC context document")
}

/// Expand a JSON-LD document with ssi (undefined terms are an error), as plain JSON.
async fn ssi_expand(doc: &Value) -> Result<Vec<Value>, String> {
    use ssi::json_ld::syntax::{IntoJsonWithContext as _, Parse as _};
    use ssi::json_ld::{CompactJsonLd, Expandable as _};

    let (doc, _) =
        ssi::json_ld::syntax::Value::parse_str(&doc.to_string()).map_err(|e| e.to_string())?;
    let expanded = CompactJsonLd(doc)
        .expand(&kyc_loader())
        .await
        .map_err(|e| e.to_string())?;
    expanded
        .into_iter()
        .map(|o| {
            serde_json::from_str(&o.into_json_with(&()).to_string()).map_err(|e| e.to_string())
        })
        .collect()
}

// The KYC context registers with ssi's loader, a credential expands with no undefined term, and
// kycTier (and the type-scoped evidence terms) expand to the https://w3id.org/kyc-credential# IRIs.
#[tokio::test]
async fn kyc_context_expands_in_ssi() {
    let (_, issuer) = DidKey::generate();
    let (_, holder) = DidKey::generate();
    let doc = serde_json::to_value(credential(&issuer, &holder)).expect("JSON");
    let expanded = ssi_expand(&doc).await.expect("ssi expands the credential");
    assert_eq!(expanded.len(), 1);
    let vc = &expanded[0];
    assert_eq!(
        vc["@type"],
        json!([
            "https://www.w3.org/2018/credentials#VerifiableCredential",
            "https://w3id.org/kyc-credential#KycCredential"
        ])
    );
    let subject = &vc["https://www.w3.org/2018/credentials#credentialSubject"][0];
    let tier = &subject["https://w3id.org/kyc-credential#kycTier"][0];
    assert_eq!(tier["@value"], json!(2), "{subject:#}");
    let evidence = &vc["https://www.w3.org/2018/credentials#evidence"][0];
    assert_eq!(
        evidence["https://w3id.org/kyc-credential#check"][0]["@value"], "document",
        "{evidence:#}"
    );

    let mut unknown = doc.clone();
    unknown["credentialSubject"]["favouriteColour"] = json!("blue");
    assert!(ssi_expand(&unknown).await.is_err(), "expansion is strict");
}
