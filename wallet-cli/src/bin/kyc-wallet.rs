//! `kyc-wallet`: the customer's command line. Thin: parse arguments, call `kyc_wallet`, print,
//! map errors to exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::DidKey;
use kyc_verifier::{cli, qr, status_cache};
use kyc_wallet::checkout;
use kyc_wallet::held::{self, Summary};
use kyc_wallet::issuer_client::{ClientError, IssuerClient};
use kyc_wallet::submission::{self, DocumentFiles, DocumentType, Draft};
use kyc_wallet::wallet::{ApplicationRecord, CredentialMeta, StoredCredential, Wallet};
use kyc_wallet::{batch, holder_key, location, password, render, Error};
use serde_json::json;

/// The largest presentation request read.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

const AFTER_HELP: &str = "\
Examples:
  kyc-wallet init
  kyc-wallet apply --issuer https://kyc.example --identity me.json \\
      --document-type passport --mrz mrz.txt --selfie selfie.jpg --frames frames/
  kyc-wallet status --follow
  kyc-wallet upload --document-image passport.jpg --document-type passport   (if asked)
  kyc-wallet collect
  kyc-wallet list
  kyc-wallet present --request request.json > presentation.txt
  kyc-wallet show 3f2a --check-status
  kyc-wallet export --out wallet.backup
  kyc-wallet import wallet.backup --wallet ~/restored

The wallet directory is --wallet DIR, else $KYC_WALLET_DIR, else $XDG_DATA_HOME/kyc-wallet or
~/.local/share/kyc-wallet. The password comes from $KYC_WALLET_PASSWORD, else a prompt.

Exit codes: 0 done; 1 refused (wrong password, the issuer said no, the request cannot be
satisfied); 2 unusable input or wallet (arguments, files, a damaged keystore); 3 the issuer could
not be reached or failed (try again later).";

#[derive(Parser)]
#[command(
    name = "kyc-wallet",
    version,
    about = "Hold KYC credentials and present them",
    after_help = AFTER_HELP
)]
struct Cli {
    /// The wallet directory.
    #[arg(long, global = true, value_name = "DIR")]
    wallet: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the wallet: a new did:key whose private key is encrypted under your password.
    #[command(after_help = "Example:\n  KYC_WALLET_DIR=~/kyc kyc-wallet init")]
    Init,
    /// Print the wallet's DID (no password needed); with --key, a bare key file's [low-level].
    Did {
        /// [low-level] A bare holder key file (from `keygen`) instead of the wallet.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Submit a KYC application to an issuer and record it in the wallet.
    #[command(after_help = "\
Example:
  kyc-wallet apply --issuer https://kyc.example --jurisdiction EU --identity me.json \\
      --document-type id_card --mrz mrz.txt --document-image id.jpg --selfie me.jpg --frames live/

The identity file is the application schema's `identity` object:
  {\"givenName\": \"…\", \"familyName\": \"…\", \"birthDate\": \"1990-01-31\", \"nationality\": \"DE\",
   \"residence\": {\"country\": \"DE\", \"city\": \"…\"}, \"documentNumber\": \"…\"}
Images are JPEG or PNG.

Liveness: with --frames DIR the wallet first asks the issuer for a liveness challenge (a random
sequence of head turns such as \"left, centre, right\") and shows it on stderr. A phone wallet
would film you turning your head as asked; this command line takes prepared captures instead,
one image per pose in DIR: left.jpg, centre.jpg (or center.jpg), right.jpg (.jpg, .jpeg or
.png). They are sent one per turn in the challenge's order, with the challenge's id. A missing
pose is an error before anything is sent. An issuer without biometric checks has no challenge
(404): the application is then sent without frames, and the wallet says so.")]
    Apply(ApplyArgs),
    /// Show an application's state (the latest one without ID); --follow waits for a decision.
    #[command(
        after_help = "Examples:\n  kyc-wallet status\n  kyc-wallet status 3f2a --follow --timeout 600"
    )]
    Status {
        /// The application id, or a unique prefix of it.
        id: Option<String>,
        /// Wait, showing each change, until the application is decided or needs you.
        #[arg(long)]
        follow: bool,
        /// With --follow: give up after this many seconds.
        #[arg(long, value_name = "SECS", requires = "follow")]
        timeout: Option<u64>,
    },
    /// Send the documents a reviewer asked for (state more_documents_requested).
    #[command(
        after_help = "Example:\n  kyc-wallet upload --document-type passport --document-image passport.jpg --selfie me.jpg"
    )]
    Upload(UploadArgs),
    /// Fetch a batch of credentials of an approved application (both forms) into the wallet.
    #[command(after_help = "\
