//! The list files the operator supplies, parsed into [`Entry`]s.
//!
//! Two formats:
//! - **FollowTheMoney JSON Lines** (OpenSanctions' `entities.ftm.json`): one entity a line,
//!   `{"id", "schema", "properties": {"name": [..], "alias": [..], "birthDate": [..],
//!   "nationality": [..], "topics": [..], ..}}`. Screened schemas: `Person`, and `LegalEntity`
//!   (OpenSanctions' schema for an entry whose kind the source does not say: it may be a
//!   person). Organisations, companies, vessels and the non-entity schemas (`Sanction`,
//!   `Address`, ..) are skipped: the subjects screened here are people. `topics` says what an
//!   entity is: `sanction` and `sanction.linked` make it a sanctions entry; `role.pep` and
//!   `role.rca` (relatives and close associates, treated as PEPs by FATF Recommendation 12)
//!   a PEP. `sanction.counter` (counter-sanctions, e.g. a state's list of foreign officials)
//!   does not: those people are not sanctioned by anyone screening here. An entity with
//!   neither takes the source's `default_kind`, or is skipped without one.
//!   Names: `name`, `alias`, `previousName`, and `firstName`/`middleName`/`secondName`/
//!   `fatherName`/`lastName` joined; `weakAlias` is left out (OpenSanctions: too short or
//!   generic to match on).
//! - **OFAC SDN CSV** (`sdn.csv`, no header, 12 columns: ent_num, SDN_Name, SDN_Type,
//!   Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks; `-0-`
//!   is empty), with the optional `alt.csv` of aliases (ent_num, alt_num, alt_type,
//!   alt_name, alt_remarks). Only `individual` rows are screened; all are sanctions entries.
//!   Birth dates and nationality come from the remarks (`DOB 04 Aug 1961; nationality
//!   Russia; ..`).
//!
//! A load is all-or-nothing: the first malformed line stops it with an error naming the file
//! and the 1-based line. Errors never quote a line's content, which is personal data.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// What a list entry is, and so what a hit on it means to the risk engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A sanctioned person: a confirmed match is high risk.
    Sanction,
    /// A politically exposed person (or a relative or close associate): medium risk.
    Pep,
}

/// A list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// FollowTheMoney entities, one JSON object a line (OpenSanctions).
    #[serde(rename = "ftm")]
    FollowTheMoney,
    /// OFAC's `sdn.csv`, with `aliases` its `alt.csv`.
    OfacSdn,
}

/// One list the operator configures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSource {
    /// A stable name (`"ofac-sdn"`, `"opensanctions"`): hits and clearances name the list by it.
    pub name: String,
    /// The file format.
    pub format: ListFormat,
    /// The list file.
    pub path: PathBuf,
    /// OFAC only: the `alt.csv` aliases file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<PathBuf>,
    /// FollowTheMoney only: the kind of an entity whose `topics` name neither a sanction nor a
    /// PEP role (a custom watch list without topics). Without it such entities are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_kind: Option<HitKind>,
}

/// Which list, from which bytes, was in force: recorded with every screening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListVersion {
    /// The source's name.
    pub list: String,
    /// The format.
    pub format: ListFormat,
    /// The file's name (no directory).
    pub file: String,
    /// The first 16 hex digits of the SHA-256 of the file's bytes.
    pub sha256: String,
    /// The same for the aliases file, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases_sha256: Option<String>,
    /// Entities screened against.
    pub entities: u32,
    /// Entities in the file but not screened (organisations, vessels, no topic, no name).
    pub skipped: u32,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
}

/// A birth date as a list gives it: a day, a month, a year, or a range of them, kept as the
/// first and last day it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate {
    /// Earliest possible day.
    pub earliest: NaiveDate,
    /// Latest possible day.
    pub latest: NaiveDate,
}

impl BirthDate {
    /// One known day.
    pub fn day(date: NaiveDate) -> Self {
        Self {
            earliest: date,
            latest: date,
        }
    }

    /// Whether the list knows the exact day.
    pub fn is_exact(&self) -> bool {
        self.earliest == self.latest
    }

    fn year(year: i32) -> Option<Self> {
        Some(Self {
            earliest: NaiveDate::from_ymd_opt(year, 1, 1)?,
            latest: NaiveDate::from_ymd_opt(year, 12, 31)?,
        })
    }

