//! OFAC's SDN list (`sdn.csv`) and its aliases (`alt.csv`): see the module documentation of
//! `lists` for the columns.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::Path;

use chrono::{Datelike as _, NaiveDate};
use sha2::{Digest as _, Sha256};

use super::entry::{BirthDate, Entry, HitKind};
use super::read::{open, parse_digits, short_hex, HashingReader, ListError};

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

pub(super) fn read_sdn(path: &Path) -> Result<Rows, ListError> {
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
pub(super) fn read_alt(path: &Path, entries: &mut [Entry]) -> Result<String, ListError> {
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

/// Country names as OFAC writes them where the ISO 3166-1 names and their usual aliases
/// ([`crate::model::country::alpha2_for_name`]) do not say them (an inverted name, an
/// adjective). Measured on the names of the SDN list's nationality remarks this table used to
/// hold in full: 134 of 139 are read by the ISO names, these are the rest.
const OFAC_SPELLINGS: &[(&str, &str)] = &[
    ("congo, democratic republic of the", "CD"),
    ("congo, republic of the", "CG"),
    ("korea, north", "KP"),
    ("korea, south", "KR"),
    ("palestinian", "PS"),
];

/// A country name (as OFAC writes it) to ISO 3166-1 alpha-2; an unknown name is ignored (no
/// boost, no penalty).
pub(crate) fn country_code(name: &str) -> Option<&'static str> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    OFAC_SPELLINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, code)| *code)
        .or_else(|| crate::model::country::alpha2_for_name(&name))
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
}