Each credential of the batch is bound to a holder key of its own and is shown to one shop only,
so that shops cannot recognise you by the credential. `present` fetches another batch by itself
when fewer than 3 unshown ones are left (when the issuer can be reached).")]
    Collect {
        /// The application id, or a unique prefix of it (default: the latest).
        id: Option<String>,
        /// How many credentials to fetch (1 to 50).
        #[arg(long, value_name = "N", default_value_t = 10,
            value_parser = clap::value_parser!(u16).range(1..=50))]
        batch: u16,
    },
    /// List the applications sent and the credentials held.
    List,
    /// Summarise a credential: issuer, tier, validity, disclosable claims, revocation status.
    #[command(after_help = "\
Examples:
  kyc-wallet show 3f2a
  kyc-wallet show 3f2a --check-status

The revocation status comes from the status list last fetched into the wallet; without one it is
\"unknown (offline)\". --check-status fetches the list named by the credential's credentialStatus
(from the issuer's address recorded at apply time when the list names the issuer's public URL),
verifies it against the credential's issuer, and keeps it.")]
    Show {
        /// The credential id (`urn:uuid:…`), its uuid, or a unique prefix.
        id: String,
        /// Fetch the credential's status list now (network) and keep it.
        #[arg(long)]
        check_status: bool,
    },
    /// Write an encrypted backup of the whole wallet (keystore, credentials, applications).
    #[command(after_help = "\
Example:
  kyc-wallet export --out wallet.backup

