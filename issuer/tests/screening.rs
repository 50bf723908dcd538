//! Sanctions and PEP screening against the fixture lists in both formats
//! (`tests/fixtures/screening/`, synthetic): transliterated and reordered names, near misses,
//! PEPs, malformed files, reloads.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike as _, NaiveDate, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use kyc_issuer::checks::screening::{
    check_record, HitKind, ListError, ListFormat, ListSource, Screener, ScreeningCheck,
    ScreeningLists, ScreeningQuery, ScreeningResult, ScreeningSettings,
};
use kyc_issuer::checks::Check;
use kyc_issuer::model::Submission;
use proptest::arbitrary::Arbitrary as _;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/screening")
        .join(name)
}

fn sources() -> Vec<ListSource> {
    vec![
        ListSource {
            name: "opensanctions".into(),
            format: ListFormat::FollowTheMoney,
            path: fixture("opensanctions.ftm.json"),
            aliases: None,
            default_kind: None,
        },
        ListSource {
            name: "ofac-sdn".into(),
            format: ListFormat::OfacSdn,
            path: fixture("sdn.csv"),
            aliases: Some(fixture("alt.csv")),
            default_kind: None,
        },
    ]
}

fn screener() -> Screener {
    Screener::new(sources(), ScreeningSettings::default()).unwrap()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn query(given: &str, family: &str, born: Option<NaiveDate>, nat: Option<&str>) -> ScreeningQuery {
    ScreeningQuery {
        given_name: given.into(),
        family_name: family.into(),
        birth_date: born,
        nationality: nat.map(str::to_owned),
    }
}

fn hit_keys(r: &ScreeningResult) -> Vec<String> {
    let mut keys: Vec<String> = r.hits.iter().map(|h| h.key()).collect();
    keys.sort();
    keys
}

#[test]
fn lists_load_with_versions_and_skip_what_is_not_screened() {
    let s = screener();
    let lists = s.current();
    let v = lists.versions();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].list, "opensanctions");
    assert_eq!(v[0].file, "opensanctions.ftm.json");
    // Persons and the LegalEntity with sanction or PEP topics; not the organisation, the
    // Sanction record, the `crime` person or the counter-sanctioned one.
    assert_eq!((v[0].entities, v[0].skipped), (5, 4));
    assert_eq!(v[0].sha256.len(), 16);
    // Three individuals; the organisation and the vessel are skipped.
    assert_eq!((v[1].entities, v[1].skipped), (3, 2));
    assert!(v[1].aliases_sha256.is_some());
    assert_eq!(lists.entities(), 8);
    let json = serde_json::to_value(&v[1]).unwrap();
    assert_eq!(json["format"], "ofac_sdn");
    assert!(json["loadedAt"].is_string());
}

#[test]
fn sanctions_entry_matched_through_a_transliterated_name() {
    let s = screener();
    // The list has the name in Cyrillic only; the applicant writes it in Latin letters.
    let r = s.screen(&query(
        "Oleg",
        "Vorontsov",
        Some(ymd(1958, 2, 11)),
        Some("RU"),
    ));
    assert_eq!(hit_keys(&r), ["opensanctions/NK-9cLm3Xv5Tt"]);
    let hit = &r.hits[0];
    assert_eq!(hit.kind, HitKind::Sanction);
    assert!(hit.reasons.contains(&"dob_year".to_owned()), "{hit:?}");
    assert!(hit.reasons.contains(&"nationality_match".to_owned()));
    // And the other way round: the applicant's name in Cyrillic, lists in Latin letters.
    let r = s.screen(&query("Иван", "Сидоров", Some(ymd(1961, 8, 4)), Some("RU")));
    assert_eq!(
        hit_keys(&r),
        ["ofac-sdn/36001", "opensanctions/NK-4mQk2Ty8Pa"]
    );
    // Umlauts: "Juergen Schaefer" is how a German passport's MRZ writes "Jürgen Schäfer".
    let r = s.screen(&query(
        "Jurgen",
        "Schafer",
        Some(ymd(1955, 6, 1)),
        Some("DE"),
    ));
    assert_eq!(hit_keys(&r), ["opensanctions/NK-3Dr5Jk9Lmw"]);
}

