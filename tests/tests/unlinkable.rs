//! Issue 12, finding 4 (cross-shop tracking), through the real issuer, wallet and verifier:
//! every presentation used to show the same holder DID, credential id, status index and issuer
//! signature, so shops could join their customers. Now the wallet holds a batch of credentials
//! per approval, each bound to its own key with its own random status index, and shows each
//! shop a different one: two shops' presentations share no value but the issuer's DID, the
//! disclosed claims and what every credential of the issuer shares. The same shop may see the
//! same credential again; revoking the approval revokes every credential of it; a restart does
//! not move the status index to another list (finding 14).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use kyc_testkit::applicant;
use kyc_tests::{
    http, jws_payload, new_request, read, trust_toml, wallet, write, Program, Service,
};
use serde_json::{json, Value};

/// Someone else on the sanctions list: screening runs and comes back clear for the applicant,
/// so a reviewer can approve tier 1 (names, nationality and residence attested).
const LISTED: &str = r#"{"id":"NK-2","schema":"Person","properties":{"name":["Ivan Petrovich Sidorov"],"birthDate":["1961-08-04"],"nationality":["ru"],"topics":["sanction"]},"datasets":["test_sanctions"]}"#;

/// What shops ask for.
const CLAIMS: &str = "nationality,countryOfResidence";

struct Shop<'a> {
    aud: &'static str,
    dir: &'a Path,
    trust: &'a Path,
}

impl Shop<'_> {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}-{name}", self.aud))
    }

    fn request(&self, name: &str) -> PathBuf {
        let path = self.file(name);
        let store = self.file("nonces.jsonl").display().to_string();
        write(
            &path,
            new_request(self.aud, "1", CLAIMS, &["--replay-store", &store]),
        );
        path
    }

    fn sync(&self, issuer: &str) {
        Program::Verify
            .command(["status", "sync", "--issuer", issuer, "--trust"])
            .arg(self.trust)
            .arg("--cache")
            .arg(self.file("status-cache"))
            .run()
            .success();
    }

    fn verify(&self, request: &Path, presentation: &Path) -> kyc_tests::Outcome {
        Program::Verify
            .command(["presentation", "--request"])
            .arg(request)
            .arg(presentation)
            .arg("--trust")
            .arg(self.trust)
            .arg("--status-cache")
            .arg(self.file("status-cache"))
            .args(["--require-status", "--max-status-age", "3600"])
            .arg("--replay-store")
            .arg(self.file("nonces.jsonl"))
            .run()
    }
}

fn present(wallet_dir: &Path, request: &Path, out: &Path) -> String {
    wallet(wallet_dir, &["present", "--request"])
        .arg(request)
        .arg("--out")
        .arg(out)
        .run()
        .success();
    read(out).trim().to_owned()
}

fn decode_json(b64: &str) -> Value {
    serde_json::from_slice(&B64.decode(b64).unwrap()).unwrap()
}

/// Every scalar in `value`, as `"s:<string>"` or `"n:<number>"` / `"b:<bool>"`.
fn scalars(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            out.insert(format!("s:{s}"));
        }
        Value::Number(n) => {
            out.insert(format!("n:{n}"));
        }
        Value::Bool(b) => {
            out.insert(format!("b:{b}"));
        }
        Value::Array(items) => items.iter().for_each(|v| scalars(v, out)),
        Value::Object(members) => members.values().for_each(|v| scalars(v, out)),
        Value::Null => {}
    }
}

/// Every value a presentation shows: each JWT's header and payload members and signature, its
/// encoded segments, and each disclosure (encoded, and its salt, name and value). The
/// key-binding JWT's `iat` is left out: it is the moment of checkout, which each shop knows
/// from its own clock anyway (two checkouts in the same second would share it).
fn values(presentation: &str) -> BTreeSet<String> {
    let parts: Vec<&str> = presentation.split('~').collect();
    let (issuer_jwt, rest) = parts.split_first().unwrap();
    let (kb_jwt, disclosures) = rest.split_last().unwrap();
    let mut out = BTreeSet::new();
    for (jwt, is_kb) in [(*issuer_jwt, false), (*kb_jwt, true)] {
        let segments: Vec<&str> = jwt.split('.').collect();
        assert_eq!(segments.len(), 3, "{jwt}");
        scalars(&decode_json(segments[0]), &mut out);
        let mut payload = decode_json(segments[1]);
        if is_kb {
            payload.as_object_mut().unwrap().remove("iat");
        }
        scalars(&payload, &mut out);
        out.insert(format!("s:{}", segments[1]));
        out.insert(format!("s:{}", segments[2]));
    }
    for d in disclosures {
        out.insert(format!("s:{d}"));
        scalars(&decode_json(d), &mut out);
    }
    out
}

