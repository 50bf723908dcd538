//! Batch issuance through the real service (issue 12, findings 4 and 14): the holder proves a
//! key per credential; bad proofs are refused and change nothing; status indexes are drawn at
//! random from the current list and a restart resumes the stored allocation.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::path::Path;

use ed25519_dalek::SigningKey;
use kyc_core::did::Resolver;
use kyc_core::DidKey;
use serde_json::{json, Value};
use spawned_issuer::{
    audit_size, collect_body, expect_problem, holder_token, nonce, submission, PUBLIC_URL,
};

/// Submit for a new holder and approve tier 0: `(holder key, collect URL)`.
async fn approved(client: &reqwest::Client, base: &str) -> (SigningKey, String) {
    let (key, holder) = DidKey::generate();
    let view = spawned_issuer::submit(client, base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    spawned_issuer::approve_tier0(client, base, &id).await;
    (key, format!("{base}/v1/applications/{id}/credential"))
}

async fn post_collect(
    client: &reqwest::Client,
    base: &str,
    holder: &SigningKey,
    url: &str,
    body: &Value,
) -> reqwest::Response {
    let token = holder_token(client, base, holder).await;
    client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The status index of every credential of a collected batch: `(list URL, index)`.
fn indexes(batch: &Value) -> Vec<(String, u64)> {
    batch["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let v = kyc_core::credential::verify_jwt(c["jwt"].as_str().unwrap(), &Resolver::new())
                .unwrap();
            let status = v.credential.credential_status.unwrap();
            let index = status.index().unwrap();
            (status.status_list_credential, index)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_key_proofs_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = spawned_issuer::start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder, url) = approved(&client, &base).await;
    let before = audit_size(&client, &base).await;
    let keys: Vec<SigningKey> = (0..2).map(|_| DidKey::generate().0).collect();
    let proof = |k: &SigningKey, aud: &str, n: &str| {
        kyc_core::key_proof::sign(k, aud, n, chrono::Utc::now())
    };

    let mut bad: Vec<(&str, Value)> = Vec::new();
    // No proofs, and proofs that are not a list of proofs.
    bad.push(("empty", json!({"proofs": {"jwt": []}})));
    bad.push(("no proofs member", json!({})));
    let n = nonce(&client, &base).await;
    let many: Vec<String> = (0..51)
        .map(|_| proof(&DidKey::generate().0, PUBLIC_URL, &n))
        .collect();
    bad.push(("51 proofs", json!({"proofs": {"jwt": many}})));
    // Another issuer's audience.
    let n = nonce(&client, &base).await;
    bad.push((
        "audience",
        json!({"proofs": {"jwt": [proof(&keys[0], "https://other.example", &n)]}}),
    ));
    // A nonce the issuer never gave.
    bad.push((
        "unknown nonce",
        json!({"proofs": {"jwt": [proof(&keys[0], PUBLIC_URL, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]}}),
    ));
    // Two nonces in one request; one key twice.
    let (n1, n2) = (nonce(&client, &base).await, nonce(&client, &base).await);
    bad.push((
        "two nonces",
        json!({"proofs": {"jwt": [proof(&keys[0], PUBLIC_URL, &n1), proof(&keys[1], PUBLIC_URL, &n2)]}}),
    ));
    let n = nonce(&client, &base).await;
    bad.push((
        "a key twice",
        json!({"proofs": {"jwt": [proof(&keys[0], PUBLIC_URL, &n), proof(&keys[0], PUBLIC_URL, &n)]}}),
    ));
    // A proof whose signature is another key's than its kid names.
    let n = nonce(&client, &base).await;
    let honest = proof(&keys[0], PUBLIC_URL, &n);
    let other = proof(&keys[1], PUBLIC_URL, &n);
    let (head, _) = honest.split_once('.').unwrap();
    let forged = format!("{head}.{}", other.split_once('.').unwrap().1);
    bad.push(("forged", json!({"proofs": {"jwt": [forged]}})));

    for (what, body) in &bad {
        let p = expect_problem(post_collect(&client, &base, &holder, &url, body).await, 400).await;
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("eyJ"),
            "{what}: the detail echoes a proof: {p}"
        );
    }
    // A nonce is used once: the proofs of a collect cannot be sent again.
    let (_, body) = collect_body(&client, &base, 1).await;
    assert_eq!(
        post_collect(&client, &base, &holder, &url, &body)
            .await
            .status(),
        200
    );
    let after_one = audit_size(&client, &base).await;
    assert_eq!(after_one, before + 1, "one credential issued, nothing else");
    expect_problem(
        post_collect(&client, &base, &holder, &url, &body).await,
        400,
    )
    .await;
    assert_eq!(audit_size(&client, &base).await, after_one);
}

/// Finding 14: a restart made sled's id generator jump 2,000,000 ahead, so credentials issued
/// after it pointed into list 16 and lists 1–16 were published, mostly empty. Now the
/// allocation is stored: after a restart the same list goes on filling, at random positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_status_list_and_indexes_are_random() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: &Path = tmp.path();
    let client = reqwest::Client::new();
    let mut seen: Vec<(String, u64)> = Vec::new();
    for round in 0..3 {
        let issuer = spawned_issuer::start(dir, "");
        let base = issuer.base.clone();
        let (holder, url) = approved(&client, &base).await;
        let (_, body) = collect_body(&client, &base, 8).await;
        let response = post_collect(&client, &base, &holder, &url, &body).await;
        assert_eq!(response.status(), 200, "round {round}");
        let batch: Value = response.json().await.unwrap();
        seen.extend(indexes(&batch));
        // Only list 1 exists; list 2 is not published.
        let list2 = client
            .get(format!("{base}/v1/status-lists/2"))
            .send()
            .await
            .unwrap();
        expect_problem(list2, 404).await;
        drop(issuer); // kill -9: the restart the finding was about
    }
    let list1 = format!("{PUBLIC_URL}/v1/status-lists/1");
    assert!(
        seen.iter().all(|(list, _)| *list == list1),
        "every index in list 1: {seen:?}"
    );
    let mut positions: Vec<u64> = seen.iter().map(|(_, i)| *i).collect();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions.len(), 24, "no index handed out twice: {seen:?}");
    // Drawn at random over the list, not counted up: 24 draws from 131,072 positions all
    // below 1,000 (as a counter from 0 would give) happen with probability < 1e-40.
    assert!(
        positions.iter().any(|&i| i >= 1000),
        "indexes count up from 0: {positions:?}"
    );
}
