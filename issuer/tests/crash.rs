//! Crash safety of the real service: SIGKILL `kyc-issuer serve` while submissions are in
//! flight, restart it on the same data directory, and prove that every submission it had
//! acknowledged (201) is in the audit log with all its events, and that the log replays.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use kyc_core::DidKey;
use serde_json::{json, Value};

fn start(config: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening")
        .to_owned();
    (child, format!("http://{addr}"))
}

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
    let config = tmp.path().join("issuer.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\npublic_url = \"https://kyc.example\"\n",
            tmp.path().join("data").display()
        ),
    )
    .unwrap();
    let mut all_acked = HashSet::new();
    for _round in 0..3 {
        let (mut child, base) = start(&config);
        all_acked.extend(load_then_kill(&mut child, &base, 32, 150).await);
    }
    // The restarted service opens the log (re-verifying the chain) and serves.
    let (mut child, base) = start(&config);
    let health: Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(health["auditSize"].as_u64().unwrap() > 0);
    child.kill().unwrap();
    child.wait().unwrap();

    let out = tmp.path().join("audit.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["audit", "export", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::null())
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
    let checkpoint = std::fs::read_to_string(tmp.path().join("audit.jsonl.checkpoint")).unwrap();
    let report = kyc_verifier::audit::replay(
        std::io::BufReader::new(std::fs::File::open(&out).unwrap()),
        &checkpoint,
        &key,
        None,
        |_| {},
    )
    .unwrap();
    assert!(report.valid, "{report:?}");

    // Every acknowledged submission is there, down to its decision.
    let mut decided = HashSet::new();
    for line in std::fs::read_to_string(&out).unwrap().lines() {
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
