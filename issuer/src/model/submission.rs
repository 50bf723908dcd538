//! A customer's submission: identity data, the document and the captures, as the application
//! JSON Schema (`schemas/application-v1.schema.json`) shapes them.

use chrono::{Datelike as _, NaiveDate};
use kyc_core::credential::CountryCode;
use serde::{Deserialize, Serialize};

/// The parts of a submission the holder may upload again when a reviewer asks for documents.
pub const UPLOADABLE: [&str; 5] = [
    "document",
    "selfie",
    "livenessFrames",
    "livenessChallenge",
    "proofOfAddress",
];

/// The application JSON Schema (`schemas/application-v1.schema.json`).
pub const APPLICATION_SCHEMA: &str = include_str!("../../../schemas/application-v1.schema.json");

/// A submission, after schema validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// Jurisdiction policy.
    pub jurisdiction: String,
    /// The holder's did:key.
    pub holder: String,
    /// Identity data.
    pub identity: Identity,
    /// The identity document.
    pub document: serde_json::Value,
    /// Selfie (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selfie: Option<String>,
    /// Liveness frames (base64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub liveness_frames: Vec<String>,
    /// The liveness challenge the frames answer (its id, as handed out by the issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_challenge: Option<String>,
    /// Proof of address (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_of_address: Option<String>,
}

/// Identity data of a submission (shapes fixed by the schema).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Given name(s).
    pub given_name: String,
    /// Family name(s).
    pub family_name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Nationality.
    pub nationality: CountryCode,
    /// Residence address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<Residence>,
    /// The rest (birth place, ID numbers, contact), kept sealed, used by the checks.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Residence address (only the country is used here).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Residence {
    /// Country of residence.
    pub country: CountryCode,
    /// Street, city, postal code, region.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Whole years between `born` and `today`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_birthdays() {
        let born = NaiveDate::from_ymd_opt(2008, 3, 1).unwrap();
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            17
        );
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
            18
        );
    }
}