/// The values any credential of this issuer at this tier shows, whoever holds it: the
/// issuer's DID and key id, the formats' constants, the status list's URL (shared by every
/// credential in the list), and times rounded to the day.
fn shared_by_everyone(value: &str, issuer: &str) -> bool {
    const CONSTANTS: &[&str] = &[
        "s:EdDSA",
        "s:vc+sd-jwt",
        "s:kb+jwt",
        "s:sha-256",
        "s:OKP",
        "s:Ed25519",
        "s:https://www.w3.org/ns/credentials/v2",
        "s:https://w3id.org/kyc-credential/v1",
        "s:https://w3id.org/kyc-credential/v1/schema.json",
        "s:JsonSchema",
        "s:VerifiableCredential",
        "s:KycCredential",
        "s:KycEvidence",
        "s:BitstringStatusListEntry",
        "s:revocation",
        "s:low",
        "n:1",
        // evidence: which checks ran and how
        "s:document",
        "s:screening",
        "s:risk",
        "s:biometric",
        "s:clear",
        "s:consider",
        "s:not_performed",
        "s:rejected",
    ];
    let day_rounded = value.starts_with("s:20") && value.ends_with("T00:00:00Z");
    CONSTANTS.contains(&value)
        || value == format!("s:{issuer}")
        || value.starts_with(&format!("s:{issuer}#"))
        || value == format!("s:{}/v1/status-lists/1", Service::PUBLIC_URL)
        || day_rounded
}

/// The values two presentations both show, but for the disclosed claims (names and values) and
/// what every credential of the issuer shows ([`shared_by_everyone`]).
fn linking(a: &str, b: &str, issuer: &str) -> Vec<String> {
    let mut disclosed = BTreeSet::new();
    for part in a
        .split('~')
        .chain(b.split('~'))
        .filter(|p| !p.contains('.'))
    {
        if let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&B64.decode(part).unwrap())
        {
            scalars(&items[1], &mut disclosed);
            scalars(&items[2], &mut disclosed);
        }
    }
    values(a)
        .intersection(&values(b))
        .filter(|v| !disclosed.contains(*v) && !shared_by_everyone(v, issuer))
        .cloned()
        .collect()
}

/// The `cnf` of a presented SD-JWT.
fn cnf(presentation: &str) -> Value {
    jws_payload(presentation)["cnf"].clone()
}

