//! `kyc-verify`: the merchant's and auditor's command line. Thin: parse arguments, call
//! `kyc-verifier`, print one JSON verdict, exit 0 (valid), 1 (not valid) or 2 (unreadable).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kyc_core::presentation::PresentationRequest;
use kyc_core::status_list;
use kyc_core::tlog::VerifierKey;
use kyc_core::{KycTier, MalformedError, VerifyError};
use kyc_verifier::audit::{self, AuditorState};
use kyc_verifier::replay::{FileReplayStore, MemoryReplayStore, ReplayStore};
use kyc_verifier::status_cache::{self, StatusLists};
use kyc_verifier::{cli, qr, StatusPolicy, TrustList, Verdict};

const AFTER_HELP: &str = "\
Examples:
  kyc-verify request --aud shop.example --min-tier 2 --claims ageOver18 \\
      --replay-store nonces.jsonl --qr > request.json
  kyc-verify status sync --issuer https://kyc.example --trust trust.toml --cache status/
  kyc-verify presentation --request request.json presentation.txt --trust trust.toml \\
      --status-cache status/ --max-status-age 86400 --require-status --replay-store nonces.jsonl

Exit codes: 0 valid; 1 not valid (the verdict's errors say why); 2 unreadable input or files.";

#[derive(Parser)]
#[command(
    name = "kyc-verify",
    version,
    about = "Verify KYC credentials and presentations offline",
    after_help = AFTER_HELP
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
        /// How long the request stays valid, in seconds.
        #[arg(
            long,
            visible_alias = "ttl",
            value_name = "SECONDS",
            default_value_t = 300
        )]
        ttl_seconds: u32,
        /// Record the request's nonce in this store; `presentation --replay-store` with the
        /// same file then accepts one answer to it, before it expires.
        #[arg(long, value_name = "FILE")]
        replay_store: Option<PathBuf>,
        /// Also draw the request as a QR code on stderr (the JSON stays on stdout).
        #[arg(long)]
        qr: bool,
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
        /// The store `request --replay-store` recorded the request in: accept only a request
        /// issued there, unexpired, and only once. Without it the request file is taken as
        /// issued and nothing is remembered.
        #[arg(long, value_name = "FILE")]
        replay_store: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Status lists for offline checks: fetch, verify and cache them while online.
    Status {
        #[command(subcommand)]
        command: StatusCommand,
    },
    /// The trust file: learn an issuer's key rotation from its signed statement.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Audit the issuer's log: replay it, or check single proofs.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum StatusCommand {
    /// Fetch the issuer's status lists, verify each against the trust list, and cache them.
    #[command(after_help = "\
Example:
  kyc-verify status sync --issuer https://kyc.example --trust trust.toml --cache status/

Fetches GET <issuer>/v1/status-lists/1, 2, … until the issuer answers 404 (or only the --list
numbers given). A list is stored only when its signature verifies and its signer is a trusted
issuer key; it is kept under the URL it names itself by (its id), which is what credentials
point to, whatever address it was fetched from.")]
    Sync {
        /// The issuer's base URL (where to fetch from).
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// The trust list the lists must verify against.
        #[arg(long, value_name = "FILE")]
        trust: PathBuf,
        /// The cache directory (created if missing).
        #[arg(long, value_name = "DIR")]
        cache: PathBuf,
        /// Fetch only these list numbers.
        #[arg(long, value_name = "N", value_delimiter = ',')]
        list: Vec<u64>,
    },
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Learn a key rotation: the statement must be signed by a key the trust file trusts; that
    /// key is retired at the statement's time and its successor added to the same issuer. The
    /// file is rewritten (comments are not kept). Prints what was learnt as JSON.
    Learn {
        /// The trust file to update.
        #[arg(long)]
        trust: PathBuf,
        /// The statement: a file holding the compact JWS, or the issuer's
        /// `GET /v1/key-rotations` answer (every statement in it is learnt, in order).
        #[arg(long)]
        statement: PathBuf,
    },
}

/// An exported log and what verifies it.
#[derive(Args)]
struct LogArgs {
    /// The exported log (JSON Lines).
    #[arg(long)]
    log: PathBuf,
    /// The signed checkpoint (C2SP tlog-checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The log's verifier key: a file holding it, or the key text itself.
    #[arg(long)]
    key: String,
}

