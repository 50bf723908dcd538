//! The issuer service end to end: the real `kyc-issuer serve` on a loopback port, spoken to over
//! HTTP like a customer, a reviewer and an admin would; then its exported audit log replayed by
//! the auditor. Bad requests are refused with problem+json and change nothing.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use kyc_core::did::Resolver;
use kyc_core::DidKey;
use serde_json::{json, Value};
use spawned_issuer::{
    audit_size, collect_body, expect_problem, holder_token, submission, ADMIN_TOKEN, AUDITOR_TOKEN,
    COMPLIANCE_TOKEN, PUBLIC_URL, REVIEWER_TOKEN,
};

fn start(dir: &Path) -> spawned_issuer::Issuer {
    spawned_issuer::start(dir, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_review_collect_revoke_and_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path());
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();

    // Submit: no screening provider is configured, so the application waits for a reviewer.
    let response = client
        .post(format!("{base}/v1/applications"))
        .json(&submission(&holder))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let view: Value = response.json().await.unwrap();
    let id = view["id"].as_str().unwrap().to_owned();
    assert_eq!(view["state"], "in_review");
    let screening = view["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "screening")
        .unwrap();
    assert_eq!(screening["outcome"], "not_performed");
    assert!(!view.to_string().contains("Erika"));
    let early = checkpoint(&client, &base).await;

    // The holder reads it with a fresh token; the same token twice is a replay.
    let token = holder_token(&client, &base, &holder_key).await;
    let url = format!("{base}/v1/applications/{id}");
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    expect_problem(
        client.get(&url).bearer_auth(&token).send().await.unwrap(),
        401,
    )
    .await;
    // Another key's token: not found, whether or not the id exists.
    let (stranger, _) = DidKey::generate();
    let token = holder_token(&client, &base, &stranger).await;
    expect_problem(
        client.get(&url).bearer_auth(&token).send().await.unwrap(),
        404,
    )
    .await;

    // Collecting before approval is a conflict.
    let collect = format!("{base}/v1/applications/{id}/credential");
    let token = holder_token(&client, &base, &holder_key).await;
    let (_, body) = collect_body(&client, &base, 1).await;
    expect_problem(
        client
            .post(&collect)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;

    // Review: the queue lists it; tier 2 is not backed by the checks; an admin is not a reviewer.
    let queue: Value = client
        .get(format!("{base}/v1/review/queue"))
        .bearer_auth(REVIEWER_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(queue
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id.as_str()));
    let review = format!("{base}/v1/review/{id}");
    let before = audit_size(&client, &base).await;
    expect_problem(
        client
            .post(&review)
            .bearer_auth(REVIEWER_TOKEN)
            .json(&json!({"action": "approve", "tier": 2}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    expect_problem(
        client
            .post(&review)
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"action": "approve", "tier": 0}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(
        audit_size(&client, &base).await,
        before,
        "refusals change nothing"
    );
    let approved: Value = client
        .post(&review)
        .bearer_auth(REVIEWER_TOKEN)
        .json(&json!({"action": "approve", "tier": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["decision"]["reviewer"], "rita");

    // Collect: a batch, one credential per key proven, both forms, each bound to its own key;
    // tier 0 attests nothing personal.
    let token = holder_token(&client, &base, &holder_key).await;
    let (keys, body) = collect_body(&client, &base, 2).await;
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
    let credential = &batch["credentials"][0];
    let verified =
        kyc_core::credential::verify_jwt(credential["jwt"].as_str().unwrap(), &Resolver::new())
            .unwrap();
    assert_eq!(
        verified.credential.credential_subject.id,
        DidKey::from_verifying_key(&keys[0].verifying_key()).as_str()
    );
    assert_ne!(verified.credential.credential_subject.id, holder.as_str());
    assert_eq!(
        verified.credential.credential_subject.kyc_tier,
        kyc_core::KycTier::Unverified
    );
    assert!(verified.credential.credential_subject.given_name.is_none());
    // Collecting again: a new batch for the same approval.
    let token = holder_token(&client, &base, &holder_key).await;
    let (_, body) = collect_body(&client, &base, 1).await;
    let again: Value = client
        .post(&collect)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["credentials"].as_array().unwrap().len(), 1);
    assert_ne!(again["credentials"][0]["id"], credential["id"]);
    assert_ne!(batch["credentials"][1]["id"], credential["id"]);
    let later = kyc_core::credential::verify_jwt(
        again["credentials"][0]["jwt"].as_str().unwrap(),
        &Resolver::new(),
    )
    .unwrap();

    // Status list before and after revocation; conditional GET.
    let status = verified.credential.credential_status.clone().unwrap();
    let list = client.get(&status.status_list_credential).send().await;
    assert!(list.is_err(), "the public URL is not this test's address");
    let list_url = status.status_list_credential.replace(PUBLIC_URL, &base);
    let first = client.get(&list_url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(first.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    let list =
        kyc_core::status_list::verify_jwt(&first.text().await.unwrap(), &Resolver::new()).unwrap();
    assert!(!list.is_set(&status, &verified.credential.issuer).unwrap());
    let cached = client
        .get(&list_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    let cid = credential["id"].as_str().unwrap();
    let revoke = format!("{base}/v1/credentials/{cid}/revoke");
    expect_problem(
        client
            .post(&revoke)
            .bearer_auth(REVIEWER_TOKEN)
            .json(&json!({"reason": "fraud"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(
        client
            .post(&revoke)
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"reason": "fraud"}))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    expect_problem(
        client
            .post(&revoke)
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"reason": "fraud"}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let list = client
        .get(&list_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let list = kyc_core::status_list::verify_jwt(&list, &Resolver::new()).unwrap();
    assert!(list.is_set(&status, &verified.credential.issuer).unwrap());
    // The approval is revoked: the later batch's credential too, and no batch after.
    let later_status = later.credential.credential_status.clone().unwrap();
    assert!(list
        .is_set(&later_status, &verified.credential.issuer)
        .unwrap());
    let token = holder_token(&client, &base, &holder_key).await;
    let (_, body) = collect_body(&client, &base, 1).await;
    expect_problem(
        client
            .post(&collect)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;

    // A rejected-by-policy application: collecting its credential is refused.
    // (Identity rejected: a birth date in the future.)
    let (k2, h2) = DidKey::generate();
    let mut bad = submission(&h2);
    bad["identity"]["birthDate"] = json!("2999-01-01");
    let rejected: Value = client
        .post(format!("{base}/v1/applications"))
        .json(&bad)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["state"], "rejected");
    let token = holder_token(&client, &base, &k2).await;
    let rid = rejected["id"].as_str().unwrap();
    let (_, body) = collect_body(&client, &base, 1).await;
    expect_problem(
        client
            .post(format!("{base}/v1/applications/{rid}/credential"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;

    // The log over HTTP: a checkpoint, an entry, its inclusion proof, and consistency between
    // an early checkpoint and the current one, each checked by the auditor's library.
    audit_over_http(&client, &base, &tmp.path().join("issuer.toml"), &early).await;

    // Stop, export, replay as an auditor would.
    drop(issuer);
    replay_export(tmp.path(), 2, 3, 3);
}

async fn checkpoint(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/v1/audit/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn verifier_key(config: &Path) -> kyc_core::tlog::VerifierKey {
    let key = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["audit", "verifier-key", "--config"])
        .arg(config)
        .output()
        .unwrap();
    kyc_core::tlog::VerifierKey::parse(String::from_utf8(key.stdout).unwrap().trim()).unwrap()
}

async fn audit_over_http(client: &reqwest::Client, base: &str, config: &Path, early: &str) {
    let get = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .bearer_auth(AUDITOR_TOKEN)
                .send()
                .await
                .unwrap()
        }
    };
    // Issue 12, finding 3: only the checkpoint is public. The entries and proofs need the
    // auditor's token: 401 without one, 403 with another role's.
    for path in [
        "/v1/audit/entries?from=0&to=1".to_owned(),
        "/v1/audit/proof/inclusion?seq=0&size=1".to_owned(),
        "/v1/audit/proof/consistency?from=1&to=2".to_owned(),
    ] {
        let anonymous = client.get(format!("{base}{path}")).send().await.unwrap();
        expect_problem(anonymous, 401).await;
        for token in [ADMIN_TOKEN, REVIEWER_TOKEN, COMPLIANCE_TOKEN] {
            let other = client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            expect_problem(other, 403).await;
        }
    }
    let key = verifier_key(config);
    let latest = checkpoint(client, base).await;
    let size_of = |note: &str| -> u64 { note.lines().nth(1).unwrap().parse().unwrap() };
    let (old, size) = (size_of(early), size_of(&latest));
    assert!(old < size);
    let entry = get("/v1/audit/entries?from=3&to=4".into()).await;
    assert_eq!(
        entry.headers()["content-type"].to_str().unwrap(),
        "application/jsonl"
    );
    let line = entry.text().await.unwrap();
    let proof = get(format!("/v1/audit/proof/inclusion?seq=3&size={size}"))
        .await
        .bytes()
        .await
        .unwrap();
    let verdict =
        kyc_verifier::audit::verify_inclusion_json(&proof, Some(line.trim()), &latest, &key);
    assert!(verdict.valid, "{verdict:?}");
    let proof = get(format!("/v1/audit/proof/consistency?from={old}&to={size}"))
        .await
        .bytes()
        .await
        .unwrap();
    let verdict = kyc_verifier::audit::verify_consistency_json(&proof, early, &latest, &key);
    assert!(verdict.valid, "{verdict:?}");
    // The consistency proof does not prove another pair of checkpoints.
    let verdict = kyc_verifier::audit::verify_consistency_json(&proof, &latest, &latest, &key);
    assert!(!verdict.valid);

    expect_problem(
        get(format!("/v1/audit/proof/inclusion?seq={size}&size={size}")).await,
        400,
    )
    .await;
    expect_problem(get("/v1/audit/entries?from=0&to=20000".into()).await, 400).await;
    expect_problem(get("/v1/audit/entries?from=0".into()).await, 400).await;
}

fn replay_export(dir: &Path, applications: u64, issued: u64, revoked: u64) {
    let (report, text) = spawned_issuer::replay_export(dir);
    assert_eq!(report.applications, applications);
    assert_eq!(report.credentials_issued, issued);
    assert_eq!(report.credentials_revoked, revoked);
    for pii in ["Erika", "Mustermann", "1990-01-31", "C01X00T47", "DE\""] {
        assert!(!text.contains(pii), "audit log carries personal data");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path());
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (_, holder) = DidKey::generate();
    let url = format!("{base}/v1/applications");
    let before = audit_size(&client, &base).await;

    let mut missing = submission(&holder);
    missing["identity"]
        .as_object_mut()
        .unwrap()
        .remove("birthDate");
    let p = expect_problem(client.post(&url).json(&missing).send().await.unwrap(), 400).await;
    assert!(p["detail"].as_str().unwrap().contains("/identity"), "{p}");

    let mut malformed = submission(&holder);
    malformed["identity"]["birthDate"] = json!("31.01.1990");
    expect_problem(
        client.post(&url).json(&malformed).send().await.unwrap(),
        400,
    )
    .await;

    let mut unknown = submission(&holder);
    unknown["jurisdiction"] = json!("XX");
    expect_problem(client.post(&url).json(&unknown).send().await.unwrap(), 422).await;

    let mut extra = submission(&holder);
    extra["favouriteColour"] = json!("blue");
    expect_problem(client.post(&url).json(&extra).send().await.unwrap(), 400).await;

    // A member named twice (the last would win in serde_json, the first elsewhere): refused.
    let text = submission(&holder).to_string();
    let twice = text.replacen("{", "{\"jurisdiction\":\"JP\",", 1);
    let p = expect_problem(
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(twice)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("duplicate member `jurisdiction`"),
        "{p}"
    );

    // Issue 12, finding 9: a value where a name of a fixed set belongs (serde would say
    // ``unknown variant `…` ``) and numbers of the wrong kind are not echoed in the problem
    // (`expect_problem` fails on any of the applicant's personal data).
    let mut echoed = submission(&holder);
    echoed["document"]["type"] = json!("Erika Mustermann 1990-01-31");
    let p = expect_problem(client.post(&url).json(&echoed).send().await.unwrap(), 400).await;
    assert!(!p.to_string().contains("Erika"), "{p}");
    for tier in [json!(1.5), json!(12_345_678_901_u64)] {
        let p = expect_problem(
            client
                .post(format!(
                    "{base}/v1/review/00000000-0000-0000-0000-000000000000"
                ))
                .bearer_auth(REVIEWER_TOKEN)
                .json(&json!({"action": "approve", "tier": tier}))
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        let text = p.to_string();
        assert!(
            !text.contains("1.5") && !text.contains("12345678901"),
            "{text}"
        );
    }

    let mut bad_holder = submission(&holder);
    bad_holder["holder"] = json!("did:web:example.com");
    expect_problem(
        client.post(&url).json(&bad_holder).send().await.unwrap(),
        400,
    )
    .await;

    let body = submission(&holder).to_string();
    expect_problem(
        client
            .post(&url)
            .header("content-type", "text/plain")
            .body(body.clone())
            .send()
            .await
            .unwrap(),
        415,
    )
    .await;
    expect_problem(
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(format!("{body} trailing"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(100_000));
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Holder tokens: none, malformed, signed by another key than its kid's, expired.
    let any = format!("{base}/v1/applications/00000000-0000-0000-0000-000000000000");
    expect_problem(client.get(&any).send().await.unwrap(), 401).await;
    let (victim_key, victim) = DidKey::generate();
    let honest = holder_token(&client, &base, &victim_key).await;
    let claims = honest.split('.').nth(1).unwrap().to_owned();
    let (forger, _) = DidKey::generate();
    let header = honest.split('.').next().unwrap().to_owned();
    let forged_input = format!("{header}.{claims}");
    use ed25519_dalek::Signer as _;
    let signature = forger.sign(forged_input.as_bytes());
    use base64::Engine as _;
    let forged = format!(
        "{forged_input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes())
    );
    let p = expect_problem(
        client.get(&any).bearer_auth(&forged).send().await.unwrap(),
        401,
    )
    .await;
    assert!(!p.to_string().contains(victim.as_str()), "{p}");
    expect_problem(
        client
            .get(&any)
            .bearer_auth("not.a.jwt")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let (key, did) = DidKey::generate();
    let old = Utc::now().timestamp() - 1000;
    let expired = kyc_core::jws::sign(
        "JWT",
        Some(&did.key_id()),
        json!({"iss": did.as_str(), "aud": PUBLIC_URL, "nonce": "x", "iat": old, "exp": old + 60})
            .to_string()
            .as_bytes(),
        &key,
    );
    expect_problem(
        client.get(&any).bearer_auth(&expired).send().await.unwrap(),
        401,
    )
    .await;
    // Staff routes: no token, unknown token.
    expect_problem(
        client
            .get(format!("{base}/v1/review/queue"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    expect_problem(
        client
            .get(format!("{base}/v1/review/queue"))
            .bearer_auth("guess")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    expect_problem(
        client
            .post(format!("{base}/v1/credentials/urn:uuid:x/revoke"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"reason": "fraud"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    expect_problem(
        client
            .get(format!("{base}/v1/status-lists/0"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    expect_problem(
        client.get(format!("{base}/v1/nope")).send().await.unwrap(),
        404,
    )
    .await;

    assert_eq!(
        audit_size(&client, &base).await,
        before,
        "no bad request reached the log"
    );
    drop(issuer);
    assert_key_is_private(tmp.path());
}

fn assert_key_is_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.join("data/issuer-key.jwk"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_documents_requested_then_uploaded() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path());
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (key, holder) = DidKey::generate();
    let view = spawned_issuer::submit(&client, &base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    let upload = format!("{base}/v1/applications/{id}/documents");
    let new_document = json!({"document": kyc_testkit::applicant::passport()});

    // Nothing was requested yet: an upload is a conflict and changes nothing.
    let before = audit_size(&client, &base).await;
    let token = holder_token(&client, &base, &key).await;
    expect_problem(
        client
            .post(&upload)
            .bearer_auth(&token)
            .json(&new_document)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(audit_size(&client, &base).await, before);

    let asked: Value = client
        .post(format!("{base}/v1/review/{id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .json(&json!({"action": "request_documents", "reasons": ["document_unreadable"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked["state"], "more_documents_requested");

    // Only documents may be uploaded; identity data stays as submitted.
    let token = holder_token(&client, &base, &key).await;
    let identity = json!({"identity": {"givenName": "Erika"}});
    expect_problem(
        client
            .post(&upload)
            .bearer_auth(&token)
            .json(&identity)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    let token = holder_token(&client, &base, &key).await;
    let bad = json!({"document": {"type": "selfie"}});
    expect_problem(
        client
            .post(&upload)
            .bearer_auth(&token)
            .json(&bad)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    let (stranger, _) = DidKey::generate();
    let token = holder_token(&client, &base, &stranger).await;
    expect_problem(
        client
            .post(&upload)
            .bearer_auth(&token)
            .json(&new_document)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(
        audit_size(&client, &base).await,
        before + 1,
        "only the reviewer's decision"
    );

    // The holder uploads; the application is checked again and waits for the reviewer.
    let token = holder_token(&client, &base, &key).await;
    let checked: Value = client
        .post(&upload)
        .bearer_auth(&token)
        .json(&new_document)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(checked["state"], "in_review");
    assert_eq!(checked["checks"].as_array().unwrap().len(), 6);

    drop(issuer);
    let (report, text) = spawned_issuer::replay_export(tmp.path());
    assert!(report.valid);
    assert_eq!(text.matches("\"documents_submitted\"").count(), 1);
}