#[test]
fn sanctions_entry_matched_through_a_reordered_name_and_confirmed_with_the_birth_date() {
    let s = screener();
    // Given and family name swapped, middle name left out.
    let r = s.screen(&query("Sidorov", "Ivan", Some(ymd(1961, 8, 4)), Some("RU")));
    assert_eq!(
        hit_keys(&r),
        ["ofac-sdn/36001", "opensanctions/NK-4mQk2Ty8Pa"]
    );
    for hit in &r.hits {
        assert_eq!(hit.kind, HitKind::Sanction);
        assert!(hit.reasons.contains(&"name_strong".to_owned()), "{hit:?}");
        assert!(hit.reasons.contains(&"dob_exact".to_owned()), "{hit:?}");
        assert!(hit.score >= 0.95, "{hit:?}");
    }
    let record = check_record(&r, &[], Utc::now());
    assert_eq!(record.check, AuditCheck::Screening);
    assert_eq!(record.outcome, CheckOutcome::Rejected);
    assert_eq!(record.reasons, ["sanctions_match_confirmed"]);
    let dv = record.data_version.unwrap();
    assert!(
        dv.starts_with("opensanctions@") && dv.contains(",ofac-sdn@"),
        "{dv}"
    );
}

#[test]
fn a_name_hit_without_the_birth_date_is_for_a_reviewer() {
    let s = screener();
    let r = s.screen(&query("Ivan", "Sidorov", None, None));
    assert_eq!(r.hits.len(), 2);
    let record = check_record(&r, &[], Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Consider);
    assert_eq!(record.reasons, ["sanctions_match"]);
    // A reviewer cleared both for this subject: clear, and says so.
    let cleared: Vec<String> = r.hits.iter().map(|h| h.key()).collect();
    let record = check_record(&r, &cleared, Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Clear);
    assert_eq!(record.reasons, ["screening_hit_cleared"]);
    // One cleared, one not: still for the reviewer.
    let record = check_record(&r, &cleared[..1], Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Consider);
}

#[test]
fn a_near_miss_name_with_a_different_birth_date_is_not_a_hit() {
    let s = screener();
    // "Sydorov" is one letter from the listed "Sidorov": with the listed birth date it is a hit...
    let same = s.screen(&query("Ivan", "Sydorov", Some(ymd(1961, 8, 4)), Some("RU")));
    assert_eq!(same.hits.len(), 2, "{same:?}");
    // ...born 27 years later it is someone else.
    let other = s.screen(&query(
        "Ivan",
        "Sydorov",
        Some(ymd(1988, 5, 19)),
        Some("RU"),
    ));
    assert!(other.hits.is_empty(), "{other:?}");
    let record = check_record(&other, &[], Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Clear);
    assert_eq!(record.reasons, ["screening_clear"]);
    // A year off is within what lists get wrong: still a hit.
    let near = s.screen(&query(
        "Ivan",
        "Sidorov",
        Some(ymd(1962, 1, 10)),
        Some("RU"),
    ));
    assert_eq!(near.hits.len(), 2, "{near:?}");
    // Same surname, another given name: not a hit at all.
    let r = s.screen(&query(
        "Pavel",
        "Sidorov",
        Some(ymd(1961, 8, 4)),
        Some("RU"),
    ));
    assert!(r.hits.is_empty(), "{r:?}");
}

#[test]
fn a_pep_hit_is_consider() {
    let s = screener();
    let r = s.screen(&query(
        "Maria Elena",
        "Vasquez Ortega",
        Some(ymd(1970, 3, 15)),
        Some("MX"),
    ));
    assert_eq!(hit_keys(&r), ["opensanctions/Q-98765432"]);
    assert_eq!(r.hits[0].kind, HitKind::Pep);
    let record = check_record(&r, &[], Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Consider);
    assert_eq!(record.reasons, ["pep_match"]);
}

#[test]
fn aliases_and_ranges_from_ofac_remarks() {
    let s = screener();
    // Only in alt.csv.
    let r = s.screen(&query(
        "Elena",
        "Kovalenko",
        Some(ymd(1981, 1, 1)),
        Some("RU"),
    ));
    assert_eq!(hit_keys(&r), ["ofac-sdn/36003"]);
    // "DOB circa 1980": 1979..1981, and a year either side tolerated; 1990 is not.
    let r = s.screen(&query("Elena", "Kovalenko", Some(ymd(1990, 1, 1)), None));
    assert!(r.hits.is_empty(), "{r:?}");
    // A spelling variant of a long Arabic name, on both lists.
    let r = s.screen(&query(
        "Muhammad Abdulrahman",
        "Al Hasan",
        Some(ymd(1973, 7, 7)),
        None,
    ));
    assert_eq!(
        hit_keys(&r),
        ["ofac-sdn/36005", "opensanctions/NK-6Fp1Gh4Zcy"]
    );
}

