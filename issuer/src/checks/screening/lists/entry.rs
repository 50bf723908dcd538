//! What a list file is parsed into: entries, their kinds and birth dates.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What a list entry is, and so what a hit on it means to the risk engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A sanctioned person: a confirmed match is high risk.
    Sanction,
    /// A politically exposed person (or a relative or close associate): medium risk.
    Pep,
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

    /// The whole of `year`.
    pub(super) fn year(year: i32) -> Option<Self> {
        Some(Self {
            earliest: NaiveDate::from_ymd_opt(year, 1, 1)?,
            latest: NaiveDate::from_ymd_opt(year, 12, 31)?,
        })
    }

    /// The whole of `month` of `year`.
    pub(super) fn month(year: i32, month: u32) -> Option<Self> {
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

    /// From the earlier start to the later end.
    pub(super) fn span(a: Self, b: Self) -> Self {
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
