//! Issue 12, finding 3: the audit log must not let a shop that saw a credential's `id` find its
//! case (its risk reasons, its reviewer). Entries name credentials and staff by keyed
//! commitments; the auditor's replay still matches each revocation to an issuance, and whoever
//! holds the issuer's commitment key finds a given credential's or person's entries.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use serde_json::Value;
use spawned_issuer::{commitment, expect_problem, replay_export, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_names_credentials_and_staff_by_commitment() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();

    // Reviewed by rita, a batch of two collected, revoked by adam.
    let (_, _, batch) = spawned_issuer::approved_batch(&client, &base, 2).await;
    let ids: Vec<String> = batch
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    spawned_issuer::revoke(&client, &base, &ids[0]).await;
    // The entries are the auditor's: a shop holding a credential id reads nothing.
    expect_problem(
        client
            .get(format!("{base}/v1/audit/entries?from=0&to=1"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    drop(issuer);

    // The replay holds (each revocation names an issued credential), and nothing in the log
    // is a credential id or a staff name.
    let (report, log) = replay_export(tmp.path());
    assert_eq!(report.credentials_issued, 2);
    assert_eq!(report.credentials_revoked, 2);
    for id in &ids {
        assert!(!log.contains(id.as_str()), "the log names a credential id");
        assert!(!log.contains(id.trim_start_matches("urn:uuid:")));
    }
    for name in ["rita", "adam"] {
        assert!(!log.contains(name), "the log names {name}");
    }
    let entries: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_kind = |kind: &str| -> Vec<&Value> {
        entries
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| &e["data"])
            .collect()
    };

    // The operator turns an id into the commitment the log holds.
    let issued: Vec<String> = of_kind("credential_issued")
        .iter()
        .map(|d| d["credentialCommitment"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = ids
        .iter()
        .map(|id| commitment(tmp.path(), "--credential", id))
        .collect();
    assert_eq!(issued, expected);
    let revocations = of_kind("credential_revoked");
    let mut revoked: Vec<&str> = revocations
        .iter()
        .map(|d| d["credentialCommitment"].as_str().unwrap())
        .collect();
    revoked.sort_unstable();
    let mut sorted = expected.clone();
    sorted.sort_unstable();
    assert_eq!(revoked, sorted);
    let adam = commitment(tmp.path(), "--staff", "adam");
    assert!(revocations
        .iter()
        .all(|d| d["byCommitment"] == adam.as_str()));
    let decisions = of_kind("decision");
    let reviewed: Vec<&&Value> = decisions
        .iter()
        .filter(|d| d.get("reviewerCommitment").is_some())
        .collect();
    assert_eq!(reviewed.len(), 1, "{decisions:?}");
    assert_eq!(
        reviewed[0]["reviewerCommitment"],
        commitment(tmp.path(), "--staff", "rita").as_str()
    );
    // Commitments of different things under one key differ; one per credential.
    assert_ne!(adam, commitment(tmp.path(), "--staff", "rita"));
    assert_ne!(expected[0], expected[1]);
}