    fn month(year: i32, month: u32) -> Option<Self> {
        let earliest = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        Some(Self {
            earliest,
            latest: next.pred_opt()?,
        })
    }

    fn span(a: Self, b: Self) -> Self {
        Self {
            earliest: a.earliest.min(b.earliest),
            latest: a.latest.max(b.latest),
        }
    }
}

/// One person on a list, parsed: what the index is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The list's id for it (FtM `id`, OFAC `ent_num`).
    pub id: String,
    /// Sanction or PEP.
    pub kind: HitKind,
    /// Every name it is known by, as written.
    pub names: Vec<String>,
    /// Birth dates (several when the list is unsure).
    pub birth_dates: Vec<BirthDate>,
    /// Nationalities, ISO 3166-1 alpha-2, upper case.
    pub nationalities: Vec<[u8; 2]>,
}

/// Why a list did not load. Never quotes a line's content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The file could not be read.
    #[error("screening list {file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not what the format says.
    #[error("screening list {file}, line {line}: {reason}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it, without its content.
        reason: String,
    },
    /// The file parsed but holds nothing to screen against: a truncated download or the wrong
    /// file. Refused so that screening never silently runs against an empty list.
    #[error("screening list {file}: no entity to screen against")]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// The list configuration itself is wrong.
    #[error("screening configuration: {0}")]
    Config(String),
}

/// A parsed list: its version and entries.
#[derive(Debug, Clone)]
pub(crate) struct LoadedList {
    pub(crate) version: ListVersion,
    pub(crate) entries: Vec<Entry>,
}

/// Read and parse one source. Pure apart from reading its files.
pub(crate) fn load_source(source: &ListSource) -> Result<LoadedList, ListError> {
    let (entries, skipped, sha256, aliases_sha256) = match source.format {
        ListFormat::FollowTheMoney => {
            if source.aliases.is_some() {
                return Err(ListError::Config(format!(
                    "list {:?}: `aliases` is for the OFAC format only",
                    source.name
                )));
            }
            let (entries, skipped, sha) = read_ftm(&source.path, source.default_kind)?;
            (entries, skipped, sha, None)
        }
        ListFormat::OfacSdn => {
            let (mut entries, skipped, sha) = read_sdn(&source.path)?;
            let alt_sha = match &source.aliases {
                Some(alt) => Some(read_alt(alt, &mut entries)?),
                None => None,
            };
            (entries, skipped, sha, alt_sha)
        }
    };
    if entries.is_empty() {
        return Err(ListError::Empty {
            file: source.path.clone(),
        });
    }
    let file = source
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(LoadedList {
        version: ListVersion {
            list: source.name.clone(),
            format: source.format,
            file,
            sha256,
            aliases_sha256,
            entities: u32::try_from(entries.len()).unwrap_or(u32::MAX),
            skipped,
            loaded_at: Utc::now(),
        },
        entries,
    })
}

fn open(path: &Path) -> Result<File, ListError> {
    File::open(path).map_err(|source| ListError::Io {
        file: path.to_owned(),
        source,
    })
}

