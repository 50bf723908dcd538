//! The risk check (`risk` in the audit log and the evidence): country risk from the FATF lists,
//! and association signals from the store's index.
//!
//! **Country risk.** The FATF publishes two lists after each plenary (February, June, October):
//! "high-risk jurisdictions subject to a call for action" and "jurisdictions under increased
//! monitoring". Both are data files (`issuer/data/fatf/<published>.toml`, the newest embedded;
//! an operator names a newer one with `[checks] fatf_file`). A nationality or residence on the
//! first list rejects the case (high risk, reported); on the second it goes to a person. A list
//! older than `stale_after_days` is a start-up warning: the issuer cannot know a newer one from
//! here, but the operator must.
//!
//! **Association.** The same document number, phone number or address used by *different*
//! holders is a signal of a synthetic or borrowed identity. The store keeps an index of keyed
//! hashes (no value in clear), see [`AssociationKey`]; the signals reach this check as counts.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use serde::Deserialize;
use sha2::Sha256;

use crate::model::{CheckRecord, Reason, Submission};

/// The newest FATF lists this build knows.
const EMBEDDED: (&str, &str) = (
    "2025-10-24.toml",
    include_str!("../../data/fatf/2025-10-24.toml"),
);

/// The FATF lists in force.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FatfLists {
    /// The plenary date the lists come from.
    pub published: NaiveDate,
    /// Where they come from.
    pub source: String,
    /// "High-risk jurisdictions subject to a call for action".
    pub call_for_action: Vec<String>,
    /// "Jurisdictions under increased monitoring".
    pub increased_monitoring: Vec<String>,
}

/// Why a FATF list file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FatfFileError {
    /// Unreadable.
    #[error("FATF list {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not TOML of the expected shape, or a code that is not ISO 3166-1 alpha-2.
    #[error("FATF list {file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl FatfLists {
    /// The embedded lists.
    pub fn embedded() -> Result<Self, FatfFileError> {
        Self::parse(EMBEDDED.0, EMBEDDED.1)
    }

    /// The lists of `file`, or the embedded ones.
    pub fn load(file: Option<&Path>) -> Result<Self, FatfFileError> {
        match file {
            None => Self::embedded(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| FatfFileError::Read {
                    file: path.display().to_string(),
                    source,
                })?;
                Self::parse(&path.display().to_string(), &text)
            }
        }
    }

    /// Parse and validate `text`.
    pub fn parse(file: &str, text: &str) -> Result<Self, FatfFileError> {
        let invalid = |message: String| FatfFileError::Invalid {
            file: file.to_owned(),
            message,
        };
        let lists: Self =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim().replace('\n', " ")))?;
        for code in lists
            .call_for_action
            .iter()
            .chain(&lists.increased_monitoring)
        {
            if !crate::model::country::is_alpha2(code) {
                return Err(invalid(format!(
                    "{code:?} is not an ISO 3166-1 alpha-2 code"
                )));
            }
        }
        if let Some(both) = lists
            .call_for_action
            .iter()
            .find(|c| lists.increased_monitoring.contains(c))
        {
            return Err(invalid(format!("{both} is on both lists")));
        }
        Ok(lists)
    }

    /// A warning when the lists are older than `stale_after_days` on `today`.
    pub fn staleness_warning(&self, today: NaiveDate, stale_after_days: u32) -> Option<String> {
        let age = (today - self.published).num_days();
        (age > i64::from(stale_after_days)).then(|| {
            format!(
                "the FATF lists in force were published on {} ({age} days ago, more than {stale_after_days}); \
                 the FATF updates them after every plenary: install the current lists and name them in [checks] fatf_file",
                self.published
            )
        })
    }

    /// A version string for the audit log.
    pub fn version(&self) -> String {
        format!("fatf:{}", self.published)
    }

    fn listing(&self, country: &str) -> Option<FatfListing> {
        if self.call_for_action.iter().any(|c| c == country) {
            Some(FatfListing::CallForAction)
        } else if self.increased_monitoring.iter().any(|c| c == country) {
            Some(FatfListing::IncreasedMonitoring)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FatfListing {
    CallForAction,
    IncreasedMonitoring,
}

/// What an association key is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssociationKind {
    /// The identity document's number.
    DocumentNumber,
    /// The phone number.
    Phone,
    /// The residence address (street, postal code, country).
    Address,
}

impl AssociationKind {
    /// The reason when another holder used the same value.
    pub fn reason(self) -> Reason {
        match self {
            Self::DocumentNumber => Reason::AssociationSharedDocumentNumber,
            Self::Phone => Reason::AssociationSharedPhone,
            Self::Address => Reason::AssociationSharedAddress,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Self::DocumentNumber => b'd',
            Self::Phone => b'p',
            Self::Address => b'a',
        }
    }
}

/// A keyed hash of one normalised identity value, the unit of the association index:
/// `HMAC-SHA256(index key, kind || 0x00 || value)`, the first 16 bytes, prefixed with the kind.
/// The index key never leaves the issuer, so the index cannot be searched for a known value
/// without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssociationKey {
    /// What the value is.
    pub kind: AssociationKind,
    /// Kind byte, then 16 bytes of the keyed hash.
    pub bytes: [u8; 17],
}

