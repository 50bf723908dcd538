//! FollowTheMoney JSON Lines (OpenSanctions' `entities.ftm.json`): see the module
//! documentation of `lists` for what is screened.

use std::io::{BufRead as _, BufReader};
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::entry::{BirthDate, Entry, HitKind};
use super::read::{open, parse_digits, short_hex, ListError};

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

pub(super) fn read_ftm(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
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
