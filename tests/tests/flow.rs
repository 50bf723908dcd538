//! The whole flow through the running service: a customer applies with `kyc-wallet`, a reviewer
//! approves over HTTP, the wallet collects; two shops ask, the wallet answers, each shop verifies
//! offline with the issuer stopped against its synced status cache and its own nonce store;
//! then a revocation, a sync, and the refusal. Every bad input on the way gets its own verdict.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kyc_testkit::applicant;
use kyc_tests::{http, new_request, read, trust_toml, wallet, write, Outcome, Program, Service};
use serde_json::{json, Value};

/// The shops' policy: a status list at most an hour old.
const HOUR: u32 = 3600;

/// A shop: its nonce store and status cache in `dir`.
struct Shop<'a> {
    aud: &'static str,
    dir: &'a Path,
    trust: &'a Path,
}

impl Shop<'_> {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}-{name}", self.aud))
    }

    fn store(&self) -> String {
        self.file("nonces.jsonl").display().to_string()
    }

    /// A request recorded in the shop's store, written to a file.
    fn request(&self, name: &str) -> PathBuf {
        let path = self.file(name);
        write(
            &path,
            new_request(self.aud, "0", "", &["--replay-store", &self.store()]),
        );
        path
    }

    fn sync(&self, issuer: &str) -> Outcome {
        Program::Verify
            .command(["status", "sync", "--issuer", issuer, "--trust"])
            .arg(self.trust)
            .arg("--cache")
            .arg(self.dir.join("status-cache"))
            .run()
    }

    /// Verify offline, requiring a status list at most `max_age` seconds old.
    fn verify(&self, request: &Path, presentation: &Path, max_age: u32) -> Outcome {
        Program::Verify
            .command(["presentation", "--request"])
            .arg(request)
            .arg(presentation)
            .arg("--trust")
            .arg(self.trust)
            .arg("--status-cache")
            .arg(self.dir.join("status-cache"))
            .args(["--require-status", "--max-status-age", &max_age.to_string()])
            .args(["--replay-store", &self.store()])
            .run()
    }
}

/// Answer `request` from the wallet into `out`.
fn present(wallet_dir: &Path, request: &Path, out: &Path) {
    wallet(wallet_dir, &["present", "--request"])
        .arg(request)
        .arg("--out")
        .arg(out)
        .run()
        .success();
}

/// Apply, have the reviewer approve tier 0, collect: the credential's id.
fn apply_and_collect(service: &Service, dir: &Path, wallet_dir: &Path) -> String {
    wallet(wallet_dir, &["init"]).run().success();
    let identity = dir.join("identity.json");
    write(&identity, applicant::identity().to_string());
    let mrz = dir.join("mrz.txt");
    write(&mrz, format!("{}\n", applicant::PASSPORT_MRZ));
    wallet(wallet_dir, &["apply", "--issuer", &service.base])
        .args(["--audience", Service::PUBLIC_URL, "--jurisdiction", "EU"])
        .arg("--identity")
        .arg(&identity)
        .args(["--document-type", "passport", "--mrz"])
        .arg(&mrz)
        .run()
        .success();
    let (status, queue) = http(
        &format!("{}/v1/review/queue", service.base),
        Some(&service.reviewer),
        None,
    );
    assert_eq!(status, 200, "{queue}");
    let queue: Value = serde_json::from_str(&queue).unwrap();
    let id = queue
        .as_array()
        .or_else(|| queue["items"].as_array())
        .and_then(|items| items.first())
        .and_then(|item| item["id"].as_str())
        .unwrap_or_else(|| panic!("no application in the queue: {queue}"))
        .to_owned();
    let (status, body) = http(
        &format!("{}/v1/review/{id}", service.base),
        Some(&service.reviewer),
        Some(&json!({"action": "approve", "tier": 0, "reasons": ["e2e"]})),
    );
    assert!(status < 300, "approve: {status} {body}");
    let collected: Value =
        serde_json::from_str(wallet(wallet_dir, &["collect", "--json"]).run().success()).unwrap();
    collected["id"].as_str().unwrap().to_owned()
}

