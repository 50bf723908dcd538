//! Screening one name against 1,000,000 synthetic list entities. The issue's target: median
//! ≤ 2 ms, p99 ≤ 10 ms, with the index's memory reported; the baseline in the same run is one
//! exact `HashMap<String, u32>` lookup of the normalised name.
//!
//! The entities are generated deterministically (seeded ChaCha) from pools of given names and
//! surnames across languages, with synthetic surnames built from syllables so the vocabulary
//! is large, as in real lists; 30 % carry an alias (a spelling variant or the name in
//! Cyrillic), most a birth date and a nationality. Printed: build time, index bytes and the
//! process's resident memory; then criterion's figures for a query that hits, one that misses,
//! and the baseline; then median and p99 over 2,000 varied queries (half taken from the list
//! and perturbed: reordered, a middle name dropped, a letter changed; half new combinations).
//!
//! Last, the same entities are loaded from a FollowTheMoney file, as a reload would.
//!
//! `cargo bench -p kyc-issuer --bench screening` measures; without criterion's `--bench`
//! (`cargo test --bench screening`) it is a smoke run over 10,000 entities.
//! `SCREENING_BENCH_ENTITIES` overrides the entity count.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use criterion::Criterion;
use kyc_issuer::checks::screening::{
    BirthDate, Entry, HitKind, ListFormat, ListSource, ListVersion, ScreeningLists, ScreeningQuery,
    ScreeningSettings,
};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

#[rustfmt::skip]
const GIVEN: &[&str] = &[
    // Russian, Ukrainian
    "Ivan", "Sergei", "Dmitri", "Alexei", "Mikhail", "Nikolai", "Vladimir", "Oleg",
    "Yuri", "Andrei", "Pavel", "Viktor", "Olga", "Tatiana", "Natalia", "Elena", "Irina",
    "Svetlana", "Oksana", "Olena", "Bohdan", "Taras", "Mykola",
    // Arabic, Persian
    "Mohammed", "Muhammad", "Ahmed", "Ali", "Hassan", "Hussein", "Omar", "Khalid",
    "Abdullah", "Abdul Rahman", "Yusuf", "Ibrahim", "Mustafa", "Tariq", "Fatima",
    "Aisha", "Mariam", "Layla", "Reza", "Mehdi", "Hossein", "Javad", "Zahra", "Maryam",
    "Abbas",
    // Spanish, Portuguese
    "Jose", "Juan", "Carlos", "Luis", "Miguel", "Jorge", "Pedro", "Rafael", "Maria",
    "Carmen", "Ana", "Lucia", "Sofia", "Isabel", "Joao", "Paulo", "Thiago", "Beatriz",
    // German, Dutch, Nordic
    "Hans", "Jürgen", "Klaus", "Stefan", "Wolfgang", "Dieter", "Ursula", "Heike",
    "Sabine", "Jan", "Pieter", "Lars", "Erik", "Ingrid", "Sven",
    // English, French, Italian
    "John", "James", "Michael", "David", "Robert", "William", "Elizabeth", "Sarah",
    "Emma", "Pierre", "Jean", "Michel", "Francois", "Claire", "Marie", "Giuseppe",
    "Marco", "Giovanni", "Francesca", "Giulia",
    // Chinese (pinyin), Korean, Japanese, Vietnamese
    "Wei", "Jun", "Hua", "Li Na", "Xiao Ming", "Jian", "Min", "Ji-hoon", "Seo-yeon",
    "Min-jun", "Hiroshi", "Takashi", "Yuki", "Kenji", "Minh", "Thanh", "Huong",
    // Turkish, others
    "Mehmet", "Ayse", "Emre", "Kemal", "Selin", "Arjun", "Priya", "Rahul", "Amina",
    "Chinedu", "Kwame", "Nnamdi",
];

#[rustfmt::skip]
const SURNAME: &[&str] = &[
    "Sidorov", "Ivanov", "Petrov", "Smirnov", "Kuznetsov", "Popov", "Volkov", "Sokolov",
    "Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Al-Hassan", "Al-Rashid",
    "Haddad", "Khalil", "Mansour", "Nasser", "Hosseini", "Mohammadi", "Rahimi",
    "Karimi", "Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
    "Perez", "Silva", "Santos", "Oliveira", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Schäfer", "Jansen", "de Vries", "Andersson", "Johansson", "Smith",
    "Johnson", "Williams", "Brown", "Jones", "Martin", "Bernard", "Dubois", "Rossi",
    "Russo", "Ferrari", "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Kim", "Lee",
    "Park", "Sato", "Suzuki", "Takahashi", "Nguyen", "Tran", "Yilmaz", "Kaya", "Demir",
    "Sharma", "Patel", "Okafor", "Mensah",
];

