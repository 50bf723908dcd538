//! A FollowTheMoney JSON Lines sanctions/PEP list file as the operator supplies it, loaded
//! as the issuer loads it (from a file), then screened against.
#![no_main]

use kyc_issuer::checks::screening::{
    HitKind, ListFormat, ListSource, ScreeningLists, ScreeningQuery, ScreeningSettings,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let path = kyc_fuzz::scratch_file("list.ftm.json");
    std::fs::write(&path, rest).expect("the scratch file is writable");
    let source = ListSource {
        name: "fuzz".into(),
        format: ListFormat::FollowTheMoney,
        path,
        aliases: None,
        default_kind: (mode & 1 == 1).then_some(HitKind::Sanction),
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
