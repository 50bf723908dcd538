//! Tier 2 earned by the checks alone: the real service with the local biometric provider (dlib,
//! offline) and a screening list, the wallet applying with a selfie, an ID card and liveness
//! captures made by `kyc-sample-images`, answering the issuer's challenge. No reviewer: the
//! application is approved at tier 2 when it is submitted, collected, and a shop that asks for
//! tier 2 and "over 18" accepts the presentation offline. Then the same selfie and card with
//! another person's head-turn frames: the liveness check sees the other face, and no credential.
//!
//! Needs the dlib models and test photos (`scripts/setup-biometrics.sh`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kyc_testkit::applicant;
use kyc_tests::{new_request, trust_toml, wallet, write, Program, Service};
use serde_json::{json, Value};

/// A valid TD1 zone for [`jonas`]: check digits per ICAO 9303 Part 3 §4.9 (weights 7, 3, 1),
/// composite over Part 5 §4.2.2's fields.
const JONAS_MRZ: &str =
    "IDD<<L01X00T529<<<<<<<<<<<<<<<\n8505154M3306013D<<<<<<<<<<<<<0\nBEISPIEL<<JONAS<<<<<<<<<<<<<<<\n";

fn jonas() -> Value {
    json!({"givenName": "Jonas", "familyName": "Beispiel", "birthDate": "1985-05-15",
           "nationality": "DE", "residence": {"country": "DE", "city": "Bonn"},
           "documentNumber": "L01X00T52"})
}

/// A sanctions list in FollowTheMoney JSON Lines, none of whose entities is either applicant.
const SANCTIONS: &str = r#"{"id":"NK-1","schema":"Person","properties":{"name":["Ivan Petrovich Sidorov"],"birthDate":["1961-08-04"],"nationality":["ru"],"topics":["sanction"]}}
{"id":"NK-2","schema":"Person","properties":{"name":["Erik Mustafa"],"birthDate":["1971-03-02"],"nationality":["tr"],"topics":["sanction"]}}
{"id":"NK-3","schema":"Organization","properties":{"name":["Acme Trading Ltd"],"topics":["sanction"]}}
"#;

/// The issuer's configuration beyond the fixture's: local biometrics, one screening list.
fn sections(list: &Path) -> String {
    format!(
        "[biometric]\nenabled = true\nprovider = \"local\"\nworkers = 1\n\
         [screening]\n[[screening.lists]]\nname = \"e2e-sanctions\"\nformat = \"ftm\"\npath = \"{}\"\n",
        list.display()
    )
}

/// `kyc-sample-images --out DIR --person PERSON`: DIR.
fn samples(dir: &Path, person: &str) -> PathBuf {
    let out = dir.join(person);
    Program::SampleImages
        .command(["--person", person, "--out"])
        .arg(&out)
        .run()
        .success();
    for file in [
        "selfie.jpg",
        "document.png",
        "frames/left.jpg",
        "frames/centre.jpg",
        "frames/right.jpg",
    ] {
        assert!(out.join(file).is_file(), "{file} not written");
    }
    out
}

/// Apply from a new wallet at `wallet_dir` with `identity`, `mrz`, the selfie and card in
/// `images` and the frames in `frames`; the application view.
fn apply(
    service: &Service,
    dir: &Path,
    wallet_dir: &Path,
    (identity, mrz): (Value, &str),
    images: &Path,
    frames: &Path,
) -> Value {
    wallet(wallet_dir, &["init"]).run().success();
    let name = wallet_dir.file_name().unwrap().to_str().unwrap();
    let identity_file = dir.join(format!("{name}-identity.json"));
    write(&identity_file, identity.to_string());
    let mrz_file = dir.join(format!("{name}-mrz.txt"));
    write(&mrz_file, mrz);
    let out = wallet(wallet_dir, &["apply", "--json", "--issuer", &service.base])
        .args(["--audience", Service::PUBLIC_URL, "--jurisdiction", "EU"])
        .arg("--identity")
        .arg(&identity_file)
        .args(["--document-type", "id_card", "--mrz"])
        .arg(&mrz_file)
        .arg("--document-image")
        .arg(images.join("document.png"))
        .arg("--selfie")
        .arg(images.join("selfie.jpg"))
        .arg("--frames")
        .arg(frames)
        .run();
    // The wallet asked for the challenge and showed the person what to do.
    assert!(out.stderr.contains("turn your head: "), "{out}");
    serde_json::from_str(out.success()).unwrap()
}