/// Syllables for synthetic surnames, so the vocabulary is as large as a real list's.
#[rustfmt::skip]
const ONSET: &[&str] = &[
    
    "ba", "be", "bo", "da", "de", "do", "fa", "fe", "ga", "go", "ha", "he", "ka", "ke", "ko", "la",
    "le", "lo", "ma", "me", "mo", "na", "ne", "no", "pa", "pe", "po", "ra", "re", "ro", "sa", "se",
    "so", "ta", "te", "to", "va", "ve", "vo", "za", "ze", "zo", "sha", "sho", "cha", "che", "kha",
    "tra", "bra", "gri", "dra", "mi", "ni", "ri", "si", "ti", "vi",
];
#[rustfmt::skip]
const MIDDLE: &[&str] = &[
    
    "", "n", "r", "l", "s", "k", "m", "t", "d", "v", "rin", "lan", "mir", "dor", "gar", "nes",
    "bel", "tan", "rov", "sel", "kan", "dal", "mar", "ber",
];
#[rustfmt::skip]
const SUFFIX: &[&str] = &[
    
    "ov", "ev", "in", "enko", "uk", "ski", "sky", "escu", "ez", "es", "ian", "yan", "oglu", "i",
    "er", "mann", "berg", "son", "sen", "ini", "elli", "ard", "ot", "an", "a",
];

/// Nationalities, drawn independently of the name (lists are like that too).
#[rustfmt::skip]
const NATIONALITY: &[&str] = &[
    
    "RU", "UA", "BY", "IR", "IQ", "SY", "YE", "AF", "KP", "CN", "VE", "CU", "MX", "CO", "DE", "FR",
    "GB", "US", "TR", "AE", "SA", "LB", "PK", "IN", "NG", "ES", "IT",
];

fn pick<'a>(rng: &mut StdRng, pool: &[&'a str]) -> &'a str {
    pool[rng.gen_range(0..pool.len())]
}

fn surname(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.3) {
        return pick(rng, SURNAME).to_owned();
    }
    let mut s = String::new();
    s.push_str(pick(rng, ONSET));
    s.push_str(pick(rng, MIDDLE));
    if rng.gen_bool(0.4) {
        s.push_str(pick(rng, ONSET));
    }
    s.push_str(pick(rng, SUFFIX));
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A name's Cyrillic form (a rough Latin → Cyrillic letter map: what some lists carry as the
/// original script; any_ascii brings it back).
fn cyrillic(name: &str) -> String {
    name.chars()
        .map(|c| match c.to_ascii_lowercase() {
            'a' => 'а',
            'b' => 'б',
            'v' => 'в',
            'g' => 'г',
            'd' => 'д',
            'e' => 'е',
            'z' => 'з',
            'i' => 'и',
            'y' => 'й',
            'k' => 'к',
            'l' => 'л',
            'm' => 'м',
            'n' => 'н',
            'o' => 'о',
            'p' => 'п',
            'r' => 'р',
            's' => 'с',
            't' => 'т',
            'u' => 'у',
            'f' => 'ф',
            'h' => 'х',
            'c' => 'ц',
            other => other,
        })
        .collect()
}

/// A spelling variant: one vowel changed or one letter doubled.
fn variant(rng: &mut StdRng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        return name.to_owned();
    }
    let i = rng.gen_range(1..chars.len());
    match chars[i] {
        'a' => chars[i] = 'o',
        'o' => chars[i] = 'a',
        'e' => chars[i] = 'i',
        'i' => chars[i] = 'y',
        'u' => chars[i] = 'o',
        c => chars.insert(i, c),
    }
    chars.into_iter().collect()
}

struct Person {
    given: String,
    middle: Option<String>,
    family: String,
    born: Option<NaiveDate>,
    nationality: &'static str,
}

fn person(rng: &mut StdRng) -> Person {
    let given = pick(rng, GIVEN).to_owned();
    let middle = rng.gen_bool(0.35).then(|| {
        format!(
            "{}{}",
            pick(rng, GIVEN).replace(' ', ""),
            pick(rng, &["ovich", "ovna", "", ""])
        )
    });
    let family = if rng.gen_bool(0.1) {
        format!("{} {}", surname(rng), surname(rng))
    } else {
        surname(rng)
    };
    let born = rng.gen_bool(0.9).then(|| {
        NaiveDate::from_ymd_opt(
            rng.gen_range(1940..2004),
            rng.gen_range(1..=12),
            rng.gen_range(1..=28),
        )
        .unwrap_or_default()
    });
    Person {
        given,
        middle,
        family,
        born,
        nationality: pick(rng, NATIONALITY),
    }
}