The backup is a password-based JWE (PBES2-HS512+A256KW, A256GCM) under KYC_WALLET_BACKUP_PASSWORD
when set, else under the wallet password. The keystore inside stays sealed under the wallet
password.")]
    Export {
        /// Where to write it (mode 0600); must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a wallet from a backup made by `export`.
    #[command(after_help = "\
Example:
  kyc-wallet import wallet.backup --wallet ~/restored

Refuses to replace an existing wallet unless --force. A wrong password or a damaged backup
changes nothing: the wallet is restored into a staging directory, unlocked with the wallet
password, and only then moved into place.")]
    Import {
        /// The backup file.
        file: PathBuf,
        /// Replace a wallet that exists at the destination.
        #[arg(long)]
        force: bool,
    },
    /// Answer a merchant's presentation request with a held credential (vc+sd-jwt, key-bound).
    #[command(after_help = "\
Examples:
  kyc-wallet present --request request.json
  kyc-verify request --aud shop.example --min-tier 2 --claims ageOver18 | kyc-wallet present --request -
  kyc-wallet present --request request.json --disclose ageOver18,countryOfResidence --out p.txt

What the merchant asks for and what will be disclosed is shown on stderr. By default exactly the
requested claims are disclosed.

[low-level] With --key FILE, --credential is a credential FILE and the wallet is not used:
  kyc-wallet present --key holder.jwk --credential cred.sd-jwt --request request.json")]
    Present(PresentArgs),
    /// [low-level] Write a bare holder key file (mode 0600) and print its did:key.
    Keygen {
        /// Where to write the key; must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Args)]
struct ApplyArgs {
    /// The issuer's base URL.
    #[arg(long, value_name = "URL")]
    issuer: String,
    /// The issuer's public URL, named in holder tokens, when it differs from --issuer (behind a
    /// proxy, or a test issuer on a loopback port).
    #[arg(long, value_name = "URL")]
    audience: Option<String>,
    /// The jurisdiction policy: EU, US, CN, JP or default.
    #[arg(long, value_name = "CODE", default_value = "default")]
    jurisdiction: String,
    /// The identity data (JSON).
    #[arg(long, value_name = "FILE")]
    identity: PathBuf,
    /// The identity document's type.
    #[arg(long, value_enum, value_name = "TYPE")]
    document_type: DocumentType,
    #[command(flatten)]
    media: MediaArgs,
}

#[derive(Args)]
struct UploadArgs {
    /// The application id, or a unique prefix of it (default: the latest).
    id: Option<String>,
    /// The identity document's type, with --mrz or --document-image.
    #[arg(long, value_enum, value_name = "TYPE")]
    document_type: Option<DocumentType>,
    #[command(flatten)]
    media: MediaArgs,
}

/// The files `apply` and `upload` send.
#[derive(Args)]
struct MediaArgs {
    /// The document's machine-readable zone (text file).
    #[arg(long, value_name = "FILE")]
    mrz: Option<PathBuf>,
    /// A photo or scan of the document (JPEG or PNG).
    #[arg(long, visible_alias = "document", value_name = "FILE")]
    document_image: Option<PathBuf>,
    /// A selfie (JPEG or PNG).
    #[arg(long, value_name = "FILE")]
    selfie: Option<PathBuf>,
    /// Liveness captures, one image per head pose: DIR/left.jpg, DIR/centre.jpg (or center),
    /// DIR/right.jpg (.jpg, .jpeg or .png), sent in the order of the issuer's challenge.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// A proof of address (JPEG or PNG), for tier 3.
    #[arg(long, value_name = "FILE")]
    proof_of_address: Option<PathBuf>,
}

impl MediaArgs {
    fn files(self, document_type: Option<DocumentType>) -> DocumentFiles {
        DocumentFiles {
            document_type,
            mrz: self.mrz,
            document_image: self.document_image,
            selfie: self.selfie,
            frames: self.frames,
            proof_of_address: self.proof_of_address,
        }
    }
}

#[derive(Args)]
struct PresentArgs {
    /// The merchant's presentation request (JSON), or - for standard input.
    #[arg(long, value_name = "FILE|-")]
    request: PathBuf,
    /// Claims to disclose, comma-separated (default: exactly those requested).
    #[arg(long, value_delimiter = ',', value_name = "CLAIMS")]
    disclose: Option<Vec<String>>,
    /// The credential to present (id or prefix; default: the best fit). With --key: a FILE.
    #[arg(long, value_name = "ID")]
    credential: Option<String>,
    /// Write the presentation to this file (mode 0600) instead of stdout; a FILE ending in
    /// `.png` gets it as a QR code image.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also draw the presentation as a QR code on stderr, for a shop's scanner.
    #[arg(long)]
    qr: bool,
    /// [low-level] A bare holder key file; --credential is then a credential file.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Keygen { out } => low_level(keygen(&out, cli.json)),
        Command::Did { key: Some(key) } => low_level(did_of_key_file(&key, cli.json)),
        Command::Present(args) if args.key.is_some() => {
            low_level(present_with_key_file(args, cli.json))
        }
        command => wallet_mode(cli.wallet.as_deref(), cli.json, command),
    }
}

/// The low-level commands' contract, kept from before the wallet existed: every error exits 2.
fn low_level(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kyc-wallet: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn wallet_mode(dir: Option<&Path>, json: bool, command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kyc-wallet: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let ui = Ui { json };
    match runtime.block_on(wallet_command(&ui, dir, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kyc-wallet: {e}");
            ExitCode::from(e.class().exit_code())
        }
    }
}

/// Where results go: JSON or text on stdout; progress always on stderr.
struct Ui {
    json: bool,
}

impl Ui {
    fn result(&self, json: serde_json::Value, text: impl FnOnce() -> String) -> Result<(), Error> {
        if self.json {
            stdout(&format!("{json}\n"))
        } else {
            stdout(&text())
        }
    }

    fn progress(&self, line: impl std::fmt::Display) {
        eprintln!("{line}");
    }
}

async fn wallet_command(ui: &Ui, dir: Option<&Path>, command: Command) -> Result<(), Error> {
    let dir = location::wallet_dir(dir)?;
    match command {
        Command::Init => init(ui, &dir),
        Command::Did { key: None } => print_did(Wallet::open(&dir)?.did(), ui.json),
        Command::Apply(args) => apply(ui, &Wallet::open(&dir)?, args).await,
        Command::Status {
            id,
            follow,
            timeout,
        } => status(ui, &Wallet::open(&dir)?, id.as_deref(), follow, timeout).await,
        Command::Upload(args) => upload(ui, &Wallet::open(&dir)?, args).await,
        Command::Collect { id, batch } => {
            collect(ui, &Wallet::open(&dir)?, id.as_deref(), batch.into()).await
        }
        Command::List => list(ui, &Wallet::open(&dir)?),
        Command::Show { id, check_status } => {
            show(ui, &Wallet::open(&dir)?, &id, check_status).await
        }
        Command::Export { out } => export(ui, &Wallet::open(&dir)?, &out),
        Command::Import { file, force } => import(ui, &dir, &file, force),
        Command::Present(args) if args.key.is_none() => {
            present(ui, &Wallet::open(&dir)?, args).await
        }
        // `main` sends these to their low-level forms.
        Command::Keygen { .. } | Command::Did { .. } | Command::Present(_) => {
            Err(Error::NotAWalletCommand)
        }
    }
}

/// `init`: a new wallet in `dir`, with a fresh holder key under a new password.
fn init(ui: &Ui, dir: &Path) -> Result<(), Error> {
    kyc_wallet::wallet::check_can_init(dir)?;
    let password = password::new()?;
    let wallet = Wallet::init(dir, &password)?;
    ui.progress(format_args!("created the wallet at {}", dir.display()));
    let did = wallet.did();
    ui.result(
        json!({"did": did.as_str(), "keyId": did.key_id(), "wallet": dir}),
        || format!("{did}\n"),
    )
}

/// `list`: the applications sent and the credentials held (damaged ones named, not hidden).
fn list(ui: &Ui, wallet: &Wallet) -> Result<(), Error> {
    let applications = wallet.applications()?;
    let now = Utc::now();
    let credentials: Vec<Result<Summary, String>> = wallet
        .credentials()?
        .iter()
        .map(|c| {
            held::summarise_held(c, wallet.did(), now)
                .map_err(|e| format!("{}  damaged: {e}", c.stem))
        })
        .collect();
    let good: Vec<&Summary> = credentials.iter().filter_map(|c| c.as_ref().ok()).collect();
    let damaged: Vec<&String> = credentials
        .iter()
        .filter_map(|c| c.as_ref().err())
        .collect();
    ui.result(
        json!({"applications": applications, "credentials": good, "damaged": damaged}),
        || render::list(&applications, &credentials),
    )
}

/// `show ID [--check-status]`: one credential and its revocation status, from the status lists
/// cached in the wallet (fetched first with `--check-status`).
async fn show(ui: &Ui, wallet: &Wallet, id: &str, check_status: bool) -> Result<(), Error> {
    let stored = wallet.credential(id)?;
    let summary = held::summarise_held(&stored, wallet.did(), Utc::now())?;
    let cache = wallet.dir().join(STATUS_CACHE_DIR);
    if check_status {
        if let Some(status) = &summary.status {
            fetch_status_list(ui, wallet, &status.list, &cache).await?;
        }
    }
    let lists = status_cache::load(&cache, &kyc_core::did::Resolver::new()).map_err(|e| {
        Error::StatusList {
            url: cache.display().to_string(),
            reason: e.to_string(),
        }
    })?;
    let revocation = held::revocation(&summary, &lists);
    let mut out = json!(summary);
    out["revocation"] = json!(revocation);
    ui.result(out, || {
        format!(
            "{}revocation: {}\n",
            render::credential(&summary),
            revocation_line(&revocation)
        )
    })
}

/// `export --out FILE`: the whole wallet as one password-based JWE (module `backup`).
fn export(ui: &Ui, wallet: &Wallet, out: &Path) -> Result<(), Error> {
    let password = password::existing()?;
    wallet.unlock(&password)?;
    let backup_password = backup_password()?.unwrap_or(password);
    let backup = kyc_wallet::backup::export(wallet, &backup_password)?;
    write_private(out, &backup, true)?;
    ui.progress(format_args!("wallet backed up to {}", out.display()));
    ui.result(json!({"backup": out, "did": wallet.did().as_str()}), || {
        format!("{}\n", out.display())
    })
}

/// `import FILE [--force]`: restore a backup into `dir`, all or nothing.
fn import(ui: &Ui, dir: &Path, file: &Path, force: bool) -> Result<(), Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::File {
        what: file.display().to_string(),
        source,
    })?;
    let password = password::existing()?;
    let backup_password = backup_password()?;
    let staged = kyc_wallet::backup::stage(
        &text,
        backup_password
            .as_deref()
            .map_or(password.as_str(), |p| p.as_str()),
        dir,
    )?;
    staged.wallet().unlock(&password)?;
    let wallet = staged.commit(force)?;
    ui.progress(format_args!("wallet restored at {}", dir.display()));
    ui.result(json!({"did": wallet.did().as_str(), "wallet": dir}), || {
        format!("{}\n", wallet.did())
    })
}

