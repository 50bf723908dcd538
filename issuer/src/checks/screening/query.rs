//! Who to screen, and what the lists matched.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::lists::{HitKind, ListVersion};
use crate::checks::document::document_name;
use crate::model::{Identity, Submission};

/// Who to screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningQuery {
    /// Given name(s).
    pub given_name: String,
    /// Family name(s).
    pub family_name: String,
    /// Date of birth, when known.
    pub birth_date: Option<NaiveDate>,
    /// Nationality, ISO 3166-1 alpha-2, when known.
    pub nationality: Option<String>,
}

impl ScreeningQuery {
    /// The queries for a submission: its identity data as typed, and, when the document has a
    /// machine-readable zone, the same person under the name the zone prints. Screening runs
    /// both and keeps the stronger hit ([`ScreeningResult::stronger`]).
    pub fn for_submission(submission: &Submission) -> Vec<Self> {
        let typed = Self::from_identity(&submission.identity);
        let mut out = vec![typed.clone()];
        if let Some((given_name, family_name)) = document_name(&submission.document) {
            let printed = Self {
                given_name,
                family_name,
                ..typed
            };
            if printed != out[0] {
                out.push(printed);
            }
        }
        out
    }

    /// The query for a submission's identity data.
    pub fn from_identity(identity: &Identity) -> Self {
        Self {
            given_name: identity.given_name.clone(),
            family_name: identity.family_name.clone(),
            birth_date: Some(identity.birth_date),
            nationality: Some(identity.nationality.as_str().to_owned()),
        }
    }
}

/// One list entry the query matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    /// The list's configured name.
    pub list: String,
    /// The entry's id in that list.
    pub entity_id: String,
    /// Sanction or PEP.
    pub kind: HitKind,
    /// Match score in [0, 1], four decimals.
    pub score: f64,
    /// Reason codes (`name_strong`, `name_match`, `name_phonetic`, `dob_exact`, `dob_year`,
    /// `nationality_match`, `nationality_mismatch`); never a name or a date.
    pub reasons: Vec<String>,
    /// The entry's name that matched best (one of its names and aliases), as the screening
    /// compared it (its tokens, transliterated, lower case): for the reviewer's view of the
    /// check only. Not serialised with the result, which stays free of names (a hit's name
    /// resembles the customer's).
    #[serde(skip)]
    pub name: String,
}

impl Hit {
    /// The key a reviewer's clearance is recorded under: `list/entity_id`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.list, self.entity_id)
    }

    /// A sanctions entry matched by a strong name and the exact birth date.
    pub(super) fn is_confirmed_sanction(&self) -> bool {
        self.kind == HitKind::Sanction
            && self.reasons.iter().any(|r| r == "name_strong")
            && self.reasons.iter().any(|r| r == "dob_exact")
    }
}

/// The result of screening one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreeningResult {
    /// The lists screened against (for the audit event); empty when none is configured.
    pub list_version: Vec<ListVersion>,
    /// The hits, best first.
    pub hits: Vec<Hit>,
    /// Tokens the query's name normalised to; 0 means nothing could be screened (a name of
    /// punctuation only), which is not a clear result.
    pub name_tokens: usize,
}

impl ScreeningResult {
    /// The lists' versions in one line for the check record: `list@sha256` (with
    /// `+aliases_sha256` for OFAC) joined by `,`; `None` when no list is configured.
    pub fn data_version(&self) -> Option<String> {
        if self.list_version.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .list_version
            .iter()
            .map(|v| match &v.aliases_sha256 {
                Some(alt) => format!("{}@{}+{}", v.list, v.sha256, alt),
                None => format!("{}@{}", v.list, v.sha256),
            })
            .collect();
        Some(parts.join(","))
    }

    /// Both results in one, for the same lists: every hit of either, the stronger one where
    /// both matched the same entry (a confirmed sanction first, then the higher score).
    pub fn stronger(mut self, other: ScreeningResult) -> ScreeningResult {
        for hit in other.hits {
            match self.hits.iter_mut().find(|h| h.key() == hit.key()) {
                Some(mine) => {
                    let rank = |h: &Hit| (h.is_confirmed_sanction(), h.score);
                    if rank(&hit) > rank(mine) {
                        *mine = hit;
                    }
                }
                None => self.hits.push(hit),
            }
        }
        self.hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        self.name_tokens = self.name_tokens.max(other.name_tokens);
        self
    }
}
