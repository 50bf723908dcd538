//! `kyc-test-signer`: credentials and status lists signed with a **test key**, for the
//! end-to-end tests of the wallet and the verifier, which need signed objects without running
//! an issuer through a whole application.
//!
//! The production `kyc-issuer` has no such command: there, nothing is signed except through
//! the audit log (issue 19). This binary belongs to the test kit, which is not shipped, and it
//! signs only with keys it generated itself (`keygen` marks them, `kid` = `kyc-test-signer`):
//! it refuses any other key file, and one inside an issuer's data directory. The issuer refuses
//! a test key in turn. (Anyone who can read an issuer's key can sign with any tool; what
//! catches that is the auditor, who finds every genuine credential and status list in the log.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use ed25519_dalek::SigningKey;
use kyc_core::credential::{StatusEntry, DISCLOSABLE_CLAIMS};
use kyc_core::did::{self, DidKey};
use kyc_core::status_list::{Bitstring, StatusListCredential};
use kyc_core::{sd_jwt, KycCredential, KycSubject};

#[derive(Parser)]
#[command(
    name = "kyc-test-signer",
    about = "Sign test credentials and status lists with a test key (never an issuer's)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Form {
    /// vc+jwt
    Jwt,
    /// vc+sd-jwt with all disclosures
    SdJwt,
}

#[derive(Subcommand)]
enum Command {
    /// Create a test key (mode 0600, marked as a test key) and print its DID.
    Keygen {
        /// Where to write the key; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the DID of a test key.
    Did {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Sign a credential for a subject.
    Sign {
        /// The test key.
        #[arg(long)]
        key: PathBuf,
        /// credentialSubject as JSON: id (holder did:key), kycTier, and the attested claims.
        #[arg(long)]
        subject: PathBuf,
        /// Securing form.
        #[arg(long, value_enum, default_value = "sd-jwt")]
        form: Form,
        /// Validity in days from now.
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
        /// URL of the status list holding this credential's revocation bit.
        #[arg(long, requires = "status_index")]
        status_list_url: Option<String>,
        /// Index of the credential's bit in that list.
        #[arg(long, requires = "status_list_url")]
        status_index: Option<u64>,
    },
    /// Sign a revocation status list.
    StatusList {
        /// The test key.
        #[arg(long)]
        key: PathBuf,
        /// The list's URL (its credential id).
        #[arg(long)]
        url: String,
        /// Indexes to mark revoked.
        #[arg(long)]
        revoke: Vec<u64>,
        /// Validity in hours from now.
        #[arg(long, default_value_t = 24)]
        valid_hours: u32,
    },
}

/// Files an issuer's data directory holds beside its key: a key next to one of them is an
/// issuer's.
const DATA_DIR_MARKS: [&str; 3] = ["store", "issuer-secret.key", "issuer-key.jwk"];

fn load(path: &Path) -> anyhow::Result<SigningKey> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path
        .canonicalize()
        .with_context(|| path.display().to_string())?;
    if let Some(parent) = dir.parent() {
        if let Some(mark) = DATA_DIR_MARKS.iter().find(|m| parent.join(m).exists()) {
            anyhow::bail!(
                "{}: beside {mark}, in an issuer's data directory; the test signer signs with \
                 test keys only",
                path.display()
            );
        }
    }
    let mode = std::fs::metadata(path)?.permissions().mode();
    anyhow::ensure!(
        mode & 0o077 == 0,
        "{} is readable by group or others (mode {:o}); chmod 600 it",
        path.display(),
        mode & 0o777
    );
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    anyhow::ensure!(
        did::is_test_jwk(&text),
        "{} is not a test key (made by kyc-test-signer keygen); the test signer signs with \
         nothing else",
        path.display()
    );
    did::from_private_jwk(text.trim()).with_context(|| format!("{}", path.display()))
}

fn keygen(out: &Path) -> anyhow::Result<DidKey> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let (key, did) = DidKey::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| out.display().to_string())?;
    file.write_all(did::private_test_jwk(&key).as_bytes())?;
    file.sync_all()?;
    Ok(did)
}

/// Read the subject strictly: verifiers ignore claims they do not know, so a signer that let a
/// misspelt claim (`birthdate`) through would sign a credential silently missing it.
fn read_subject(path: &Path) -> anyhow::Result<KycSubject> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| kyc_core::MalformedError::json("credentialSubject", &e))
        .with_context(|| format!("subject {}", path.display()))?;
    let known = |k: &str| ["id", "kycTier"].contains(&k) || DISCLOSABLE_CLAIMS.contains(&k);
    if let Some(object) = value.as_object() {
        let unknown = object.keys().filter(|k| !known(k)).count();
        anyhow::ensure!(
            unknown == 0,
            "subject {}: {unknown} claim(s) not in the KYC credential (allowed: id, kycTier, {})",
            path.display(),
            DISCLOSABLE_CLAIMS.join(", ")
        );
    }
    serde_json::from_value(value)
        .map_err(|e| kyc_core::MalformedError::json("credentialSubject", &e))
        .with_context(|| format!("subject {}", path.display()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out } => println!("{}", keygen(&out)?),
        Command::Did { key } => {
            println!(
                "{}",
                DidKey::from_verifying_key(&load(&key)?.verifying_key())
            );
        }
        Command::Sign {
            key,
            subject,
            form,
            valid_days,
            status_list_url,
            status_index,
        } => {
            let key = load(&key)?;
            let mut subject = read_subject(&subject)?;
            let issuer = DidKey::from_verifying_key(&key.verifying_key());
            let now = Utc::now();
            subject.assurance_level = subject.kyc_tier.assurance_level();
            let mut credential = KycCredential::new(
                &issuer,
                subject,
                now,
                Some(now + Duration::days(valid_days.into())),
            );
            credential.credential_status = status_list_url
                .zip(status_index)
                .map(|(url, index)| StatusEntry::revocation(&url, index));
            println!(
                "{}",
                match form {
                    Form::Jwt => credential.sign_jwt(&key)?,
                    Form::SdJwt => sd_jwt::issue(&credential, &key)?,
                }
            );
        }
        Command::StatusList {
            key,
            url,
            revoke,
            valid_hours,
        } => {
            let key = load(&key)?;
            let issuer = DidKey::from_verifying_key(&key.verifying_key());
            let mut list = Bitstring::new(0);
            for index in revoke {
                anyhow::ensure!(
                    list.set(index, true),
                    "index {index} is beyond the list's {} entries",
                    list.len()
                );
            }
            let now = Utc::now();
            let until = now + Duration::hours(valid_hours.into());
            let list = StatusListCredential::revocation(&issuer, &url, &list, now, Some(until));
            println!("{}", list.sign_jwt(&key)?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kyc-test-signer: {e:#}");
            ExitCode::from(2)
        }
    }
}