fn unlock(wallet: &Wallet) -> Result<ed25519_dalek::SigningKey, Error> {
    let password = password::existing()?;
    Ok(wallet.unlock(&password)?)
}

async fn apply(ui: &Ui, wallet: &Wallet, args: ApplyArgs) -> Result<(), Error> {
    let client = IssuerClient::new(&args.issuer, args.audience.as_deref())?;
    let files = args.media.files(Some(args.document_type));
    let draft = submission::build(&args.jurisdiction, &args.identity, &files, wallet.did())?;
    // Unlock first: an application is never bound to a key its holder cannot use. (And before
    // the liveness challenge, whose time runs from when it is issued.)
    let key = unlock(wallet)?;
    let body = answer_liveness(ui, &client, &key, draft).await?;
    ui.progress(format_args!(
        "submitting the application to {}",
        client.base()
    ));
    let view = client.submit(&body).await?;
    let now = Utc::now();
    wallet.record_application(&ApplicationRecord {
        id: view.id.clone(),
        issuer: client.base().to_owned(),
        audience: client.audience().to_owned(),
        jurisdiction: view.jurisdiction.clone(),
        submitted_at: view.created_at,
        state: view.state.clone(),
        credential: view.credential.clone(),
        updated_at: now,
    })?;
    ui.progress(format_args!("recorded application {}", view.id));
    ui.result(json!(view), || render::application(&view, client.base()))?;
    Ok(())
}