/// The keys of a submission's document number, phone and address (those it has).
pub fn association_keys(index_key: &[u8; 32], submission: &Submission) -> Vec<AssociationKey> {
    let identity = &submission.identity;
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let alnum_upper = |s: String| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let mut values = Vec::new();
    if let Some(n) = text(identity.other.get("documentNumber")).map(alnum_upper) {
        values.push((AssociationKind::DocumentNumber, n));
    }
    if let Some(p) = text(identity.other.get("phone")) {
        values.push((AssociationKind::Phone, alnum_upper(p)));
    }
    if let Some(r) = &identity.residence {
        let street = text(r.other.get("street"));
        let postal = text(r.other.get("postalCode"));
        // A country alone is no address; a street is needed to tell households apart.
        if let Some(street) = street {
            let street = words_lower(&street);
            let postal = postal.map(alnum_upper).unwrap_or_default();
            values.push((
                AssociationKind::Address,
                format!("{}|{postal}|{street}", r.country.as_str()),
            ));
        }
    }
    values
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(kind, value)| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(index_key)
                .expect("HMAC takes a key of any length");
            mac.update(&[kind.tag(), 0]);
            mac.update(value.as_bytes());
            let digest = mac.finalize().into_bytes();
            let mut bytes = [0u8; 17];
            bytes[0] = kind.tag();
            bytes[1..].copy_from_slice(&digest[..16]);
            AssociationKey { kind, bytes }
        })
        .collect()
}