#[test]
fn hits_carry_no_personal_data() {
    let s = screener();
    let r = s.screen(&query("Ivan", "Sidorov", Some(ymd(1961, 8, 4)), Some("RU")));
    let text = serde_json::to_string(&r).unwrap().to_lowercase();
    for secret in ["ivan", "sidorov", "1961"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD_LINE: &str = r#"{"id":"t-1","schema":"Person","properties":{"name":["Ivan Sidorov"],"birthDate":["1961-08-04"],"topics":["sanction"]}}"#;

fn ftm_source(path: PathBuf) -> ListSource {
    ListSource {
        name: "test".into(),
        format: ListFormat::FollowTheMoney,
        path,
        aliases: None,
        default_kind: None,
    }
}

#[test]
fn malformed_files_name_the_line_and_never_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, ListFormat, String, u64, &str); 5] = [
        (
            "bad-json.ftm.json",
            ListFormat::FollowTheMoney,
            format!("{GOOD_LINE}\n\n{{\"id\":\"t-2\",\"schema\":\"Person\",\"properties\":{{\"name\":[\"Secret Person\"]}}\n"),
            3,
            "not valid JSON",
        ),
        (
            "no-id.ftm.json",
            ListFormat::FollowTheMoney,
            format!("{GOOD_LINE}\n{{\"schema\":\"Person\",\"properties\":{{\"name\":[\"Secret Person\"]}}}}\n"),
            2,
            "missing \"id\"",
        ),
        (
            "wrong-type.ftm.json",
            ListFormat::FollowTheMoney,
            "{\"id\":\"t-3\",\"schema\":\"Person\",\"properties\":{\"name\":\"Secret Person\"}}\n".into(),
            1,
            "not a FollowTheMoney entity",
        ),
        (
            "columns.csv",
            ListFormat::OfacSdn,
            "1,\"DOE, John\",\"individual\",\"SDGT\",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \"\r\n2,\"SECRET, Person\",\"individual\",\"SDGT\"\r\n".into(),
            2,
            "expected 12 columns, found 4",
        ),
        (
            "ent-num.csv",
            ListFormat::OfacSdn,
            "x1,\"SECRET, Person\",\"individual\",\"SDGT\",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \"\r\n".into(),
            1,
            "ent_num must be a number",
        ),
    ];
    for (file, format, text, want_line, want_reason) in cases {
        let source = ListSource {
            format,
            ..ftm_source(write(dir.path(), file, &text))
        };
        let err = ScreeningLists::load(&[source]).unwrap_err();
        let ListError::Malformed {
            file: f,
            line,
            reason,
        } = &err
        else {
            panic!("{file}: {err:?}");
        };
        assert!(f.ends_with(file));
        assert_eq!(*line, want_line, "{file}: {err}");
        assert!(reason.starts_with(want_reason), "{file}: {reason}");
        let message = err.to_string();
        assert!(message.contains(file) && message.contains(&format!("line {want_line}")));
        assert!(
            !message.contains("Secret") && !message.contains("SECRET"),
            "{message}"
        );
    }
    // A byte order mark is not an error in either format.
    let bom = write(
        dir.path(),
        "bom.ftm.json",
        &format!("\u{feff}{GOOD_LINE}\r\n"),
    );
    assert_eq!(
        ScreeningLists::load(&[ftm_source(bom)]).unwrap().entities(),
        1
    );
    let bom = ListSource {
        format: ListFormat::OfacSdn,
        ..ftm_source(write(
            dir.path(),
            "bom.csv",
            "\u{feff}1,\"DOE, John\",\"individual\",\"SDGT\",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \",\"-0- \"\r\n",
        ))
    };
    assert_eq!(ScreeningLists::load(&[bom]).unwrap().entities(), 1);
    // Missing file, and a file with nothing to screen, are errors too.
    let missing = ScreeningLists::load(&[ftm_source(dir.path().join("absent.json"))]);
    assert!(matches!(missing, Err(ListError::Io { .. })));
    let orgs = write(
        dir.path(),
        "orgs.ftm.json",
        "{\"id\":\"o\",\"schema\":\"Company\",\"properties\":{\"name\":[\"X Ltd\"],\"topics\":[\"sanction\"]}}\n",
    );
    assert!(matches!(
        ScreeningLists::load(&[ftm_source(orgs)]),
        Err(ListError::Empty { .. })
    ));
}