/// Finish `draft`. With liveness captures: ask the issuer for a challenge, show the person the
/// turns, and send one capture per turn in that order; an issuer with no liveness step (404)
/// gets the rest without them.
async fn answer_liveness(
    ui: &Ui,
    client: &IssuerClient,
    key: &ed25519_dalek::SigningKey,
    draft: Draft,
) -> Result<serde_json::Value, Error> {
    let Some(dir) = draft.captures().map(|c| c.dir().display().to_string()) else {
        return Ok(draft.finish(None)?);
    };
    match client.liveness_challenge(key).await? {
        Some(challenge) => {
            ui.progress(format_args!(
                "liveness challenge {}: {}",
                challenge.id,
                challenge.instruction()
            ));
            ui.progress(format_args!(
                "sending the prepared captures from {dir} in that order (a phone wallet would film you now)"
            ));
            Ok(draft.finish(Some(&challenge))?)
        }
        None => {
            ui.progress(
                "the issuer performs no biometric check (no liveness challenge): sending without the liveness frames",
            );
            Ok(draft.finish(None)?)
        }
    }
}

async fn status(
    ui: &Ui,
    wallet: &Wallet,
    id: Option<&str>,
    follow: bool,
    timeout: Option<u64>,
) -> Result<(), Error> {
    let mut record = wallet.application(id)?;
    let client = IssuerClient::new(&record.issuer, Some(&record.audience))?;
    let key = unlock(wallet)?;
    let view = if follow {
        let mut last = record.state.clone();
        let following = client.follow(&record.id, &key, |view| {
            last = view.state.clone();
            ui.progress(format_args!(
                "{} {}",
                Utc::now().format("%H:%M:%S"),
                render::state_line(view)
            ));
        });
        match timeout {
            None => following.await?,
            Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), following).await {
                Ok(view) => view?,
                Err(_) => return Err(Error::StillWaiting { state: last, secs }),
            },
        }
    } else {
        client.application(&record.id, &key).await?
    };
    record.state = view.state.clone();
    record.credential = view.credential.clone().or(record.credential);
    record.updated_at = Utc::now();
    wallet.record_application(&record)?;
    ui.result(json!(view), || render::application(&view, &record.issuer))?;
    Ok(())
}

async fn upload(ui: &Ui, wallet: &Wallet, args: UploadArgs) -> Result<(), Error> {
    let mut record = wallet.application(args.id.as_deref())?;
    let client = IssuerClient::new(&record.issuer, Some(&record.audience))?;
    let draft = submission::uploads(&args.media.files(args.document_type))?;
    let key = unlock(wallet)?;
    let body = answer_liveness(ui, &client, &key, draft).await?;
    ui.progress(format_args!("uploading documents for {}", record.id));
    let view = client.upload(&record.id, &key, &body).await?;
    record.state = view.state.clone();
    record.updated_at = Utc::now();
    wallet.record_application(&record)?;
    ui.result(json!(view), || render::application(&view, &record.issuer))?;
    Ok(())
}

async fn collect(ui: &Ui, wallet: &Wallet, id: Option<&str>, batch: usize) -> Result<(), Error> {
    let mut record = wallet.application(id)?;
    let client = IssuerClient::new(&record.issuer, Some(&record.audience))?;
    let key = unlock(wallet)?;
    ui.progress(format_args!(
        "collecting {batch} credentials of {}",
        record.id
    ));
    let summaries = match fetch_batch(wallet, &client, &record.id, &key, batch).await {
        Ok(summaries) => summaries,
        Err(Error::Issuer(ClientError::Problem { status: 409, .. })) => {
            // Not approved (yet), or no more credentials: say where it stands.
            let view = client.application(&record.id, &key).await?;
            record.state = view.state.clone();
            record.updated_at = Utc::now();
            wallet.record_application(&record)?;
            return Err(Error::NotApproved {
                id: record.id,
                state: view.state,
            });
        }
        Err(e) => return Err(e),
    };
    record.state = "issued".into();
    record.credential = summaries
        .first()
        .map(|s| s.id.clone())
        .or(record.credential);
    record.updated_at = Utc::now();
    wallet.record_application(&record)?;
    ui.progress(format_args!(
        "stored {} credentials in the wallet",
        summaries.len()
    ));
    let first = summaries.first().cloned();
    ui.result(
        json!(match &first {
            Some(s) => json!({
                "id": s.id,
                "stem": s.stem,
                "tier": s.tier,
                "issuer": s.issuer,
                "subject": s.subject,
                "count": summaries.len(),
                "credentials": summaries,
            }),
            None => json!({"credentials": summaries}),
        }),
        || first.as_ref().map(render::credential).unwrap_or_default(),
    )?;
    Ok(())
}

