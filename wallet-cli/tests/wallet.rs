//! The wallet without an issuer: the real `kyc-wallet` binary on a wallet directory, with
//! credentials signed here for its DID. Keystore refusals leave the files as they were.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{Duration, Utc};
use common::*;
use kyc_core::did::Resolver;
use kyc_core::presentation::verify_presentation;
use kyc_core::KycTier;

fn keystore(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("keystore.jwe")).unwrap()
}

/// A wallet holding one valid tier-2 credential; returns its directory guard and path.
fn wallet_with_credential() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    let did = init(&dir);
    let (id, sd_jwt, jwt) = tier2_credential(&did, Utc::now() + Duration::days(30));
    let stem = store(&dir, &id, &sd_jwt, &jwt);
    (tmp, dir, stem)
}

#[test]
fn init_creates_a_private_wallet_and_refuses_a_second_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested/wallet");
    let did = init(&dir);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("keystore.jwe")), 0o600);
    // The keystore is the documented JWE.
    let jwe = String::from_utf8(keystore(&dir)).unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(jwe.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "PBES2-HS512+A256KW");
    assert_eq!(header["enc"], "A256GCM");
    assert!(header["p2c"].as_u64().unwrap() >= 600_000);
    assert_eq!(
        B64.decode(header["p2s"].as_str().unwrap()).unwrap().len(),
        16
    );

    assert_eq!(wallet(&dir, &["did"]).ok(), did.as_str());
    let before = keystore(&dir);
    wallet(&dir, &["init"]).fails(2, "already exists");
    wallet_with(&dir, &["init"], Some("another password"), b"").fails(2, "already exists");
    assert_eq!(
        keystore(&dir),
        before,
        "a refused init changed the keystore"
    );
    assert_eq!(wallet(&dir, &["did", "--json"]).json()["did"], did.as_str());

    // A directory with other files in it is not taken over; a weak password is refused.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    wallet(&other, &["init"]).fails(2, "not empty");
    wallet_with(&tmp.path().join("weak"), &["init"], Some("short"), b"")
        .fails(2, "at least 8 characters");
    assert!(!tmp.path().join("weak/keystore.jwe").exists());
}

