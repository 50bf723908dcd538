//! Crash safety of the real service: SIGKILL `kyc-issuer serve` while submissions are in
//! flight, restart it on the same data directory, and prove that every submission it had
//! acknowledged (201) is in the audit log with all its events, and that the log replays.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::collections::HashSet;
use std::process::Child;
use std::sync::{Arc, Mutex};

use kyc_core::DidKey;
use serde_json::{json, Value};

fn submission() -> Value {
    let (_, holder) = DidKey::generate();
    json!({
        "jurisdiction": "default",
        "holder": holder.as_str(),
        "identity": {"givenName": "A", "familyName": "B", "birthDate": "1980-05-05", "nationality": "FR"},
        "document": {"type": "passport", "mrz": "P<FRAB<<A<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<"}
    })
}

/// Submit from `clients` concurrent clients until `enough` are acknowledged, then SIGKILL.
async fn load_then_kill(
    child: &mut Child,
    base: &str,
    clients: usize,
    enough: usize,
) -> HashSet<String> {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (acked, client, url) = (
            Arc::clone(&acked),
            client.clone(),
            format!("{base}/v1/applications"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                match client.post(&url).json(&submission()).send().await {
                    Ok(r) if r.status() == 201 => {
                        let view: Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => return,
                        };
                        acked
                            .lock()
                            .unwrap()
                            .insert(view["id"].as_str().unwrap().to_owned());
                    }
                    // The server is gone: this request was never acknowledged.
                    _ => return,
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < enough {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for task in tasks {
        let _ = task.await;
    }
    let acked = acked.lock().unwrap().clone();
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all_acked = HashSet::new();
    for _round in 0..3 {
        let mut issuer = spawned_issuer::start(tmp.path(), "");
        let base = issuer.base.clone();
        all_acked.extend(load_then_kill(&mut issuer.child, &base, 32, 150).await);
    }
    // The restarted service opens the log (re-verifying the chain) and serves.
    let issuer = spawned_issuer::start(tmp.path(), "");
    let health: Value = reqwest::get(format!("{}/healthz", issuer.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(health["auditSize"].as_u64().unwrap() > 0);
    drop(issuer); // SIGKILL, as in the rounds above

    // Export and replay as an auditor would: valid, and no personal data.
    let (_, log) = spawned_issuer::replay_export(tmp.path());

    // Every acknowledged submission is there, down to its decision.
    let mut decided = HashSet::new();
    for line in log.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["kind"] == "decision" {
            decided.insert(entry["data"]["application"].as_str().unwrap().to_owned());
        }
    }
    let lost: Vec<_> = all_acked.difference(&decided).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged submissions lost: {lost:?}",
        lost.len()
    );
    assert!(all_acked.len() >= 450);
}
