//! `kyc-load`: a load generator against a real `kyc-issuer serve` on loopback.
//!
//! Starts the issuer (the release binary next to this one) on a fresh data directory, then:
//! 1. the ceiling: `--clients` clients calling `GET /healthz` for `--seconds`;
//! 2. the business: the same clients each looping submit → reviewer approve → holder nonce →
//!    collect, every audit entry durable before each response, for `--seconds` or until
//!    `--credentials` credentials were issued;
//! 3. the service's resident memory (VmRSS) at the end.
//!
//! Run with `scripts/load.sh` (builds the release binaries first).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use ed25519_dalek::SigningKey;
use kyc_core::DidKey;
use kyc_testkit::{applicant, IssuerConfig, IssuerProcess};
use serde_json::{json, Value};

const REVIEWER_TOKEN: &str = "load-reviewer-token-0123456789";

#[derive(Parser)]
#[command(about = "Load generator for kyc-issuer serve")]
struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop the business phase once this many credentials were issued (0: time only).
    #[arg(long, default_value_t = 0)]
    credentials: u64,
    /// Keep the issuer's data directory here instead of a temporary one.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// The issuer (the binary next to this one) on a fresh configuration in `dir`, with one
/// reviewer.
fn start(dir: &Path) -> anyhow::Result<IssuerProcess> {
    let exe = std::env::current_exe()?;
    let issuer = exe.with_file_name("kyc-issuer");
    if !issuer.exists() {
        bail!(
            "{} not found: build it with cargo build --release -p kyc-issuer",
            issuer.display()
        );
    }
    let config = dir.join("issuer.toml");
    // Every client here is on loopback: one address, as the rate limits count clients.
    IssuerConfig::new(dir.join("data"))
        .staff("load", "reviewer", REVIEWER_TOKEN)
        .sections(
            "[limits]\nclient_requests_per_minute = 100000000\nclient_burst = 1000000\n\
             requests_per_minute = 100000000\nburst = 1000000\nnonces_per_client = 1000000\n",
        )
        .write(&config)?;
    IssuerProcess::spawn(&issuer, &config).context("issuer did not start")
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Default)]
struct Latencies(Mutex<Vec<Duration>>);

impl Latencies {
    fn push(&self, d: Duration) {
        if let Ok(mut v) = self.0.lock() {
            v.push(d);
        }
    }
    fn summary(&self) -> String {
        let Ok(mut v) = self.0.lock() else {
            return String::new();
        };
        v.sort_unstable();
        let at = |q: f64| {
            v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The applicant's submission with her passport: the document check really runs.
fn submission(holder: &DidKey) -> Value {
    let mut submission = applicant::submission(holder);
    submission["document"] = applicant::passport();
    submission
}

async fn holder_token(
    client: &reqwest::Client,
    base: &str,
    key: &SigningKey,
) -> anyhow::Result<String> {
    let nonce: Value = client
        .post(format!("{base}/v1/nonce"))
        .send()
        .await?
        .json()
        .await?;
    Ok(kyc_testkit::tokens::holder_token(
        key,
        kyc_testkit::PUBLIC_URL,
        &nonce["nonce"],
    ))
}

/// One credential: submit, approve, collect. Returns the collect latency.
async fn one_credential(client: &reqwest::Client, base: &str) -> anyhow::Result<Duration> {
    let (key, did) = DidKey::generate();
    let response = client
        .post(format!("{base}/v1/applications"))
        .json(&submission(&did))
        .send()
        .await?;
    if response.status() != 201 {
        bail!("submit: {}", response.status());
    }
    let view: Value = response.json().await?;
    let id = view["id"].as_str().context("id")?.to_owned();
    let approve = client
        .post(format!("{base}/v1/review/{id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .json(&json!({"action": "approve", "tier": 0}))
        .send()
        .await?;
    if approve.status() != 200 {
        bail!("approve: {}", approve.status());
    }
    let token = holder_token(client, base, &key).await?;
    let started = Instant::now();
    let collect = client
        .post(format!("{base}/v1/applications/{id}/credential"))
        .bearer_auth(token)
        .send()
        .await?;
    let took = started.elapsed();
    if collect.status() != 200 {
        bail!("collect: {}", collect.status());
    }
    collect.bytes().await?;
    Ok(took)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let issuer = start(&dir)?;
    let base = issuer.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let period = Duration::from_secs(args.seconds);
    println!(
        "kyc-load: {} clients, {} s per phase, issuer at {base}",
        args.clients, args.seconds
    );

    // 1. The ceiling.
    let done = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Latencies::default());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, base, done, latencies) = (
            client.clone(),
            base.clone(),
            Arc::clone(&done),
            Arc::clone(&latencies),
        );
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < period {
                let t = Instant::now();
                if client
                    .get(format!("{base}/healthz"))
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .is_ok()
                {
                    latencies.push(t.elapsed());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let healthz = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!(
        "GET /healthz             {healthz:>9.0} req/s   {}",
        latencies.summary()
    );

    // 2. Submit + approve + collect.
    let issued = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let collect = Arc::new(Latencies::default());
    let target = args.credentials;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, base) = (client.clone(), base.clone());
        let (issued, failures, collect) = (
            Arc::clone(&issued),
            Arc::clone(&failures),
            Arc::clone(&collect),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let n = issued.load(Ordering::Relaxed);
                if (target == 0 && started.elapsed() >= period) || (target > 0 && n >= target) {
                    break;
                }
                match one_credential(&client, &base).await {
                    Ok(took) => {
                        collect.push(took);
                        issued.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if failures.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("kyc-load: {e:#}");
                        }
                    }
                }
            }
        }));
    }
    let mut last = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let n = issued.load(Ordering::Relaxed);
        if target > 0 {
            eprintln!(
                "kyc-load: {n} credentials ({:.0}/s over the last 5 s)",
                (n - last) as f64 / 5.0
            );
        }
        last = n;
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = issued.load(Ordering::Relaxed);
    let rate = n as f64 / elapsed;
    println!(
        "submit+approve+collect   {rate:>9.0} credentials/s ({n} in {elapsed:.1} s, {} failed)",
        failures.load(Ordering::Relaxed)
    );
    println!("  collect latency        {}", collect.summary());
    println!(
        "  ratio to /healthz      {:.4} (credentials/s per healthz req/s)",
        rate / healthz
    );
    if let Some(kib) = resident_kib(issuer.child.id()) {
        println!(
            "issuer resident memory   {:.1} MiB after {n} credentials",
            kib as f64 / 1024.0
        );
    }
    drop(issuer);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(run(args))
}
