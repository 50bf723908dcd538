//! What the wallet's integration tests share: running the real `kyc-wallet` binary, credentials
//! signed here with `kyc-core` for a wallet's DID, and the real `kyc-issuer` service.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kyc_core::credential::{CountryCode, StatusEntry};
use kyc_core::presentation::PresentationRequest;
use kyc_core::{AssuranceLevel, DidKey, KycCredential, KycSubject, KycTier};

/// The wallet password every test uses.
pub const PASSWORD: &str = "correct horse battery staple";
/// Personal data in the fixtures; no stderr may ever carry it.
pub const PERSONAL: [&str; 4] = ["Erika", "Mustermann", "1990-01-31", "C01X00T47"];

/// One finished run of `kyc-wallet`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout, asserting exit 0.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "kyc-wallet failed:\n{self:#?}");
        self.stdout.trim_end()
    }

    /// Stdout as JSON, asserting exit 0.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self:#?}"))
    }

    /// Assert a failure with `code`, nothing on stdout, and `needle` on stderr.
    pub fn fails(&self, code: i32, needle: &str) {
        assert_eq!(self.code, code, "exit code:\n{self:#?}");
        assert!(self.stdout.is_empty(), "stdout must be empty:\n{self:#?}");
        assert!(
            self.stderr.contains(needle),
            "stderr should say {needle:?}:\n{self:#?}"
        );
    }
}

/// `kyc-wallet --wallet DIR ARGS…` with the test password and `stdin`.
pub fn wallet_with(dir: &Path, args: &[&str], password: Option<&str>, stdin: &[u8]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kyc-wallet"));
    command
        .arg("--wallet")
        .arg(dir)
        .args(args)
        .env_remove("KYC_WALLET_DIR")
        .env_remove("KYC_WALLET_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        command.env("KYC_WALLET_PASSWORD", p);
    }
    let mut child = command.spawn().expect("starting kyc-wallet");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out
            .status
            .code()
            .expect("kyc-wallet was killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for personal in PERSONAL {
        assert!(
            !run.stderr.contains(personal),
            "stderr carries personal data:\n{run:#?}"
        );
    }
    run
}

/// `kyc-wallet --wallet DIR ARGS…` with the right password.
pub fn wallet(dir: &Path, args: &[&str]) -> Run {
    wallet_with(dir, args, Some(PASSWORD), b"")
}

/// A new wallet in `dir`; returns its DID.
pub fn init(dir: &Path) -> DidKey {
    let out = wallet(dir, &["init", "--json"]).json();
    DidKey::parse(out["did"].as_str().unwrap()).unwrap()
}

/// A tier-2 credential for `holder` (all eight claims), signed by a fresh issuer, valid until
/// `valid_until`: `(id, sd_jwt, jwt)`.
pub fn tier2_credential(holder: &DidKey, valid_until: DateTime<Utc>) -> (String, String, String) {
    let (issuer_key, issuer) = DidKey::generate();
    let subject = KycSubject {
        id: holder.as_str().into(),
        kyc_tier: KycTier::Verified,
        assurance_level: Some(AssuranceLevel::Substantial),
        age_over_18: Some(true),
        age_over_21: Some(true),
        country_of_residence: Some(CountryCode::parse("DE").unwrap()),
        nationality: Some(CountryCode::parse("DE").unwrap()),
        given_name: Some(PERSONAL[0].into()),
        family_name: Some(PERSONAL[1].into()),
        birth_date: Some(NaiveDate::from_ymd_opt(1990, 1, 31).unwrap()),
    };
    let from = Utc::now() - Duration::days(400);
    let mut credential = KycCredential::new(&issuer, subject, from, Some(valid_until));
    credential.credential_status = Some(StatusEntry::revocation(
        "https://issuer.example/v1/status-lists/1",
        42,
    ));
    let sd_jwt = kyc_core::sd_jwt::issue(&credential, &issuer_key).unwrap();
    let jwt = credential.sign_jwt(&issuer_key).unwrap();
    (credential.id, sd_jwt, jwt)
}

