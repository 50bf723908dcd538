//! The wallet against the real issuer service (`kyc-issuer serve` on a loopback port): apply,
//! status, follow, collect, list, show, then present the collected credential to a merchant and
//! verify the presentation offline.
//!
//! No check provider is configured, so every application waits for a reviewer, and only tier 0
//! (which attests no personal claim) can be approved: that is the issuer's rule, not a gap here.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use common::*;
use kyc_core::did::Resolver;
use kyc_core::presentation::verify_presentation;
use kyc_core::KycTier;
use kyc_testkit::applicant;
use serde_json::json;

/// An applicant's files: identity, MRZ, a selfie and a liveness capture per pose.
fn applicant_files(dir: &Path) -> Vec<String> {
    let identity = dir.join("identity.json");
    std::fs::write(&identity, applicant::identity().to_string()).unwrap();
    let mrz = dir.join("mrz.txt");
    std::fs::write(&mrz, format!("{}\n", applicant::ID_CARD_MRZ)).unwrap();
    // Real PNGs: the issuer decodes every image it is sent.
    let png = kyc_testkit::images::png(&kyc_testkit::images::no_face_image(48, 64));
    let selfie = dir.join("selfie.png");
    std::fs::write(&selfie, &png).unwrap();
    let frames = dir.join("frames");
    std::fs::create_dir(&frames).unwrap();
    for pose in ["left", "centre", "right"] {
        std::fs::write(frames.join(format!("{pose}.png")), &png).unwrap();
    }
    [
        "--identity",
        identity.to_str().unwrap(),
        "--document-type",
        "id_card",
        "--mrz",
        mrz.to_str().unwrap(),
        "--selfie",
        selfie.to_str().unwrap(),
        "--frames",
        frames.to_str().unwrap(),
        "--jurisdiction",
        "EU",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn apply(dir: &Path, issuer: &Issuer, files: &[String], extra: &[&str]) -> Run {
    let mut args = vec!["apply", "--issuer", &issuer.base];
    args.extend(files.iter().map(String::as_str));
    args.extend_from_slice(extra);
    wallet(dir, &args)
}

#[test]
fn apply_follow_collect_and_present() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(tmp.path());
    let dir = tmp.path().join("wallet");
    let did = init(&dir);
    let files = applicant_files(tmp.path());

    // Apply: the issuer has no screening provider, so the application waits for a reviewer.
    let applied = apply(&dir, &issuer, &files, &["--audience", PUBLIC_URL, "--json"]);
    // No biometric provider, so no liveness challenge: the frames are not sent, and it says so.
    assert!(
        applied
            .stderr
            .contains("no liveness challenge): sending without the liveness frames"),
        "{applied:#?}"
    );
    let view = applied.json();
    let id = view["id"].as_str().unwrap().to_owned();
    assert_eq!(view["state"], "in_review");
    assert!(view["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["check"] == "screening" && c["outcome"] == "not_performed"));
    let list = wallet(&dir, &["list", "--json"]).json();
    assert_eq!(list["applications"][0]["id"], id.as_str());
    assert_eq!(list["applications"][0]["audience"], PUBLIC_URL);
    assert_eq!(list["applications"][0]["issuer"], issuer.base.as_str());

    // Status, human and JSON; collecting before approval is refused with the state.
    let status = wallet(&dir, &["status"]);
    assert!(
        status.ok().contains("in_review: waiting for a reviewer"),
        "{status:#?}"
    );
    assert!(
        status.ok().contains("screening   not performed"),
        "{status:#?}"
    );
    assert_eq!(
        wallet(&dir, &["status", &id[..8], "--json"]).json()["state"],
        "in_review"
    );
    wallet(&dir, &["collect"]).fails(1, "is in_review");
    wallet_with(&dir, &["status"], Some("not the password"), b"").fails(1, "wrong password");

    // Follow in the background; a reviewer approves; the follower sees it and stops.
    let mut follower = Command::new(env!("CARGO_BIN_EXE_kyc-wallet"))
        .arg("--wallet")
        .arg(&dir)
        .args(["status", "--follow", "--timeout", "60", "--json"])
        .env("KYC_WALLET_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(follower.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("in_review"), "{first}");
    assert_eq!(
        issuer.review(&id, json!({"action": "approve", "tier": 0})),
        200
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = follower.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(30),
            "status --follow did not notice the approval"
        );
        std::thread::sleep(StdDuration::from_millis(100));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut follower.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{first}{rest}");
    assert!(rest.contains("approved"), "{rest}");
    let settled: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(settled["state"], "approved");
    assert_eq!(settled["decision"]["reviewer"], "rita");

    // Collect: a batch of ten, both forms, private files, each bound to a holder key of its
    // own (not the wallet's DID, which the shops never see).
    let collected = wallet(&dir, &["collect", "--json"]).json();
    assert_eq!(collected["tier"], 0);
    assert_eq!(collected["count"], 10);
    assert_ne!(collected["subject"], did.as_str());
    let subjects: std::collections::BTreeSet<&str> = collected["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 10, "one holder key per credential");
    let stem = collected["stem"].as_str().unwrap().to_owned();
    for ext in ["sd-jwt", "jwt", "json"] {
        let file = dir.join("credentials").join(format!("{stem}.{ext}"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let list = wallet(&dir, &["list", "--json"]).json();
    assert_eq!(list["applications"][0]["state"], "issued");
    assert_eq!(list["applications"][0]["credential"], collected["id"]);
    let held = list["credentials"].as_array().unwrap();
    assert_eq!(held.len(), 10);
    assert!(held.iter().any(|c| c["id"] == collected["id"]));
    // Collecting again: a new batch for the same approval.
    let again = wallet(&dir, &["collect", &id, "--batch", "2", "--json"]).json();
    assert_eq!(again["count"], 2);
    assert_ne!(again["id"], collected["id"]);
    assert_eq!(
        wallet(&dir, &["list", "--json"]).json()["credentials"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
    wallet(&dir, &["collect", "--batch", "51"]).fails(2, "51");

    let show = wallet(&dir, &["show", &stem]);
    let text = show.ok();
    assert!(text.contains("KYC tier      0\n"), "{text}");
    assert!(text.contains("disclosable   none"), "{text}");
    assert!(
        text.contains("revocation entry") && text.contains("https://kyc.example/v1/status-lists/"),
        "{text}"
    );

    // A merchant asking tier 0 and no claims: the presentation verifies offline.
    let request = request(
        "shop.example",
        KycTier::Unverified,
        &[],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "request.json", &request);
    let out = wallet(&dir, &["present", "--request", path.to_str().unwrap()]);
    let verified = verify_presentation(out.ok(), &request, &Resolver::new(), Utc::now()).unwrap();
    assert_ne!(verified.credential.credential_subject.id, did.as_str());
    assert_eq!(
        verified.credential.credential_subject.kyc_tier,
        KycTier::Unverified
    );
    assert!(verified.disclosed.is_empty());

    // A merchant asking for a claim a tier-0 credential does not carry, or for tier 2.
    let request = common::request(
        "shop.example",
        KycTier::Unverified,
        &["ageOver18"],
        Duration::minutes(5),
    );
    let path = write_request(tmp.path(), "claim.json", &request);
    wallet(&dir, &["present", "--request", path.to_str().unwrap()])
        .fails(1, "does not carry ageOver18");
    let request = common::request("shop.example", KycTier::Verified, &[], Duration::minutes(5));
    let path = write_request(tmp.path(), "tier.json", &request);
    wallet(&dir, &["present", "--request", path.to_str().unwrap()]).fails(1, "requires at least 2");
    // An expired request.
    let mut expired = request.clone();
    expired.min_tier = KycTier::Unverified;
    expired.expires_at = Utc::now() - Duration::seconds(5);
    let path = write_request(tmp.path(), "expired.json", &expired);
    wallet(&dir, &["present", "--request", path.to_str().unwrap()]).fails(1, "expired");
}

#[test]
fn issuer_problems_are_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(tmp.path());
    let dir = tmp.path().join("wallet");
    init(&dir);
    let files = applicant_files(tmp.path());

    // Without --audience the holder tokens name the loopback URL, which is not the issuer's
    // public URL: the liveness challenge, asked with a holder token, is refused before
    // anything is submitted, and the issuer's problem is shown, title and detail.
    apply(&dir, &issuer, &files, &["--json"])
        .fails(1, "(401 Not authorised): token audience is not this issuer");
    let view = apply(&dir, &issuer, &files, &["--audience", PUBLIC_URL, "--json"]).json();
    assert_eq!(view["state"], "in_review");

    // A jurisdiction the issuer has no policy for: 422 with the issuer's explanation.
    let mut files = files;
    let j = files.iter().position(|a| a == "--jurisdiction").unwrap();
    files[j + 1] = "XX".into();
    apply(&dir, &issuer, &files, &["--audience", PUBLIC_URL])
        .fails(1, "(422 Unknown jurisdiction)");
    // A pose without its capture: refused before anything is sent.
    files[j + 1] = "EU".into();
    let centre = tmp.path().join("frames/centre.png");
    let capture = std::fs::read(&centre).unwrap();
    std::fs::remove_file(&centre).unwrap();
    apply(&dir, &issuer, &files, &["--audience", PUBLIC_URL])
        .fails(2, "no capture of the pose 'centre'");
    let list = wallet(&dir, &["list", "--json"]).json();
    assert_eq!(list["applications"].as_array().unwrap().len(), 1);
    std::fs::write(&centre, capture).unwrap();
    // The issuer gone: exit 3, try later.
    let base = issuer.base.clone();
    drop(issuer);
    let mut args = vec!["apply", "--issuer", &base];
    files[j + 1] = "EU".into();
    args.extend(files.iter().map(String::as_str));
    wallet(&dir, &args).fails(3, "cannot reach the issuer");
    // An issuer URL the wallet will not use (plain http to another host, another scheme) is
    // the user's input: exit 2, as for every unusable argument (issue 12, finding 14).
    for bad in ["http://kyc.example", "ftp://127.0.0.1", "not a url"] {
        let mut args = vec!["apply", "--issuer", bad];
        args.extend(files.iter().map(String::as_str));
        wallet(&dir, &args).fails(2, "the issuer URL must be");
    }
}

#[test]
fn upload_what_the_reviewer_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(tmp.path());
    let dir = tmp.path().join("wallet");
    init(&dir);
    let files = applicant_files(tmp.path());
    let id = apply(&dir, &issuer, &files, &["--audience", PUBLIC_URL, "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let selfie = tmp.path().join("selfie.png");
    let upload = |extra: &[&str]| {
        let mut args = vec!["upload", "--selfie", selfie.to_str().unwrap()];
        args.extend_from_slice(extra);
        wallet(&dir, &args)
    };
    // Nothing was asked for yet: the issuer says so.
    upload(&[]).fails(1, "(409 Not allowed in this state)");
    assert_eq!(
        issuer.review(
            &id,
            json!({"action": "request_documents", "reasons": ["document_unreadable"]})
        ),
        200
    );
    let status = wallet(&dir, &["status"]);
    assert!(
        status
            .ok()
            .contains("more_documents_requested: the reviewer asked for more documents"),
        "{status:#?}"
    );
    // An MRZ without the document's type is refused here, before anything is sent.
    let mrz = tmp.path().join("mrz.txt");
    upload(&["--mrz", mrz.to_str().unwrap()]).fails(2, "--document-type is needed");
    let view = upload(&[
        "--document-type",
        "id_card",
        "--mrz",
        mrz.to_str().unwrap(),
        "--json",
    ])
    .json();
    // Checked again; with no providers it goes back to a reviewer.
    assert_eq!(view["state"], "in_review");
    assert_eq!(
        wallet(&dir, &["list", "--json"]).json()["applications"][0]["state"],
        "in_review"
    );
}
