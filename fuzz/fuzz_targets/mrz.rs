//! The document check: an ICAO 9303 machine readable zone as the applicant submits it (TD1,
//! TD2, TD3, visas), compared with the submitted identity. The first byte picks the document
//! type; the rest is the zone's text.
#![no_main]

use chrono::NaiveDate;
use kyc_issuer::checks::document::check_document;
use kyc_issuer::model::Identity;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const TYPES: [&str; 4] = ["passport", "id_card", "residence_permit", "visa"];

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(mrz) = std::str::from_utf8(rest) else {
        return;
    };
    let identity: Identity = serde_json::from_value(json!({
        "givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
        "nationality": "DE", "documentNumber": "C01X00T47"
    }))
    .expect("a valid identity");
    let document = json!({"type": TYPES[usize::from(kind) % TYPES.len()], "mrz": mrz});
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let _ = check_document(&document, &identity, today);
});