fn short_hex(hasher: Sha256) -> String {
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A reader that hashes what passes through it, so the version hash covers exactly the bytes
/// parsed (the file may be replaced while it is read).
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

// ---- FollowTheMoney ------------------------------------------------------------------------

/// The parts of an FtM entity screening reads; everything else is ignored.
#[derive(Deserialize)]
struct FtmEntity {
    id: Option<String>,
    schema: Option<String>,
    properties: Option<FtmProperties>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct FtmProperties {
    #[serde(default)]
    name: Vec<String>,
    #[serde(default)]
    alias: Vec<String>,
    #[serde(default)]
    previous_name: Vec<String>,
    #[serde(default)]
    first_name: Vec<String>,
    #[serde(default)]
    middle_name: Vec<String>,
    #[serde(default)]
    second_name: Vec<String>,
    #[serde(default)]
    father_name: Vec<String>,
    #[serde(default)]
    last_name: Vec<String>,
    #[serde(default)]
    birth_date: Vec<String>,
    #[serde(default)]
    nationality: Vec<String>,
    #[serde(default)]
    citizenship: Vec<String>,
    #[serde(default)]
    country: Vec<String>,
    #[serde(default)]
    topics: Vec<String>,
}

/// Schemas screened: people, and entries of unknown kind that may be people.
const FTM_SCREENED_SCHEMAS: &[&str] = &["Person", "LegalEntity"];

fn read_ftm(
    path: &Path,
    default_kind: Option<HitKind>,
) -> Result<(Vec<Entry>, u32, String), ListError> {
    let mut reader = BufReader::with_capacity(1 << 20, open(path)?);
    let mut hasher = Sha256::new();
    let mut buf = Vec::new();
    let mut entries = Vec::new();
    let mut skipped = 0u32;
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| ListError::Io {
                file: path.to_owned(),
                source,
            })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf);
        line += 1;
        let mut text = buf.trim_ascii();
        if line == 1 {
            // A byte order mark some editors write.
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        if text.is_empty() {
            continue;
        }
        match parse_ftm_line(text, default_kind) {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => skipped += 1,
            Err(reason) => {
                return Err(ListError::Malformed {
                    file: path.to_owned(),
                    line,
                    reason,
                })
            }
        }
    }
    Ok((entries, skipped, short_hex(hasher)))
}

/// One FtM line: `Ok(None)` for an entity that is not screened.
fn parse_ftm_line(text: &[u8], default_kind: Option<HitKind>) -> Result<Option<Entry>, String> {
    let entity: FtmEntity = serde_json::from_slice(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON (column {})", e.column())
        }
        // serde's message for a wrong type quotes the value: say what was expected instead.
        _ => format!(
            "not a FollowTheMoney entity (column {}): \"id\" and \"schema\" must be strings and \
             \"properties\" an object of string arrays",
            e.column()
        ),
    })?;
    let id = entity.id.filter(|id| !id.trim().is_empty());
    let Some(id) = id else {
        return Err("missing \"id\"".into());
    };
    let Some(schema) = entity.schema else {
        return Err("missing \"schema\"".into());
    };
    let Some(props) = entity.properties else {
        return Err("missing \"properties\"".into());
    };
    if !FTM_SCREENED_SCHEMAS.contains(&schema.as_str()) {
        return Ok(None);
    }
    let Some(kind) = ftm_kind(&props.topics).or(default_kind) else {
        return Ok(None);
    };
    let names = ftm_names(&props);
    if names.is_empty() {
        return Ok(None);
    }
    let birth_dates = props
        .birth_date
        .iter()
        .filter_map(|d| parse_iso_partial_date(d))
        .collect();
    let mut nationalities: Vec<[u8; 2]> = props
        .nationality
        .iter()
        .chain(&props.citizenship)
        .filter_map(|c| alpha2(c))
        .collect();
    if nationalities.is_empty() {
        // FtM's `country` on a person is its country of association; the best there is when
        // nationality is not given.
        nationalities = props.country.iter().filter_map(|c| alpha2(c)).collect();
    }
    nationalities.sort_unstable();
    nationalities.dedup();
    Ok(Some(Entry {
        id,
        kind,
        names,
        birth_dates,
        nationalities,
    }))
}

/// An entity's names: its names, aliases and previous names, and its structured name parts
/// joined; blank ones dropped, each once.
fn ftm_names(props: &FtmProperties) -> Vec<String> {
    let mut names: Vec<String> = props
        .name
        .iter()
        .chain(&props.alias)
        .chain(&props.previous_name)
        .cloned()
        .collect();
    // The structured parts, joined, for entities that give them (one name of each part only:
    // a cross product of several first and last names would invent names).
    let parts: Vec<&str> = [
        &props.first_name,
        &props.middle_name,
        &props.second_name,
        &props.father_name,
        &props.last_name,
    ]
    .iter()
    .filter_map(|p| p.first().map(String::as_str))
    .collect();
    if !props.first_name.is_empty() && !props.last_name.is_empty() {
        names.push(parts.join(" "));
    }
    names.retain(|n| !n.trim().is_empty());
    names.sort();
    names.dedup();
    names
}