/// The check named `name` in an application view.
fn check<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {view}"))
}

fn reasons(check: &Value) -> Vec<&str> {
    check["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

#[test]
fn the_checks_earn_tier_2_and_a_shop_accepts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let list = dir.join("sanctions.ftm.jsonl");
    write(&list, SANCTIONS);
    let service = Service::start_with(dir, &sections(&list));
    let obama = samples(dir, "obama");
    let biden = samples(dir, "biden");

    let wallet_dir = dir.join("erika");
    let view = apply(
        &service,
        dir,
        &wallet_dir,
        (
            applicant::identity(),
            &format!("{}\n", applicant::ID_CARD_MRZ),
        ),
        &obama,
        &obama.join("frames"),
    );
    assert_eq!(view["state"], "approved", "{view:#}");
    assert_eq!(view["decision"]["action"], "approve", "{view:#}");
    assert_eq!(view["decision"]["level"], "low", "{view:#}");
    assert_eq!(view["decision"]["tier"], 2, "{view:#}");
    assert!(view["decision"]["reviewer"].is_null(), "{view:#}");
    let biometric = check(&view, "biometric");
    assert_eq!(biometric["outcome"], "clear", "{view:#}");
    assert_eq!(reasons(biometric), ["face_match", "liveness_passed"]);
    assert_eq!(reasons(check(&view, "screening")), ["screening_clear"]);
    for name in ["identity", "screening", "document", "risk"] {
        assert_eq!(check(&view, name)["outcome"], "clear", "{name}: {view:#}");
    }

    let collected: Value =
        serde_json::from_str(wallet(&wallet_dir, &["collect", "--json"]).run().success()).unwrap();
    assert_eq!(collected["tier"], 2, "{collected:#}");

    // Another applicant (own identity and document) with Obama's selfie and card but the frames
    // of someone else turning their head: the faces on the frames are not the selfie's.
    let other_wallet = dir.join("jonas");
    let other = apply(
        &service,
        dir,
        &other_wallet,
        (jonas(), JONAS_MRZ),
        &obama,
        &biden.join("frames"),
    );
    let biometric = check(&other, "biometric");
    assert_eq!(biometric["outcome"], "rejected", "{other:#}");
    assert!(
        reasons(biometric).contains(&"liveness_face_mismatch"),
        "{other:#}"
    );
    for name in ["identity", "screening", "document"] {
        assert_eq!(check(&other, name)["outcome"], "clear", "{name}: {other:#}");
    }
    assert_ne!(other["state"], "approved", "{other:#}");
    assert_ne!(other["decision"]["action"], "approve", "{other:#}");
    let refused = wallet(&other_wallet, &["collect"]).run();
    assert_eq!(refused.code, 1, "{refused}");
    assert!(
        refused.stderr.contains("no credential to collect"),
        "{refused}"
    );

    // A shop asking for tier 2 and "over 18" only, verifying offline against its synced cache.
    let issuer_did = Program::Issuer
        .command(["did", "--key"])
        .arg(dir.join("issuer-data/issuer-key.jwk"))
        .run()
        .success()
        .to_owned();
    let trust = dir.join("trust.toml");
    write(&trust, trust_toml(&issuer_did, "E2E Issuer"));
    let cache = dir.join("status-cache");
    Program::Verify
        .command(["status", "sync", "--issuer", &service.base, "--trust"])
        .arg(&trust)
        .arg("--cache")
        .arg(&cache)
        .run()
        .success();
    let store = dir.join("shop-nonces.jsonl");
    let store = store.to_str().unwrap();
    let request = dir.join("request.json");
    write(
        &request,
        new_request("shop.example", "2", "ageOver18", &["--replay-store", store]),
    );
    let presentation = dir.join("presentation");
    wallet(&wallet_dir, &["present", "--request"])
        .arg(&request)
        .arg("--out")
        .arg(&presentation)
        .run()
        .success();
    drop(service);
    let verdict = Program::Verify
        .command(["presentation", "--request"])
        .arg(&request)
        .arg(&presentation)
        .arg("--trust")
        .arg(&trust)
        .arg("--status-cache")
        .arg(&cache)
        .args(["--require-status", "--replay-store", store])
        .run()
        .assert_verdict(0, &[]);
    assert_eq!(verdict["kycTier"], 2, "{verdict:#}");
    assert_eq!(verdict["status"], "valid", "{verdict:#}");
    assert_eq!(
        verdict["disclosed"],
        json!({"ageOver18": true}),
        "{verdict:#}"
    );
}
