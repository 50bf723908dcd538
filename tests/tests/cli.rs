//! The command-line programs end to end: `kyc-issuer` signs, `kyc-wallet` presents,
//! `kyc-verify` judges. Every verdict is checked by exit code (0 valid, 1 not valid,
//! 2 unreadable) and by its exact error codes; every run's stderr is checked for the subject's
//! personal data by the fixture ([`kyc_tests::Invocation::run`]).
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;

use chrono::{DateTime, SecondsFormat, Utc};
use kyc_tests::{
    edit_jws_payload, jws_payload, read, trust_toml, write, Issued, Program, BIRTH_DATE,
    FAMILY_NAME, GIVEN_NAME,
};
use serde_json::{json, Value};

const SHOP: &str = "shop.example";

fn both_forms(issued: &Issued) -> [(&'static str, &std::path::Path); 2] {
    [("vc+sd-jwt", &issued.sd_jwt), ("vc+jwt", &issued.jwt)]
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn instant(payload: &Value, field: &str) -> DateTime<Utc> {
    payload[field].as_str().unwrap().parse().unwrap()
}

#[test]
fn issue_verify_and_present_only_what_is_asked() {
    let issued = Issued::new();
    let did = |program: Program, key: &std::path::Path| {
        let out = program.command(["did", "--key"]).arg(key).run();
        out.success().to_owned()
    };
    assert_eq!(
        did(Program::TestSigner, &issued.issuer_key),
        issued.issuer_did
    );
    assert_eq!(did(Program::Wallet, &issued.holder_key), issued.holder_did);

    let status = issued.status.to_str().unwrap();
    for (form, credential) in both_forms(&issued) {
        let verdict = issued
            .verify_credential(credential, &["--status-list", status])
            .run()
            .assert_verdict(0, &[]);
        assert_eq!(verdict["form"], form);
        assert_eq!(verdict["status"], "valid");
        assert_eq!(verdict["issuer"], issued.issuer_did.as_str());
        assert_eq!(verdict["issuerName"], Issued::ISSUER_NAME);
        assert_eq!(verdict["subject"], issued.holder_did.as_str());
        assert_eq!(verdict["kycTier"], 2);

        // The same from standard input, with the newline `echo` or an editor adds.
        let text = format!("{}\n", read(credential));
        let verdict = issued
            .verify_credential("-", &["--status-list", status])
            .stdin(text)
            .run()
            .assert_verdict(0, &[]);
        assert_eq!(verdict["form"], form);
    }
    // Without a status list the credential is refused: revocation must be checked unless the
    // caller says otherwise (issue 12, finding 12), and the verdict names the choice.
    let verdict = Program::Verify
        .command(["credential"])
        .arg(&issued.sd_jwt)
        .arg("--trust")
        .arg(&issued.trust)
        .run()
        .assert_verdict(1, &["status_unavailable"]);
    assert_eq!(verdict["statusPolicy"], "required");
    // Offline by choice: said to be unchecked, not silently passed.
    let verdict = issued
        .verify_credential(&issued.sd_jwt, &["--allow-unchecked-status"])
        .run()
        .assert_verdict(0, &[]);
    assert_eq!(verdict["status"], "not_checked");
    assert_eq!(verdict["statusPolicy"], "unchecked_allowed");

    let request = issued.request("request.json", SHOP, "ageOver18,countryOfResidence");
    let presentation = issued.present(&request, "presentation");
    let out = issued.verify_presentation(&request, &presentation).run();
    let verdict = out.assert_verdict(0, &[]);
    assert_eq!(verdict["form"], "vc+sd-jwt");
    assert_eq!(verdict["status"], "valid");
    assert_eq!(verdict["subject"], issued.holder_did.as_str());
    assert_eq!(
        verdict["disclosed"],
        json!({"ageOver18": true, "countryOfResidence": "DE"})
    );
    for undisclosed in [
        "givenName",
        "familyName",
        "birthDate",
        "nationality",
        "ageOver21",
        GIVEN_NAME,
        FAMILY_NAME,
        BIRTH_DATE,
    ] {
        assert!(
            !out.stdout.contains(undisclosed),
            "{undisclosed} shown:\n{out}"
        );
    }
}

#[test]
fn untrusted_issuer() {
    let issued = Issued::new();
    let other_key = issued.path("other-issuer.jwk");
    let other_did = Program::TestSigner
        .command(["keygen", "--out"])
        .arg(&other_key)
        .run()
        .success()
        .to_owned();
    let trust = issued.path("other-trust.toml");
    write(&trust, trust_toml(&other_did, "Someone Else"));
    let trust = trust.to_str().unwrap();

    for (form, credential) in both_forms(&issued) {
        let verdict = Program::Verify
            .command(["credential"])
            .arg(credential)
            .args(["--trust", trust, "--allow-unchecked-status"])
            .run()
            .assert_verdict(1, &["untrusted_issuer"]);
        assert_eq!(verdict["form"], form);
        // The signature was checked with the issuer's own did:key: it is named, not trusted.
        assert_eq!(verdict["issuer"], issued.issuer_did.as_str());
        assert!(verdict.get("issuerName").is_none(), "{verdict}");
    }

    let request = issued.request("request.json", SHOP, "ageOver18");
    let presentation = issued.present(&request, "presentation");
    Program::Verify
        .command(["presentation", "--request"])
        .arg(&request)
        .arg(&presentation)
        .args(["--trust", trust, "--allow-unchecked-status"])
        .run()
        .assert_verdict(1, &["untrusted_issuer"]);
}

#[test]
fn validity_window_is_exact() {
    let issued = Issued::new();
    for (form, credential) in both_forms(&issued) {
        let payload = jws_payload(&read(credential));
        let (from, until) = (
            instant(&payload, "validFrom"),
            instant(&payload, "validUntil"),
        );
        let nanosecond = chrono::Duration::nanoseconds(1);
        for (at, exit, codes) in [
            (from - nanosecond, 1, &["not_yet_valid"][..]),
            (from, 0, &[]),
            (until - nanosecond, 0, &[]),
            (until, 1, &["expired"]),
            (
                "2000-01-01T00:00:00Z".parse().unwrap(),
                1,
                &["not_yet_valid"],
            ),
            ("2100-01-01T00:00:00Z".parse().unwrap(), 1, &["expired"]),
        ] {
            let verdict = issued
                .verify_credential(credential, &["--at", &rfc3339(at)])
                .run()
                .assert_verdict(exit, codes);
            assert_eq!(verdict["form"], form);
        }
    }
}

#[test]
fn revoked() {
    let issued = Issued::new();
    let revoked = issued.status_list("revoked.jwt", &[Issued::STATUS_INDEX]);
    let others = issued.status_list("others.jwt", &[Issued::STATUS_INDEX - 1, 4000]);
    for (form, credential) in both_forms(&issued) {
        let verdict = issued
            .verify_credential(credential, &["--status-list", revoked.to_str().unwrap()])
            .run()
            .assert_verdict(1, &["revoked"]);
        assert_eq!(verdict["form"], form);
        assert_eq!(verdict["status"], "revoked");
        // Revoking neighbours leaves this credential alone.
        let verdict = issued
            .verify_credential(credential, &["--status-list", others.to_str().unwrap()])
            .run()
            .assert_verdict(0, &[]);
        assert_eq!(verdict["status"], "valid");
    }

    let request = issued.request("request.json", SHOP, "ageOver18");
    let presentation = issued.present(&request, "presentation");
    let verdict = Program::Verify
        .command(["presentation", "--request"])
        .arg(&request)
        .arg(&presentation)
        .arg("--trust")
        .arg(&issued.trust)
        .arg("--status-list")
        .arg(&revoked)
        .run()
        .assert_verdict(1, &["revoked"]);
    assert_eq!(verdict["status"], "revoked");
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let issued = Issued::new();
    for (form, credential) in both_forms(&issued) {
        let original = read(credential);
        let tampered = edit_jws_payload(&original, |payload| {
            let tier = &mut payload["credentialSubject"]["kycTier"];
            assert_eq!(*tier, 2);
            *tier = json!(3);
        });
        assert_ne!(tampered, original);
        assert_eq!(jws_payload(&tampered)["credentialSubject"]["kycTier"], 3);
        let path = issued.path("tampered");
        write(&path, &tampered);
        let verdict = issued
            .verify_credential(&path, &[])
            .run()
            .assert_verdict(1, &["bad_signature"]);
        assert_eq!(verdict["form"], form);
        // Nothing from an unverified payload is reported.
        assert_eq!(verdict["issuer"], Value::Null);
        assert_eq!(verdict["kycTier"], Value::Null);
    }
}

#[test]
fn trailing_data_is_malformed() {
    let issued = Issued::new();
    let jwt = read(&issued.jwt);
    for garbage in [format!("{}.x", jwt.trim()), format!("{}.", jwt.trim())] {
        let path = issued.path("garbage");
        write(&path, garbage);
        issued
            .verify_credential(&path, &[])
            .run()
            .assert_verdict(2, &["malformed"]);
    }
}

#[test]
fn ten_megabytes_on_stdin_is_too_large_and_quick() {
    let issued = Issued::new();
    let huge = vec![b'A'; 10 * 1024 * 1024];
    let out = issued.verify_credential("-", &[]).stdin(huge.clone()).run();
    out.assert_verdict(2, &["too_large"]);
    assert!(out.elapsed.as_secs() < 5, "took {:?}", out.elapsed);

    let request = issued.request("request.json", SHOP, "ageOver18");
    let out = issued.verify_presentation(&request, "-").stdin(huge).run();
    out.assert_verdict(2, &["too_large"]);
    assert!(out.elapsed.as_secs() < 5, "took {:?}", out.elapsed);
}

#[test]
fn unreadable_input_exits_2() {
    let issued = Issued::new();
    let request = issued.request("request.json", SHOP, "ageOver18");
    let mut not_utf8 = read(&issued.jwt).into_bytes();
    not_utf8.insert(10, 0xff);
    for (name, contents) in [
        ("empty", Vec::new()),
        ("blank", b" \n\t\n".to_vec()),
        ("not-utf8", not_utf8),
        ("binary", vec![0xfe, 0xff, 0x00, 0x80]),
    ] {
        let path = issued.path(name);
        write(&path, contents);
        issued
            .verify_credential(&path, &[])
            .run()
            .assert_verdict(2, &["malformed"]);
        issued
            .verify_presentation(&request, &path)
            .run()
            .assert_verdict(2, &["malformed"]);
    }
}

#[test]
fn replayed_presentation() {
    let issued = Issued::new();
    let store = issued.path("seen.jsonl");
    let store_arg = store.to_str().unwrap();
    let request = issued.request_with(
        "request.json",
        SHOP,
        "ageOver18",
        &["--replay-store", store_arg],
    );
    let presentation = issued.present(&request, "presentation");

    // Without --replay-store each run of the one-shot CLI starts with an empty in-memory store:
    // runs are independent and the same presentation passes twice. Replay protection across
    // runs is the relying party's state, so it must pass a store file.
    for _ in 0..2 {
        issued
            .verify_presentation(&request, &presentation)
            .run()
            .assert_verdict(0, &[]);
    }

    // A rejected attempt does not burn the nonce.
    let revoked = issued.status_list("revoked.jwt", &[Issued::STATUS_INDEX]);
    Program::Verify
        .command(["presentation", "--request"])
        .arg(&request)
        .arg(&presentation)
        .arg("--trust")
        .arg(&issued.trust)
        .arg("--status-list")
        .arg(&revoked)
        .arg("--replay-store")
        .arg(&store)
        .run()
        .assert_verdict(1, &["revoked"]);

    let with_store = || {
        issued
            .verify_presentation(&request, &presentation)
            .arg("--replay-store")
            .arg(&store)
            .run()
    };
    with_store().assert_verdict(0, &[]);
    let verdict = with_store().assert_verdict(1, &["replayed"]);
    assert_eq!(verdict["status"], "valid");
    with_store().assert_verdict(1, &["replayed"]);

    let seen = read(&store);
    for personal in [GIVEN_NAME, FAMILY_NAME, BIRTH_DATE] {
        assert!(!seen.contains(personal), "replay store: {seen}");
    }

    // A fresh request (new nonce) for the same credential is a new checkout, once recorded:
    // a request the shop never issued is refused, whatever it asks.
    let unrecorded = issued.request("unrecorded.json", SHOP, "ageOver18");
    let presentation = issued.present(&unrecorded, "presentation-unrecorded");
    issued
        .verify_presentation(&unrecorded, &presentation)
        .arg("--replay-store")
        .arg(&store)
        .run()
        .assert_verdict(1, &["unknown_nonce"]);
    let again = issued.request_with(
        "again.json",
        SHOP,
        "ageOver18",
        &["--replay-store", store_arg],
    );
    let presentation = issued.present(&again, "presentation-again");
    issued
        .verify_presentation(&again, &presentation)
        .arg("--replay-store")
        .arg(&store)
        .run()
        .assert_verdict(0, &[]);
}

#[test]
fn presentation_for_another_request() {
    let issued = Issued::new();
    let request = issued.request("request.json", SHOP, "ageOver18");
    let presentation = issued.present(&request, "presentation");

    // Another request at the same shop, or at another one: a different nonce, checked first.
    for (name, aud) in [
        ("same-shop.json", SHOP),
        ("other-shop.json", "other.example"),
    ] {
        let other = issued.request(name, aud, "ageOver18");
        issued
            .verify_presentation(&other, &presentation)
            .run()
            .assert_verdict(1, &["wrong_nonce"]);
    }

    // The same nonce under another audience.
    let mut moved: Value = serde_json::from_str(&read(&request)).unwrap();
    moved["aud"] = json!("other.example");
    let moved_path = issued.path("moved.json");
    write(&moved_path, moved.to_string());
    issued
        .verify_presentation(&moved_path, &presentation)
        .run()
        .assert_verdict(1, &["wrong_audience"]);

    // The request it answers still accepts it.
    issued
        .verify_presentation(&request, &presentation)
        .run()
        .assert_verdict(0, &[]);
}

#[test]
fn missing_and_bad_files_are_refused_on_stderr() {
    let issued = Issued::new();
    let missing = issued.path("does-not-exist");
    let request = issued.request("request.json", SHOP, "ageOver18");
    let presentation = issued.present(&request, "presentation");

    let credential = |input: &std::path::Path, trust: &std::path::Path, extra: &[&str]| {
        Program::Verify
            .command(["credential"])
            .arg(input)
            .arg("--trust")
            .arg(trust)
            .args(extra)
            .run()
    };
    let out = credential(&missing, &issued.trust, &[]);
    out.assert_refused();
    assert!(out.stderr.contains("does-not-exist"), "{out}");
    let out = credential(&issued.jwt, &missing, &[]);
    out.assert_refused();
    assert!(out.stderr.contains("does-not-exist"), "{out}");
    let out = credential(
        &issued.jwt,
        &issued.trust,
        &["--status-list", missing.to_str().unwrap()],
    );
    out.assert_refused();
    assert!(out.stderr.contains("does-not-exist"), "{out}");
    let garbage_list = issued.path("garbage-status.jwt");
    write(&garbage_list, "not a status list");
    credential(
        &issued.jwt,
        &issued.trust,
        &["--status-list", garbage_list.to_str().unwrap()],
    )
    .assert_refused();

    let valid_did = issued.issuer_did.as_str();
    for (name, contents) in [
        ("not-toml", "[[issuer]\ndid = ".to_owned()),
        ("empty", String::new()),
        ("no-issuer", "[issuers]\n".to_owned()),
        ("bad-did", trust_toml("did:web:example.com", "Web")),
        (
            "unknown-field",
            format!("[[issuer]]\ndid = \"{valid_did}\"\nname = \"X\"\ntrusted = true\n"),
        ),
        ("no-name", format!("[[issuer]]\ndid = \"{valid_did}\"\n")),
    ] {
        let trust = issued.path(&format!("trust-{name}.toml"));
        write(&trust, contents);
        let out = credential(&issued.jwt, &trust, &[]);
        out.assert_refused();
        assert!(out.stderr.contains("trust"), "{name}: {out}");
    }

    let presentation_with = |request: &std::path::Path| {
        Program::Verify
            .command(["presentation", "--request"])
            .arg(request)
            .arg(&presentation)
            .arg("--trust")
            .arg(&issued.trust)
            .run()
    };
    presentation_with(&missing).assert_refused();
    let bad_request = issued.path("bad-request.json");
    write(&bad_request, r#"{"nonce": "AAAA", "aud": "shop.example"}"#);
    presentation_with(&bad_request).assert_refused();
    Program::Verify
        .command(["presentation", "--request"])
        .arg(&request)
        .arg(&missing)
        .arg("--trust")
        .arg(&issued.trust)
        .run()
        .assert_refused();

    let present =
        |key: &std::path::Path, credential: &std::path::Path, request: &std::path::Path| {
            Program::Wallet
                .command(["present", "--key"])
                .arg(key)
                .arg("--credential")
                .arg(credential)
                .arg("--request")
                .arg(request)
                .run()
        };
    present(&missing, &issued.sd_jwt, &request).assert_refused();
    present(&issued.holder_key, &missing, &request).assert_refused();
    present(&issued.holder_key, &issued.sd_jwt, &missing).assert_refused();
    present(&issued.holder_key, &issued.sd_jwt, &bad_request).assert_refused();

    Program::TestSigner
        .command(["sign", "--key"])
        .arg(&issued.issuer_key)
        .arg("--subject")
        .arg(&missing)
        .run()
        .assert_refused();
    Program::TestSigner
        .command(["sign", "--key"])
        .arg(&missing)
        .arg("--subject")
        .arg(&issued.subject)
        .run()
        .assert_refused();
    // keygen never overwrites a key.
    let before = read(&issued.issuer_key);
    Program::TestSigner
        .command(["keygen", "--out"])
        .arg(&issued.issuer_key)
        .run()
        .assert_refused();
    assert_eq!(read(&issued.issuer_key), before);
}

#[test]
fn exposed_issuer_key_is_refused() {
    let issued = Issued::new();
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&issued.issuer_key, std::fs::Permissions::from_mode(mode))
            .unwrap();
        let out = issued.sign(&["--form", "jwt"]);
        out.assert_refused();
        assert!(out.stderr.contains("chmod 600"), "mode {mode:o}: {out}");
        let out = Program::TestSigner
            .command(["status-list", "--key"])
            .arg(&issued.issuer_key)
            .args(["--url", Issued::STATUS_LIST_URL])
            .run();
        out.assert_refused();
        assert!(out.stderr.contains("chmod 600"), "mode {mode:o}: {out}");
    }
    std::fs::set_permissions(&issued.issuer_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    issued.sign(&["--form", "jwt"]).success();
}

#[test]
fn exposed_holder_key_is_refused() {
    let issued = Issued::new();
    let request = issued.request("request.json", "shop.example", "ageOver18");
    std::fs::set_permissions(&issued.holder_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Program::Wallet
        .command(["present", "--key"])
        .arg(&issued.holder_key)
        .arg("--credential")
        .arg(&issued.sd_jwt)
        .arg("--request")
        .arg(&request)
        .run();
    out.assert_refused();
    assert!(out.stderr.contains("chmod 600"), "{out}");
}

#[test]
fn bad_subject_errors_do_not_echo_personal_data() {
    let issued = Issued::new();
    // Each subject is wrong in a way whose error message could quote the personal data.
    for (name, subject) in [
        (
            "tier",
            json!({"id": issued.holder_did, "kycTier": GIVEN_NAME}),
        ),
        (
            "name-type",
            json!({"id": issued.holder_did, "kycTier": 2, "givenName": [GIVEN_NAME, FAMILY_NAME]}),
        ),
        (
            "birth-date",
            json!({"id": issued.holder_did, "kycTier": 2, "birthDate": format!("{BIRTH_DATE}x")}),
        ),
        ("holder", json!({"id": GIVEN_NAME, "kycTier": 2})),
        // A misspelt claim is refused rather than silently dropped, and not echoed.
        (
            "unknown-claim",
            json!({"id": issued.holder_did, "kycTier": 2, FAMILY_NAME: BIRTH_DATE}),
        ),
        (
            "misspelt-claim",
            json!({"id": issued.holder_did, "kycTier": 2, "birthdate": BIRTH_DATE}),
        ),
    ] {
        let path = issued.path(&format!("subject-{name}.json"));
        write(&path, subject.to_string());
        // The fixture fails the run if stderr carries any of the personal data.
        Program::TestSigner
            .command(["sign", "--key"])
            .arg(&issued.issuer_key)
            .arg("--subject")
            .arg(&path)
            .run()
            .assert_refused();
    }
}

#[test]
fn expired_recorded_request() {
    let issued = Issued::new();
    let store = issued.path("nonces.jsonl");
    let store = store.to_str().unwrap();
    let request = issued.request_with(
        "request.json",
        SHOP,
        "ageOver18",
        &["--ttl", "60", "--replay-store", store],
    );
    let presentation = issued.present(&request, "presentation");
    let expires_at = instant(&serde_json::from_str(&read(&request)).unwrap(), "expiresAt");
    let at = rfc3339(expires_at + chrono::Duration::seconds(1));
    issued
        .verify_presentation(&request, &presentation)
        .args(["--replay-store", store, "--at", &at])
        .run()
        .assert_verdict(1, &["request_expired"]);
    // Refused, not spent: within its time it is still accepted once.
    issued
        .verify_presentation(&request, &presentation)
        .args(["--replay-store", store])
        .run()
        .assert_verdict(0, &[]);
}

#[test]
fn request_edited_after_it_was_issued_is_unknown() {
    let issued = Issued::new();
    let store = issued.path("nonces.jsonl");
    let store = store.to_str().unwrap();
    let request = issued.request_with(
        "request.json",
        SHOP,
        "ageOver18",
        &["--replay-store", store],
    );
    // The customer's side lowers what is asked, keeping the nonce.
    let mut edited: Value = serde_json::from_str(&read(&request)).unwrap();
    edited["claims"] = json!([]);
    edited["minTier"] = json!(0);
    let edited_path = issued.path("edited.json");
    write(&edited_path, edited.to_string());
    let presentation = issued.present(&edited_path, "presentation");
    issued
        .verify_presentation(&edited_path, &presentation)
        .args(["--replay-store", store])
        .run()
        .assert_verdict(1, &["unknown_nonce"]);
}

#[test]
fn presented_by_a_wallet_that_does_not_hold_the_key() {
    let issued = Issued::new();
    let thief_key = issued.path("thief.jwk");
    Program::Wallet
        .command(["keygen", "--out"])
        .arg(&thief_key)
        .run()
        .success();
    let request = issued.request("request.json", SHOP, "ageOver18");
    let out = Program::Wallet
        .command(["present", "--key"])
        .arg(&thief_key)
        .arg("--credential")
        .arg(&issued.sd_jwt)
        .arg("--request")
        .arg(&request)
        .run();
    let presentation = issued.path("stolen");
    write(&presentation, out.success());
    issued
        .verify_presentation(&request, &presentation)
        .run()
        .assert_verdict(1, &["key_binding_signature"]);
}

#[test]
fn rotated_issuer_keys() {
    let issued = Issued::new();
    let valid_from = instant(&jws_payload(&read(&issued.sd_jwt)), "validFrom");
    let second = issued.path("second.jwk");
    let second_did = Program::Issuer
        .command(["keygen", "--out"])
        .arg(&second)
        .run()
        .success()
        .to_owned();
    let second_s = chrono::Duration::seconds(1);
    for (window, exit, codes) in [
        (
            format!("until = \"{}\"", rfc3339(valid_from + second_s)),
            0,
            &[][..],
        ),
        (
            format!("until = \"{}\"", rfc3339(valid_from)),
            1,
            &["key_retired"],
        ),
        (
            format!("from = \"{}\"", rfc3339(valid_from + second_s)),
            1,
            &["key_not_yet_active"],
        ),
    ] {
        let trust = issued.path("rotated.toml");
        write(
            &trust,
            format!(
                "[[issuer]]\nname = \"Rotating\"\n[[issuer.key]]\ndid = \"{}\"\n{window}\n\
                 [[issuer.key]]\ndid = \"{second_did}\"\n",
                issued.issuer_did
            ),
        );
        for (_, credential) in both_forms(&issued) {
            let verdict = Program::Verify
                .command(["credential"])
                .arg(credential)
                .arg("--trust")
                .arg(&trust)
                .arg("--allow-unchecked-status")
                .run()
                .assert_verdict(exit, codes);
            assert_eq!(verdict["issuerName"], "Rotating");
        }
    }
}

/// Issue 19: the operator's `kyc-issuer` signs nothing outside the audit log, and the test
/// kit's signer signs with test keys only.
#[test]
fn the_issuer_binary_signs_nothing_outside_the_log() {
    let help = Program::Issuer.command(["--help"]).run();
    let commands: Vec<&str> = help
        .success()
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.contains(&"serve"), "{help}");
    for gone in ["sign", "status-list"] {
        assert!(
            !commands.contains(&gone),
            "kyc-issuer {gone} is back:\n{help}"
        );
    }
    let issued = Issued::new();
    Program::Issuer
        .command(["sign", "--key"])
        .arg(&issued.issuer_key)
        .arg("--subject")
        .arg(&issued.subject)
        .run()
        .assert_refused();

    // An issuer's key (kyc-issuer keygen) is refused by the test signer.
    let production = issued.path("production.jwk");
    Program::Issuer
        .command(["keygen", "--out"])
        .arg(&production)
        .run()
        .success();
    let out = Program::TestSigner
        .command(["sign", "--key"])
        .arg(&production)
        .arg("--subject")
        .arg(&issued.subject)
        .run();
    out.assert_refused();
    assert!(out.stderr.contains("not a test key"), "{out}");
    let out = Program::TestSigner
        .command(["status-list", "--key"])
        .arg(&production)
        .args(["--url", Issued::STATUS_LIST_URL])
        .run();
    out.assert_refused();

    // So is a test key placed in an issuer's data directory.
    let data = issued.path("data");
    std::fs::create_dir_all(data.join("store")).unwrap();
    let placed = data.join("signing.jwk");
    std::fs::copy(&issued.issuer_key, &placed).unwrap();
    std::fs::set_permissions(&placed, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = Program::TestSigner
        .command(["status-list", "--key"])
        .arg(&placed)
        .args(["--url", Issued::STATUS_LIST_URL])
        .run();
    out.assert_refused();
    assert!(out.stderr.contains("data directory"), "{out}");
}