fn ftm_kind(topics: &[String]) -> Option<HitKind> {
    let has = |t: &str| topics.iter().any(|x| x == t);
    if has("sanction") || has("sanction.linked") {
        Some(HitKind::Sanction)
    } else if has("role.pep") || has("role.rca") {
        Some(HitKind::Pep)
    } else {
        None
    }
}

/// FtM country codes are lower-case alpha-2; FtM also has a few longer codes (`suhh` for the
/// Soviet Union, `zz` for global), which match no nationality here and are dropped.
fn alpha2(code: &str) -> Option<[u8; 2]> {
    match code.trim().as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && code != "zz" => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

/// `1961-08-04`, `1961-08` or `1961` (FtM dates are ISO 8601 prefixes).
fn parse_iso_partial_date(s: &str) -> Option<BirthDate> {
    let mut parts = s.trim().splitn(3, '-');
    let year: i32 = parse_digits(parts.next()?, 4)?;
    match (parts.next(), parts.next()) {
        (None, _) => BirthDate::year(year),
        (Some(m), None) => BirthDate::month(year, parse_digits(m, 2)?),
        (Some(m), Some(d)) => {
            let day = d.get(..2).unwrap_or(d);
            NaiveDate::from_ymd_opt(year, parse_digits(m, 2)?, parse_digits(day, 2)?)
                .map(BirthDate::day)
        }
    }
}

fn parse_digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

// ---- OFAC ----------------------------------------------------------------------------------

const SDN_COLUMNS: usize = 12;
const ALT_COLUMNS: usize = 5;

fn csv_reader<R: Read>(inner: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(inner)
}

/// OFAC writes `-0-` (sometimes `-0- `) for an empty field.
fn field(record: &csv::ByteRecord, i: usize) -> String {
    let raw = record.get(i).unwrap_or_default();
    let text = String::from_utf8_lossy(raw);
    // The first field of a file saved with a byte order mark carries it.
    let text = text.trim().trim_start_matches('\u{feff}');
    if text == "-0-" {
        String::new()
    } else {
        text.to_owned()
    }
}

/// The record's 1-based line (for an error message only). csv's own line count lags a line
/// behind after a CRLF (the `\n` is consumed with the next record, and OFAC's files are CRLF),
/// so the line is counted in the file up to the record's first byte, which is then either the
/// record's first character or the `\n` that ends the line before.
fn record_line(path: &Path, record: &csv::ByteRecord, fallback: u64) -> u64 {
    let Some(pos) = record.position() else {
        return fallback;
    };
    let counted = std::fs::read(path).ok().and_then(|bytes| {
        let end = usize::try_from(pos.byte()).ok()?.checked_add(1)?;
        let head = bytes.get(..end.min(bytes.len()))?;
        Some(1 + head.iter().filter(|b| **b == b'\n').count() as u64)
    });
    counted.unwrap_or(pos.line())
}

/// OFAC's files end with a line holding only the DOS end-of-file mark (0x1A).
fn is_eof_marker(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii() == b"\x1a")
}

type Rows = (Vec<Entry>, u32, String);

/// Every record of the OFAC CSV file at `path` with `columns` columns, with the function that
/// makes a [`ListError::Malformed`] naming its line; the DOS end-of-file mark skipped; the
/// file's short hash at the end.
fn for_each_record(
    path: &Path,
    reader: impl Read,
    columns: usize,
    mut each: impl FnMut(&csv::ByteRecord, &dyn Fn(String) -> ListError) -> Result<(), ListError>,
) -> Result<String, ListError> {
    let mut reader = csv_reader(HashingReader {
        inner: reader,
        hasher: Sha256::new(),
    });
    let mut record = csv::ByteRecord::new();
    let mut count = 0u64;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(path, &e, count + 1))?;
        if !more {
            break;
        }
        count += 1;
        if is_eof_marker(&record) {
            continue;
        }
        let malformed = |reason: String| ListError::Malformed {
            file: path.to_owned(),
            line: record_line(path, &record, count),
            reason,
        };
        if record.len() != columns {
            return Err(malformed(format!(
                "expected {columns} columns, found {}",
                record.len()
            )));
        }
        let id = field(&record, 0);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("ent_num must be a number".into()));
        }
        each(&record, &malformed)?;
    }
    Ok(short_hex(reader.into_inner().hasher))
}

