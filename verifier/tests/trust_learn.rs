//! `kyc-verify trust learn`: a merchant's trust file learns an issuer's key rotation from the
//! statement the retiring key signed, and from nothing else.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use chrono::{DateTime, Utc};
use kyc_core::key_rotation::KeyRotation;
use kyc_core::DidKey;
use kyc_verifier::TrustList;

fn learn(trust: &std::path::Path, statement: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-verify"))
        .args(["trust", "learn", "--trust"])
        .arg(trust)
        .arg("--statement")
        .arg(statement)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_trust_file_learns_a_rotation_signed_by_the_key_it_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let (old, old_did) = DidKey::generate();
    let (_, new_did) = DidKey::generate();
    let trust = dir.path().join("trust.toml");
    let original = format!("[[issuer]]\ndid = \"{old_did}\"\nname = \"Rotating KYC\"\n");
    std::fs::write(&trust, &original).unwrap();
    let at: DateTime<Utc> = "2027-03-04T05:06:07Z".parse().unwrap();

    // Signed by a key the file does not trust: refused, the file unchanged.
    let (stranger, _) = DidKey::generate();
    let forged = dir.path().join("forged.jwt");
    std::fs::write(&forged, KeyRotation::sign(&stranger, &new_did, at)).unwrap();
    let (code, stdout, stderr) = learn(&trust, &forged);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("not in the trust list"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&trust).unwrap(), original);

    // The issuer's /v1/key-rotations answer, signed by the trusted key: learnt.
    let answer = dir.path().join("rotations.json");
    let statement = KeyRotation::sign(&old, &new_did, at);
    std::fs::write(
        &answer,
        serde_json::json!({"statements": [statement]}).to_string(),
    )
    .unwrap();
    let (code, stdout, stderr) = learn(&trust, &answer);
    assert_eq!(code, 0, "{stderr}");
    let learnt: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(learnt[0]["changed"], true);
    let list = TrustList::from_toml(&std::fs::read_to_string(&trust).unwrap()).unwrap();
    assert!(list.same_issuer(old_did.as_str(), new_did.as_str()));
    let (_, retired) = list.get(old_did.as_str()).unwrap();
    assert_eq!(retired.until, Some(at));
    let (_, successor) = list.get(new_did.as_str()).unwrap();
    assert_eq!(
        successor.from,
        Some("2027-03-04T00:00:00Z".parse().unwrap()),
        "from the start of the day: credentials are dated to the day"
    );

    // Learnt again: nothing changes.
    let before = std::fs::read_to_string(&trust).unwrap();
    let (code, stdout, _) = learn(&trust, &answer);
    assert_eq!(code, 0);
    assert!(stdout.contains("\"changed\": false"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&trust).unwrap(), before);
}
