//! The applicant of every test: Erika Mustermann, born 1990-01-31, German, living in Köln, with
//! an ID card and a passport numbered C01X00T47 (the German specimen documents' data).

use kyc_core::DidKey;
use serde_json::{json, Value};

/// Her given name.
pub const GIVEN_NAME: &str = "Erika";
/// Her family name.
pub const FAMILY_NAME: &str = "Mustermann";
/// Her birth date.
pub const BIRTH_DATE: &str = "1990-01-31";
/// Her document number.
pub const DOCUMENT_NUMBER: &str = "C01X00T47";

/// Her personal data: none of it may appear in a problem, an event, stderr or the audit log.
pub const PERSONAL_DATA: [&str; 4] = [GIVEN_NAME, FAMILY_NAME, BIRTH_DATE, DOCUMENT_NUMBER];

/// A valid ICAO 9303 TD1 zone (ID card, Part 5) for her identity: every check digit right.
pub const ID_CARD_MRZ: &str =
    "IDD<<C01X00T478<<<<<<<<<<<<<<<\n9001310F3508013D<<<<<<<<<<<<<6\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<";

/// A valid ICAO 9303 TD3 zone (passport, Part 4) for her identity.
pub const PASSPORT_MRZ: &str =
    "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<\nC01X00T478D<<9001310F3508013<<<<<<<<<<<<<<06";

/// Her identity as a submission (and `kyc-wallet apply --identity`) carries it.
pub fn identity() -> Value {
    json!({
        "givenName": GIVEN_NAME, "familyName": FAMILY_NAME, "birthDate": BIRTH_DATE,
        "nationality": "DE", "residence": {"country": "DE", "city": "Köln"},
        "documentNumber": DOCUMENT_NUMBER
    })
}

/// Her ID card as a submission's `document`.
pub fn id_card() -> Value {
    json!({"type": "id_card", "mrz": ID_CARD_MRZ})
}

/// Her passport as a submission's `document`.
pub fn passport() -> Value {
    json!({"type": "passport", "mrz": PASSPORT_MRZ})
}

/// A valid EU submission for `holder` with her ID card (without a screening provider
/// configured, it goes to review).
pub fn submission(holder: &DidKey) -> Value {
    json!({
        "jurisdiction": "EU",
        "holder": holder.as_str(),
        "identity": identity(),
        "document": id_card(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zones_name_her() {
        for mrz in [ID_CARD_MRZ, PASSPORT_MRZ] {
            assert!(mrz.contains("MUSTERMANN<<ERIKA"));
            assert!(mrz.contains(DOCUMENT_NUMBER));
            assert!(mrz.contains("900131"));
        }
    }
}