fn read_sdn(path: &Path) -> Result<Rows, ListError> {
    let mut entries = Vec::new();
    let mut skipped = 0u32;
    let reader = BufReader::with_capacity(1 << 20, open(path)?);
    let hash = for_each_record(path, reader, SDN_COLUMNS, |record, malformed| {
        let name = field(record, 1);
        if name.is_empty() {
            return Err(malformed("SDN_Name is empty".into()));
        }
        if !field(record, 2).eq_ignore_ascii_case("individual") {
            skipped += 1;
            return Ok(());
        }
        let (birth_dates, nationalities) = parse_remarks(&field(record, 11));
        entries.push(Entry {
            id: field(record, 0),
            kind: HitKind::Sanction,
            names: vec![name],
            birth_dates,
            nationalities,
        });
        Ok(())
    })?;
    Ok((entries, skipped, hash))
}

/// Add `alt.csv`'s aliases to the individuals of `entries`; returns the file's short hash.
fn read_alt(path: &Path, entries: &mut [Entry]) -> Result<String, ListError> {
    let by_id: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    for_each_record(
        path,
        BufReader::new(open(path)?),
        ALT_COLUMNS,
        |record, malformed| {
            let name = field(record, 3);
            if name.is_empty() {
                return Err(malformed("alt_name is empty".into()));
            }
            // Aliases of entities not screened (organisations, vessels) have no entry here.
            if let Some(entry) = by_id
                .get(&field(record, 0))
                .and_then(|&i| entries.get_mut(i))
            {
                if !entry.names.contains(&name) {
                    entry.names.push(name);
                }
            }
            Ok(())
        },
    )
}

fn csv_error(path: &Path, e: &csv::Error, fallback_line: u64) -> ListError {
    match e.kind() {
        csv::ErrorKind::Io(io) => ListError::Io {
            file: path.to_owned(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => ListError::Malformed {
            file: path.to_owned(),
            line: e.position().map_or(fallback_line, csv::Position::line),
            reason: "not valid CSV".into(),
        },
    }
}

/// Birth dates and nationalities from an SDN row's remarks: `;`-separated items such as
/// `DOB 04 Aug 1961`, `alt. DOB 1962`, `DOB circa 1961`, `DOB 1961 to 1963`,
/// `nationality Russia`, `citizen Russia`. Anything else (POB, passports, ..) is ignored, as is
/// a date or country this cannot read: remarks are free text.
pub(crate) fn parse_remarks(remarks: &str) -> (Vec<BirthDate>, Vec<[u8; 2]>) {
    let mut dobs = Vec::new();
    let mut nats = Vec::new();
    for item in remarks.split(';') {
        let item = item.trim().trim_end_matches('.').trim();
        let item = item.strip_prefix("alt. ").unwrap_or(item).trim();
        if let Some(rest) = strip_prefix_ci(item, "DOB ") {
            if let Some(d) = parse_ofac_dob(rest) {
                dobs.push(d);
            }
        } else if let Some(rest) =
            strip_prefix_ci(item, "nationality ").or_else(|| strip_prefix_ci(item, "citizen "))
        {
            if let Some(code) = country_code(rest) {
                let code = [code.as_bytes()[0], code.as_bytes()[1]];
                if !nats.contains(&code) {
                    nats.push(code);
                }
            }
        }
    }
    (dobs, nats)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// `04 Aug 1961`, `Aug 1961`, `1961`, `circa 1961` (a year either side), and `X to Y` of any
/// two of those.
fn parse_ofac_dob(s: &str) -> Option<BirthDate> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once(" to ") {
        return Some(BirthDate::span(parse_ofac_date(a)?, parse_ofac_date(b)?));
    }
    if let Some(rest) = strip_prefix_ci(s, "circa ") {
        let d = parse_ofac_date(rest)?;
        let y = d.earliest.year();
        return Some(BirthDate::span(
            BirthDate::year(y - 1)?,
            BirthDate::year(y + 1)?,
        ));
    }
    parse_ofac_date(s)
}

fn parse_ofac_date(s: &str) -> Option<BirthDate> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    match parts.as_slice() {
        [y] => BirthDate::year(parse_digits(y, 4)?),
        [m, y] => BirthDate::month(parse_digits(y, 4)?, month(m)?),
        [d, m, y] => {
            let day: u32 = if d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()) {
                d.parse().ok()?
            } else {
                return None;
            };
            NaiveDate::from_ymd_opt(parse_digits(y, 4)?, month(m)?, day).map(BirthDate::day)
        }
        _ => None,
    }
}