fn entities(n: usize) -> (Vec<Entry>, Vec<Person>) {
    let mut rng = StdRng::seed_from_u64(0x5c4e_e41e);
    let mut entries = Vec::with_capacity(n);
    let mut people = Vec::with_capacity(n);
    for i in 0..n {
        let p = person(&mut rng);
        let full = match &p.middle {
            Some(m) => format!("{} {} {}", p.given, m, p.family),
            None => format!("{} {}", p.given, p.family),
        };
        let mut names = vec![full.clone()];
        if rng.gen_bool(0.3) {
            names.push(if rng.gen_bool(0.5) {
                cyrillic(&full)
            } else {
                format!("{}, {}", variant(&mut rng, &p.family), p.given)
            });
        }
        let birth_dates = match p.born {
            Some(d) if rng.gen_bool(0.75) => vec![BirthDate::day(d)],
            Some(d) => vec![BirthDate {
                earliest: d.with_ordinal(1).unwrap_or(d),
                latest: d.with_ordinal(365).unwrap_or(d),
            }],
            None => Vec::new(),
        };
        entries.push(Entry {
            id: format!("SYN-{i:07}"),
            kind: if rng.gen_bool(0.8) {
                HitKind::Sanction
            } else {
                HitKind::Pep
            },
            names,
            birth_dates,
            nationalities: if rng.gen_bool(0.8) {
                let b = p.nationality.as_bytes();
                vec![[b[0], b[1]]]
            } else {
                Vec::new()
            },
        });
        people.push(p);
    }
    (entries, people)
}

fn queries(rng: &mut StdRng, people: &[Person], n: usize) -> Vec<ScreeningQuery> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                let p = &people[rng.gen_range(0..people.len())];
                let given = match (&p.middle, rng.gen_bool(0.5)) {
                    (Some(m), true) => format!("{} {}", p.given, m),
                    _ => p.given.clone(),
                };
                let (given, family) = match rng.gen_range(0..3) {
                    0 => (p.family.clone(), given),
                    1 => (given, variant(rng, &p.family)),
                    _ => (given, p.family.clone()),
                };
                ScreeningQuery {
                    given_name: given,
                    family_name: family,
                    birth_date: p.born,
                    nationality: Some(p.nationality.to_owned()),
                }
            } else {
                let p = person(rng);
                ScreeningQuery {
                    given_name: p.given,
                    family_name: p.family,
                    birth_date: p.born,
                    nationality: Some(p.nationality.to_owned()),
                }
            }
        })
        .collect()
}

