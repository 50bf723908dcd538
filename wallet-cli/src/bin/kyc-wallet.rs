//! `kyc-wallet`: the customer's command line. Thin: parse arguments, call `kyc-core`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Parser, Subcommand};
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::DidKey;
use kyc_wallet::holder_key;

#[derive(Parser)]
#[command(
    name = "kyc-wallet",
    version,
    about = "Hold KYC credentials and present them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the holder key (mode 0600) and print its did:key.
    Keygen {
        /// Where to write the key; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the did:key of the holder key.
    Did {
        /// The holder key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Answer a presentation request with a credential (vc+sd-jwt), disclosing only what it asks.
    Present {
        /// The holder key file.
        #[arg(long)]
        key: PathBuf,
        /// The credential, as issued (vc+sd-jwt with all disclosures).
        #[arg(long)]
        credential: PathBuf,
        /// The merchant's presentation request (JSON).
        #[arg(long)]
        request: PathBuf,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out } => println!(
            "{}",
            holder_key::create(&out).with_context(|| out.display().to_string())?
        ),
        Command::Did { key } => {
            let key = holder_key::load(&key).with_context(|| key.display().to_string())?;
            println!("{}", DidKey::from_verifying_key(&key.verifying_key()));
        }
        Command::Present {
            key,
            credential,
            request,
        } => {
            let key = holder_key::load(&key).with_context(|| key.display().to_string())?;
            let sd_jwt = std::fs::read_to_string(&credential)
                .with_context(|| credential.display().to_string())?;
            let request_bytes =
                std::fs::read(&request).with_context(|| request.display().to_string())?;
            let request = PresentationRequest::from_json(&request_bytes)
                .with_context(|| request.display().to_string())?;
            let now = Utc::now();
            anyhow::ensure!(
                now < request.expires_at,
                "the presentation request has expired"
            );
            println!(
                "{}",
                presentation::present(sd_jwt.trim(), &request, &key, now)?
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kyc-wallet: {e:#}");
            ExitCode::from(2)
        }
    }
}
