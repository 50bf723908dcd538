//! Writes the fuzz corpus's signed seeds into the directory named by the first argument
//! (`fuzz/corpus`): a credential, an SD-JWT and a presentation of it, a status list and a
//! checkpoint, signed with the fixed keys of the fuzz targets (`fuzz/src/lib.rs`) by kyc-core's
//! own code, so that they pass the targets' signature checks. The credential is kyc-core's
//! `issued_sample` (a fictional holder). Each seed starts with the target's mode byte.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::credential::{issued_sample, TYP_VC_JWT};
use kyc_core::presentation::{present, PresentationRequest};
use kyc_core::status_list::{Bitstring, StatusListCredential};
use kyc_core::tlog::{merkle, Checkpoint, SignerKey};
use kyc_core::{jws, sd_jwt, DidKey, KycTier};

fn write(dir: &Path, target: &str, name: &str, mode: Option<u8>, body: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("the corpus directory");
    let mut bytes = mode.map(|m| vec![m]).unwrap_or_default();
    bytes.extend_from_slice(body);
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed written");
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: kyc-fuzz-seeds CORPUS_DIR");
    let out = Path::new(&out);
    let issuer_key = SigningKey::from_bytes(&[7; 32]);
    let issuer = DidKey::from_verifying_key(&issuer_key.verifying_key());
    let holder_key = SigningKey::from_bytes(&[3; 32]);
    let holder = DidKey::from_verifying_key(&holder_key.verifying_key());
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let credential = issued_sample(&issuer, &holder, now);

    // jws: a real vc+jwt (mode 0), and the credential's JSON for the target to sign (mode 1).
    let payload = serde_json::to_vec(&credential).expect("the credential serialises");
    write(
        out,
        "jws",
        "vc-jwt",
        Some(0),
        credential.sign_jwt(&issuer_key).unwrap().as_bytes(),
    );
    write(out, "jws", "payload", Some(1), &payload);

    // sd_jwt: as issued, as presented for the target's request (mode 0), and the issuer-signed
    // payload with its disclosures (mode 1: `payload \0 D1~…~Dn~`).
    let issued = sd_jwt::issue(&credential, &issuer_key).unwrap();
    write(out, "sd_jwt", "issued", Some(0), issued.as_bytes());
    let request = PresentationRequest {
        nonce: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        aud: "shop.example".into(),
        min_tier: KycTier::Basic,
        claims: vec!["ageOver18".into()],
        expires_at: now + Duration::minutes(5),
    };
    let presented = present(&issued, &request, &holder_key, now).unwrap();
    write(out, "sd_jwt", "presented", Some(0), presented.as_bytes());
    let parsed = sd_jwt::SdJwt::parse(&issued).unwrap();
    let signed = jws::CompactJws::parse(parsed.jwt).unwrap();
    let mut body = signed.payload.clone();
    body.push(0);
    for d in &parsed.disclosures {
        body.extend_from_slice(d.as_bytes());
        body.push(b'~');
    }
    write(out, "sd_jwt", "payload", Some(1), &body);

    // presentation_request: the request above as a wallet receives it.
    write(
        out,
        "presentation_request",
        "request",
        None,
        &serde_json::to_vec(&request).unwrap(),
    );

    // status_list: signed (mode 0), its payload (mode 1), its encodedList (mode 2).
    let mut list = Bitstring::new(131_072);
    list.set(104_729, true);
    let status = StatusListCredential::revocation(
        &issuer,
        "https://kyc.example/v1/status-lists/1",
        &list,
        now,
        Some(now + Duration::hours(1)),
    );
    write(
        out,
        "status_list",
        "jwt",
        Some(0),
        status.sign_jwt(&issuer_key).unwrap().as_bytes(),
    );
    let payload = serde_json::to_vec(&status).unwrap();
    let again = jws::sign(TYP_VC_JWT, Some(&issuer.key_id()), &payload, &issuer_key);
    assert!(kyc_core::status_list::verify_jwt(&again, &{
        let mut r = kyc_core::did::Resolver::new();
        r.preload(issuer.as_str()).unwrap();
        r
    })
    .is_ok());
    write(out, "status_list", "payload", Some(1), &payload);
    write(
        out,
        "status_list",
        "encoded",
        Some(2),
        list.encode().as_bytes(),
    );

    // checkpoint: signed by the log's key (mode 0), and a body with an extension line (mode 1).
    let signer = SignerKey::new("kyc.example/audit", SigningKey::from_bytes(&[9; 32])).unwrap();
    let leaves = [merkle::leaf_hash(b"a"), merkle::leaf_hash(b"b")];
    let checkpoint = Checkpoint::new("kyc.example/audit", 2, merkle::root(&leaves)).unwrap();
    write(
        out,
        "checkpoint",
        "signed",
        Some(0),
        checkpoint.sign(&signer).unwrap().as_bytes(),
    );
    let mut text = checkpoint.body();
    text.push_str("extension line\n");
    write(out, "checkpoint", "body", Some(1), text.as_bytes());
}