/// Put a credential into the wallet's store the way `collect` does (layout: wallet.rs).
pub fn store(dir: &Path, id: &str, sd_jwt: &str, jwt: &str) -> String {
    let stem = id.strip_prefix("urn:uuid:").unwrap().to_owned();
    let credentials = dir.join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o700)).unwrap();
    for (ext, text) in [("sd-jwt", sd_jwt), ("jwt", jwt)] {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(credentials.join(format!("{stem}.{ext}")))
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    stem
}

/// A presentation request, as JSON bytes.
pub fn request(aud: &str, tier: KycTier, claims: &[&str], ttl: Duration) -> PresentationRequest {
    PresentationRequest::new(aud, tier, claims, Utc::now(), ttl).unwrap()
}

/// Write `request` to `dir/name`; returns the path.
pub fn write_request(dir: &Path, name: &str, request: &PresentationRequest) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(request).unwrap()).unwrap();
    path
}

// ---- the real issuer service --------------------------------------------------------------

/// The reviewer's bearer token in the issuer's configuration.
pub const REVIEWER_TOKEN: &str = "reviewer-token-0123456789abcdef";
/// The issuer's public URL (what holder tokens must name).
pub const PUBLIC_URL: &str = "https://kyc.example";

/// `kyc-issuer`, next to `kyc-wallet` in the target directory, built once per test process.
///
/// Cargo hands `CARGO_BIN_EXE_*` only for this package's own binaries, so another package's
/// binary is found in the same profile directory and built there, as tests/src/lib.rs does: a
/// binary that merely exists may predate the issuer's sources, and `cargo build` of an
/// up-to-date one is a quick freshness check. When the build fails but an older binary exists
/// (the issuer's sources mid-change in a shared tree), that one is used, with a warning.
pub fn issuer_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_issuer).clone()
}

fn build_issuer() -> PathBuf {
    let profile_dir = Path::new(env!("CARGO_BIN_EXE_kyc-wallet"))
        .parent()
        .unwrap();
    // Cargo's profile directory for `dev` and `test` is `debug`; others carry their name.
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "kyc-issuer",
            "--bin",
            "kyc-issuer",
        ])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(profile_dir.parent().unwrap())
        .args(["--profile", profile])
        .status()
        .expect("running cargo build");
    let issuer = profile_dir.join("kyc-issuer");
    if !status.success() {
        assert!(issuer.is_file(), "building kyc-issuer failed");
        eprintln!("warning: building kyc-issuer failed; testing against the existing binary");
    }
    assert!(issuer.is_file(), "{} was not built", issuer.display());
    issuer
}

/// A running `kyc-issuer serve` on a loopback port; killed on drop.
pub struct Issuer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SHA-256 of a staff token, lower-case hex (the configuration's `token_sha256`).
fn token_sha256(token: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Issuer {
    /// Start the issuer with its data in `dir`, a reviewer `rita`, and no check providers (so
    /// every application goes to review, and only tier 0 can be approved).
    pub fn start(dir: &Path) -> Self {
        let config = dir.join("issuer.toml");
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\npublic_url = \"{PUBLIC_URL}\"\n\
             [[staff]]\nid = \"rita\"\nrole = \"reviewer\"\ntoken_sha256 = \"{}\"\n",
            dir.join("issuer-data").display(),
            token_sha256(REVIEWER_TOKEN),
        );
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new(issuer_binary())
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting kyc-issuer");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("kyc-issuer said {line:?}"))
            .to_owned();
        // Keep reading, so a later line never meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// A reviewer's decision on application `id`; returns the HTTP status.
    pub fn review(&self, id: &str, decision: serde_json::Value) -> u16 {
        let url = format!("{}/v1/review/{id}", self.base);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(REVIEWER_TOKEN)
                    .json(&decision)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
    }
}