/// Ask the issuer for `n` credentials of `application`, each bound to a holder key of its own
/// (derived from the wallet key `key` and a fresh label, `kyc_wallet::batch`); check each
/// (both forms, the issuer's signature, bound to its key) and store it.
async fn fetch_batch(
    wallet: &Wallet,
    client: &IssuerClient,
    application: &str,
    key: &ed25519_dalek::SigningKey,
    n: usize,
) -> Result<Vec<Summary>, Error> {
    let labels: Vec<String> = (0..n).map(|_| batch::new_label()).collect();
    let keys: Vec<ed25519_dalek::SigningKey> = labels
        .iter()
        .filter_map(|l| batch::derive(key, l))
        .collect();
    let collected = client.collect(application, key, &keys).await?;
    if collected.credentials.len() != keys.len() {
        return Err(held::HeldError::Inconsistent(
            "the issuer did not answer one credential per key",
        )
        .into());
    }
    let now = Utc::now();
    let mut summaries = Vec::with_capacity(keys.len());
    for ((credential, holder_key), label) in collected.credentials.iter().zip(&keys).zip(labels) {
        let holder = DidKey::from_verifying_key(&holder_key.verifying_key());
        let summary = held::check_collected(
            &credential.id,
            collected.tier,
            &credential.sd_jwt,
            &credential.jwt,
            &holder,
            now,
        )?;
        let meta = CredentialMeta {
            application: Some(application.to_owned()),
            key_label: Some(label),
            holder: Some(holder.as_str().to_owned()),
            presented_to: None,
        };
        wallet.store_batch_credential(
            &credential.id,
            &credential.sd_jwt,
            &credential.jwt,
            &meta,
        )?;
        summaries.push(summary);
    }
    Ok(summaries)
}

/// The signing key of a held credential: its own derived key, or the wallet key.
fn holder_key_of(
    stored: &StoredCredential,
    key: &ed25519_dalek::SigningKey,
) -> Result<ed25519_dalek::SigningKey, Error> {
    match stored.meta.as_ref().and_then(|m| m.key_label.as_deref()) {
        None => Ok(key.clone()),
        Some(label) => batch::derive(key, label).ok_or_else(|| {
            held::HeldError::Inconsistent("the wallet's record of its holder key is damaged").into()
        }),
    }
}

