//! The whole automatic decision without biometrics: association index (sled), identity under
//! the jurisdiction policy, screening against a large list, the document's MRZ, country risk,
//! and the risk engine. The issue's target is ≥ 2,000 applications/s on 2 cores.
//!
//! The list is written as FollowTheMoney JSON Lines and loaded through the real loader, so the
//! index is the one the service builds. Prints the list's load time and index size, then
//! applications/s on 1 and 2 threads, with the same run's raw SHA-256 rate of the submissions'
//! JSON as the baseline. A custom harness (`harness = false`): throughput over a fixed time.
//! Run with `cargo bench -p kyc-issuer --bench decision`; `DECISION_BENCH_ENTITIES` sets the list
//! size (default 1,000,000), `DECISION_BENCH_SECS` the time per case (default 3).

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use kyc_issuer::checks::biometric::PriorAnswer;
use kyc_issuer::checks::country_risk::{association_keys, AssociationKind};
use kyc_issuer::checks::screening::{ListFormat, ListSource, Screener, ScreeningSettings};
use kyc_issuer::checks::{CheckContext, CheckSuite};
use kyc_issuer::model::Submission;
use kyc_issuer::state::sled::SledState;
use kyc_issuer::state::StateStore;
use sha2::Digest as _;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Syllables the synthetic names are made of: 24 × 24 two-syllable given names and
/// 24 × 24 × 4 three-part family names, so that a name token is shared by about a thousand
/// entities of a million, as common names are in real lists.
const ONSETS: [&str; 24] = [
    "al", "bo", "ca", "da", "el", "fa", "ga", "ha", "io", "ja", "ka", "li", "ma", "na", "ol", "pa",
    "qu", "ra", "sa", "ta", "ul", "va", "ya", "zo",
];
const CODAS: [&str; 24] = [
    "bek", "din", "fan", "gor", "han", "jin", "kov", "lan", "mir", "nov", "pol", "qin", "ros",
    "sen", "tov", "vic", "wen", "xin", "yev", "zar", "lek", "mun", "ter", "sha",
];
const ENDINGS: [&str; 4] = ["", "ski", "enko", "ez"];

fn given_name(n: usize) -> String {
    format!("{}{}", ONSETS[n % 24], CODAS[(n / 24) % 24])
}

fn family_name(n: usize) -> String {
    format!(
        "{}{}{}",
        ONSETS[(n / 7) % 24],
        CODAS[n % 24],
        ENDINGS[(n / 576) % 4]
    )
}

const COUNTRIES: [&str; 8] = ["ru", "cn", "ir", "sy", "jp", "mx", "de", "br"];

/// `n` synthetic persons as FollowTheMoney JSON Lines into `path`.
fn write_list(path: &std::path::Path, n: usize) -> BenchResult<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let given = given_name(i);
        let family = family_name(i / 576);
        let middle = given_name(i / 7 + 3);
        let topic = if i % 5 == 0 { "role.pep" } else { "sanction" };
        writeln!(
            out,
            r#"{{"id":"S-{i}","schema":"Person","properties":{{"name":["{given} {middle} {family}"],"birthDate":["{}-{:02}-{:02}"],"nationality":["{}"],"topics":["{topic}"]}}}}"#,
            1940 + i % 60,
            1 + i % 12,
            1 + i % 28,
            COUNTRIES[i % COUNTRIES.len()],
        )?;
    }
    out.flush()?;
    Ok(())
}

/// `n` distinct applications under the EU policy, every one with the same valid MRZ. One in
/// four carries a name built from the list's own name parts, so that screening has thousands of
/// candidates sharing a token to rank (and the document check a name mismatch to find).
fn submissions(n: usize) -> BenchResult<Vec<(Submission, usize)>> {
    (0..n)
        .map(|i| {
            let (_, holder) = kyc_core::DidKey::generate();
            let (given, family) = if i % 4 == 0 {
                (given_name(i * 31), family_name(i * 17))
            } else {
                ("Erika".to_owned(), "Mustermann".to_owned())
            };
            let body = serde_json::json!({
                "jurisdiction": "EU",
                "holder": holder.as_str(),
                "identity": {
                    "givenName": given, "familyName": family, "birthDate": "1990-01-31",
                    "nationality": "DE",
                    "residence": {"country": "DE", "street": format!("Heidestraße {i}"), "postalCode": "51147"},
                    "documentNumber": "C01X00T47",
                    "phone": format!("+49221{i:08}")
                },
                "document": {"type": "id_card", "mrz": "IDD<<C01X00T478<<<<<<<<<<<<<<<\n9001310F3508013D<<<<<<<<<<<<<6\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<"}
            });
            let len = serde_json::to_vec(&body)?.len();
            Ok((serde_json::from_value(body)?, len))
        })
        .collect()
}

