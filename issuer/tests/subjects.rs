//! Personal data against the real `kyc-issuer serve`: the customer's export of their own data
//! (GDPR access), erasure by crypto-shredding once the retention period allows it, and what an
//! erased subject's holder and the auditor see afterwards.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use kyc_core::DidKey;
use kyc_issuer::pii::{self, SubjectKey};
use serde_json::{json, Value};
use spawned_issuer::{
    audit_size, check, commitment, expect_problem, holder_token, refused_start, replay_export,
    start, submission, submit, Issuer, ADMIN_TOKEN, PERSONAL_DATA, REVIEWER_TOKEN,
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
    spawned_issuer::approve_tier0(&client, &base, &id).await;
    let collect = format!("{base}/v1/applications/{id}/credential");
    let batch: Value = spawned_issuer::collect(&client, &base, &id, &holder_key, 2)
        .await
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
        json!({"subject": subject, "byCommitment": commitment(tmp.path(), "--staff", "adam")})
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

/// What an attacker holding a copy of files learns from them: every compact JWE in them, every
/// value that looks like a 256-bit key (base64url, hex, a JSON array of 32 bytes), and every
/// record those keys open, counting any 32-byte plaintext (a wrapped key) as one more key.
/// The format of the issuer's files is not assumed: it is a scan of their bytes.
struct DiskCopy {
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// A record a key found in the copy opens: its context (its JWE header's `ctx`) and the key.
#[derive(Debug)]
struct Opened {
    context: String,
    key: [u8; 32],
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl DiskCopy {
    /// Every file under `root`, every byte.
    fn read(root: &Path) -> Self {
        fn walk(dir: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, files);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    files.push((path, bytes));
                }
            }
        }
        let mut files = Vec::new();
        walk(root, &mut files);
        assert!(!files.is_empty());
        Self { files }
    }

    /// The files that hold `needle`.
    fn holding(&self, needle: &[u8]) -> Vec<&Path> {
        self.files
            .iter()
            .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
            .map(|(path, _)| path.as_path())
            .collect()
    }

    /// Maximal runs of bytes that `keep` accepts, in every file.
    fn runs(&self, keep: impl Fn(u8) -> bool) -> HashSet<String> {
        let mut runs = HashSet::new();
        for (_, bytes) in &self.files {
            for run in bytes.split(|b| !keep(*b)).filter(|r| !r.is_empty()) {
                runs.insert(String::from_utf8(run.to_vec()).unwrap());
            }
        }
        runs
    }

    /// Every compact JWE (five dot-separated base64url parts) with its header's `ctx`.
    fn jwes(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for run in self.runs(|b| is_b64url(b) || b == b'.') {
            // A JWE's header is a JSON object: its base64url starts `eyJ`.
            let mut rest = run.as_str();
            while let Some(at) = rest.find("eyJ") {
                let candidate = &rest[at..];
                rest = &rest[at + 3..];
                let parts: Vec<&str> = candidate.split('.').collect();
                if parts.len() != 5 {
                    continue;
                }
                let Some(context) = URL_SAFE_NO_PAD
                    .decode(parts[0])
                    .ok()
                    .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
                    .and_then(|h| h["ctx"].as_str().map(str::to_owned))
                else {
                    continue;
                };
                found.push((candidate.to_owned(), context));
            }
        }
        found.sort();
        found.dedup();
        found
    }

    /// Every value that looks like a 256-bit key.
    fn keys(&self) -> HashSet<[u8; 32]> {
        let mut keys = HashSet::new();
        for run in self.runs(is_b64url) {
            if let Ok(bytes) = URL_SAFE_NO_PAD.decode(&run) {
                if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                    keys.insert(key);
                }
            }
            if run.len() == 64 {
                if let Some(key) = hex_key(&run) {
                    keys.insert(key);
                }
            }
        }
        // JSON arrays of 32 numbers 0..=255 (how serde writes a `[u8; 32]`).
        for run in self.runs(|b| b.is_ascii_digit() || b == b',' || b == b'[' || b == b' ') {
            for array in run.split('[').skip(1) {
                let numbers: Vec<Option<u8>> =
                    array.split(',').map(|n| n.trim().parse().ok()).collect();
                if numbers.len() >= 32 {
                    if let Some(bytes) = numbers[..32].iter().copied().collect::<Option<Vec<u8>>>()
                    {
                        keys.insert(bytes.try_into().unwrap());
                    }
                }
            }
        }
        keys
    }

    /// Every record a key found in the copy opens, wrapped keys unwrapped as they are found.
    fn opened(&self) -> Vec<Opened> {
        let jwes = self.jwes();
        let mut known = self.keys();
        let mut fresh: Vec<[u8; 32]> = known.iter().copied().collect();
        let mut opened: Vec<Opened> = Vec::new();
        let mut closed: Vec<&(String, String)> = jwes.iter().collect();
        while !fresh.is_empty() {
            let mut next = Vec::new();
            closed.retain(|(jwe, context)| {
                for key in &fresh {
                    if let Ok(plaintext) = pii::open(&SubjectKey::from_bytes(*key), jwe, context) {
                        if let Ok(inner) = <[u8; 32]>::try_from(plaintext.as_slice()) {
                            if known.insert(inner) {
                                next.push(inner);
                            }
                        }
                        opened.push(Opened {
                            context: context.clone(),
                            key: *key,
                        });
                        return false;
                    }
                }
                true
            });
            fresh = next;
        }
        opened
    }
}