impl LogArgs {
    /// The log opened, its size in bytes, the checkpoint's text and the key.
    fn open(&self) -> anyhow::Result<(std::fs::File, u64, String, VerifierKey)> {
        let key = load_key(&self.key)?;
        let note = read_text(&self.checkpoint, "checkpoint")?;
        let file = std::fs::File::open(&self.log)
            .with_context(|| format!("opening log {}", self.log.display()))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((file, total, note, key))
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Replay a log against its signed checkpoint and print a JSON report.
    Replay {
        #[command(flatten)]
        log: LogArgs,
        /// The last verified checkpoint: the log must extend it; updated when the replay is
        /// valid, created on the first run.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Whether a status list (e.g. one a merchant cached) is the one the log implies: published
    /// through the log, with exactly the revocations logged before it. Prints a JSON verdict
    /// naming the first index that differs; exit 0 when it is, 1 when not, 2 when the list or
    /// the log cannot be read or the log does not verify.
    StatusList {
        /// The status list credential (vc+jwt), or a file of the shop's status cache
        /// (`kyc-verify status sync --cache DIR`).
        #[arg(long)]
        list: PathBuf,
        #[command(flatten)]
        log: LogArgs,
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
    /// Trust list: TOML with `[[issuer]]` tables (format: the kyc-verifier `trust` module).
    #[arg(long, value_name = "FILE")]
    trust: PathBuf,
    /// A status list credential (vc+jwt) to check revocation against.
    #[arg(long, value_name = "FILE", conflicts_with = "status_cache")]
    status_list: Option<PathBuf>,
    /// The status lists cached by `kyc-verify status sync` (read offline).
    #[arg(long, value_name = "DIR")]
    status_cache: Option<PathBuf>,
    /// Refuse a status list fetched (or, as a bare file, published) more than this many seconds
    /// before the evaluation time: the verdict says `stale_status_list`.
    #[arg(long, value_name = "SECONDS")]
    max_status_age: Option<u32>,
    /// Refuse credentials whose revocation status cannot be checked. The default; kept so
    /// that scripts which say it keep working.
    #[arg(long, conflicts_with = "allow_unchecked_status")]
    require_status: bool,
    /// Accept a credential whose revocation status cannot be checked (no status list at hand,
    /// offline): the verdict says `"status": "not_checked"` and `"statusPolicy":
    /// "unchecked_allowed"`. Without it, such a credential is refused (`status_unavailable`).
    #[arg(long)]
    allow_unchecked_status: bool,
    /// Evaluate at this instant (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
}

/// Read a file or stdin, at most [`kyc_core::MAX_INPUT_LEN`] bytes; surrounding whitespace
/// (a trailing newline from an editor or `echo`) is not part of a compact serialisation.
fn read_input(path: &Path) -> anyhow::Result<Result<String, VerifyError>> {
    let bytes = match cli::read_bounded(path, kyc_core::MAX_INPUT_LEN) {
        Ok(bytes) => bytes,
        // One byte past the limit is what was read.
        Err(cli::InputError::TooLarge { limit, .. }) => {
            return Ok(Err(MalformedError::TooLarge(limit + 1).into()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(String::from_utf8(bytes)
        .map(|s| s.trim().to_owned())
        .map_err(|_| MalformedError::Compact("input is not UTF-8 text").into()))
}

fn load_trust(path: &Path) -> anyhow::Result<TrustList> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading trust list {}", path.display()))?;
    TrustList::from_toml(&text).with_context(|| format!("trust list {}", path.display()))
}

fn load_status_list(path: &Path, trust: &TrustList) -> anyhow::Result<StatusLists> {
    let text = match read_input(path)? {
        Ok(t) => t,
        Err(e) => bail!("status list {}: {e}", path.display()),
    };
    status_list::verify_jwt(&text, trust.resolver())
        .map(StatusLists::single)
        .map_err(|e| anyhow::anyhow!("status list {}: {e}", path.display()))
}

fn new_request(
    aud: &str,
    min_tier: u8,
    claims: &[String],
    ttl_seconds: u32,
    replay_store: Option<&Path>,
    show_qr: bool,
) -> anyhow::Result<()> {
    let tier = KycTier::try_from(u64::from(min_tier))?;
    let claims: Vec<&str> = claims.iter().map(String::as_str).collect();
    let mut memory = MemoryReplayStore::default();
    let mut file;
    let store: &mut dyn ReplayStore = match replay_store {
        Some(path) => {
            file = FileReplayStore::new(path);
            &mut file
        }
        None => &mut memory,
    };
    let request = kyc_verifier::issue_request(
        store,
        aud,
        tier,
        &claims,
        Utc::now(),
        Duration::seconds(ttl_seconds.into()),
    )
    .with_context(|| match replay_store {
        Some(path) => format!("replay store {}", path.display()),
        None => "presentation request".into(),
    })?;
    if show_qr {
        eprint!("{}", qr::terminal(&serde_json::to_string(&request)?)?);
    }
    println!("{}", serde_json::to_string_pretty(&request)?);
    Ok(())
}

/// `status sync`: fetch each list, verify it against the trust list, cache it. The only
/// network I/O `kyc-verify` does.
fn status_sync(issuer: &str, trust: &Path, cache: &Path, lists: &[u64]) -> anyhow::Result<()> {
    let trust = load_trust(trust)?;
    let base = issuer.trim_end_matches('/');
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let http = cli::status_list_client(Some(concat!("kyc-verify/", env!("CARGO_PKG_VERSION"))))
        .context("HTTP client")?;
    let explicit = !lists.is_empty();
    let numbers: Vec<u64> = if explicit {
        lists.to_vec()
    } else {
        (1..=MAX_LISTS).collect()
    };
    let mut synced = Vec::new();
    for n in numbers {
        let url = format!("{base}/v1/status-lists/{n}");
        let body = match runtime.block_on(cli::fetch_status_list(&http, &url)) {
            Ok(body) => body,
            Err(cli::FetchError::Status(reqwest::StatusCode::NOT_FOUND)) if !explicit && n > 1 => {
                break
            }
            Err(e) => return Err(e).with_context(|| format!("fetching {url}")),
        };
        let fetched_at = Utc::now();
        let list = status_cache::verify_trusted(&body, &trust)
            .with_context(|| format!("status list {url}"))?;
        let path = status_cache::store(cache, &body, &list, fetched_at)?;
        eprintln!(
            "cached {} (published {})",
            list.credential.id, list.credential.valid_from
        );
        synced.push(serde_json::json!({
            "url": list.credential.id,
            "fetchedFrom": url,
            "fetchedAt": fetched_at,
            "validFrom": list.credential.valid_from,
            "validUntil": list.credential.valid_until,
            "file": path,
        }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "synced": synced }))?
    );
    Ok(())
}

/// `status sync` without `--list` stops at the first 404, or here.
const MAX_LISTS: u64 = 1024;

/// What every verification needs: the trust list, the status policy's list, the clock.
struct Setting {
    trust: TrustList,
    lists: Option<StatusLists>,
    max_age: Option<Duration>,
    require_status: bool,
    at: DateTime<Utc>,
}

impl Setting {
    fn load(common: &Common) -> anyhow::Result<Self> {
        let trust = load_trust(&common.trust)?;
        let lists = match (&common.status_list, &common.status_cache) {
            (Some(file), _) => Some(load_status_list(file, &trust)?),
            (None, Some(dir)) => Some(
                status_cache::load(dir, trust.resolver())
                    .with_context(|| format!("status cache {}", dir.display()))?,
            ),
            (None, None) => None,
        };
        Ok(Self {
            trust,
            lists,
            max_age: common.max_status_age.map(|s| Duration::seconds(s.into())),
            // The safe side is the default (issue 12, finding 12): a revoked credential must
            // not pass because no list was given.
            require_status: !common.allow_unchecked_status,
            at: common.at.unwrap_or_else(Utc::now),
        })
    }

    fn status(&self) -> StatusPolicy<'_> {
        StatusPolicy {
            lists: self.lists.as_ref(),
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
        None => {
            // No store: this one run takes the request file as issued.
            memory.issue(&request)?;
            &mut memory
        }
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
        AuditCommand::Replay { log, state } => {
            let (file, total, note, key) = log.open()?;
            let saved = state
                .as_deref()
                .map(AuditorState::load)
                .transpose()?
                .flatten();
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
        AuditCommand::StatusList { list, log } => {
            let text = read_text(&list, "status list")?;
            // JSON is a file of the status cache; anything else is the JWT itself.
            let list = if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                status_cache::cached_jwt(&text)
                    .with_context(|| format!("{}: not a status cache file", list.display()))?
            } else {
                text
            };
            let (file, _, note, key) = log.open()?;
            let verdict =
                audit::check_status_list(std::io::BufReader::new(file), &note, &key, &list)?;
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            Ok(ExitCode::from(if verdict.valid { 0 } else { 1 }))
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
            replay_store,
            qr,
        } => {
            new_request(
                &aud,
                min_tier,
                &claims,
                ttl_seconds,
                replay_store.as_deref(),
                qr,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status {
            command:
                StatusCommand::Sync {
                    issuer,
                    trust,
                    cache,
                    list,
                },
        } => {
            status_sync(&issuer, &trust, &cache, &list)?;
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
            }
            .with_status_policy(setting.require_status);
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
            }
            .with_status_policy(setting.require_status);
            print_verdict(&verdict)
        }
        Command::Audit { command } => run_audit(command),
        Command::Trust {
            command: TrustCommand::Learn { trust, statement },
        } => trust_learn(&trust, &statement),
    }
}

fn trust_learn(trust: &Path, statement: &Path) -> anyhow::Result<ExitCode> {
    let mut list = load_trust(trust)?;
    let text = read_text(statement, "statement")?;
    let statements: Vec<String> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(answer) => answer["statements"]
            .as_array()
            .with_context(|| format!("{}: no statements", statement.display()))?
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        Err(_) => vec![text.trim().to_owned()],
    };
    let mut learnt = Vec::new();
    for s in &statements {
        learnt.push(list.learn(s)?);
    }
    if learnt.iter().any(|l| l.changed) {
        let tmp = trust.with_extension("toml.tmp");
        std::fs::write(&tmp, list.to_toml())
            .and_then(|()| std::fs::rename(&tmp, trust))
            .with_context(|| format!("writing {}", trust.display()))?;
    }
    println!("{}", serde_json::to_string_pretty(&learnt)?);
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    run(Cli::parse()).unwrap_or_else(|e| {
        eprintln!("kyc-verify: {e:#}");
        ExitCode::from(2)
    })
}