/// One automatic decision, as `Applications::assess` makes it (without sealing and logging).
fn decide(suite: &CheckSuite, store: &SledState, key: &[u8; 32], submission: &Submission) -> bool {
    let now = Utc::now();
    let keys = association_keys(key, submission);
    let bytes: Vec<[u8; 17]> = keys.iter().map(|k| k.bytes).collect();
    let shared: Vec<AssociationKind> = store
        .associated(&bytes, &submission.holder)
        .unwrap_or_default()
        .into_iter()
        .zip(&keys)
        .filter_map(|(s, k)| s.then_some(k.kind))
        .collect();
    let ctx = CheckContext {
        now,
        shared: &shared,
        cleared: &[],
        liveness: &PriorAnswer::None,
    };
    let Some(checks) = suite.run(submission, ctx).map(|o| o.records) else {
        return false;
    };
    let policy = suite.policy(&submission.jurisdiction).map(Into::into);
    policy.is_some_and(|p| kyc_issuer::risk::decide(&checks, &p, now).tier.is_none())
}

/// Operations per second of `op` on `threads` threads for `period`; the threads take the next
/// index from one counter, so that each sees the same mix of inputs.
fn rate(threads: usize, period: Duration, op: impl Fn(usize) + Sync) -> f64 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (op, next) = (&op, &next);
            s.spawn(move || {
                while start.elapsed() < period {
                    op(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                }
            });
        }
    });
    next.into_inner() as f64 / start.elapsed().as_secs_f64()
}

fn main() -> BenchResult<()> {
    // `cargo test --all-targets` runs bench targets without `--bench`: a short smoke run then.
    let measuring = std::env::args().any(|a| a == "--bench");
    let entities: usize = std::env::var("DECISION_BENCH_ENTITIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 1_000_000 } else { 2_000 });
    let secs: f64 = std::env::var("DECISION_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 3.0 } else { 0.2 });
    let period = Duration::from_secs_f64(secs);
    let dir = tempfile::tempdir()?;

    let list = dir.path().join("list.ftm.json");
    write_list(&list, entities)?;
    let started = Instant::now();
    let source = ListSource {
        name: "synthetic".into(),
        format: ListFormat::FollowTheMoney,
        path: list,
        aliases: None,
        default_kind: None,
    };
    let config = ScreeningSettings::default();
    let screener = Arc::new(Screener::new(vec![source], config)?);
    let current = screener.current();
    println!(
        "decision: {} list entities loaded and indexed in {:.1} s; index {:.1} MiB",
        current.entities(),
        started.elapsed().as_secs_f64(),
        current.index_bytes() as f64 / (1024.0 * 1024.0)
    );
    let suite = CheckSuite::embedded()?.with_screening(screener, config);
    let db = sled::Config::new().path(dir.path().join("store")).open()?;
    let store = SledState::new(&db, &dir.path().join("store"))?;
    let key = [7u8; 32];
    let apps = submissions(4096)?;
    let json: Vec<Vec<u8>> = apps
        .iter()
        .map(|(s, _)| serde_json::to_vec(s))
        .collect::<Result<_, _>>()?;
    let mean_len = apps.iter().map(|(_, l)| l).sum::<usize>() / apps.len();

    let sha = rate(1, period, |i| {
        std::hint::black_box(sha2::Sha256::digest(&json[i % json.len()]));
    });
    println!("baseline  SHA-256 of a submission ({mean_len} B JSON): {sha:>10.0} /s (1 thread)");
    for threads in [1, 2] {
        let per_sec = rate(threads, period, |i| {
            std::hint::black_box(decide(&suite, &store, &key, &apps[i % apps.len()].0));
        });
        println!(
            "decision  {threads} thread(s): {per_sec:>10.0} applications/s  ({:.4} of the SHA-256 rate)",
            per_sec / sha
        );
    }
    Ok(())
}