/// Resident memory of this process, from /proc (Linux), in bytes.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("SCREENING_BENCH_ENTITIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 1_000_000 } else { 10_000 });
    let config = ScreeningSettings::default();

    let rss_start = rss().unwrap_or(0);
    let t = Instant::now();
    let (entries, people) = entities(n);
    let generated = t.elapsed();
    let names: usize = entries.iter().map(|e| e.names.len()).sum();
    // The baseline's map: every normalised-enough full name to its entity.
    let exact: HashMap<String, u32> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                e.names[0].to_lowercase(),
                u32::try_from(i).unwrap_or(u32::MAX),
            )
        })
        .collect();
    // The same entities as a FollowTheMoney file, to time a reload from disk at the end.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let ftm_path = dir.path().join("synthetic.ftm.json");
    write_ftm(&ftm_path, &entries);
    let rss_before_index = rss().unwrap_or(0);
    let t = Instant::now();
    let version = ListVersion {
        list: "synthetic".into(),
        format: ListFormat::FollowTheMoney,
        file: "synthetic.ftm.json".into(),
        sha256: String::new(),
        aliases_sha256: None,
        entities: 0,
        skipped: 0,
        loaded_at: DateTime::<Utc>::UNIX_EPOCH,
    };
    let lists = ScreeningLists::from_entries(version, entries);
    let built = t.elapsed();
    let rss_after = rss().unwrap_or(0);
    eprintln!(
        "screening: {n} entities, {names} names; generated in {generated:.2?}, index built in {built:.2?}"
    );
    eprintln!(
        "screening: index {:.1} MiB by its structures; process RSS {:.1} MiB (start {:.1}, \
         before the index {:.1}, incl. the source entries, the baseline map and freed build memory)",
        mib(lists.index_bytes() as u64),
        mib(rss_after),
        mib(rss_start),
        mib(rss_before_index),
    );

    let hit_person = &people[people.len() / 3];
    let hit = ScreeningQuery {
        given_name: hit_person.given.clone(),
        family_name: hit_person.family.clone(),
        birth_date: hit_person.born,
        nationality: Some(hit_person.nationality.to_owned()),
    };
    let hit_result = lists.screen(&hit, &config);
    assert!(
        hit_result
            .hits
            .iter()
            .any(|h| h.entity_id == format!("SYN-{:07}", people.len() / 3)),
        "the hit query must find its entity"
    );
    let miss = ScreeningQuery {
        given_name: "Quillon".into(),
        family_name: "Xyzzafrax".into(),
        birth_date: NaiveDate::from_ymd_opt(1977, 7, 7),
        nationality: Some("NZ".into()),
    };
    assert!(lists.screen(&miss, &config).hits.is_empty());
    let exact_key = format!("{} {}", hit_person.given, hit_person.family).to_lowercase();

    let mut c = Criterion::default().configure_from_args();
    if !measuring {
        c = c
            .warm_up_time(Duration::from_millis(10))
            .measurement_time(Duration::from_millis(50))
            .sample_size(10);
    }
    c.bench_function("screening/baseline_exact_hashmap_lookup", |b| {
        b.iter(|| black_box(exact.get(black_box(exact_key.as_str()))))
    });
    c.bench_function("screening/screen_hit", |b| {
        b.iter(|| black_box(lists.screen(black_box(&hit), &config)))
    });
    c.bench_function("screening/screen_miss", |b| {
        b.iter(|| black_box(lists.screen(black_box(&miss), &config)))
    });

    // Latency distribution over varied queries: criterion reports mean and median per
    // benchmark, not a p99 over many different names.
    let mut rng = StdRng::seed_from_u64(0x0b5e_55ed);
    let qs = queries(&mut rng, &people, if measuring { 2_000 } else { 100 });
    let mut times = Vec::with_capacity(qs.len());
    let mut with_hits = 0usize;
    let mut hits_total = 0usize;
    for q in &qs {
        let t = Instant::now();
        let r = lists.screen(q, &config);
        times.push(t.elapsed());
        with_hits += usize::from(!r.hits.is_empty());
        hits_total += r.hits.len();
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let mut base = Vec::with_capacity(qs.len());
    for q in &qs {
        let key = format!("{} {}", q.given_name, q.family_name).to_lowercase();
        let t = Instant::now();
        black_box(exact.get(key.as_str()));
        base.push(t.elapsed());
    }
    base.sort();
    let base_median = base[base.len() / 2];
    eprintln!(
        "screening: {} varied queries: median {:.3?}, p99 {:.3?}, max {:.3?}; {} with hits \
         ({} hits); baseline exact lookup median {:.3?} (median ratio {:.0}x)",
        qs.len(),
        pct(0.5),
        pct(0.99),
        times[times.len() - 1],
        with_hits,
        hits_total,
        base_median,
        pct(0.5).as_secs_f64() / base_median.as_secs_f64().max(1e-9),
    );
    c.final_summary();

    // A reload from disk: read, hash and parse the file, build the index.
    drop(lists);
    let bytes = std::fs::metadata(&ftm_path).map(|m| m.len()).unwrap_or(0);
    let source = ListSource {
        name: "synthetic".into(),
        format: ListFormat::FollowTheMoney,
        path: ftm_path,
        aliases: None,
        default_kind: None,
    };
    let t = Instant::now();
    let loaded = ScreeningLists::load(&[source]).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "screening: load of a {:.0} MiB FollowTheMoney file with {} entities (read, SHA-256, \
         parse, index): {:.2?}",
        mib(bytes),
        loaded.entities(),
        t.elapsed()
    );
}

/// Write `entries` as FollowTheMoney JSON Lines, as OpenSanctions would publish them.
fn write_ftm(path: &std::path::Path, entries: &[Entry]) {
    use std::io::Write as _;
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("create: {e}"));
    let mut out = std::io::BufWriter::new(file);
    for e in entries {
        let birth: Vec<String> = e
            .birth_dates
            .iter()
            .map(|d| {
                if d.is_exact() {
                    d.earliest.format("%Y-%m-%d").to_string()
                } else {
                    d.earliest.format("%Y").to_string()
                }
            })
            .collect();
        let nationality: Vec<String> = e
            .nationalities
            .iter()
            .map(|n| String::from_utf8_lossy(n).to_lowercase())
            .collect();
        let topic = match e.kind {
            HitKind::Sanction => "sanction",
            HitKind::Pep => "role.pep",
        };
        let line = serde_json::json!({
            "id": e.id,
            "schema": "Person",
            "properties": {
                "name": &e.names[..1],
                "alias": &e.names[1..],
                "birthDate": birth,
                "nationality": nationality,
                "topics": [topic],
            },
            "datasets": ["synthetic"],
        });
        writeln!(out, "{line}").unwrap_or_else(|e| panic!("write: {e}"));
    }
    out.flush().unwrap_or_else(|e| panic!("flush: {e}"));
}