/// Lower-case ASCII letters and digits of `s`, words separated by one space.
fn words_lower(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run the risk check: the FATF listing of the nationality and residence, and the association
/// signals (`shared`: the kinds another holder used the same value of).
pub fn risk_check(
    submission: &Submission,
    fatf: &FatfLists,
    shared: &[AssociationKind],
    now: DateTime<Utc>,
) -> CheckRecord {
    let identity = &submission.identity;
    let mut rejected = Vec::new();
    let mut consider = Vec::new();
    // Each country with the reasons its call-for-action and increased-monitoring listings give.
    let countries = [
        (
            Some(identity.nationality.as_str()),
            Reason::FatfCallForActionNationality,
            Reason::FatfIncreasedMonitoringNationality,
        ),
        (
            identity.residence.as_ref().map(|r| r.country.as_str()),
            Reason::FatfCallForActionResidence,
            Reason::FatfIncreasedMonitoringResidence,
        ),
    ];
    for (country, call_for_action, increased_monitoring) in countries {
        match country.and_then(|c| fatf.listing(c)) {
            Some(FatfListing::CallForAction) => rejected.push(call_for_action),
            Some(FatfListing::IncreasedMonitoring) => consider.push(increased_monitoring),
            None => {}
        }
    }
    for kind in shared {
        let reason = kind.reason();
        if !consider.contains(&reason) {
            consider.push(reason);
        }
    }
    let (outcome, reasons) = if !rejected.is_empty() {
        rejected.extend(consider);
        (CheckOutcome::Rejected, rejected)
    } else if !consider.is_empty() {
        (CheckOutcome::Consider, consider)
    } else {
        (
            CheckOutcome::Clear,
            vec![Reason::CountryRiskLow, Reason::NoAssociationSignal],
        )
    };
    CheckRecord {
        data_version: Some(fatf.version()),
        ..CheckRecord::new(AuditCheck::Risk, outcome, reasons, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(nationality: &str, residence: &str) -> Submission {
        serde_json::from_value(serde_json::json!({
            "jurisdiction": "EU",
            "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "identity": {
                "givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
                "nationality": nationality,
                "residence": {"country": residence, "street": "Heidestraße 17", "postalCode": "51147"},
                "documentNumber": "C01X00T47", "phone": "+4922199999999"
            },
            "document": {"type": "id_card"}
        }))
        .unwrap()
    }

    #[test]
    fn embedded_lists_parse_and_warn_when_old() {
        let fatf = FatfLists::embedded().unwrap();
        assert!(fatf.call_for_action.contains(&"KP".to_owned()));
        let published = fatf.published;
        assert!(fatf.staleness_warning(published, 150).is_none());
        let later = published + chrono::Duration::days(151);
        assert!(fatf
            .staleness_warning(later, 150)
            .unwrap()
            .contains("fatf_file"));
    }

    #[test]
    fn malformed_lists_are_refused() {
        let base = EMBEDDED.1;
        for bad in [
            base.replace("\"KP\"", "\"PRK\""),
            // Two capitals, but no country: ISO 3166-1 has not assigned QQ.
            base.replace("\"KP\"", "\"QQ\""),
            base.replace("\"DZ\"", "\"IR\""),
            base.replace("published = \"2025-10-24\"", "published = \"soon\""),
            format!("{base}\nextra = 1"),
        ] {
            assert!(matches!(
                FatfLists::parse("x.toml", &bad),
                Err(FatfFileError::Invalid { .. })
            ));
        }
    }

    #[test]
    fn country_table() {
        let fatf = FatfLists::embedded().unwrap();
        let now = Utc::now();
        let r = risk_check(&submission("DE", "DE"), &fatf, &[], now);
        assert_eq!(r.outcome, CheckOutcome::Clear);
        assert_eq!(r.data_version.as_deref(), Some("fatf:2025-10-24"));
        let r = risk_check(&submission("DE", "VN"), &fatf, &[], now);
        assert_eq!(
            (r.outcome, r.wire_reasons()),
            (
                CheckOutcome::Consider,
                vec!["fatf_increased_monitoring_residence".to_owned()]
            )
        );
        let r = risk_check(
            &submission("IR", "VN"),
            &fatf,
            &[AssociationKind::Phone],
            now,
        );
        assert_eq!(r.outcome, CheckOutcome::Rejected);
        assert_eq!(
            r.reasons,
            [
                "fatf_call_for_action_nationality",
                "fatf_increased_monitoring_residence",
                "association_shared_phone"
            ]
        );
        let r = risk_check(
            &submission("DE", "DE"),
            &fatf,
            &[AssociationKind::DocumentNumber],
            now,
        );
        assert_eq!(
            (r.outcome, r.wire_reasons()),
            (
                CheckOutcome::Consider,
                vec!["association_shared_document_number".to_owned()]
            )
        );
    }

    #[test]
    fn association_keys_are_keyed_and_normalised() {
        let key = [7u8; 32];
        let a = association_keys(&key, &submission("DE", "DE"));
        assert_eq!(a.len(), 3);
        let mut other = submission("DE", "DE");
        other
            .identity
            .other
            .insert("documentNumber".into(), "c01x-00t47".into());
        let b = association_keys(&key, &other);
        assert_eq!(a[0], b[0], "case and punctuation do not matter");
        let c = association_keys(&[8u8; 32], &submission("DE", "DE"));
        assert_ne!(a[0], c[0], "another index key, other hashes");
        // The value is not in the key.
        assert!(!a.iter().any(|k| k.bytes.windows(3).any(|w| w == b"C01")));
    }
}
