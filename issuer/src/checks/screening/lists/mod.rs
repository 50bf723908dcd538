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

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod entry;
mod ftm;
mod ofac;
mod read;

use ftm::read_ftm;
use ofac::{read_alt, read_sdn};

pub use entry::{BirthDate, Entry, HitKind};
pub use read::ListError;

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