#[test]
fn apply_collect_present_to_two_shops_offline_revoke_and_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut service = Service::start(dir);
    let wallet_dir = dir.join("wallet");
    let credential = apply_and_collect(&service, dir, &wallet_dir);

    let issuer_did = Program::Issuer
        .command(["did", "--key"])
        .arg(dir.join("issuer-data/issuer-key.jwk"))
        .run()
        .success()
        .to_owned();
    let trust = dir.join("trust.toml");
    write(&trust, trust_toml(&issuer_did, "E2E Issuer"));
    let shop_a = Shop {
        aud: "shop-a.example",
        dir,
        trust: &trust,
    };
    let shop_b = Shop {
        aud: "shop-b.example",
        dir,
        trust: &trust,
    };

    // An issuer not in the trust file: its status list is not cached.
    let stranger = dir.join("stranger.toml");
    let other_did = Program::Issuer
        .command(["keygen", "--out"])
        .arg(dir.join("other.jwk"))
        .run()
        .success()
        .to_owned();
    write(&stranger, trust_toml(&other_did, "Someone Else"));
    let refused = Shop {
        aud: "shop-x.example",
        dir: &dir.join("x"),
        trust: &stranger,
    }
    .sync(&service.base);
    assert_eq!(refused.code, 2, "{refused}");
    assert!(
        refused.stderr.contains("trust list does not accept"),
        "{refused}"
    );
    assert!(!dir.join("x/status-cache").exists());

    // Online: the shops sync; the list is cached under the URL credentials name.
    for shop in [&shop_a, &shop_b] {
        let synced: Value = serde_json::from_str(shop.sync(&service.base).success()).unwrap();
        assert_eq!(
            synced["synced"][0]["url"],
            format!("{}/v1/status-lists/1", Service::PUBLIC_URL)
        );
    }
    // The wallet checks its own credential's status while online.
    let shown: Value = serde_json::from_str(
        wallet(
            &wallet_dir,
            &["show", &credential, "--check-status", "--json"],
        )
        .run()
        .success(),
    )
    .unwrap();
    assert_eq!(shown["revocation"]["state"], "checked");
    assert_eq!(shown["revocation"]["revoked"], false);

    // Offline from here: the issuer is stopped.
    service.stop();
    let request_a = shop_a.request("request-1.json");
    let presentation_a = dir.join("presentation-a");
    present(&wallet_dir, &request_a, &presentation_a);
    let verdict = shop_a
        .verify(&request_a, &presentation_a, HOUR)
        .assert_verdict(0, &[]);
    assert_eq!(verdict["status"], "valid");
    assert_eq!(verdict["issuerName"], "E2E Issuer");
    // The same presentation twice is a replay.
    shop_a
        .verify(&request_a, &presentation_a, HOUR)
        .assert_verdict(1, &["replayed"]);
    // Shop A's presentation shown to shop B: not an answer to anything B asked.
    let request_b = shop_b.request("request-1.json");
    shop_b
        .verify(&request_b, &presentation_a, HOUR)
        .assert_verdict(1, &["wrong_nonce"]);
    // Shop B with A's request file: B never issued that nonce.
    shop_b
        .verify(&request_a, &presentation_a, HOUR)
        .assert_verdict(1, &["unknown_nonce"]);
    // The second shop gets another credential of the batch (tests/tests/unlinkable.rs).
    let presentation_b = dir.join("presentation-b");
    present(&wallet_dir, &request_b, &presentation_b);
    assert_ne!(
        kyc_tests::jws_payload(&read(&presentation_a))["cnf"],
        kyc_tests::jws_payload(&read(&presentation_b))["cnf"]
    );
    // A status cache older than the policy allows is refused, and the nonce is not spent.
    shop_b
        .verify(&request_b, &presentation_b, 0)
        .assert_verdict(1, &["stale_status_list"]);
    shop_b
        .verify(&request_b, &presentation_b, HOUR)
        .assert_verdict(0, &[]);
    // Without the cache for this credential's list, a shop that requires status refuses.
    Program::Verify
        .command(["presentation", "--request"])
        .arg(&request_b)
        .arg(&presentation_b)
        .arg("--trust")
        .arg(&trust)
        .arg("--status-cache")
        .arg(dir.join("empty-cache"))
        .arg("--require-status")
        .run()
        .assert_verdict(1, &["status_unavailable"]);

    // Back online: the admin revokes, the shop syncs, the next checkout is refused.
    service.restart();
    let (status, body) = http(
        &format!("{}/v1/credentials/{credential}/revoke", service.base),
        Some(&service.admin),
        Some(&json!({"reason": "customer_request"})),
    );
    assert!(status < 300, "revoke: {status} {body}");
    shop_a.sync(&service.base).success();
    let request_a2 = shop_a.request("request-2.json");
    let presentation_a2 = dir.join("presentation-a2");
    present(&wallet_dir, &request_a2, &presentation_a2);
    service.stop();
    let verdict = shop_a
        .verify(&request_a2, &presentation_a2, HOUR)
        .assert_verdict(1, &["revoked"]);
    assert_eq!(verdict["status"], "revoked");
    // The wallet shows the list it fetched last (offline now): not yet revoked then.
    let shown = wallet(&wallet_dir, &["show", &credential]).run();
    assert!(
        shown.success().contains("not revoked (status list fetched"),
        "{shown}"
    );
}

