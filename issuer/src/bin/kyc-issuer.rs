//! `kyc-issuer`: the issuer's command line. Thin: parse arguments, call `kyc-issuer`.
//!
//! Nothing here signs a credential or a status list: the service does, each only after the
//! audit entry naming it is durable (`kyc_issuer::signer`). Test and demo signing is the test
//! kit's `kyc-test-signer`, with test keys only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kyc_issuer::config::Config;
use kyc_issuer::{service, signing_key};

#[derive(Parser)]
#[command(name = "kyc-issuer", version, about = "Issue KYC credentials")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the issuer service until SIGTERM.
    Serve {
        /// The configuration file (TOML); KYC_ISSUER_* variables override it.
        #[arg(long)]
        config: PathBuf,
    },
    /// The audit log, read from the data directory of a stopped issuer (a running one serves
    /// the same over /v1/audit/*).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Create the issuer's signing key (mode 0600) and print its DID.
    Keygen {
        /// Where to write the key; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// The signing key: rotate it (issuer stopped).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Staff tokens for the configuration's [[staff]] entries.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The subject keys' key-encryption key (KEK), kept outside the data directory.
    SubjectKeys {
        #[command(subcommand)]
        command: SubjectKeysCommand,
    },
    /// Print the DID of an existing key.
    Did {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Print the SHA-256 digest of a staff token read from standard input, for `token_sha256`.
    HashToken,
    /// Generate a random staff token; prints the token, then its digest.
    NewToken,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// With the issuer stopped: a new signing key. The current key signs a statement naming
    /// its successor, logged as key_rotated and published at /v1/key-rotations (merchants
    /// learn it with `kyc-verify trust learn`); then the new key replaces it. Prints the new
    /// DID, then the statement. Run it again to finish an interrupted rotation.
    Rotate {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The admin rotating it (logged by commitment).
        #[arg(long)]
        by: String,
    },
}

#[derive(Subcommand)]
enum SubjectKeysCommand {
    /// Create a KEK file (mode 0600) and print its id; point subject_keys.kek_file at it
    /// before the issuer's first start.
    NewKek {
        /// Where to write it; must not exist, and must be outside the data directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// With the issuer stopped: rewrap every subject key under a new KEK, make it the
    /// configured one and overwrite the old one. Backups taken before no longer open without
    /// a copy of the old KEK; copy it first if they must stay restorable. Run it again to
    /// finish an interrupted rotation.
    RotateKek {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

fn subject_keys(command: SubjectKeysCommand) -> anyhow::Result<()> {
    use kyc_issuer::subject_keys;
    match command {
        SubjectKeysCommand::NewKek { out } => {
            let kek = subject_keys::create_kek(&out)?;
            println!("{}", kek.id());
        }
        SubjectKeysCommand::RotateKek { config } => {
            let config = Config::load(&config)?;
            let rotation = subject_keys::rotate_kek(&config.subject_key_settings()?)?;
            println!(
                "KEK {} retired, {} now wraps every subject key ({} rewrapped, {} already)",
                rotation.old, rotation.new, rotation.rewrapped, rotation.already
            );
        }
    }
    Ok(())
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Write every entry as JSON Lines, then a fresh signed checkpoint next to it (FILE.checkpoint).
    Export {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Where to write the log.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the checkpoint verifier key (C2SP note verifier key) auditors need.
    VerifierKey {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the commitment the log names a credential or a staff member by (keyed by the data
    /// directory's issuer-secret.key), to find their entries.
    Commitment {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// A credential's id (urn:uuid:…).
        #[arg(long, conflicts_with = "staff", required_unless_present = "staff")]
        credential: Option<String>,
        /// A staff member's name.
        #[arg(long)]
        staff: Option<String>,
    },
}

fn audit(command: AuditCommand) -> anyhow::Result<()> {
    let (AuditCommand::Export { config, .. }
    | AuditCommand::VerifierKey { config }
    | AuditCommand::Commitment { config, .. }) = &command;
    let config = Config::load(config)?;
    let dir = service::DataDir::create(&config)?;
    if let AuditCommand::Commitment {
        credential, staff, ..
    } = &command
    {
        // Only an existing key: a new one would name nothing in the log.
        let key = kyc_issuer::secret::IssuerSecret::load(&dir.secret_path())?;
        match (credential, staff) {
            (Some(id), _) => println!("{}", key.credential(id)),
            (None, Some(name)) => println!("{}", key.staff(name)),
            (None, None) => anyhow::bail!("say --credential or --staff"),
        }
        return Ok(());
    }
    let (key, _) = service::issuer_key(&dir)?;
    match command {
        AuditCommand::Commitment { .. } => {}
        AuditCommand::VerifierKey { .. } => {
            let signer = kyc_core::tlog::SignerKey::new(&config.audit_origin(), key)?;
            println!("{}", signer.verifier());
        }
        AuditCommand::Export { out, .. } => {
            let db = service::open_db(&dir)?;
            let log = service::open_audit(&config, &dir, &db, &key)?;
            let file = std::fs::File::create(&out).with_context(|| out.display().to_string())?;
            let mut writer = std::io::BufWriter::new(file);
            let n = log.export(&mut writer)?;
            let file = writer.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            let checkpoint = log.checkpoint_blocking()?;
            let mut checkpoint_path = out.into_os_string();
            checkpoint_path.push(".checkpoint");
            std::fs::write(&checkpoint_path, checkpoint)?;
            log.close()?;
            eprintln!(
                "exported {n} entries; checkpoint in {}",
                Path::new(&checkpoint_path).display()
            );
        }
    }
    Ok(())
}

fn staff(command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::HashToken => {
            let mut token = String::new();
            std::io::stdin().read_line(&mut token)?;
            let token = token.trim();
            anyhow::ensure!(!token.is_empty(), "no token on standard input");
            println!("{}", kyc_issuer::auth::hash_token(token));
        }
        StaffCommand::NewToken => {
            let token = kyc_issuer::auth::generate_nonce()?;
            println!("{token}\n{}", kyc_issuer::auth::hash_token(&token));
        }
    }
    Ok(())
}

fn serve(config: &Path) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(service::serve(config))?;
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => serve(&config)?,
        Command::Audit { command } => audit(command)?,
        Command::Staff { command } => staff(command)?,
        Command::SubjectKeys { command } => subject_keys(command)?,
        Command::Key {
            command: KeyCommand::Rotate { config, by },
        } => {
            let config = Config::load(&config)?;
            let dir = service::DataDir::create(&config)?;
            let rotated = service::rotate_key(&config, &dir, &by)?;
            println!("{}\n{}", rotated.current, rotated.statement);
            eprintln!(
                "rotated {} -> {}; statement published in {}",
                rotated.previous,
                rotated.current,
                rotated.published.display()
            );
        }
        Command::Keygen { out } => {
            let (_, did) = signing_key::create(&out)?;
            println!("{did}");
        }
        Command::Did { key } => println!("{}", signing_key::load(&key)?.1),
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kyc-issuer: {e:#}");
            ExitCode::from(2)
        }
    }
}
