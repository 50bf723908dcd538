//! Personal data against the real `kyc-issuer serve`: the customer's export of their own data
//! (GDPR access), erasure by crypto-shredding once the retention period allows it, and what an
//! erased subject's holder and the auditor see afterwards.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use kyc_core::DidKey;
use serde_json::{json, Value};
use spawned_issuer::{
    audit_size, check, expect_problem, holder_token, replay_export, start, submission, submit,
    ADMIN_TOKEN, REVIEWER_TOKEN,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_erase_then_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "[retention]\nmin_days = 0\n");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();

    // An application taken to an issued credential; the holder learns its subject id.
    let view = submit(&client, &base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    let subject = view["subject"].as_str().unwrap().to_owned();
    assert_ne!(subject, id);
    let approved = client
        .post(format!("{base}/v1/review/{id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .json(&json!({"action": "approve", "tier": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let collect = format!("{base}/v1/applications/{id}/credential");
    let token = holder_token(&client, &base, &holder_key).await;
    let (_, body) = spawned_issuer::collect_body(&client, &base, 2).await;
    let batch: Value = client
        .post(&collect)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential_id = batch["credentials"][0]["id"].as_str().unwrap().to_owned();

    // Export: only the holder of one of the subject's applications.
    let export = format!("{base}/v1/subjects/{subject}/export");
    let before = audit_size(&client, &base).await;
    expect_problem(client.get(&export).send().await.unwrap(), 401).await;
    let (stranger, _) = DidKey::generate();
    let token = holder_token(&client, &base, &stranger).await;
    expect_problem(
        client
            .get(&export)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let token = holder_token(&client, &base, &holder_key).await;
    expect_problem(
        client
            .get(format!(
                "{base}/v1/subjects/00000000-0000-0000-0000-000000000000/export"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let token = holder_token(&client, &base, &holder_key).await;
    let response = client
        .get(&export)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["subject"], subject.as_str());
    let application = &data["applications"][0];
    assert_eq!(application["id"], id.as_str());
    assert_eq!(application["state"], "issued");
    assert_eq!(application["holder"], holder.as_str());
    assert_eq!(application["credential"], credential_id.as_str());
    assert_eq!(application["decision"]["reviewer"], "rita");
    assert!(!application["checks"].as_array().unwrap().is_empty());
    assert_eq!(application["submission"], submission(&holder));
    assert_eq!(data["credentials"][0]["id"], credential_id.as_str());
    assert_eq!(data["credentials"][0]["tier"], 0);
    assert_eq!(
        audit_size(&client, &base).await,
        before,
        "reading logs nothing"
    );

    // Erasure: admin only, known subjects only.
    let erase = format!("{base}/v1/subjects/{subject}");
    expect_problem(client.delete(&erase).send().await.unwrap(), 401).await;
    expect_problem(
        client
            .delete(&erase)
            .bearer_auth(REVIEWER_TOKEN)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    expect_problem(
        client
            .delete(format!(
                "{base}/v1/subjects/00000000-0000-0000-0000-000000000000"
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(audit_size(&client, &base).await, before);
    let erased = client
        .delete(&erase)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 204);
    let after = audit_size(&client, &base).await;
    assert_eq!(after, before + 1, "one subject_erased entry");

    // Erased: twice is a conflict; the data is gone for its holder too; nothing more is logged.
    let p = expect_problem(
        client
            .delete(&erase)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("erased"), "{p}");
    let token = holder_token(&client, &base, &holder_key).await;
    let p = expect_problem(
        client
            .get(&export)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
    assert_eq!(p["type"], "https://kyc.invalid/problems/erased");
    let token = holder_token(&client, &base, &holder_key).await;
    let (_, body) = spawned_issuer::collect_body(&client, &base, 1).await;
    expect_problem(
        client
            .post(&collect)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
    assert_eq!(audit_size(&client, &base).await, after);
    // What never was personal data stays readable: the application's state.
    let token = holder_token(&client, &base, &holder_key).await;
    let view: Value = client
        .get(format!("{base}/v1/applications/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["state"], "issued");
    assert_eq!(view["subject"], subject.as_str());

    // The log still replays, and records who erased whom.
    drop(issuer);
    let (report, log) = replay_export(tmp.path());
    assert_eq!(report.applications, 1);
    assert_eq!(report.credentials_issued, 2, "a batch of two");
    let erasures: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "subject_erased")
        .collect();
    assert_eq!(erasures.len(), 1);
    assert_eq!(
        erasures[0]["data"],
        json!({"subject": subject, "by": "adam"})
    );

    // The association index forgot the erased holder: another holder with the same document
    // number raises no signal.
    let issuer = start(tmp.path(), "[retention]\nmin_days = 0\n");
    let (_, stranger) = DidKey::generate();
    let view = submit(&client, &issuer.base, &submission(&stranger)).await;
    assert_eq!(check(&view, "risk")["outcome"], "clear", "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_period_blocks_erasure() {
    let tmp = tempfile::tempdir().unwrap();
    // The default retention: five years.
    let issuer = start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();
    let subject = submit(&client, &base, &submission(&holder)).await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = audit_size(&client, &base).await;
    let p = expect_problem(
        client
            .delete(format!("{base}/v1/subjects/{subject}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(p["type"], "https://kyc.invalid/problems/retention-period");
    let detail = p["detail"].as_str().unwrap();
    let until = detail
        .split_whitespace()
        .nth(5)
        .unwrap()
        .trim_end_matches(';');
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap();
    let days = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!((1824..=1826).contains(&days), "{detail}");
    assert_eq!(audit_size(&client, &base).await, before);
    // Still there.
    let token = holder_token(&client, &base, &holder_key).await;
    let export = client
        .get(format!("{base}/v1/subjects/{subject}/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
}
