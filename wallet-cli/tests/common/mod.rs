//! What the wallet's integration tests share: running the real `kyc-wallet` binary, credentials
//! signed here with `kyc-core` for a wallet's DID, and the real `kyc-issuer` service.
// Each test binary uses its own part.
#![allow(dead_code, unused_imports, unreachable_pub)]

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kyc_core::credential::{CountryCode, StatusEntry};
use kyc_core::presentation::PresentationRequest;
use kyc_core::{AssuranceLevel, DidKey, KycCredential, KycSubject, KycTier};
use kyc_testkit::{IssuerConfig, IssuerProcess};

pub use kyc_testkit::applicant::PERSONAL_DATA as PERSONAL;
pub use kyc_testkit::tokens::REVIEWER_TOKEN;
pub use kyc_testkit::PUBLIC_URL;

/// The wallet password every test uses.
pub const PASSWORD: &str = "correct horse battery staple";

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
    (credential.id.unwrap(), sd_jwt, jwt)
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

/// `kyc-issuer`, next to `kyc-wallet` in the target directory, built once per test process
/// ([`kyc_testkit::binaries::build`]). When the build fails but an older binary exists (the
/// issuer's sources mid-change in a shared tree), that one is used, with a warning.
pub fn issuer_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_issuer).clone()
}

fn build_issuer() -> PathBuf {
    match kyc_testkit::binaries::build(&["kyc-issuer"]) {
        Ok(dir) => dir.join("kyc-issuer"),
        Err(e) => {
            let dir = kyc_testkit::binaries::profile_dir().unwrap();
            let issuer = dir.join("kyc-issuer");
            assert!(issuer.is_file(), "building kyc-issuer failed: {e}");
            eprintln!("warning: building kyc-issuer failed; testing against the existing binary");
            issuer
        }
    }
}

/// A running `kyc-issuer serve` on a loopback port ([`IssuerProcess`]: `issuer.base` is
/// `http://127.0.0.1:PORT`); killed on drop.
#[derive(Debug)]
pub struct Issuer(IssuerProcess);

impl std::ops::Deref for Issuer {
    type Target = IssuerProcess;

    fn deref(&self) -> &IssuerProcess {
        &self.0
    }
}

impl Issuer {
    /// Start the issuer with its data in `dir`, a reviewer `rita`, and no check providers (so
    /// every application goes to review, and only tier 0 can be approved).
    pub fn start(dir: &Path) -> Self {
        let config = dir.join("issuer.toml");
        IssuerConfig::new(dir.join("issuer-data"))
            .staff("rita", "reviewer", REVIEWER_TOKEN)
            .write(&config)
            .unwrap();
        Self(IssuerProcess::spawn(&issuer_binary(), &config).expect("starting kyc-issuer"))
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