#[test]
fn a_failed_reload_keeps_the_previous_lists_and_a_good_one_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "list.ftm.json", &format!("{GOOD_LINE}\n"));
    let s = Screener::new(vec![ftm_source(path.clone())], ScreeningSettings::default()).unwrap();
    let before = s.current().versions().to_vec();
    let q = query("Ivan", "Sidorov", Some(ymd(1961, 8, 4)), None);
    assert_eq!(hit_keys(&s.screen(&q)), ["test/t-1"]);

    // Line 2 is broken: the reload fails, naming it, and the old list stays in force.
    write(
        dir.path(),
        "list.ftm.json",
        &format!("{GOOD_LINE}\n{{\"id\": \n"),
    );
    let err = s.reload().unwrap_err();
    assert!(matches!(err, ListError::Malformed { line: 2, .. }), "{err}");
    assert_eq!(s.current().versions(), before.as_slice());
    assert_eq!(hit_keys(&s.screen(&q)), ["test/t-1"]);

    // A good file: picked up, new version, new entity.
    let added = r#"{"id":"t-2","schema":"Person","properties":{"name":["Olena Kovalenko"],"topics":["role.pep"]}}"#;
    write(
        dir.path(),
        "list.ftm.json",
        &format!("{GOOD_LINE}\n{added}\n"),
    );
    let after = s.reload().unwrap();
    assert_ne!(after[0].sha256, before[0].sha256);
    assert_eq!(after[0].entities, 2);
    let r = s.screen(&query("Olena", "Kovalenko", None, None));
    assert_eq!(hit_keys(&r), ["test/t-2"]);
    assert_eq!(r.list_version, after);
}

#[tokio::test]
async fn watch_reloads_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "list.ftm.json", &format!("{GOOD_LINE}\n"));
    let s = Arc::new(Screener::new(vec![ftm_source(path)], ScreeningSettings::default()).unwrap());
    let before = s.current().versions()[0].sha256.clone();
    let task = Arc::clone(&s).watch(Duration::from_millis(20));
    let added = r#"{"id":"t-2","schema":"Person","properties":{"name":["Olena Kovalenko"],"topics":["role.pep"]}}"#;
    write(
        dir.path(),
        "list.ftm.json",
        &format!("{GOOD_LINE}\n{added}\n"),
    );
    let mut reloaded = false;
    for _ in 0..500 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if s.current().versions()[0].sha256 != before {
            reloaded = true;
            break;
        }
    }
    task.abort();
    assert!(reloaded, "the watcher did not pick up the change");
    assert_eq!(s.current().entities(), 2);
}

#[test]
fn no_lists_is_not_performed_and_the_check_runs_on_a_submission() {
    let none = Screener::new(Vec::new(), ScreeningSettings::default()).unwrap();
    let submission: Submission = serde_json::from_value(serde_json::json!({
        "jurisdiction": "EU",
        "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "identity": {"givenName": "Ivan", "familyName": "Sidorov", "birthDate": "1961-08-04",
                     "nationality": "RU"},
        "document": {"type": "passport"}
    }))
    .unwrap();
    let check = ScreeningCheck {
        screener: Arc::new(none),
    };
    assert_eq!(check.kind(), AuditCheck::Screening);
    let record = check.run(&submission, Utc::now());
    assert_eq!(record.outcome, CheckOutcome::NotPerformed);
    assert_eq!(record.reasons, ["no_lists_configured"]);
    assert_eq!(record.data_version, None);

    let check = ScreeningCheck {
        screener: Arc::new(screener()),
    };
    let record = check.run(&submission, Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Rejected);
    assert_eq!(record.reasons, ["sanctions_match_confirmed"]);
}

#[test]
fn a_name_with_nothing_to_screen_is_not_clear() {
    let s = screener();
    let r = s.screen(&query("-", "?!", Some(ymd(1961, 8, 4)), None));
    assert_eq!(r.name_tokens, 0);
    let record = check_record(&r, &[], Utc::now());
    assert_eq!(record.outcome, CheckOutcome::Consider);
    assert_eq!(record.reasons, ["name_not_screenable"]);
    // A list whose only person has such a name is refused like an empty one.
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "punct.ftm.json",
        "{\"id\":\"p\",\"schema\":\"Person\",\"properties\":{\"name\":[\"? ?\"],\"topics\":[\"sanction\"]}}\n",
    );
    assert!(matches!(
        ScreeningLists::load(&[ftm_source(path)]),
        Err(ListError::Empty { .. })
    ));
}

#[test]
fn duplicate_list_names_are_refused() {
    let mut s = sources();
    s[1].name = "opensanctions".into();
    assert!(matches!(
        ScreeningLists::load(&s),
        Err(ListError::Config(_))
    ));
}

/// Given names, family name, birth date, nationality (ISO and ICAO).
type Person = (
    &'static str,
    &'static str,
    (i32, u32, u32),
    &'static str,
    &'static str,
);

