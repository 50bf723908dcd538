//! Jurisdiction policies: what a jurisdiction's rules ask of an application, as data.
//!
//! One TOML file per jurisdiction (`issuer/policies/*.toml`, embedded in the binary; an operator
//! may add or replace policies with the files of the directory named by `[policies] dir`):
//! the identity fields required beyond the schema's own, the documents accepted, the ID-number
//! scheme of each identity field, the checks only an external provider can run (China's
//! mobile-number verification), the risk thresholds, the screening threshold, what a missing
//! biometric check means, and the longest credential validity per tier.
//!
//! Every policy is validated at start, with errors that name the file and the key; the service
//! refuses to start on an invalid one. EU, US, CN, JP and `default` must all be present.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod id_number;

use id_number::IdScheme;

/// The embedded policies, as `(file name, text)`.
const EMBEDDED: [(&str, &str); 5] = [
    ("eu.toml", include_str!("../../policies/eu.toml")),
    ("us.toml", include_str!("../../policies/us.toml")),
    ("cn.toml", include_str!("../../policies/cn.toml")),
    ("jp.toml", include_str!("../../policies/jp.toml")),
    ("default.toml", include_str!("../../policies/default.toml")),
];

/// The jurisdictions every deployment must have a policy for.
pub const REQUIRED: [&str; 5] = ["EU", "US", "CN", "JP", "default"];

/// Identity fields a policy may require (the optional properties of the application schema's
/// `identity`).
pub const IDENTITY_FIELDS: [&str; 7] = [
    "birthPlace",
    "residence",
    "documentNumber",
    "nationalId",
    "taxId",
    "phone",
    "email",
];

/// Document types of the application schema.
pub const DOCUMENT_TYPES: [&str; 5] = [
    "passport",
    "id_card",
    "residence_permit",
    "visa",
    "driving_licence",
];

/// A check only an external provider can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderCheck {
    /// China: the mobile number is registered in the customer's name (carrier real-name data).
    CnMobileVerification,
}

impl ProviderCheck {
    /// The reason-code stem.
    pub fn code(self) -> &'static str {
        match self {
            Self::CnMobileVerification => "cn_mobile_verification",
        }
    }
}

/// What a tier-2 application whose biometric check was not performed gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiometricNotPerformed {
    /// Decided automatically, at tier 1 at most.
    CapTier,
    /// A person decides.
    Review,
}

/// Risk and screening thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Risk score at or above which a case is medium risk (manual review).
    pub medium_risk: u32,
    /// Risk score at or above which a case is high risk (reject and report).
    pub high_risk: u32,
    /// Screening similarity (0..1) at or above which a list entry is a hit.
    pub screening_hit: f64,
}

/// Credential settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialPolicy {
    /// Longest validity, in days, by tier 0..3.
    pub max_validity_days: [u32; 4],
}

/// One jurisdiction's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionPolicy {
    /// The code applications name (`EU`, `JP`, `default`).
    pub code: String,
    /// A readable name.
    pub name: String,
    /// The policy's version, recorded with the decisions taken under it.
    pub version: String,
    /// The holder's minimum age, in whole years, at application.
    pub min_age: u8,
    /// Identity fields required beyond the schema's own.
    pub required_fields: Vec<String>,
    /// Document types accepted.
    pub accepted_documents: Vec<String>,
    /// Checks needing an external provider.
    pub provider_checks: Vec<ProviderCheck>,
    /// What a missing biometric check means.
    pub biometric_not_performed: BiometricNotPerformed,
    /// Identity field → the scheme its value must follow.
    #[serde(default)]
    pub id_numbers: BTreeMap<String, IdScheme>,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Credential settings.
    pub credential: CredentialPolicy,
}

/// Why a policy cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// The file or directory cannot be read.
    #[error("policy {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("policy {file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message (line and key).
        message: String,
    },
    /// A value is out of its range.
    #[error("policy {file}: {key}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Two files define the same code.
    #[error("policy {file}: jurisdiction {code} is defined twice")]
    Duplicate {
        /// The second file.
        file: String,
        /// The code.
        code: String,
    },
    /// A required jurisdiction has no policy.
    #[error("no policy for jurisdiction {0}")]
    Missing(&'static str),
}