/// Every held credential that verifies, summarised (damaged ones reported on stderr).
fn held_credentials(
    ui: &Ui,
    wallet: &Wallet,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<(StoredCredential, Summary)>, Error> {
    let mut held = Vec::new();
    for stored in wallet.credentials()? {
        match held::summarise_held(&stored, wallet.did(), now) {
            Ok(s) => held.push((stored, s)),
            Err(e) => ui.progress(format_args!("skipping credential {}: {e}", stored.stem)),
        }
    }
    Ok(held)
}

async fn present(ui: &Ui, wallet: &Wallet, args: PresentArgs) -> Result<(), Error> {
    let now = Utc::now();
    let bytes = read_input(&args.request)?;
    let request = checkout::read_request(&bytes, now)?;
    ui.progress(format_args!("merchant: {}", render::request(&request, now)));
    let disclose: Option<Vec<String>> = args
        .disclose
        .map(|d| d.into_iter().filter(|c| !c.is_empty()).collect());
    let mut key = None;
    let all: Vec<(StoredCredential, Summary)> = match &args.credential {
        Some(id) => {
            let stored = wallet.credential(id)?;
            let summary = held::summarise_held(&stored, wallet.did(), now)?;
            vec![(stored, summary)]
        }
        None => held_credentials(ui, wallet, now)?,
    };
    // A credential is shown to one shop only: the ones shown elsewhere are not candidates.
    let usable = |all: &[(StoredCredential, Summary)]| -> Vec<Summary> {
        all.iter()
            .map(|(_, s)| s)
            .filter(|s| s.presented_to.as_deref().is_none_or(|a| a == request.aud))
            .cloned()
            .collect()
    };
    let mut candidates = usable(&all);
    if candidates.is_empty() && !all.is_empty() {
        if args.credential.is_some() {
            return Err(checkout::CheckoutError::ShownElsewhere.into());
        }
        // Every credential was shown to another shop: fetch a new batch first (online).
        let unlocked = unlock(wallet)?;
        refill(ui, wallet, &unlocked, &all, &request.aud, true).await;
        key = Some(unlocked);
        candidates = usable(&held_credentials(ui, wallet, now)?);
        if candidates.is_empty() {
            return Err(checkout::CheckoutError::ShownElsewhere.into());
        }
    }
    // A shop that has seen a credential is shown the same one again when it fits: it learns
    // nothing new, and the batch lasts longer.
    let known: Vec<Summary> = candidates
        .iter()
        .filter(|s| s.presented_to.as_deref() == Some(request.aud.as_str()))
        .cloned()
        .collect();
    let plan = match checkout::plan(&request, &known, disclose.as_deref(), now) {
        Ok(plan) if !known.is_empty() => plan,
        _ => checkout::plan(&request, &candidates, disclose.as_deref(), now)?,
    };
    ui.progress(render::plan(&plan).trim_end());
    let stored = wallet.credential(&plan.credential.stem)?;
    let key = match key {
        Some(k) => k,
        None => unlock(wallet)?,
    };
    let holder_key = holder_key_of(&stored, &key)?;
    let presentation = checkout::present(&plan, &request, &stored.sd_jwt, &holder_key, Utc::now())?;
    // Recorded before the presentation leaves the wallet: whatever happens next, this
    // credential is never shown to another shop.
    if stored.presented_to().is_none() {
        let mut meta = stored.meta.clone().unwrap_or_default();
        meta.presented_to = Some(request.aud.clone());
        wallet.record_credential_meta(&stored.stem, &meta)?;
    }
    if args.qr {
        eprint!("{}", qr::terminal(&presentation)?);
    }
    if let Some(out) = &args.out {
        if out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"))
        {
            write_private_bytes(out, &qr::png(&presentation)?, false)?;
            ui.progress(format_args!(
                "presentation written to {} as a QR code",
                out.display()
            ));
        } else {
            write_private(out, &presentation, false)?;
            ui.progress(format_args!("presentation written to {}", out.display()));
        }
    }
    if ui.json {
        let result = json!({
            "presentation": presentation,
            "credential": plan.credential.id,
            "disclosed": plan.disclose,
            "aud": request.aud,
        });
        stdout(&format!("{result}\n"))?;
    } else if args.out.is_none() {
        stdout(&format!("{presentation}\n"))?;
    }
    if args.credential.is_none() {
        let all = held_credentials(ui, wallet, Utc::now())?;
        refill(ui, wallet, &key, &all, &request.aud, false).await;
    }
    Ok(())
}

/// When fewer than `batch::REFILL_BELOW` valid credentials are left that no shop has seen, of
/// the application whose credentials these are, fetch a new batch from its issuer (`force`:
/// whatever is left). Best effort: at an offline checkout the issuer cannot be reached, and
/// that is said on stderr, not an error.
async fn refill(
    ui: &Ui,
    wallet: &Wallet,
    key: &ed25519_dalek::SigningKey,
    held: &[(StoredCredential, Summary)],
    aud: &str,
    force: bool,
) {
    let mut by_application: Vec<(String, usize)> = Vec::new();
    for (stored, summary) in held {
        let Some(application) = stored.meta.as_ref().and_then(|m| m.application.clone()) else {
            continue;
        };
        let fresh = usize::from(
            summary.validity == held::Validity::Valid && summary.presented_to.is_none(),
        );
        match by_application.iter_mut().find(|(a, _)| *a == application) {
            Some((_, n)) => *n += fresh,
            None => by_application.push((application, fresh)),
        }
    }
    for (application, fresh) in by_application {
        if fresh >= batch::REFILL_BELOW && !force {
            continue;
        }
        let Ok(record) = wallet.application(Some(&application)) else {
            continue;
        };
        let result = async {
            let client = IssuerClient::new(&record.issuer, Some(&record.audience))?;
            fetch_batch(wallet, &client, &record.id, key, batch::DEFAULT_BATCH).await
        }
        .await;
        match result {
            Ok(got) => ui.progress(format_args!(
                "{fresh} unshown credentials were left: fetched {} more from {}",
                got.len(),
                record.issuer
            )),
            Err(e) => ui.progress(format_args!(
                "{fresh} unshown credentials are left for shops other than {aud}, and fetching more failed ({e}); run `kyc-wallet collect` when online"
            )),
        }
    }
}

/// Write a result to stdout. A reader that went away (`kyc-wallet list | head -1`) is not an
/// error; `println!` would panic there.
fn stdout(text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|source| Error::File {
            what: "standard output".into(),
            source,
        }),
    }
}

/// A file, or standard input for `-`, up to [`MAX_REQUEST_BYTES`].
fn read_input(path: &Path) -> Result<Vec<u8>, Error> {
    cli::read_bounded(path, MAX_REQUEST_BYTES).map_err(|e| match e {
        cli::InputError::Open { what, source } | cli::InputError::Read { what, source } => {
            Error::File { what, source }
        }
        cli::InputError::TooLarge { what, limit } => Error::TooLarge { what, limit },
    })
}

/// Write `text` and a newline to `path` with mode 0600 (a presentation discloses claims).
fn write_private(path: &Path, text: &str, new: bool) -> Result<(), Error> {
    write_private_bytes(path, format!("{text}\n").as_bytes(), new)
}

