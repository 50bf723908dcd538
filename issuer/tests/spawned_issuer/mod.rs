//! A real `kyc-issuer serve` on a loopback port chosen at run time, and the requests most tests
//! need: holder tokens, the audit log size, problem responses, replaying the exported log.
#![allow(dead_code, unused_imports)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use kyc_testkit::IssuerConfig;
use serde_json::Value;

pub(crate) use kyc_testkit::applicant::{submission, PERSONAL_DATA};
pub(crate) use kyc_testkit::tokens::{
    ADMIN_TOKEN, AUDITOR_TOKEN, COMPLIANCE_TOKEN, REVIEWER_TOKEN,
};
pub(crate) use kyc_testkit::{IssuerProcess as Issuer, PUBLIC_URL};

/// `dir/issuer.toml`: loopback, data under `dir/data`, a reviewer `rita`, an admin `adam`, a
/// compliance officer `carla` and an auditor `audrey`, a 64 KiB body limit and rate limits no
/// test's own pace reaches (the crash test submits from 32 clients at once) unless `extra` has
/// its own `[limits]`, then `extra` (more TOML sections).
pub(crate) fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("issuer.toml");
    let limits = if extra.contains("[limits]") {
        ""
    } else {
        "[limits]\nbody_bytes = 65536\nclient_requests_per_minute = 1000000\n\
         client_burst = 100000\nrequests_per_minute = 1000000\nburst = 100000\n"
    };
    IssuerConfig::new(dir.join("data"))
        .staff("rita", "reviewer", REVIEWER_TOKEN)
        .staff("adam", "admin", ADMIN_TOKEN)
        .staff("carla", "compliance", COMPLIANCE_TOKEN)
        .staff("audrey", "auditor", AUDITOR_TOKEN)
        .sections(limits)
        .sections(extra)
        .write(&path)
        .unwrap();
    path
}

/// Start the service on [`write_config`]`(dir, extra)`; returns once it listens.
pub(crate) fn start(dir: &Path, extra: &str) -> Issuer {
    let config = write_config(dir, extra);
    Issuer::spawn(Path::new(env!("CARGO_BIN_EXE_kyc-issuer")), &config).unwrap()
}

/// Submit `body`; the application view.
pub(crate) async fn submit(client: &reqwest::Client, base: &str, body: &Value) -> Value {
    let response = client
        .post(format!("{base}/v1/applications"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// A fresh single-use holder token signed by `key`.
pub(crate) async fn holder_token(client: &reqwest::Client, base: &str, key: &SigningKey) -> String {
    let nonce: Value = client
        .post(format!("{base}/v1/nonce"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    kyc_testkit::tokens::holder_token(key, PUBLIC_URL, &nonce["nonce"])
}

/// A fresh nonce of `POST /v1/nonce`.
pub(crate) async fn nonce(client: &reqwest::Client, base: &str) -> String {
    let nonce: Value = client
        .post(format!("{base}/v1/nonce"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    nonce["nonce"].as_str().unwrap().to_owned()
}

/// `n` fresh holder keys and the collect body proving them (over a fresh nonce).
pub(crate) async fn collect_body(
    client: &reqwest::Client,
    base: &str,
    n: usize,
) -> (Vec<SigningKey>, Value) {
    let keys: Vec<SigningKey> = (0..n).map(|_| kyc_core::DidKey::generate().0).collect();
    let body = kyc_testkit::tokens::collect_body(&keys, PUBLIC_URL, &nonce(client, base).await);
    (keys, body)
}

/// Approve application `id` at tier 0 as the reviewer `rita`; asserts the 200.
pub(crate) async fn approve_tier0(client: &reqwest::Client, base: &str, id: &str) {
    let approved = client
        .post(format!("{base}/v1/review/{id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .json(&serde_json::json!({"action": "approve", "tier": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
}

/// Collect a batch of `n` credentials of application `id` as its holder (`key`), with `n`
/// fresh key proofs; the answer.
pub(crate) async fn collect(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    key: &SigningKey,
    n: usize,
) -> reqwest::Response {
    let token = holder_token(client, base, key).await;
    let (_, body) = collect_body(client, base, n).await;
    client
        .post(format!("{base}/v1/applications/{id}/credential"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Entries in the audit log, from `/healthz`.
pub(crate) async fn audit_size(client: &reqwest::Client, base: &str) -> u64 {
    let health: Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["auditSize"].as_u64().unwrap()
}

/// Assert an RFC 9457 problem with `status` and no personal data; its body.
pub(crate) async fn expect_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    let text = body.to_string();
    for pii in PERSONAL_DATA {
        assert!(!text.contains(pii), "problem leaks personal data: {text}");
    }
    body
}

/// Export the log of the stopped service in `dir` with `kyc-issuer audit export`, replay it as
/// an auditor would, assert it is valid and free of personal data; the report and the log.
pub(crate) fn replay_export(dir: &Path) -> (kyc_verifier::audit::ReplayReport, String) {
    let config = dir.join("issuer.toml");
    let out = dir.join("audit.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["audit", "export", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let key = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["audit", "verifier-key", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let key =
        kyc_core::tlog::VerifierKey::parse(String::from_utf8(key.stdout).unwrap().trim()).unwrap();
    let checkpoint = std::fs::read_to_string(dir.join("audit.jsonl.checkpoint")).unwrap();
    let log = std::io::BufReader::new(std::fs::File::open(&out).unwrap());
    let report = kyc_verifier::audit::replay(log, &checkpoint, &key, None, |_| {}).unwrap();
    assert!(report.valid, "{report:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    for pii in PERSONAL_DATA {
        assert!(!text.contains(pii), "audit log carries personal data");
    }
    (report, text)
}

/// The check `name` of an application view.
pub(crate) fn check<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {view}"))
}

/// `GET {base}{path}` as the staff member with `token`; the JSON answer.
pub(crate) async fn staff_get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> Value {
    client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Run `kyc-issuer serve` on [`write_config`]`(dir, extra)`, expecting it to refuse to start;
/// its stderr.
pub(crate) fn refused_start(dir: &Path, extra: &str) -> String {
    let config = write_config(dir, extra);
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the issuer started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `POST {base}{path}` with `body`, authorised by `token` (staff or holder); the JSON answer.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> Value {
    client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// What `kyc-issuer audit commitment` prints for `--credential VALUE` or `--staff VALUE`
/// (`flag`), with the data directory of [`write_config`]`(dir, …)`.
pub(crate) fn commitment(dir: &Path, flag: &str, value: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["audit", "commitment", "--config"])
        .arg(dir.join("issuer.toml"))
        .args([flag, value])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A new holder's application, approved at tier 0 by rita and collected as a batch of `n`:
/// the holder's key, the application id and the credentials.
pub(crate) async fn approved_batch(
    client: &reqwest::Client,
    base: &str,
    n: usize,
) -> (SigningKey, String, Vec<Value>) {
    let (holder_key, holder) = kyc_core::DidKey::generate();
    let view = submit(client, base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    approve_tier0(client, base, &id).await;
    let batch: Value = collect(client, base, &id, &holder_key, n)
        .await
        .json()
        .await
        .unwrap();
    let credentials = batch["credentials"].as_array().unwrap().clone();
    assert_eq!(credentials.len(), n);
    (holder_key, id, credentials)
}

/// adam revokes credential `id` (and with it its approval); 204.
pub(crate) async fn revoke(client: &reqwest::Client, base: &str, id: &str) {
    let revoked = client
        .post(format!("{base}/v1/credentials/{id}/revoke"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"reason": "fraud"}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
}