impl JurisdictionPolicy {
    /// Parse and validate one policy file's `text`.
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyFileError> {
        let policy: Self = toml::from_str(text).map_err(|e| PolicyFileError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        policy.validate(file)?;
        Ok(policy)
    }

    // One check per key, in the file's order, each naming its key: long, but flat.
    fn validate(&self, file: &str) -> Result<(), PolicyFileError> {
        let invalid = |key: &'static str, reason: String| PolicyFileError::Invalid {
            file: file.to_owned(),
            key,
            reason,
        };
        let code_ok = self.code == "default"
            || (2..=16).contains(&self.code.len())
                && self.code.bytes().all(|b| b.is_ascii_uppercase());
        if !code_ok {
            return Err(invalid(
                "code",
                "must be `default` or 2 to 16 upper-case letters".into(),
            ));
        }
        if self.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty".into()));
        }
        if self.min_age > 25 {
            return Err(invalid("min_age", "must be at most 25".into()));
        }
        if let Some(f) = self
            .required_fields
            .iter()
            .find(|f| !IDENTITY_FIELDS.contains(&f.as_str()))
        {
            return Err(invalid(
                "required_fields",
                format!("unknown identity field {f:?}; known: {IDENTITY_FIELDS:?}"),
            ));
        }
        if self.accepted_documents.is_empty() {
            return Err(invalid(
                "accepted_documents",
                "must accept a document".into(),
            ));
        }
        if let Some(d) = self
            .accepted_documents
            .iter()
            .find(|d| !DOCUMENT_TYPES.contains(&d.as_str()))
        {
            return Err(invalid(
                "accepted_documents",
                format!("unknown document type {d:?}; known: {DOCUMENT_TYPES:?}"),
            ));
        }
        if let Some(f) = self
            .id_numbers
            .keys()
            .find(|f| !["documentNumber", "nationalId", "taxId"].contains(&f.as_str()))
        {
            return Err(invalid(
                "id_numbers",
                format!(
                    "{f:?} is not an identity number field (documentNumber, nationalId, taxId)"
                ),
            ));
        }
        let t = self.thresholds;
        if !(1..=100).contains(&t.medium_risk)
            || !(1..=100).contains(&t.high_risk)
            || t.medium_risk >= t.high_risk
        {
            return Err(invalid(
                "thresholds",
                "need 1 <= medium_risk < high_risk <= 100".into(),
            ));
        }
        if !(t.screening_hit > 0.5 && t.screening_hit <= 1.0) {
            return Err(invalid(
                "thresholds.screening_hit",
                "must be in (0.5, 1]".into(),
            ));
        }
        if self
            .credential
            .max_validity_days
            .iter()
            .any(|d| !(1..=3650).contains(d))
        {
            return Err(invalid(
                "credential.max_validity_days",
                "every tier's validity must be 1 to 3650 days".into(),
            ));
        }
        Ok(())
    }

    /// Whether `document_type` is accepted.
    pub fn accepts_document(&self, document_type: &str) -> bool {
        self.accepted_documents.iter().any(|d| d == document_type)
    }
}

/// Every jurisdiction's policy, by code.
#[derive(Debug, Clone)]
pub struct Jurisdictions {
    policies: BTreeMap<String, JurisdictionPolicy>,
}

impl Jurisdictions {
    /// The embedded policies.
    pub fn embedded() -> Result<Self, PolicyFileError> {
        Self::from_files(
            EMBEDDED
                .iter()
                .map(|(f, t)| ((*f).to_owned(), (*t).to_owned())),
        )
    }