fn hex_key(text: &str) -> Option<[u8; 32]> {
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    bytes?.try_into().ok()
}

/// The forms a key's bytes could be written in.
fn key_forms(key: &[u8; 32]) -> Vec<(&'static str, Vec<u8>)> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        ("raw", key.to_vec()),
        ("base64url", URL_SAFE_NO_PAD.encode(key).into_bytes()),
        ("base64", STANDARD.encode(key).into_bytes()),
        ("hex", hex.clone().into_bytes()),
        ("HEX", hex.to_uppercase().into_bytes()),
        ("JSON array", serde_json::to_vec(&key.to_vec()).unwrap()),
    ]
}

/// Stop the service as its operator does (SIGTERM: requests finish, the store and the log
/// are flushed and closed) and wait for it to exit cleanly.
async fn terminate(issuer: &mut Issuer) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &issuer.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = issuer.child.try_wait().unwrap() {
            break exit;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

/// Issue 12, finding 2: after `DELETE /v1/subjects/{id}` and a clean shutdown, no copy of the
/// subject's key is left in any file the issuer wrote (the data directory, the key store, and
/// beside the configuration, where the KEK is), in any encoding, and no record of the subject
/// opens under any key found there, the KEK included. The data directory alone (a backup
/// without the KEK) opens no one's records at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_no_key_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let retention = "[retention]\nmin_days = 0\n";
    let mut issuer = start(tmp.path(), retention);
    let base = issuer.base.clone();
    let client = reqwest::Client::new();

    // The subject to erase, taken to an issued credential (so its credential is sealed too),
    // and a subject that stays.
    let (holder_key, holder) = DidKey::generate();
    let view = submit(&client, &base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    let erased = view["subject"].as_str().unwrap().to_owned();
    spawned_issuer::approve_tier0(&client, &base, &id).await;
    let collected = spawned_issuer::collect(&client, &base, &id, &holder_key, 2).await;
    assert_eq!(collected.status(), 200);
    let (kept_holder_key, kept_holder) = DidKey::generate();
    let kept = submit(&client, &base, &submission(&kept_holder)).await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let of = |subject: &str| {
        let records = format!("subject/{subject}/");
        let key = format!("subject-key/{subject}/");
        move |context: &str| context.starts_with(&records) || context.starts_with(&key)
    };

    // Before: with everything on disk the scan finds each subject's key and opens its records
    // (what it would find afterwards if a copy of the key were left).
    let before = DiskCopy::read(tmp.path());
    let opened = before.opened();
    let submission_context = format!("subject/{erased}/application/{id}/submission");
    let key = opened
        .iter()
        .find(|o| o.context == submission_context)
        .expect("the scan opens a subject's submission while its key exists")
        .key;
    assert!(opened.iter().any(|o| of(&kept)(&o.context)));
    // Personal data is on disk only sealed.
    for value in PERSONAL_DATA {
        assert!(
            before.holding(value.as_bytes()).is_empty(),
            "{value} in clear"
        );
    }

    let erase = client
        .delete(format!("{base}/v1/subjects/{erased}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(erase.status(), 204);
    terminate(&mut issuer).await;

    let after = DiskCopy::read(tmp.path());
    for (form, bytes) in key_forms(&key) {
        let holding = after.holding(&bytes);
        assert!(
            holding.is_empty(),
            "the erased subject's key ({form}) is still in {holding:?}"
        );
    }
    // Its sealed records are still there; nothing found on disk opens any of them.
    let sealed = after.jwes();
    assert!(sealed
        .iter()
        .any(|(_, context)| *context == submission_context));
    let opened = after.opened();
    let leaked: Vec<&String> = opened
        .iter()
        .map(|o| &o.context)
        .filter(|c| of(&erased)(c))
        .collect();
    assert!(leaked.is_empty(), "erased records open: {leaked:?}");
    // The scan still works: the kept subject's records open (with the KEK beside the config).
    assert!(opened.iter().any(|o| of(&kept)(&o.context)));

    // A copy of the data directory alone (a backup without the KEK) opens nobody's records.
    let backup = DiskCopy::read(&tmp.path().join("data"));
    let opened: Vec<String> = backup.opened().into_iter().map(|o| o.context).collect();
    assert!(
        opened.is_empty(),
        "the data directory alone opens {opened:?}"
    );

    // Restarted on the same KEK, the kept subject's data is there and the erased one's is not.
    let issuer = start(tmp.path(), retention);
    let token = holder_token(&client, &issuer.base, &kept_holder_key).await;
    let export = client
        .get(format!("{}/v1/subjects/{kept}/export", issuer.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let token = holder_token(&client, &issuer.base, &holder_key).await;
    expect_problem(
        client
            .get(format!("{}/v1/subjects/{erased}/export", issuer.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
}

/// `kyc-issuer subject-keys rotate-kek --config dir/issuer.toml`: its exit status and output.
fn rotate_kek(dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["subject-keys", "rotate-kek", "--config"])
        .arg(dir.join("issuer.toml"))
        .output()
        .unwrap()
}

/// KEK rotation with the issuer stopped: every key rewrapped, the service starts on the new KEK
/// with the data intact, and the retired KEK, with a copy of the data directory taken after
/// the rotation, opens nothing. Refused while the issuer runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kek_rotation_rewraps_and_retires() {
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = start(tmp.path(), "");
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();
    let subject = submit(&client, &issuer.base, &submission(&holder)).await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let kek_file = tmp.path().join("subject-keys.kek");
    let old_kek = std::fs::read(&kek_file).unwrap();

    let refused = rotate_kek(tmp.path());
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("in use"), "{stderr}");
    assert_eq!(
        std::fs::read(&kek_file).unwrap(),
        old_kek,
        "nothing changed"
    );

    terminate(&mut issuer).await;
    let rotated = rotate_kek(tmp.path());
    assert!(rotated.status.success(), "{rotated:?}");
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(stdout.contains("1 rewrapped"), "{stdout}");
    assert_ne!(std::fs::read(&kek_file).unwrap(), old_kek);

    // The retired KEK with today's data directory: nothing opens.
    let old: Value = serde_json::from_slice(&old_kek).unwrap();
    let old = URL_SAFE_NO_PAD.decode(old["k"].as_str().unwrap()).unwrap();
    let mut copy = DiskCopy::read(&tmp.path().join("data"));
    copy.files.push((
        PathBuf::from("retired.kek"),
        URL_SAFE_NO_PAD.encode(&old).into_bytes(),
    ));
    let opened: Vec<String> = copy.opened().into_iter().map(|o| o.context).collect();
    assert!(opened.is_empty(), "the retired KEK opens {opened:?}");

    let issuer = start(tmp.path(), "");
    let token = holder_token(&client, &issuer.base, &holder_key).await;
    let export = client
        .get(format!("{}/v1/subjects/{subject}/export", issuer.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let data: Value = export.json().await.unwrap();
    assert_eq!(data["applications"][0]["submission"], submission(&holder));
}

/// The KEK is never kept in the data directory, and a KEK others can read is refused.
#[test]
fn kek_inside_data_dir_or_exposed_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let inside = tmp.path().join("data").join("subject-keys.kek");
    let stderr = refused_start(
        tmp.path(),
        &format!("[subject_keys]\nkek_file = \"{}\"\n", inside.display()),
    );
    assert!(stderr.contains("subject_keys.kek_file"), "{stderr}");
    assert!(stderr.contains("outside data_dir"), "{stderr}");

    let kek = tmp.path().join("subject-keys.kek");
    let created = std::process::Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["subject-keys", "new-kek", "--out"])
        .arg(&kek)
        .output()
        .unwrap();
    assert!(created.status.success());
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = refused_start(tmp.path(), "");
    assert!(stderr.contains("readable by group or others"), "{stderr}");
}
