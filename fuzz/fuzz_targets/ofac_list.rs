//! OFAC's `sdn.csv` and (after the first 0xFF byte, when there is one) its `alt.csv`, loaded
//! as the issuer loads them (from files), then screened against.
#![no_main]

use kyc_issuer::checks::screening::{
    ListFormat, ListSource, ScreeningLists, ScreeningQuery, ScreeningSettings,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (sdn, alt) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let path = kyc_fuzz::scratch_file("sdn.csv");
    std::fs::write(&path, sdn).expect("the scratch file is writable");
    let aliases = alt.map(|alt| {
        let path = kyc_fuzz::scratch_file("alt.csv");
        std::fs::write(&path, alt).expect("the scratch file is writable");
        path
    });
    let source = ListSource {
        name: "fuzz".into(),
        format: ListFormat::OfacSdn,
        path,
        aliases,
        default_kind: None,
    };
    if let Ok(lists) = ScreeningLists::load(&[source]) {
        let query = ScreeningQuery {
            given_name: "Erika".into(),
            family_name: "Mustermann".into(),
            birth_date: chrono::NaiveDate::from_ymd_opt(1990, 1, 31),
            nationality: Some("DE".into()),
        };
        let _ = lists.screen(&query, &ScreeningSettings::default());
    }
});
