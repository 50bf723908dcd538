//! `kyc-verify`: the merchant's and auditor's command line. Thin: parse arguments, call
//! `kyc-verifier`, print one JSON verdict, exit 0 (valid), 1 (not valid) or 2 (unreadable).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kyc_core::presentation::PresentationRequest;
use kyc_core::status_list::{self, VerifiedStatusList};
use kyc_core::tlog::VerifierKey;
use kyc_core::{KycTier, MalformedError, VerifyError};
use kyc_verifier::audit::{self, AuditorState};
use kyc_verifier::replay::{FileReplayStore, MemoryReplayStore, ReplayStore};
use kyc_verifier::{StatusPolicy, TrustList, Verdict};

#[derive(Parser)]
#[command(
    name = "kyc-verify",
    version,
    about = "Verify KYC credentials and presentations offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a fresh presentation request (JSON) for a wallet to answer.
    Request {
        /// The merchant's identifier (the key-binding audience).
        #[arg(long)]
        aud: String,
        /// The lowest acceptable KYC tier (0–3).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
        min_tier: u8,
        /// Claims to ask for, comma-separated (e.g. ageOver18,countryOfResidence).
        #[arg(long, value_delimiter = ',')]
        claims: Vec<String>,
        /// How long the request stays valid.
        #[arg(long, default_value_t = 300)]
        ttl_seconds: u32,
    },
    /// Verify a credential (vc+jwt or vc+sd-jwt) and print a JSON verdict.
    Credential {
        /// The credential file, or - for standard input.
        input: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Verify a checkout presentation against the request it answers.
    Presentation {
        /// The presentation request (JSON) the merchant issued.
        #[arg(long)]
        request: PathBuf,
        /// The presentation file, or - for standard input.
        input: PathBuf,
        /// Remember accepted nonces in this file and refuse them a second time.
        #[arg(long)]
        replay_store: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Audit the issuer's log: replay it, or check single proofs.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Replay a log against its signed checkpoint and print a JSON report.
    Replay {
        /// The exported log (JSON Lines).
        #[arg(long)]
        log: PathBuf,
        /// The signed checkpoint (C2SP tlog-checkpoint).
        #[arg(long)]
        checkpoint: PathBuf,
        /// The log's verifier key: a file holding it, or the key text itself.
        #[arg(long)]
        key: String,
        /// The last verified checkpoint: the log must extend it; updated when the replay is
        /// valid, created on the first run.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Check an inclusion proof (JSON) against a signed checkpoint.
    Inclusion {
        /// The proof: {"seq", "size", "leafHash", "proof"}.
        #[arg(long)]
        proof: PathBuf,
        /// The entry's line, to check that it is the leaf proved.
        #[arg(long)]
        entry: Option<PathBuf>,
        /// The signed checkpoint the proof leads to.
        #[arg(long)]
        checkpoint: PathBuf,
        /// The log's verifier key: a file holding it, or the key text itself.
        #[arg(long)]
        key: String,
    },
    /// Check a consistency proof (JSON) between two signed checkpoints.
    Consistency {
        /// The proof: {"from", "to", "proof"}.
        #[arg(long)]
        proof: PathBuf,
        /// The earlier signed checkpoint.
        #[arg(long)]
        old_checkpoint: PathBuf,
        /// The later signed checkpoint.
        #[arg(long)]
        checkpoint: PathBuf,
        /// The log's verifier key: a file holding it, or the key text itself.
        #[arg(long)]
        key: String,
    },
}

#[derive(Args)]
struct Common {
    /// Trust list: TOML with `[[issuer]]` tables of `did` and `name`.
    #[arg(long)]
    trust: PathBuf,
    /// A status list credential (vc+jwt) to check revocation against.
    #[arg(long)]
    status_list: Option<PathBuf>,
    /// Refuse a status list published more than this many seconds before the evaluation time.
    #[arg(long)]
    max_status_age: Option<u32>,
    /// Refuse credentials whose revocation status cannot be checked.
    #[arg(long)]
    require_status: bool,
    /// Evaluate at this instant (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
}

/// Read a file or stdin, at most [`kyc_core::MAX_INPUT_LEN`] bytes; surrounding whitespace
/// (a trailing newline from an editor or `echo`) is not part of a compact serialisation.
fn read_input(path: &Path) -> anyhow::Result<Result<String, VerifyError>> {
    let limit = kyc_core::MAX_INPUT_LEN as u64 + 1;
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        file.take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    if bytes.len() > kyc_core::MAX_INPUT_LEN {
        return Ok(Err(MalformedError::TooLarge(bytes.len()).into()));
    }
    Ok(String::from_utf8(bytes)
        .map(|s| s.trim().to_owned())
        .map_err(|_| MalformedError::Compact("input is not UTF-8 text").into()))
}

fn load_trust(path: &Path) -> anyhow::Result<TrustList> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading trust list {}", path.display()))?;
    TrustList::from_toml(&text).with_context(|| format!("trust list {}", path.display()))
}

fn load_status_list(path: &Path, trust: &TrustList) -> anyhow::Result<VerifiedStatusList> {
    let text = match read_input(path)? {
        Ok(t) => t,
        Err(e) => bail!("status list {}: {e}", path.display()),
    };
    status_list::verify_jwt(&text, trust.resolver())
        .map_err(|e| anyhow::anyhow!("status list {}: {e}", path.display()))
}

fn new_request(aud: &str, min_tier: u8, claims: &[String], ttl_seconds: u32) -> anyhow::Result<()> {
    let tier = KycTier::try_from(u64::from(min_tier))?;
    let claims: Vec<&str> = claims.iter().map(String::as_str).collect();
    let request = PresentationRequest::new(
        aud,
        tier,
        &claims,
        Utc::now(),
        Duration::seconds(ttl_seconds.into()),
    )?;
    println!("{}", serde_json::to_string_pretty(&request)?);
    Ok(())
}

/// What every verification needs: the trust list, the status policy's list, the clock.
struct Setting {
    trust: TrustList,
    list: Option<VerifiedStatusList>,
    max_age: Option<Duration>,
    require_status: bool,
    at: DateTime<Utc>,
}

impl Setting {
    fn load(common: &Common) -> anyhow::Result<Self> {
        let trust = load_trust(&common.trust)?;
        let list = common
            .status_list
            .as_deref()
            .map(|p| load_status_list(p, &trust))
            .transpose()?;
        Ok(Self {
            trust,
            list,
            max_age: common.max_status_age.map(|s| Duration::seconds(s.into())),
            require_status: common.require_status,
            at: common.at.unwrap_or_else(Utc::now),
        })
    }

    fn status(&self) -> StatusPolicy<'_> {
        StatusPolicy {
            list: self.list.as_ref(),
            max_age: self.max_age,
            require: self.require_status,
        }
    }
}