#[test]
fn two_shops_share_nothing_but_the_issuer_and_the_disclosed_claims() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let list = dir.join("sanctions.ftm.json");
    write(&list, format!("{LISTED}\n"));
    let mut service = Service::start_with(
        dir,
        &format!(
            "[[screening.lists]]\nname = \"test\"\nformat = \"ftm\"\npath = \"{}\"\n",
            list.display()
        ),
    );

    // Apply; a reviewer approves tier 1 (or the checks did); collect a batch of four.
    let wallet_dir = dir.join("wallet");
    wallet(&wallet_dir, &["init"]).run().success();
    let identity = dir.join("identity.json");
    write(&identity, applicant::identity().to_string());
    let mrz = dir.join("mrz.txt");
    write(&mrz, format!("{}\n", applicant::PASSPORT_MRZ));
    let applied: Value = serde_json::from_str(
        wallet(&wallet_dir, &["apply", "--issuer", &service.base, "--json"])
            .args(["--audience", Service::PUBLIC_URL, "--jurisdiction", "EU"])
            .arg("--identity")
            .arg(&identity)
            .args(["--document-type", "passport", "--mrz"])
            .arg(&mrz)
            .run()
            .success(),
    )
    .unwrap();
    let id = applied["id"].as_str().unwrap();
    if applied["state"] != "approved" {
        let (status, body) = http(
            &format!("{}/v1/review/{id}", service.base),
            Some(&service.reviewer),
            Some(&json!({"action": "approve", "tier": 1, "reasons": ["e2e"]})),
        );
        assert!(status < 300, "approve tier 1: {status} {body}");
    }
    let collected: Value = serde_json::from_str(
        wallet(&wallet_dir, &["collect", "--batch", "4", "--json"])
            .run()
            .success(),
    )
    .unwrap();
    assert_eq!(collected["tier"], 1, "{collected:#}");
    assert_eq!(collected["count"], 4);
    let first_credential = collected["id"].as_str().unwrap().to_owned();

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
    shop_a.sync(&service.base);
    shop_b.sync(&service.base);

    // Each shop asks for the same claims; the wallet answers each with another credential.
    let request_a = shop_a.request("request-1.json");
    let presentation_a = present(&wallet_dir, &request_a, &dir.join("presentation-a"));
    let request_b = shop_b.request("request-1.json");
    let presentation_b = present(&wallet_dir, &request_b, &dir.join("presentation-b"));
    for (shop, request, presentation) in [
        (&shop_a, &request_a, "presentation-a"),
        (&shop_b, &request_b, "presentation-b"),
    ] {
        let verdict = shop
            .verify(request, &dir.join(presentation))
            .assert_verdict(0, &[]);
        assert_eq!(verdict["status"], "valid");
        assert_eq!(verdict["kycTier"], 1);
        assert_eq!(
            verdict["disclosed"],
            json!({"countryOfResidence": "DE", "nationality": "DE"})
        );
    }

    // Compare every value the two presentations show.
    let shared = linking(&presentation_a, &presentation_b, &issuer_did);
    assert!(shared.is_empty(), "values both shops see: {shared:?}");
    // What used to link them, named: no credential id, no holder DID, another cnf, another
    // status index, another signature.
    let (pa, pb) = (jws_payload(&presentation_a), jws_payload(&presentation_b));
    for p in [&pa, &pb] {
        assert!(p.get("id").is_none(), "{p:#}");
        assert!(p["credentialSubject"].get("id").is_none(), "{p:#}");
    }
    assert_ne!(pa["cnf"], pb["cnf"]);
    assert_ne!(
        pa["credentialStatus"]["statusListIndex"],
        pb["credentialStatus"]["statusListIndex"]
    );
    assert_ne!(
        presentation_a.split('~').next().unwrap().rsplit('.').next(),
        presentation_b.split('~').next().unwrap().rsplit('.').next()
    );

    // The same shop again: the same credential (it knows it already), a fresh key binding.
    let request_a2 = shop_a.request("request-2.json");
    let presentation_a2 = present(&wallet_dir, &request_a2, &dir.join("presentation-a2"));
    shop_a
        .verify(&request_a2, &dir.join("presentation-a2"))
        .assert_verdict(0, &[]);
    assert_eq!(cnf(&presentation_a2), cnf(&presentation_a));
    // Which the comparison above would have caught between two shops: the same credential
    // shares its signature, key, status index and disclosures.
    let same = linking(&presentation_a, &presentation_a2, &issuer_did);
    assert!(same.len() >= 5, "{same:?}");

    // A restart of the issuer, another batch: still status list 1 (finding 14).
    service.restart();
    wallet(&wallet_dir, &["collect", "--batch", "3"])
        .run()
        .success();
    let held: Vec<PathBuf> = std::fs::read_dir(wallet_dir.join("credentials"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sd-jwt"))
        .collect();
    assert!(held.len() >= 7, "{held:?}");
    let mut indexes = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for path in &held {
        let payload = jws_payload(&read(path));
        assert_eq!(
            payload["credentialStatus"]["statusListCredential"],
            format!("{}/v1/status-lists/1", Service::PUBLIC_URL),
            "{}",
            path.display()
        );
        indexes.insert(payload["credentialStatus"]["statusListIndex"].to_string());
        keys.insert(payload["cnf"].to_string());
    }
    assert_eq!(indexes.len(), held.len(), "an index per credential");
    assert_eq!(keys.len(), held.len(), "a holder key per credential");

    // Revoking one credential revokes the approval: every credential held fails, and the
    // wallet gets no new batch.
    let status_list = dir.join("status-list-1.jwt");
    let fetch_list = |service: &Service| {
        let (status, body) = http(&format!("{}/v1/status-lists/1", service.base), None, None);
        assert_eq!(status, 200);
        write(&status_list, body);
    };
    let verify_held = |path: &Path| {
        Program::Verify
            .command(["credential"])
            .arg(path)
            .arg("--trust")
            .arg(&trust)
            .arg("--status-list")
            .arg(&status_list)
            .run()
    };
    fetch_list(&service);
    for path in &held {
        verify_held(path).assert_verdict(0, &[]);
    }
    let (status, body) = http(
        &format!("{}/v1/credentials/{first_credential}/revoke", service.base),
        Some(&service.admin),
        Some(&json!({"reason": "customer_request"})),
    );
    assert!(status < 300, "revoke: {status} {body}");
    fetch_list(&service);
    for path in &held {
        let verdict = verify_held(path).assert_verdict(1, &["revoked"]);
        assert_eq!(verdict["status"], "revoked");
    }
    let refused = wallet(&wallet_dir, &["collect"]).run();
    assert_eq!(refused.code, 1, "{refused}");
    shop_b.sync(&service.base);
    let request_b2 = shop_b.request("request-2.json");
    present(&wallet_dir, &request_b2, &dir.join("presentation-b2"));
    shop_b
        .verify(&request_b2, &dir.join("presentation-b2"))
        .assert_verdict(1, &["revoked"]);
}
