//! Issue 19, item 4: `kyc-issuer key rotate` against a real data directory: the rotation is
//! logged with a statement the retiring key signed, published at `/v1/key-rotations`, learnt by
//! a merchant's trust file only through that signature, and credentials of both keys (and
//! the status list the new key signs for the old ones) verify afterwards.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::process::Command;

use kyc_core::key_rotation::KeyRotation;
use kyc_core::DidKey;
use kyc_verifier::status_cache::{self, StatusLists};
use kyc_verifier::StatusPolicy;
use serde_json::Value;
use spawned_issuer::{refused_start, replay_export, start, submission, submit};

fn rotate(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["key", "rotate", "--by", "adam", "--config"])
        .arg(dir.join("issuer.toml"))
        .output()
        .unwrap()
}

fn did_of(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["did", "--key"])
        .arg(dir.join("data/issuer-key.jwk"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_is_logged_published_and_learnt_through_the_old_keys_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();
    let view = submit(&client, &issuer.base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    spawned_issuer::approve_tier0(&client, &issuer.base, &id).await;
    let collect = |base: String| {
        let (client, id, key) = (client.clone(), id.clone(), holder_key.clone());
        async move {
            let batch: Value = spawned_issuer::collect(&client, &base, &id, &key, 1)
                .await
                .json()
                .await
                .unwrap();
            batch["credentials"][0]["jwt"].as_str().unwrap().to_owned()
        }
    };
    let before = collect(issuer.base.clone()).await;
    let old_did = did_of(tmp.path());

    // Not while the issuer runs (its database is locked): nothing changes.
    let refused = rotate(tmp.path());
    assert!(!refused.status.success());
    assert_eq!(did_of(tmp.path()), old_did);
    drop(issuer);

    // An interrupted rotation (its new key written, nothing else) blocks the start until a
    // second run finishes it.
    let next = tmp.path().join("data/issuer-key.jwk.next");
    kyc_issuer::signing_key::create(&next).unwrap();
    let stderr = refused_start(tmp.path(), "");
    assert!(stderr.contains("rotation was interrupted"), "{stderr}");
    let out = rotate(tmp.path());
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let (new_did, statement) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(did_of(tmp.path()), new_did);
    assert!(!next.exists());
    let said = KeyRotation::verify(statement).unwrap();
    assert_eq!(
        (said.previous.as_str(), said.current.as_str()),
        (old_did.as_str(), new_did)
    );

    // Served, and learnt by a merchant who trusted the old key, only through its signature.
    let issuer = start(tmp.path(), "");
    let served: Value = client
        .get(format!("{}/v1/key-rotations", issuer.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["statements"], serde_json::json!([statement]));
    let mut trust = kyc_verifier::TrustList::new(vec![kyc_verifier::trust::TrustedIssuer::single(
        old_did.as_str(),
        "Test KYC",
    )])
    .unwrap();
    let (impostor, _) = DidKey::generate();
    let forged = KeyRotation::sign(&impostor, &DidKey::parse(new_did).unwrap(), said.at);
    assert!(
        trust.learn(&forged).is_err(),
        "a rotation not signed by a trusted key"
    );
    assert!(trust.learn(statement).unwrap().changed);

    // The new key signs the next batch; both credentials verify against the learnt trust
    // file, with the status list the new key signed.
    let after = collect(issuer.base.clone()).await;
    let list = client
        .get(format!("{}/v1/status-lists/1", issuer.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lists = StatusLists::single(status_cache::verify_trusted(&list, &trust).unwrap());
    let policy = StatusPolicy {
        lists: Some(&lists),
        max_age: None,
        require: true,
    };
    for (credential, signer) in [(&before, old_did.as_str()), (&after, new_did)] {
        let verdict =
            kyc_verifier::verify_credential(credential, &trust, &policy, chrono::Utc::now());
        assert!(verdict.valid, "{signer}: {verdict:?}");
        assert_eq!(verdict.issuer.as_deref(), Some(signer));
    }
    drop(issuer);

    // The log holds the rotation once, and replays (its statement checked).
    let (_, log) = replay_export(tmp.path());
    assert_eq!(log.matches("\"key_rotated\"").count(), 1);
}