fn verify_presentation_file(
    input: &str,
    request: &Path,
    replay_store: Option<&Path>,
    setting: &Setting,
) -> anyhow::Result<Verdict> {
    let request_bytes =
        std::fs::read(request).with_context(|| format!("reading request {}", request.display()))?;
    let request = PresentationRequest::from_json(&request_bytes)
        .with_context(|| format!("presentation request {}", request.display()))?;
    let mut memory = MemoryReplayStore::default();
    let mut file;
    let replay: &mut dyn ReplayStore = match replay_store {
        Some(path) => {
            file = FileReplayStore::new(path);
            &mut file
        }
        None => &mut memory,
    };
    let status = setting.status();
    kyc_verifier::verify_presentation(input, &request, &setting.trust, &status, replay, setting.at)
        .context("replay store")
}

fn print_verdict(verdict: &Verdict) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(verdict)?);
    Ok(ExitCode::from(verdict.exit_code()))
}

/// A verifier key given as a file or as its text.
fn load_key(arg: &str) -> anyhow::Result<VerifierKey> {
    let path = Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("reading key {arg}"))?
    } else {
        arg.to_owned()
    };
    VerifierKey::parse(text.trim()).context("verifier key")
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// A progress bar on stderr for replays that take more than a moment, on a terminal only.
fn replay_progress(total: u64) -> impl FnMut(u64) {
    use std::io::IsTerminal as _;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(
        "audit replay {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    let started = std::time::Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut shown = false;
    move |bytes| {
        // After a second, show the bar if the replay is less than half done.
        if !shown && terminal && started.elapsed().as_secs() >= 1 && bytes < total / 2 {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            shown = true;
        }
        bar.set_position(bytes);
        if bytes >= total {
            bar.finish_and_clear();
        }
    }
}

fn run_audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Replay {
            log,
            checkpoint,
            key,
            state,
        } => {
            let key = load_key(&key)?;
            let note = read_text(&checkpoint, "checkpoint")?;
            let saved = state
                .as_deref()
                .map(AuditorState::load)
                .transpose()?
                .flatten();
            let file = std::fs::File::open(&log)
                .with_context(|| format!("opening log {}", log.display()))?;
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            let report = audit::replay(
                std::io::BufReader::new(file),
                &note,
                &key,
                saved.as_ref(),
                replay_progress(total),
            )?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if let (Some(path), Some(next)) = (state, report.next_state()) {
                next.save(&path)?;
            }
            Ok(ExitCode::from(report.exit_code()))
        }
        AuditCommand::Inclusion {
            proof,
            entry,
            checkpoint,
            key,
        } => {
            let key = load_key(&key)?;
            let proof = std::fs::read(&proof)
                .with_context(|| format!("reading proof {}", proof.display()))?;
            let line = entry.map(|p| read_text(&p, "entry")).transpose()?;
            let line = line.as_deref().map(|l| l.strip_suffix('\n').unwrap_or(l));
            let note = read_text(&checkpoint, "checkpoint")?;
            let verdict = audit::verify_inclusion_json(&proof, line, &note, &key);
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            Ok(ExitCode::from(verdict.exit_code()))
        }
        AuditCommand::Consistency {
            proof,
            old_checkpoint,
            checkpoint,
            key,
        } => {
            let key = load_key(&key)?;
            let proof = std::fs::read(&proof)
                .with_context(|| format!("reading proof {}", proof.display()))?;
            let old = read_text(&old_checkpoint, "checkpoint")?;
            let new = read_text(&checkpoint, "checkpoint")?;
            let verdict = audit::verify_consistency_json(&proof, &old, &new, &key);
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            Ok(ExitCode::from(verdict.exit_code()))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Request {
            aud,
            min_tier,
            claims,
            ttl_seconds,
        } => {
            new_request(&aud, min_tier, &claims, ttl_seconds)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Credential { input, common } => {
            let setting = Setting::load(&common)?;
            let verdict = match read_input(&input)? {
                Ok(text) => kyc_verifier::verify_credential(
                    &text,
                    &setting.trust,
                    &setting.status(),
                    setting.at,
                ),
                Err(e) => Verdict::failed(&e),
            };
            print_verdict(&verdict)
        }
        Command::Presentation {
            request,
            input,
            replay_store,
            common,
        } => {
            let setting = Setting::load(&common)?;
            let verdict = match read_input(&input)? {
                Ok(text) => {
                    verify_presentation_file(&text, &request, replay_store.as_deref(), &setting)?
                }
                Err(e) => Verdict::failed(&e),
            };
            print_verdict(&verdict)
        }
        Command::Audit { command } => run_audit(command),
    }
}

fn main() -> ExitCode {
    run(Cli::parse()).unwrap_or_else(|e| {
        eprintln!("kyc-verify: {e:#}");
        ExitCode::from(2)
    })
}
