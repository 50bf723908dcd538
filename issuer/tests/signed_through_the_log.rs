//! Issue 19 against the real service: every credential and status list the issuer's key signs
//! is named in the audit log by an entry written before the signature, and the auditor judges
//! any status list (one the service served, one signed with the stolen key) by the log.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::process::Command;

use kyc_core::status_list::{Bitstring, StatusListCredential};
use kyc_core::DidKey;
use serde_json::Value;
use spawned_issuer::{replay_export, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signature_is_in_the_log_and_lists_are_judged_by_it() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (_, _, credentials) = spawned_issuer::approved_batch(&client, &base, 2).await;
    let list_url = format!("{base}/v1/status-lists/1");
    let fetch = || async {
        client
            .get(&list_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = fetch().await;
    spawned_issuer::revoke(&client, &base, credentials[0]["id"].as_str().unwrap()).await;
    let after = fetch().await;
    assert_ne!(before, after, "a revocation publishes a new list");
    drop(issuer);

    // Every signed object is named by an entry: the credentials' two forms, both lists.
    let (report, log) = replay_export(tmp.path());
    assert_eq!(report.credentials_revoked, 2);
    let named: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .flat_map(|e| {
            ["credentialHash", "sdJwtHash", "listHash"]
                .map(|k| e["data"][k].as_str().map(str::to_owned))
        })
        .flatten()
        .collect();
    let mut signed: Vec<String> = credentials
        .iter()
        .flat_map(|c| {
            [
                c["jwt"].as_str().unwrap().to_owned(),
                c["sdJwt"]
                    .as_str()
                    .unwrap()
                    .split('~')
                    .next()
                    .unwrap()
                    .to_owned(),
            ]
        })
        .collect();
    signed.extend([before.clone(), after.clone()]);
    for jws in &signed {
        assert!(named.contains(&kyc_core::jws::input_digest(jws).unwrap()));
    }
    assert_eq!(
        named.len(),
        signed.len(),
        "the log names nothing else signed"
    );

    // The auditor: both served lists are the ones the log implies.
    let checkpoint = std::fs::read_to_string(tmp.path().join("audit.jsonl.checkpoint")).unwrap();
    let key = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["audit", "verifier-key", "--config"])
        .arg(tmp.path().join("issuer.toml"))
        .output()
        .unwrap();
    let key =
        kyc_core::tlog::VerifierKey::parse(String::from_utf8(key.stdout).unwrap().trim()).unwrap();
    let judge = |list: &str| {
        kyc_verifier::audit::check_status_list(log.as_bytes(), &checkpoint, &key, list).unwrap()
    };
    let verdict = judge(&before);
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.revoked_in_list, 0);
    let verdict = judge(&after);
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.revoked_in_list, 2);

    // Whoever reads the key file can sign a list that un-revokes; the auditor says so.
    let text = std::fs::read_to_string(tmp.path().join("data/issuer-key.jwk")).unwrap();
    let stolen = kyc_core::did::from_private_jwk(text.trim()).unwrap();
    let did = DidKey::from_verifying_key(&stolen.verifying_key());
    let published = kyc_core::status_list::verify_jwt(&after, &kyc_core::did::Resolver::new())
        .unwrap()
        .credential;
    let now = chrono::Utc::now();
    let forged = StatusListCredential::revocation(
        &did,
        &published.id,
        &Bitstring::new(0),
        now,
        Some(now + chrono::Duration::hours(1)),
    )
    .sign_jwt(&stolen)
    .unwrap();
    let verdict = judge(&forged);
    assert!(!verdict.valid);
    assert_eq!(
        verdict.reasons,
        ["not_in_log", "unrevokes_logged_revocation"]
    );
    assert!(verdict.first_difference.unwrap().revoked_in_log);
}