#[test]
fn export_and_import_the_wallet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let service = Service::start(dir);
    let wallet_dir = dir.join("wallet");
    let credential = apply_and_collect(&service, dir, &wallet_dir);
    drop(service);

    let backup = dir.join("wallet.backup");
    wallet(&wallet_dir, &["export", "--out"])
        .arg(&backup)
        .run()
        .success();
    let text = read(&backup);
    assert_eq!(text.trim().split('.').count(), 5, "a compact JWE");
    for personal in ["Erika", "Mustermann", "1990-01-31", &credential] {
        assert!(!text.contains(personal));
    }
    // Export never overwrites.
    let again = wallet(&wallet_dir, &["export", "--out"]).arg(&backup).run();
    assert_eq!(again.code, 2, "{again}");

    let restored = dir.join("restored");
    let wrong = Program::Wallet
        .command(["--wallet"])
        .arg(&restored)
        .arg("import")
        .arg(&backup)
        .env("KYC_WALLET_PASSWORD", "not the password at all")
        .run();
    assert_eq!(wrong.code, 1, "{wrong}");
    assert!(wrong.stderr.contains("wrong backup password"), "{wrong}");
    assert!(!restored.exists());

    let mut damaged = text.trim().to_owned();
    let mid = damaged.len() / 2;
    let flipped = if &damaged[mid..=mid] == "A" { "B" } else { "A" };
    damaged.replace_range(mid..=mid, flipped);
    let damaged_path = dir.join("damaged.backup");
    write(&damaged_path, damaged);
    let out = wallet(&restored, &["import"]).arg(&damaged_path).run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("damaged"), "{out}");
    assert!(!restored.exists());

    wallet(&restored, &["import"]).arg(&backup).run().success();
    let listed: Value =
        serde_json::from_str(wallet(&restored, &["list", "--json"]).run().success()).unwrap();
    let restored_ids: Vec<&Value> = listed["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(restored_ids.len(), 10, "the whole batch is restored");
    assert!(restored_ids.contains(&&json!(credential)));

    // An existing wallet is replaced only with --force.
    let before = read(&wallet_dir.join("keystore.jwe"));
    let out = wallet(&wallet_dir, &["import"]).arg(&backup).run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("already exists"), "{out}");
    assert_eq!(read(&wallet_dir.join("keystore.jwe")), before);
    wallet(&wallet_dir, &["import", "--force"])
        .arg(&backup)
        .run()
        .success();
}