#[test]
fn no_wallet_and_exposed_wallet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    wallet(&dir, &["did"]).fails(2, "kyc-wallet init");
    wallet(&dir, &["list"]).fails(2, "kyc-wallet init");
    init(&dir);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    wallet(&dir, &["list"]).fails(2, "chmod 700");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(
        dir.join("keystore.jwe"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let r = request(
        "shop.example",
        KycTier::Unverified,
        &[],
        Duration::minutes(5),
    );
    let (id, sd, jwt) = tier2_credential(
        &kyc_core::DidKey::parse(wallet(&dir, &["did"]).ok()).unwrap(),
        Utc::now() + Duration::days(1),
    );
    store(&dir, &id, &sd, &jwt);
    let path = write_request(tmp.path(), "r.json", &r);
    wallet(&dir, &["present", "--request", path.to_str().unwrap()]).fails(2, "chmod 600");
}

#[test]
fn wrong_password_is_refused_and_changes_nothing() {
    let (tmp, dir, _) = wallet_with_credential();
    let r = request(
        "shop.example",
        KycTier::Verified,
        &["ageOver18"],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "request.json", &r);
    let before = keystore(&dir);
    let out = wallet_with(
        &dir,
        &["present", "--request", path.to_str().unwrap()],
        Some("not the password"),
        b"",
    );
    out.fails(1, "wrong password");
    assert_eq!(keystore(&dir), before);
}

/// Each damage: a clear message naming the keystore, exit 2, and the file left as it was.
#[test]
fn corrupted_keystore_is_reported_and_left_alone() {
    let (tmp, dir, _) = wallet_with_credential();
    let r = request(
        "shop.example",
        KycTier::Verified,
        &["ageOver18"],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "request.json", &r);
    let good = String::from_utf8(keystore(&dir)).unwrap();
    let parts: Vec<&str> = good.split('.').collect();

    let flip_in = |index: usize| {
        let mut bytes = B64.decode(parts[index]).unwrap();
        bytes[0] ^= 0x01;
        let mut p = parts.clone();
        let encoded = B64.encode(&bytes);
        p[index] = &encoded;
        p.join(".")
    };
    let mut flipped_byte = good.clone().into_bytes();
    flipped_byte[10] ^= 0x20; // inside the base64 header
    let damaged: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a flipped ciphertext byte",
            flip_in(3).into_bytes(),
            "do not authenticate",
        ),
        (
            "a flipped tag byte",
            flip_in(4).into_bytes(),
            "do not authenticate",
        ),
        (
            "a flipped IV byte",
            flip_in(2).into_bytes(),
            "do not authenticate",
        ),
        ("a flipped header byte", flipped_byte, "damaged"),
        (
            "truncated",
            good.as_bytes()[..good.len() - 20].to_vec(),
            "damaged",
        ),
        (
            "truncated to half",
            good.as_bytes()[..good.len() / 2].to_vec(),
            "damaged",
        ),
        ("empty", Vec::new(), "damaged"),
    ];
    for (what, bytes, needle) in damaged {
        std::fs::write(dir.join("keystore.jwe"), &bytes).unwrap();
        let out = wallet(&dir, &["present", "--request", path.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{what}: {out:#?}");
        assert!(out.stdout.is_empty(), "{what}: {out:#?}");
        assert!(out.stderr.contains("keystore.jwe"), "{what}: {out:#?}");
        assert!(out.stderr.contains(needle), "{what}: {out:#?}");
        assert!(!out.stderr.contains("wrong password"), "{what}: {out:#?}");
        assert_eq!(keystore(&dir), bytes, "{what}: the keystore was rewritten");
        // init does not "repair" it either.
        wallet(&dir, &["init"]).fails(2, "already exists");
        assert_eq!(keystore(&dir), bytes, "{what}: init touched the keystore");
    }
    std::fs::write(dir.join("keystore.jwe"), &good).unwrap();
    wallet(&dir, &["present", "--request", path.to_str().unwrap()]).ok();
}

#[test]
fn present_discloses_exactly_what_was_asked() {
    let (tmp, dir, stem) = wallet_with_credential();
    let r = request(
        "shop.example",
        KycTier::Verified,
        &["ageOver18", "countryOfResidence"],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "request.json", &r);
    let out = wallet(&dir, &["present", "--request", path.to_str().unwrap()]);
    let v = verify_presentation(out.ok(), &r, &Resolver::new(), Utc::now()).unwrap();
    assert_eq!(v.disclosed, ["ageOver18", "countryOfResidence"]);
    assert!(v.credential.credential_subject.given_name.is_none());
    assert!(
        out.stderr.contains("shop.example asks for KYC tier 2"),
        "{out:#?}"
    );
    assert!(out
        .stderr
        .contains(&format!("presenting credential {stem}")));
    assert!(out
        .stderr
        .contains("disclosing: tier, ageOver18, countryOfResidence"));
    assert!(out.stderr.contains(
        "keeping back: assuranceLevel, ageOver21, nationality, givenName, familyName, birthDate"
    ));

    // From standard input, with --disclose adding a claim, into a file, and as JSON.
    let r = request(
        "shop.example",
        KycTier::Basic,
        &["ageOver18"],
        Duration::minutes(5),
    );
    let file = tmp.path().join("presentation.txt");
    let out = wallet_with(
        &dir,
        &[
            "present",
            "--request",
            "-",
            "--disclose",
            "ageOver18,nationality",
            "--credential",
            &stem[..8],
            "--out",
            file.to_str().unwrap(),
            "--json",
        ],
        Some(PASSWORD),
        &serde_json::to_vec(&r).unwrap(),
    );
    let json = out.json();
    assert!(
        out.stderr.contains("more than asked: nationality"),
        "{out:#?}"
    );
    assert_eq!(
        json["disclosed"],
        serde_json::json!(["ageOver18", "nationality"])
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written.trim_end(), json["presentation"].as_str().unwrap());
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let v = verify_presentation(written.trim_end(), &r, &Resolver::new(), Utc::now()).unwrap();
    assert_eq!(v.disclosed, ["ageOver18", "nationality"]);

    // --disclose may not leave out what the merchant requires.
    let path = write_request(tmp.path(), "again.json", &r);
    wallet(
        &dir,
        &[
            "present",
            "--request",
            path.to_str().unwrap(),
            "--disclose",
            "nationality",
        ],
    )
    .fails(1, "leaves out ageOver18");
}

#[test]
fn present_refuses_an_expired_request() {
    let (tmp, dir, _) = wallet_with_credential();
    let mut r = request(
        "shop.example",
        KycTier::Basic,
        &["ageOver18"],
        Duration::minutes(5),
    );
    r.expires_at = Utc::now() - Duration::seconds(1);
    let path = write_request(tmp.path(), "expired.json", &r);
    // Refused before the password is asked for.
    wallet_with(
        &dir,
        &["present", "--request", path.to_str().unwrap()],
        None,
        b"",
    )
    .fails(1, "expired");
}

#[test]
fn present_refuses_a_claim_the_credential_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    let did = init(&dir);
    let (id, sd_jwt, jwt) = tier2_credential(&did, Utc::now() + Duration::days(30));
    // The same credential without its nationality disclosure: the issuer never attested it.
    let parsed = kyc_core::sd_jwt::SdJwt::parse(&sd_jwt).unwrap();
    let keep: Vec<&str> = kyc_core::credential::DISCLOSABLE_CLAIMS
        .into_iter()
        .filter(|c| *c != "nationality")
        .collect();
    let without = parsed.select(&keep).unwrap();
    store(&dir, &id, &without, &jwt);
    let r = request(
        "shop.example",
        KycTier::Verified,
        &["ageOver18", "nationality"],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "request.json", &r);
    wallet(&dir, &["present", "--request", path.to_str().unwrap()])
        .fails(1, "does not carry nationality");
    // Tier too low, an expired credential, and an empty wallet: each says why.
    let r = request("shop.example", KycTier::Enhanced, &[], Duration::minutes(5));
    let path = write_request(tmp.path(), "tier3.json", &r);
    wallet(&dir, &["present", "--request", path.to_str().unwrap()]).fails(1, "requires at least 3");
    let (id, sd, jwt) = tier2_credential(&did, Utc::now() - Duration::days(1));
    store(&dir, &id, &sd, &jwt);
    let out = wallet(&dir, &["present", "--request", path.to_str().unwrap()]);
    out.fails(1, "no credential in the wallet satisfies the request");
    assert!(out.stderr.contains("is expired"), "{out:#?}");

    let empty = tmp.path().join("empty");
    init(&empty);
    let r = request(
        "shop.example",
        KycTier::Unverified,
        &[],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "any.json", &r);
    wallet(&empty, &["present", "--request", path.to_str().unwrap()])
        .fails(1, "holds no credential");
    // A request that is not one.
    std::fs::write(&path, br#"{"nonce":"short","aud":"x"}"#).unwrap();
    wallet(&empty, &["present", "--request", path.to_str().unwrap()])
        .fails(2, "presentation request is invalid");
}

#[test]
fn list_and_show_summarise_without_personal_data() {
    let (_tmp, dir, stem) = wallet_with_credential();
    let list = wallet(&dir, &["list"]);
    assert!(list.ok().contains(&stem), "{list:#?}");
    assert!(list.ok().contains("No applications."));
    let json = wallet(&dir, &["list", "--json"]).json();
    assert_eq!(json["credentials"][0]["tier"], 2);
    assert_eq!(json["credentials"][0]["validity"], "valid");

    let show = wallet(&dir, &["show", &stem[..6]]);
    let text = show.ok();
    for needle in [
        "KYC tier      2 (assurance substantial)",
        "disclosable   assuranceLevel, ageOver18, ageOver21, countryOfResidence, nationality, givenName, familyName, birthDate",
        "revocation entry 42 in https://issuer.example/v1/status-lists/1",
        "(valid)",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    for personal in PERSONAL {
        assert!(!text.contains(personal), "show prints {personal}:\n{text}");
    }
    let json = wallet(&dir, &["show", &format!("urn:uuid:{stem}"), "--json"]).json();
    assert_eq!(json["status"]["index"], "42");
    wallet(&dir, &["show", "ffffffff"]).fails(2, "no credential ffffffff");

    // A credential bound to another DID is reported as not this wallet's.
    let (_, other) = kyc_core::DidKey::generate();
    let (id, sd, jwt) = tier2_credential(&other, Utc::now() + Duration::days(1));
    let stranger = store(&dir, &id, &sd, &jwt);
    wallet(&dir, &["show", &stranger]).fails(2, "another holder");
    let list = wallet(&dir, &["list", "--json"]).json();
    assert_eq!(list["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(list["damaged"].as_array().unwrap().len(), 1);
}

#[test]
fn apply_checks_inputs_and_password_before_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    init(&dir);
    let identity = tmp.path().join("identity.json");
    std::fs::write(
        &identity,
        r#"{"givenName":"Erika","familyName":"Mustermann","birthDate":"1990-01-31","nationality":"DE"}"#,
    )
    .unwrap();
    let mrz = tmp.path().join("mrz.txt");
    std::fs::write(&mrz, "IDD<<C01X00T478<<<<<<<<<<<<<<<\n").unwrap();
    // Port 9 (discard) on loopback: nothing listens in a test sandbox.
    let apply = |extra: &[&str], password: Option<&str>| {
        let mut args = vec![
            "apply",
            "--issuer",
            "http://127.0.0.1:9",
            "--identity",
            identity.to_str().unwrap(),
            "--document-type",
            "id_card",
        ];
        args.extend_from_slice(extra);
        wallet_with(&dir, &args, password, b"")
    };
    apply(&[], Some(PASSWORD)).fails(2, "--mrz");
    let mrz_arg = ["--mrz", mrz.to_str().unwrap()];
    apply(&mrz_arg, Some("not the password")).fails(1, "wrong password");
    apply(&mrz_arg, Some(PASSWORD)).fails(3, "cannot reach the issuer");
    let selfie = tmp.path().join("selfie.gif");
    std::fs::write(&selfie, b"GIF89a....").unwrap();
    let mut args = mrz_arg.to_vec();
    args.extend_from_slice(&["--selfie", selfie.to_str().unwrap()]);
    apply(&args, Some(PASSWORD)).fails(2, "not a JPEG or PNG image");
    std::fs::write(&identity, r#"{"givenName":"Erika"}"#).unwrap();
    apply(&mrz_arg, Some(PASSWORD)).fails(2, "missing text fields: familyName");
    assert!(wallet(&dir, &["list", "--json"]).json()["applications"]
        .as_array()
        .unwrap()
        .is_empty());
}