fn month(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = m.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|x| *x == m)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Country names as OFAC writes them, to ISO 3166-1 alpha-2. Not every country: the ones
/// that occur in the SDN list's nationality remarks and their usual variants; an unknown
/// name is ignored (no boost, no penalty).
const COUNTRIES: &[(&str, &str)] = &[
    ("afghanistan", "AF"),
    ("albania", "AL"),
    ("algeria", "DZ"),
    ("angola", "AO"),
    ("argentina", "AR"),
    ("armenia", "AM"),
    ("australia", "AU"),
    ("austria", "AT"),
    ("azerbaijan", "AZ"),
    ("bahrain", "BH"),
    ("bangladesh", "BD"),
    ("belarus", "BY"),
    ("belgium", "BE"),
    ("bolivia", "BO"),
    ("bosnia and herzegovina", "BA"),
    ("brazil", "BR"),
    ("bulgaria", "BG"),
    ("burma", "MM"),
    ("myanmar", "MM"),
    ("burundi", "BI"),
    ("cambodia", "KH"),
    ("canada", "CA"),
    ("central african republic", "CF"),
    ("chad", "TD"),
    ("chile", "CL"),
    ("china", "CN"),
    ("colombia", "CO"),
    ("congo, democratic republic of the", "CD"),
    ("democratic republic of the congo", "CD"),
    ("congo, republic of the", "CG"),
    ("costa rica", "CR"),
    ("croatia", "HR"),
    ("cuba", "CU"),
    ("cyprus", "CY"),
    ("czech republic", "CZ"),
    ("czechia", "CZ"),
    ("denmark", "DK"),
    ("dominican republic", "DO"),
    ("ecuador", "EC"),
    ("egypt", "EG"),
    ("el salvador", "SV"),
    ("eritrea", "ER"),
    ("estonia", "EE"),
    ("ethiopia", "ET"),
    ("finland", "FI"),
    ("france", "FR"),
    ("georgia", "GE"),
    ("germany", "DE"),
    ("ghana", "GH"),
    ("greece", "GR"),
    ("guatemala", "GT"),
    ("guinea", "GN"),
    ("haiti", "HT"),
    ("honduras", "HN"),
    ("hong kong", "HK"),
    ("hungary", "HU"),
    ("india", "IN"),
    ("indonesia", "ID"),
    ("iran", "IR"),
    ("iraq", "IQ"),
    ("ireland", "IE"),
    ("israel", "IL"),
    ("italy", "IT"),
    ("japan", "JP"),
    ("jordan", "JO"),
    ("kazakhstan", "KZ"),
    ("kenya", "KE"),
    ("korea, north", "KP"),
    ("north korea", "KP"),
    ("korea, south", "KR"),
    ("south korea", "KR"),
    ("kosovo", "XK"),
    ("kuwait", "KW"),
    ("kyrgyzstan", "KG"),
    ("latvia", "LV"),
    ("lebanon", "LB"),
    ("liberia", "LR"),
    ("libya", "LY"),
    ("lithuania", "LT"),
    ("malaysia", "MY"),
    ("mali", "ML"),
    ("mauritania", "MR"),
    ("mexico", "MX"),
    ("moldova", "MD"),
    ("montenegro", "ME"),
    ("morocco", "MA"),
    ("netherlands", "NL"),
    ("nicaragua", "NI"),
    ("niger", "NE"),
    ("nigeria", "NG"),
    ("north macedonia", "MK"),
    ("norway", "NO"),
    ("oman", "OM"),
    ("pakistan", "PK"),
    ("palestinian", "PS"),
    ("panama", "PA"),
    ("paraguay", "PY"),
    ("peru", "PE"),
    ("philippines", "PH"),
    ("poland", "PL"),
    ("portugal", "PT"),
    ("qatar", "QA"),
    ("romania", "RO"),
    ("russia", "RU"),
    ("rwanda", "RW"),
    ("saudi arabia", "SA"),
    ("senegal", "SN"),
    ("serbia", "RS"),
    ("singapore", "SG"),
    ("slovakia", "SK"),
    ("slovenia", "SI"),
    ("somalia", "SO"),
    ("south africa", "ZA"),
    ("south sudan", "SS"),
    ("spain", "ES"),
    ("sri lanka", "LK"),
    ("sudan", "SD"),
    ("sweden", "SE"),
    ("switzerland", "CH"),
    ("syria", "SY"),
    ("taiwan", "TW"),
    ("tajikistan", "TJ"),
    ("tanzania", "TZ"),
    ("thailand", "TH"),
    ("tunisia", "TN"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("turkmenistan", "TM"),
    ("uganda", "UG"),
    ("ukraine", "UA"),
    ("united arab emirates", "AE"),
    ("united kingdom", "GB"),
    ("united states", "US"),
    ("uruguay", "UY"),
    ("uzbekistan", "UZ"),
    ("venezuela", "VE"),
    ("vietnam", "VN"),
    ("yemen", "YE"),
    ("zimbabwe", "ZW"),
];

/// A country name (as OFAC writes it) to ISO 3166-1 alpha-2.
pub(crate) fn country_code(name: &str) -> Option<&'static str> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    COUNTRIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ofac_dob_formats() {
        let (d, n) = parse_remarks(
            "DOB 04 Aug 1961; POB Moscow, Russia; nationality Russia; citizen Russia; Passport 123",
        );
        assert_eq!(d, vec![BirthDate::day(ymd(1961, 8, 4))]);
        assert_eq!(n, vec![*b"RU"]);
        let (d, _) =
            parse_remarks("DOB 1961; alt. DOB circa 1965; DOB 04 Aug 1961 to 05 Aug 1962.");
        assert_eq!(d.len(), 3);
        assert_eq!(
            (d[0].earliest, d[0].latest),
            (ymd(1961, 1, 1), ymd(1961, 12, 31))
        );
        assert_eq!(
            (d[1].earliest, d[1].latest),
            (ymd(1964, 1, 1), ymd(1966, 12, 31))
        );
        assert_eq!(
            (d[2].earliest, d[2].latest),
            (ymd(1961, 8, 4), ymd(1962, 8, 5))
        );
        let (d, _) = parse_remarks("DOB Feb 1970");
        assert_eq!(
            (d[0].earliest, d[0].latest),
            (ymd(1970, 2, 1), ymd(1970, 2, 28))
        );
        let (d, n) = parse_remarks("DOB sometime; nationality Atlantis");
        assert!(d.is_empty() && n.is_empty());
        let (_, n) = parse_remarks("nationality Korea, North");
        // `;` separates items, so a comma inside a country name survives.
        assert_eq!(n, vec![*b"KP"]);
    }

    #[test]
    fn ftm_dates_and_kinds() {
        assert_eq!(
            parse_iso_partial_date("1961-08-04"),
            Some(BirthDate::day(ymd(1961, 8, 4)))
        );
        assert_eq!(
            parse_iso_partial_date("1961-02").map(|d| d.latest),
            Some(ymd(1961, 2, 28))
        );
        assert_eq!(parse_iso_partial_date("61"), None);
        assert_eq!(ftm_kind(&["role.pep".into()]), Some(HitKind::Pep));
        assert_eq!(
            ftm_kind(&["role.pep".into(), "sanction".into()]),
            Some(HitKind::Sanction)
        );
        assert_eq!(ftm_kind(&["sanction.counter".into()]), None);
    }

    #[test]
    fn ftm_line_errors_do_not_quote_content() {
        let err = parse_ftm_line(br#"{"schema":"Person","properties":{}}"#, None).unwrap_err();
        assert_eq!(err, "missing \"id\"");
        let err = parse_ftm_line(
            br#"{"id":"x","schema":"Person","properties":{"name":"Secret Name"}}"#,
            None,
        )
        .unwrap_err();
        assert!(!err.contains("Secret"), "{err}");
        let err = parse_ftm_line(br#"{"id":"x","#, None).unwrap_err();
        assert!(err.starts_with("not valid JSON"), "{err}");
    }
}