    /// The embedded policies, with each `*.toml` of `dir` added or replacing the embedded one
    /// of the same code.
    pub fn load(dir: Option<&Path>) -> Result<Self, PolicyFileError> {
        let mut files: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
            .collect();
        let mut own = Vec::new();
        if let Some(dir) = dir {
            let read_err = |source| PolicyFileError::Read {
                file: dir.display().to_string(),
                source,
            };
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .map_err(read_err)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(read_err)?;
            paths.sort();
            for path in paths
                .into_iter()
                .filter(|p| p.extension() == Some("toml".as_ref()))
            {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| PolicyFileError::Read {
                        file: path.display().to_string(),
                        source,
                    })?;
                own.push((path.display().to_string(), text));
            }
        }
        // An operator's policy replaces the embedded one of the same code.
        let mut by_code = BTreeMap::new();
        for (file, text) in files.drain(..) {
            let p = JurisdictionPolicy::parse(&file, &text)?;
            by_code.insert(p.code.clone(), p);
        }
        let mut seen = std::collections::BTreeSet::new();
        for (file, text) in own {
            let p = JurisdictionPolicy::parse(&file, &text)?;
            if !seen.insert(p.code.clone()) {
                return Err(PolicyFileError::Duplicate { file, code: p.code });
            }
            by_code.insert(p.code.clone(), p);
        }
        Self::complete(by_code)
    }

    fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, PolicyFileError> {
        let mut by_code = BTreeMap::new();
        for (file, text) in files {
            let p = JurisdictionPolicy::parse(&file, &text)?;
            if by_code.contains_key(&p.code) {
                return Err(PolicyFileError::Duplicate { file, code: p.code });
            }
            by_code.insert(p.code.clone(), p);
        }
        Self::complete(by_code)
    }

    fn complete(policies: BTreeMap<String, JurisdictionPolicy>) -> Result<Self, PolicyFileError> {
        if let Some(missing) = REQUIRED.iter().find(|c| !policies.contains_key(**c)) {
            return Err(PolicyFileError::Missing(missing));
        }
        Ok(Self { policies })
    }

    /// The policy of `code`.
    pub fn get(&self, code: &str) -> Option<&JurisdictionPolicy> {
        self.policies.get(code)
    }

    /// The codes, sorted.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.policies.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policies_are_valid_and_complete() {
        let j = Jurisdictions::embedded().unwrap();
        assert_eq!(
            j.codes().collect::<Vec<_>>(),
            ["CN", "EU", "JP", "US", "default"]
        );
        let jp = j.get("JP").unwrap();
        assert_eq!(jp.id_numbers["nationalId"], IdScheme::JpMyNumber);
        assert!(!jp.accepts_document("visa"));
        let cn = j.get("CN").unwrap();
        assert_eq!(cn.provider_checks, [ProviderCheck::CnMobileVerification]);
        assert_eq!(j.get("US").unwrap().id_numbers["taxId"], IdScheme::UsSsn);
        assert!(j.get("default").unwrap().accepts_document("passport"));
    }

    fn with(key: &str, value: &str) -> String {
        let base = EMBEDDED[0].1;
        base.lines()
            .map(|l| {
                if l.starts_with(&format!("{key} =")) {
                    format!("{key} = {value}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn invalid_policies_are_refused_naming_the_key() {
        for (key, value, named) in [
            ("required_fields", r#"["shoeSize"]"#, "required_fields"),
            (
                "accepted_documents",
                r#"["library_card"]"#,
                "accepted_documents",
            ),
            ("accepted_documents", "[]", "accepted_documents"),
            ("medium_risk", "80", "thresholds"),
            ("screening_hit", "1.5", "screening_hit"),
            (
                "max_validity_days",
                "[30, 0, 365, 365]",
                "max_validity_days",
            ),
            ("code", r#""eu""#, "code"),
            ("min_age", "40", "min_age"),
            (
                "biometric_not_performed",
                r#""shrug""#,
                "biometric_not_performed",
            ),
        ] {
            let text = with(key, value);
            let err = JurisdictionPolicy::parse("eu.toml", &text)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("eu.toml") && err.contains(named),
                "{key}: {err}"
            );
        }
        let text = format!("{}\nshoe_size = 3", EMBEDDED[0].1);
        let err = JurisdictionPolicy::parse("eu.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("shoe_size"), "{err}");
        let text = EMBEDDED[1].1.replace("us_ssn", "us_zip_code");
        assert!(JurisdictionPolicy::parse("us.toml", &text).is_err());
    }

    #[test]
    fn an_operator_directory_replaces_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("eu.toml"),
            EMBEDDED[0].1.replace("min_age = 18", "min_age = 21"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ch.toml"),
            EMBEDDED[0].1.replace("code = \"EU\"", "code = \"CH\""),
        )
        .unwrap();
        let j = Jurisdictions::load(Some(dir.path())).unwrap();
        assert_eq!(j.get("EU").unwrap().min_age, 21);
        assert!(j.get("CH").is_some());

        std::fs::write(
            dir.path().join("eu2.toml"),
            EMBEDDED[0].1.replace("min_age = 18", "min_age = 16"),
        )
        .unwrap();
        assert!(matches!(
            Jurisdictions::load(Some(dir.path())),
            Err(PolicyFileError::Duplicate { .. })
        ));
        assert!(matches!(
            Jurisdictions::load(Some(&dir.path().join("absent"))),
            Err(PolicyFileError::Read { .. })
        ));
    }
}