/// Write `bytes` to `path` with mode 0600; when `new`, refuse an existing file.
fn write_private_bytes(path: &Path, bytes: &[u8], new: bool) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|source| Error::File {
            what: path.display().to_string(),
            source,
        })
}

/// Where `show` keeps the status lists it fetched, inside the wallet directory.
const STATUS_CACHE_DIR: &str = "status-lists";

/// The backup password when it differs from the wallet password (module `backup`).
fn backup_password() -> Result<Option<zeroize::Zeroizing<String>>, Error> {
    match std::env::var(kyc_wallet::backup::ENV_BACKUP_PASSWORD) {
        Ok(p) => Ok(Some(zeroize::Zeroizing::new(p))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(password::PasswordError::NotUnicode.into()),
    }
}

fn revocation_line(revocation: &held::Revocation) -> String {
    match revocation {
        held::Revocation::NoStatus => "no status entry".into(),
        held::Revocation::Unknown => "status unknown (offline); --check-status fetches it".into(),
        held::Revocation::Checked {
            revoked: false,
            as_of,
        } => {
            format!("not revoked (status list fetched {as_of})")
        }
        held::Revocation::Checked {
            revoked: true,
            as_of,
        } => {
            format!("REVOKED (status list fetched {as_of})")
        }
        held::Revocation::Unusable { reason } => format!("status unknown: {reason}"),
    }
}

/// Fetch the status list at `url` (through the issuer address an application recorded when
/// `url` is under that issuer's public URL), verify it against its own issuer's did:key, and
/// keep it in `cache`. The holder's credential check ([`held::revocation`]) then requires the
/// list's issuer to be the credential's.
async fn fetch_status_list(ui: &Ui, wallet: &Wallet, url: &str, cache: &Path) -> Result<(), Error> {
    let fetch_url = wallet
        .applications()?
        .iter()
        .find_map(|a| {
            let rest = url.strip_prefix(a.audience.trim_end_matches('/'))?;
            rest.starts_with('/').then(|| format!("{}{rest}", a.issuer))
        })
        .unwrap_or_else(|| url.to_owned());
    let fail = |reason: String| Error::StatusList {
        url: fetch_url.clone(),
        reason,
    };
    ui.progress(format_args!("fetching the status list {fetch_url}"));
    let client = cli::status_list_client(None).map_err(|e| fail(e.to_string()))?;
    let jwt = cli::fetch_status_list(&client, &fetch_url)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let fetched_at = Utc::now();
    let list = kyc_core::status_list::verify_jwt(jwt.trim(), &kyc_core::did::Resolver::new())
        .map_err(|e| fail(e.to_string()))?;
    status_cache::store(cache, &jwt, &list, fetched_at).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// `keygen --out FILE`: a bare holder key file, no wallet.
fn keygen(out: &Path, json: bool) -> anyhow::Result<()> {
    let did = holder_key::create(out).with_context(|| out.display().to_string())?;
    Ok(print_did(&did, json)?)
}

/// `did --key FILE`.
fn did_of_key_file(path: &Path, json: bool) -> anyhow::Result<()> {
    let key = holder_key::load(path).with_context(|| path.display().to_string())?;
    Ok(print_did(
        &DidKey::from_verifying_key(&key.verifying_key()),
        json,
    )?)
}

fn print_did(did: &DidKey, json: bool) -> Result<(), Error> {
    if json {
        stdout(&format!(
            "{}\n",
            json!({"did": did.as_str(), "keyId": did.key_id()})
        ))
    } else {
        stdout(&format!("{did}\n"))
    }
}

/// `present --key FILE --credential FILE --request FILE`: no wallet, discloses exactly what
/// the request asks for.
fn present_with_key_file(args: PresentArgs, json: bool) -> anyhow::Result<()> {
    let key = args.key.context("--key FILE is required")?;
    let credential = PathBuf::from(
        args.credential
            .context("with --key, --credential FILE is required")?,
    );
    let request = args.request;
    let key = holder_key::load(&key).with_context(|| key.display().to_string())?;
    let sd_jwt =
        std::fs::read_to_string(&credential).with_context(|| credential.display().to_string())?;
    let request_bytes = std::fs::read(&request).with_context(|| request.display().to_string())?;
    let request = PresentationRequest::from_json(&request_bytes)
        .with_context(|| request.display().to_string())?;
    let now = Utc::now();
    anyhow::ensure!(
        now < request.expires_at,
        "the presentation request has expired"
    );
    let presentation = presentation::present(sd_jwt.trim(), &request, &key, now)?;
    let text = if json {
        json!({"presentation": presentation, "aud": request.aud}).to_string()
    } else {
        presentation
    };
    Ok(stdout(&format!("{text}\n"))?)
}