/// People on the fixture lists, with a passport zone for each.
const PEOPLE: [Person; 3] = [
    ("Ivan Petrovich", "Sidorov", (1961, 8, 4), "RU", "RUS"),
    ("Oleg", "Vorontsov", (1958, 2, 11), "RU", "RUS"),
    ("Jurgen", "Schafer", (1955, 6, 1), "DE", "D"),
];

/// Characters an attacker might insert: punctuation, digits, controls, invisible and
/// direction characters, combining marks, other dashes and apostrophes.
const INSERTABLE: &[char] = &[
    '.',
    '_',
    '\0',
    '\'',
    '`',
    '1',
    '9',
    '/',
    '\\',
    '*',
    '!',
    '?',
    '(',
    ')',
    ':',
    ';',
    '"',
    '#',
    '+',
    '=',
    '~',
    '|',
    '@',
    '&',
    '%',
    '$',
    '^',
    '[',
    ']',
    '{',
    '}',
    ',',
    '-',
    ' ',
    '<',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{202E}',
    '\u{2066}',
    '\u{00AD}',
    '\u{FEFF}',
    '\u{0301}',
    '\u{0308}',
    '\u{2019}',
    '\u{02BC}',
    '\u{00B7}',
    '\u{2022}',
    '\u{2010}',
    '\u{2013}',
    '\u{3000}',
    '\u{00A0}',
    '\u{1F600}',
    '王',
    'α',
    'ж',
    'ß',
];

fn zone(given: &str, family: &str, born: (i32, u32, u32), nat3: &str) -> serde_json::Value {
    let mrz = mrz::format_td3(&mrz::Td3Fields {
        issuing_country: nat3.into(),
        document_number: "720431587".into(),
        surname: family.to_uppercase(),
        given_names: given.to_uppercase(),
        nationality: nat3.into(),
        date_of_birth: mrz::MrzDate::Calendar(mrz::Date::new(born.0, born.1, born.2)),
        sex: mrz::Sex::Male,
        date_of_expiry: mrz::MrzDate::Calendar(mrz::Date::new(2031, 3, 1)),
        ..Default::default()
    });
    serde_json::json!({"type": "passport", "mrz": mrz})
}

fn document_result(
    document: &serde_json::Value,
    given: &str,
    family: &str,
    born: NaiveDate,
    nat: &str,
) -> (CheckOutcome, Vec<kyc_issuer::model::Reason>) {
    let identity: kyc_issuer::model::Identity = serde_json::from_value(serde_json::json!({
        "givenName": given, "familyName": family, "birthDate": born.to_string(),
        "nationality": nat
    }))
    .unwrap();
    kyc_issuer::checks::document::check_document(document, &identity, ymd(2026, 12, 1))
}

/// The best score among the hits.
fn best(r: &ScreeningResult) -> f64 {
    r.hits.iter().map(|h| h.score).fold(0.0, f64::max)
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(400))]

    /// Issue 12, finding 1: for any name and any insertion of characters the document check
    /// ignores (its result is unchanged), screening's score does not drop. Screening and the
    /// document check split names by one rule (`model::name::components`).
    #[test]
    fn characters_the_document_check_ignores_never_lower_screening(
        who in 0..PEOPLE.len(),
        inserts in proptest::collection::vec(
            (proptest::bool::ANY, proptest::sample::Index::arbitrary(), proptest::sample::select(INSERTABLE)),
            1..6,
        ),
    ) {
        let s = screener();
        let (given, family, born, nat, nat3) = PEOPLE[who];
        let born = ymd(born.0, born.1, born.2);
        let document = zone(given, family, (born.year(), born.month(), born.day()), nat3);
        let (mut g, mut f): (Vec<char>, Vec<char>) = (given.chars().collect(), family.chars().collect());
        for (in_given, at, c) in inserts {
            let part = if in_given { &mut g } else { &mut f };
            let i = at.index(part.len() + 1);
            part.insert(i, c);
        }
        let (g, f): (String, String) = (g.into_iter().collect(), f.into_iter().collect());
        // Only insertions the document check ignores: it says what it said of the name as
        // printed.
        proptest::prop_assume!(
            document_result(&document, &g, &f, born, nat)
                == document_result(&document, given, family, born, nat)
        );
        let before = best(&s.screen(&query(given, family, Some(born), Some(nat))));
        let after = best(&s.screen(&query(&g, &f, Some(born), Some(nat))));
        proptest::prop_assert!(after >= before, "{before} -> {after}");
    }
}
