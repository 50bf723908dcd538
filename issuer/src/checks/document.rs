//! The document check: the identity document's machine readable zone (MRZ), ICAO Doc 9303.
//!
//! Parsing and the check digits come from the `mrz` crate (ICAO 9303 Part 3 §4.9: weights
//! 7, 3, 1 repeating, `<` = 0, digits as themselves, `A`..`Z` = 10..35, sum mod 10), for the
//! five layouts: TD1 (3 × 30, Part 5), TD2 (2 × 36, Part 6), TD3 (2 × 44, Part 4), MRV-A
//! (2 × 44) and MRV-B (2 × 36) visas (Part 7). On top of the arithmetic this check verifies
//! that the document is in date, that the holder's birth date is not in the future, and that
//! the zone agrees with the submitted identity data: document type, names (after the
//! transliteration of Part 3 §6), date of birth, document number and nationality.
//!
//! Outcome: *clear* when everything holds; *rejected* with one reason per failure; *consider*
//! when a name matches only leniently (a name truncated to fit the zone, a middle name left
//! out), the MRZ gives no birth date, or the nationality is no ISO 3166-1 country
//! ([`crate::model::country`]);
//! *not performed* (`no_mrz`) when no zone was submitted: there is no OCR here. Reasons are
//! codes, never values: no name, number or date ends up in them.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use mrz::{CyrillicLanguage, MrzData, MrzDate, ParseOptions, TransliterationStyle};

use super::check::Check;
use crate::model::country::{self, MrzNationality};
use crate::model::{name, CheckRecord};
use crate::model::{Identity, Reason, Submission};

/// The document check.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocumentCheck;

impl Check for DocumentCheck {
    fn kind(&self) -> AuditCheck {
        AuditCheck::Document
    }

    fn run(&self, submission: &Submission, now: DateTime<Utc>) -> CheckRecord {
        let (outcome, reasons) =
            check_document(&submission.document, &submission.identity, now.date_naive());
        CheckRecord::new(AuditCheck::Document, outcome, reasons, now)
    }
}

/// Check a submitted `document` (`{"type": …, "mrz": …, "image": …}`) against the submitted
/// `identity` on `today`. Pure.
pub fn check_document(
    document: &serde_json::Value,
    identity: &Identity,
    today: NaiveDate,
) -> (CheckOutcome, Vec<Reason>) {
    let mrz_text = document
        .get("mrz")
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(mrz_text) = mrz_text else {
        return (CheckOutcome::NotPerformed, vec![Reason::NoMrz]);
    };
    let mut found = Findings::default();
    let lines = zone_lines(mrz_text);
    let doc_type = document.get("type").and_then(|v| v.as_str()).unwrap_or("");
    let first = lines.first().and_then(|l| l.chars().next()).unwrap_or('<');
    if !type_matches(doc_type, first) {
        found.rejected.push(Reason::DocumentTypeMismatch);
    }
    // Two-digit birth years after this year's are last century's (Part 3 §4.8 says nothing
    // on centuries): pinned to `today`, not to the crate's build-time constant.
    let pivot = u32::try_from(today.year().rem_euclid(100)).unwrap_or(0);
    let Some(data) = parse(&lines, &ParseOptions::default().with_pivot_yy(pivot)) else {
        found.rejected.push(Reason::MrzMalformed);
        return found.finish(Reason::MrzOther);
    };
    found.check_digits(&data);
    found.dates(&data, identity.birth_date, today);
    found.identity(&data, identity);
    found.finish(format_code(&data))
}

/// The holder's name as the document's machine-readable zone prints it, `(given names,
/// surname)` with fillers as spaces; `None` without a zone that parses. Screening checks this
/// name as well as the typed one: the zone is what the document check compared the typed name
/// with, so a typed spelling cannot steer screening away from the name on the document.
pub fn document_name(document: &serde_json::Value) -> Option<(String, String)> {
    let data = parse(
        &zone_lines(document.get("mrz")?.as_str()?),
        &ParseOptions::default(),
    )?;
    let given = name::components(&data.given_names).join(" ");
    let surname = name::components(&data.surname).join(" ");
    (!given.is_empty() || !surname.is_empty()).then_some((given, surname))
}

/// What the document check found, by severity.
#[derive(Debug, Default)]
struct Findings {
    rejected: Vec<Reason>,
    consider: Vec<Reason>,
}

impl Findings {
    /// Every check digit the layout prints (Part 3 §4.9).
    fn check_digits(&mut self, data: &MrzData) {
        let checks = &data.checks;
        for (result, reason) in [
            (checks.document_number, Reason::MrzCheckDigitDocumentNumber),
            (checks.date_of_birth, Reason::MrzCheckDigitBirthDate),
            (checks.date_of_expiry, Reason::MrzCheckDigitExpiryDate),
            (checks.personal_number, Reason::MrzCheckDigitOptionalData),
            (checks.composite, Reason::MrzCheckDigitComposite),
        ] {
            if result == Some(false) {
                self.rejected.push(reason);
            }
        }
    }

    /// The expiry (valid through the printed day) and the birth date against `submitted`.
    fn dates(&mut self, data: &MrzData, submitted: NaiveDate, today: NaiveDate) {
        match data.date_of_expiry.calendar().and_then(naive) {
            Some(expiry) if expiry < today => self.rejected.push(Reason::DocumentExpired),
            Some(_) => {}
            None => push_once(&mut self.rejected, Reason::MrzMalformed),
        }
        // The MRZ has no century, so the submitted date settles it when the day agrees.
        match data.date_of_birth {
            MrzDate::Calendar(d) => {
                let same_day = submitted.year().rem_euclid(100) == d.year.rem_euclid(100)
                    && submitted.month() == d.month
                    && submitted.day() == d.day;
                let born = if same_day { Some(submitted) } else { naive(d) };
                if !same_day {
                    self.rejected.push(Reason::BirthDateMismatch);
                }
                if born.is_some_and(|b| b > today) {
                    self.rejected.push(Reason::BirthDateInFuture);
                }
            }
            // Part 3 §4.8: an issuer fills an unknown birth date (or part of it) with `<`.
            MrzDate::Unknown | MrzDate::PartiallyUnknown(_) => {
                self.consider.push(Reason::BirthDateUnknownInMrz)
            }
            _ => push_once(&mut self.rejected, Reason::MrzMalformed),
        }
    }

    /// Names, document number and nationality against the submitted `identity`.
    fn identity(&mut self, data: &MrzData, identity: &Identity) {
        match names_match(data, identity) {
            NameMatch::Exact => {}
            NameMatch::Partial => self.consider.push(Reason::NamePartialMatch),
            NameMatch::None => self.rejected.push(Reason::NameMismatch),
        }
        if let Some(submitted) = identity
            .other
            .get("documentNumber")
            .and_then(|v| v.as_str())
        {
            if normalise_number(submitted) != normalise_number(data.full_document_number()) {
                self.rejected.push(Reason::DocumentNumberMismatch);
            }
        }
        // The zone's code read through ISO 3166-1 and ICAO 9303's own codes (`D`, `GBD`, `RKS`…).
        let printed = country::from_mrz(data.nationality.trim_end_matches('<'));
        let typed = identity.nationality.as_str();
        if !country::is_alpha2(typed) {
            self.consider.push(Reason::NationalityNotMapped);
        } else if !matches!(printed, MrzNationality::Country(c) if c == typed) {
            self.rejected.push(Reason::NationalityMismatch);
        }
    }

    /// The outcome from the findings; a clear one names the MRZ's `format`.
    fn finish(self, format: Reason) -> (CheckOutcome, Vec<Reason>) {
        let outcome = if !self.rejected.is_empty() {
            CheckOutcome::Rejected
        } else if !self.consider.is_empty() {
            CheckOutcome::Consider
        } else {
            return (
                CheckOutcome::Clear,
                vec![
                    format,
                    Reason::MrzCheckDigitsValid,
                    Reason::DocumentInDate,
                    Reason::MrzMatchesIdentity,
                ],
            );
        };
        (
            outcome,
            self.rejected.into_iter().chain(self.consider).collect(),
        )
    }
}

fn push_once(reasons: &mut Vec<Reason>, reason: Reason) {
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

/// Whether the submitted document type agrees with the MRZ's first character (the document
/// code, Part 4 §4.2.2, Part 5 §4.2.2, Part 7 §4.2.2): `P` passports, `I`/`A`/`C` identity
/// cards and residence permits (TD1/TD2 official travel documents), `V` visas. A driving
/// licence carries no ICAO 9303 MRZ, so any zone submitted with one is a mismatch.
fn type_matches(doc_type: &str, first: char) -> bool {
    match doc_type {
        "passport" => first == 'P',
        "id_card" | "residence_permit" => matches!(first, 'I' | 'A' | 'C'),
        "visa" => first == 'V',
        _ => false,
    }
}

/// The zone's lines, trimmed, without empty ones.
fn zone_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Parse the zone by its shape; `None` when it is none of the five layouts or the crate
/// refuses it (bad characters, a document code the layout does not allow, …).
fn parse(lines: &[&str], opts: &ParseOptions) -> Option<MrzData> {
    let len = |l: &str| l.chars().count();
    let visa = lines.first().is_some_and(|l| l.starts_with('V'));
    match *lines {
        [a, b, c] if len(a) == 30 && len(b) == 30 && len(c) == 30 => {
            mrz::parse_td1_with(a, b, c, opts).ok()
        }
        [a, b] if len(a) == 44 && len(b) == 44 && visa => mrz::parse_mrv_a_with(a, b, opts).ok(),
        [a, b] if len(a) == 44 && len(b) == 44 => mrz::parse_td3_with(a, b, opts).ok(),
        [a, b] if len(a) == 36 && len(b) == 36 && visa => mrz::parse_mrv_b_with(a, b, opts).ok(),
        [a, b] if len(a) == 36 && len(b) == 36 => mrz::parse_td2_with(a, b, opts).ok(),
        _ => None,
    }
}

fn format_code(data: &MrzData) -> Reason {
    match data.format {
        mrz::Format::Td1 => Reason::MrzTd1,
        mrz::Format::Td2 => Reason::MrzTd2,
        mrz::Format::Td3 => Reason::MrzTd3,
        mrz::Format::MrvA => Reason::MrzMrvA,
        mrz::Format::MrvB => Reason::MrzMrvB,
        #[allow(unreachable_patterns)]
        _ => Reason::MrzOther,
    }
}

fn naive(d: mrz::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(d.year, d.month, d.day)
}

/// A document number without fillers, spaces or hyphens, upper-cased.
fn normalise_number(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// How well a name in the zone matches the submitted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NameMatch {
    None,
    Partial,
    Exact,
}

fn names_match(data: &MrzData, identity: &Identity) -> NameMatch {
    let surname = part_match(&data.surname, &identity.family_name);
    let given = part_match(&data.given_names, &identity.given_name);
    surname.min(given)
}

/// One name part (primary or secondary identifier). The zone's components, as the crate gives
/// them (fillers collapsed to spaces), against every ICAO spelling of the submitted name.
fn part_match(in_zone: &str, submitted: &str) -> NameMatch {
    let zone: Vec<&str> = in_zone
        .split([' ', '<'])
        .filter(|t| !t.is_empty())
        .collect();
    spellings(submitted)
        .iter()
        .map(|s| {
            let sub: Vec<&str> = s.iter().map(String::as_str).collect();
            compare_tokens(&zone, &sub)
        })
        .max()
        .unwrap_or(NameMatch::None)
}

/// Exact when the components are equal. Partial (lenient) when the zone holds a truncation of
/// the submitted name (Part 3 §4.6: each component may be cut to fit, trailing ones dropped),
/// when the submission leaves out components the zone has (a middle name), or when only the
/// separators differ.
fn compare_tokens(zone: &[&str], sub: &[&str]) -> NameMatch {
    if zone == sub {
        return NameMatch::Exact;
    }
    if zone.is_empty() || sub.is_empty() {
        return NameMatch::None;
    }
    let truncated = zone.len() <= sub.len() && zone.iter().zip(sub).all(|(z, s)| s.starts_with(z));
    let omitted = sub.len() < zone.len() && sub.iter().zip(zone).all(|(s, z)| s == z);
    let joined = zone.concat() == sub.concat();
    if truncated || omitted || joined {
        NameMatch::Partial
    } else {
        NameMatch::None
    }
}

/// The submitted name as MRZ components, once per ICAO 9303 Part 3 §6 A transliteration
/// style (the issuing State picks one: `Ä` is `AE` or `A`, `Ü` is `UE`, `U` or `UXX`, …),
/// Cyrillic by §6 B, other scripts as screening spells them. Upper-casing first turns `ß`
/// into `SS`. Spaces, hyphens and commas
/// separate components (they become `<`); apostrophes and other punctuation are left out
/// (Part 3 §4.6).
fn spellings(name: &str) -> Vec<Vec<String>> {
    let upper = name.to_uppercase();
    let mut out: Vec<Vec<String>> = Vec::new();
    for style in [
        TransliterationStyle::Expanded,
        TransliterationStyle::Simple,
        TransliterationStyle::XxSuffix,
    ] {
        let latin = mrz::transliterate(&upper, style);
        let text = mrz::transliterate_cyrillic(&latin, CyrillicLanguage::Russian);
        // A letter neither table covers (Greek, Han, Arabic, …) is still a letter: spelled
        // out as screening spells it (`any_ascii`), never dropped, so that one cannot be
        // slipped into a name unseen by this check and seen by screening.
        let text: String = text
            .chars()
            .map(|c| {
                if !c.is_ascii() && name::is_letter(c) {
                    any_ascii::any_ascii_char(c).to_owned()
                } else {
                    c.to_string()
                }
            })
            .collect();
        let tokens = name::components(&text);
        if !out.contains(&tokens) {
            out.push(tokens);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// ICAO 9303 Part 4, Appendix A (TD3 passport specimen, Utopia).
    const TD3_L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const TD3_L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
    /// ICAO 9303 Part 5, Appendix A (TD1 identity card specimen, Utopia).
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    /// A valid TD3 for the test identity used across the issuer's tests (made with
    /// `mrz::format_td3`, see `erika_fixture_is_what_the_emitter_makes`).
    const ERIKA_L1: &str = "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<";
    const ERIKA_L2: &str = "C01X00T478D<<9001310F3508013<<<<<<<<<<<<<<06";

    fn identity(given: &str, family: &str, born: &str, nationality: &str) -> Identity {
        serde_json::from_value(json!({
            "givenName": given,
            "familyName": family,
            "birthDate": born,
            "nationality": nationality,
        }))
        .expect("identity")
    }

    fn anna() -> Identity {
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE")
    }

    fn erika() -> Identity {
        let mut id = identity("Erika", "Mustermann", "1990-01-31", "DE");
        id.other.insert("documentNumber".into(), json!("C01X00T47"));
        id
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn doc(kind: &str, mrz: &str) -> serde_json::Value {
        json!({"type": kind, "mrz": mrz})
    }

    fn td3(l1: &str, l2: &str) -> serde_json::Value {
        doc("passport", &format!("{l1}\n{l2}"))
    }

    /// The specimen with Utopia's nationality replaced by Sweden's, and the check digits
    /// kept: line 1 has none, and line 2's nationality is outside every check digit.
    fn specimen_se() -> serde_json::Value {
        td3(
            &TD3_L1.replacen("UTO", "SWE", 1),
            &TD3_L2.replacen("UTO", "SWE", 1),
        )
    }

    fn run(
        document: &serde_json::Value,
        id: &Identity,
        today: &str,
    ) -> (CheckOutcome, Vec<String>) {
        let (outcome, reasons) = check_document(document, id, date(today));
        (outcome, reasons.iter().map(Reason::to_string).collect())
    }

    /// Replace the character at `pos` of `line` with `c`.
    fn with_char(line: &str, pos: usize, c: char) -> String {
        line.chars()
            .enumerate()
            .map(|(i, x)| if i == pos { c } else { x })
            .collect()
    }

    #[test]
    fn crate_uses_icao_weights() {
        // Part 3 §4.9: weights 7, 3, 1; the worked example's document number.
        assert_eq!(mrz::check_digit("L898902C3").ok(), Some(6));
        assert_eq!(mrz::check_digit("740812").ok(), Some(2));
        assert_eq!(mrz::check_digit("120415").ok(), Some(9));
        // `<` = 0, A = 10: "A<<" = 10 × 7.
        assert_eq!(mrz::check_digit("A<<").ok(), Some(0));
        assert_eq!(mrz::check_digit("B").ok(), Some(7)); // 11 × 7 = 77
    }

    #[test]
    fn td3_specimen_clear_but_utopia() {
        // Utopia is fictitious: no ISO 3166 code stands for it; `ZZ` (user-assigned) does
        // here, and this check knows no ICAO code for it.
        let mut utopian = anna();
        utopian.nationality = kyc_core::credential::CountryCode::parse("ZZ").expect("code");
        let (outcome, reasons) = run(&td3(TD3_L1, TD3_L2), &utopian, "2010-06-01");
        assert_eq!(outcome, CheckOutcome::Consider);
        assert_eq!(reasons, ["nationality_not_mapped"]);
        // A Swede is not a Utopian.
        let (outcome, reasons) = run(&td3(TD3_L1, TD3_L2), &anna(), "2010-06-01");
        assert_eq!(
            (outcome, reasons),
            (CheckOutcome::Rejected, vec!["nationality_mismatch".into()])
        );

        let (outcome, reasons) = run(&specimen_se(), &anna(), "2010-06-01");
        assert_eq!(outcome, CheckOutcome::Clear, "{reasons:?}");
        assert_eq!(
            reasons,
            [
                "mrz_td3",
                "mrz_check_digits_valid",
                "document_in_date",
                "mrz_matches_identity"
            ]
        );
    }

    #[test]
    fn td1_specimen() {
        let id = {
            let mut id = anna();
            id.other.insert("documentNumber".into(), json!("D23145890"));
            id
        };
        let lines = TD1.map(|l| l.replacen("UTO", "SWE", 1)).join("\n");
        let (outcome, reasons) = run(&doc("id_card", &lines), &id, "2010-06-01");
        assert_eq!(outcome, CheckOutcome::Clear, "{reasons:?}");
        assert_eq!(reasons[0], "mrz_td1");
        // The unmodified specimen parses and verifies too.
        let mut utopian = id.clone();
        utopian.nationality = kyc_core::credential::CountryCode::parse("ZZ").expect("code");
        let (outcome, reasons) = run(&doc("id_card", &TD1.join("\n")), &utopian, "2010-06-01");
        assert_eq!(
            (outcome, reasons),
            (
                CheckOutcome::Consider,
                vec!["nationality_not_mapped".into()]
            )
        );
        // And a passport type does not fit an identity card's zone.
        let (outcome, reasons) = run(&doc("passport", &lines), &id, "2010-06-01");
        assert_eq!(outcome, CheckOutcome::Rejected);
        assert_eq!(reasons, ["document_type_mismatch"]);
    }

    #[test]
    fn erika_fixture_is_what_the_emitter_makes() {
        let zone = mrz::format_td3(&mrz::Td3Fields {
            issuing_country: "D".into(),
            document_number: "C01X00T47".into(),
            surname: "Mustermann".into(),
            given_names: "Erika".into(),
            nationality: "D".into(),
            date_of_birth: MrzDate::Calendar(mrz::Date::new(1990, 1, 31)),
            sex: mrz::Sex::Female,
            date_of_expiry: MrzDate::Calendar(mrz::Date::new(2035, 8, 1)),
            ..Default::default()
        });
        assert_eq!(zone, format!("{ERIKA_L1}\n{ERIKA_L2}"));
        let (outcome, reasons) = run(&td3(ERIKA_L1, ERIKA_L2), &erika(), "2026-11-26");
        assert_eq!(outcome, CheckOutcome::Clear, "{reasons:?}");
        // Expires at the end of its day.
        let (outcome, _) = run(&td3(ERIKA_L1, ERIKA_L2), &erika(), "2035-08-01");
        assert_eq!(outcome, CheckOutcome::Clear);
    }

    /// The same holder's identity card (TD1), for fixtures with `"type": "id_card"`.
    const ERIKA_TD1: [&str; 3] = [
        "IDD<<C01X00T478<<<<<<<<<<<<<<<",
        "9001310F3508013D<<<<<<<<<<<<<6",
        "MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
    ];

    #[test]
    fn erika_td1_fixture_is_what_the_emitter_makes() {
        let zone = mrz::format_td1(&mrz::Td1Fields {
            document_code: "ID".into(),
            issuing_country: "D".into(),
            document_number: "C01X00T47".into(),
            surname: "Mustermann".into(),
            given_names: "Erika".into(),
            nationality: "D".into(),
            date_of_birth: MrzDate::Calendar(mrz::Date::new(1990, 1, 31)),
            sex: mrz::Sex::Female,
            date_of_expiry: MrzDate::Calendar(mrz::Date::new(2035, 8, 1)),
            ..Default::default()
        });
        assert_eq!(zone, ERIKA_TD1.join("\n"));
        let (outcome, reasons) = run(&doc("id_card", &zone), &erika(), "2026-11-26");
        assert_eq!(outcome, CheckOutcome::Clear, "{reasons:?}");
    }

    #[test]
    fn one_wrong_check_digit_per_field() {
        // TD3 line 2: document number digit at 9, birth date at 19, expiry at 27, optional
        // data at 42, composite at 43 (Part 4 §4.2.2). A wrong field digit also breaks the
        // composite, which covers it; a wrong composite digit breaks only the composite.
        for (pos, reason) in [
            (9, "mrz_check_digit_document_number"),
            (19, "mrz_check_digit_birth_date"),
            (27, "mrz_check_digit_expiry_date"),
            (42, "mrz_check_digit_optional_data"),
            (43, "mrz_check_digit_composite"),
        ] {
            let l2 = TD3_L2.replacen("UTO", "SWE", 1);
            let right = l2.chars().nth(pos).expect("position");
            let wrong = if right == '9' { '8' } else { '9' };
            let l2 = with_char(&l2, pos, wrong);
            let l1 = TD3_L1.replacen("UTO", "SWE", 1);
            let (outcome, reasons) = run(&td3(&l1, &l2), &anna(), "2010-06-01");
            assert_eq!(outcome, CheckOutcome::Rejected, "{reason}");
            assert_eq!(reasons[0], reason, "{reasons:?}");
            assert!(!reasons
                .iter()
                .any(|r| r.contains("ANNA") || r.contains('7')));
        }
        // TD1: the same for each field, and the composite at line 2 position 29.
        for (line, pos, reason) in [
            (0, 14, "mrz_check_digit_document_number"),
            (1, 6, "mrz_check_digit_birth_date"),
            (1, 14, "mrz_check_digit_expiry_date"),
            (1, 29, "mrz_check_digit_composite"),
        ] {
            let mut lines = TD1.map(|l| l.replacen("UTO", "SWE", 1));
            let right = lines[line].chars().nth(pos).expect("position");
            let wrong = if right == '9' { '8' } else { '9' };
            lines[line] = with_char(&lines[line], pos, wrong);
            let (outcome, reasons) = run(&doc("id_card", &lines.join("\n")), &anna(), "2010-06-01");
            assert_eq!(outcome, CheckOutcome::Rejected, "{reason}");
            assert_eq!(reasons[0], reason, "{reasons:?}");
        }
    }

    #[test]
    fn expired_and_future_birth() {
        let (outcome, reasons) = run(&specimen_se(), &anna(), "2012-04-16");
        assert_eq!(outcome, CheckOutcome::Rejected);
        assert_eq!(reasons, ["document_expired"]);

        // Born "next month" of the checking year.
        let zone = mrz::format_td3(&mrz::Td3Fields {
            issuing_country: "D".into(),
            document_number: "C01X00T47".into(),
            surname: "MUSTERMANN".into(),
            given_names: "ERIKA".into(),
            nationality: "D".into(),
            date_of_birth: MrzDate::Calendar(mrz::Date::new(2026, 12, 24)),
            sex: mrz::Sex::Female,
            date_of_expiry: MrzDate::Calendar(mrz::Date::new(2035, 8, 1)),
            ..Default::default()
        });
        let mut id = erika();
        id.birth_date = date("2026-12-24");
        let (outcome, reasons) = run(&doc("passport", &zone), &id, "2026-11-26");
        assert_eq!(outcome, CheckOutcome::Rejected);
        assert_eq!(reasons, ["birth_date_in_future"]);
    }

    #[test]
    fn identity_mismatches() {
        let today = "2026-11-26";
        let zone = td3(ERIKA_L1, ERIKA_L2);
        let mut other = erika();
        other.family_name = "Musterfrau".into();
        assert_eq!(run(&zone, &other, today).1, ["name_mismatch"]);

        let mut other = erika();
        other.birth_date = date("1990-01-30");
        assert_eq!(run(&zone, &other, today).1, ["birth_date_mismatch"]);

        let mut other = erika();
        other
            .other
            .insert("documentNumber".into(), json!("C01X00T48"));
        assert_eq!(run(&zone, &other, today).1, ["document_number_mismatch"]);

        let mut other = erika();
        other.nationality = kyc_core::credential::CountryCode::parse("AT").expect("code");
        assert_eq!(run(&zone, &other, today).1, ["nationality_mismatch"]);

        let (outcome, reasons) = run(
            &doc("id_card", &format!("{ERIKA_L1}\n{ERIKA_L2}")),
            &erika(),
            today,
        );
        assert_eq!(outcome, CheckOutcome::Rejected);
        assert_eq!(reasons, ["document_type_mismatch"]);
        assert_eq!(
            run(&doc("visa", ERIKA_L1), &erika(), today).1,
            ["document_type_mismatch", "mrz_malformed"]
        );
        assert_eq!(
            run(
                &doc("driving_licence", &format!("{ERIKA_L1}\n{ERIKA_L2}")),
                &erika(),
                today
            )
            .1,
            ["document_type_mismatch"]
        );

        // No number submitted: nothing to compare.
        let mut other = erika();
        other.other.clear();
        assert_eq!(run(&zone, &other, today).0, CheckOutcome::Clear);
    }

    #[test]
    fn transliteration_and_lenient_names() {
        let today = "2026-11-26";
        let zone = |surname: &str, given: &str| {
            let z = mrz::format_td3(&mrz::Td3Fields {
                issuing_country: "D".into(),
                document_number: "C01X00T47".into(),
                surname: surname.into(),
                given_names: given.into(),
                nationality: "D".into(),
                date_of_birth: MrzDate::Calendar(mrz::Date::new(1990, 1, 31)),
                sex: mrz::Sex::Female,
                date_of_expiry: MrzDate::Calendar(mrz::Date::new(2035, 8, 1)),
                ..Default::default()
            });
            doc("passport", &z)
        };
        let named = |given: &str, family: &str| {
            let mut id = erika();
            id.given_name = given.into();
            id.family_name = family.into();
            id
        };
        // ä → AE, ö → OE, ü → UE, ß → SS, hyphens and spaces as `<`.
        let id = named("Jürgen-Björn", "Weiß Älter");
        assert_eq!(
            run(&zone("WEISS ALTER", "JURGEN BJORN"), &id, today).0,
            CheckOutcome::Clear
        );
        assert_eq!(
            run(&zone("WEISS AELTER", "JUERGEN BJOERN"), &id, today).0,
            CheckOutcome::Clear
        );
        let l1 = format!("{:<<44}", "P<D<<WEISS<AELTER<<JUERGEN<BJOERN");
        let l2 = ERIKA_L2;
        assert_eq!(run(&td3(&l1, l2), &id, today).0, CheckOutcome::Clear);
        // Apostrophes left out.
        let id = named("Erika", "D'Artagnan");
        assert_eq!(
            run(&zone("DARTAGNAN", "ERIKA"), &id, today).0,
            CheckOutcome::Clear
        );
        // A truncated name, a middle name left out: consider.
        let id = named("Erika Maria", "Mustermann-Wolfeschlegelsteinhausenberger");
        // Part 3 §4.6 would truncate more evenly; a cut at the field end is the worst case.
        let truncated = &"P<D<<MUSTERMANN<WOLFESCHLEGELSTEINHAUSEN<<ERIKA<MARIA"[..44];
        let (outcome, reasons) = run(&td3(truncated, l2), &id, today);
        assert_eq!(
            (outcome, reasons),
            (CheckOutcome::Consider, vec!["name_partial_match".into()])
        );
        let id = named("Erika", "Mustermann");
        let (outcome, reasons) = run(&zone("MUSTERMANN", "ERIKA MARIA"), &id, today);
        assert_eq!(
            (outcome, reasons),
            (CheckOutcome::Consider, vec!["name_partial_match".into()])
        );
        // Beyond that: a mismatch.
        let id = named("Erica", "Mustermann");
        assert_eq!(
            run(&zone("MUSTERMANN", "ERIKA"), &id, today).1,
            ["name_mismatch"]
        );
    }

    #[test]
    fn malformed_and_missing() {
        let today = "2026-11-26";
        let (outcome, reasons) = run(
            &json!({"type": "passport", "image": "aGVsbG8="}),
            &erika(),
            today,
        );
        assert_eq!(
            (outcome, reasons),
            (CheckOutcome::NotPerformed, vec!["no_mrz".into()])
        );
        let (outcome, _) = run(&doc("passport", "  \n "), &erika(), today);
        assert_eq!(outcome, CheckOutcome::NotPerformed);
        let short = format!("{ERIKA_L1}\n{}", &ERIKA_L2[..43]);
        let lower = format!("{ERIKA_L1}\n{}", ERIKA_L2.to_lowercase());
        let leading_filler = format!("{ERIKA_L1}\n<{}", &ERIKA_L2[1..]);
        for bad in ["P<D<<MUSTERMANN<<ERIKA", &short, &lower, &leading_filler] {
            let (outcome, reasons) = run(&doc("passport", bad), &erika(), today);
            assert_eq!(
                (outcome, reasons),
                (CheckOutcome::Rejected, vec!["mrz_malformed".into()]),
                "{bad}"
            );
        }
        // CRLF and surrounding blanks are fine.
        let crlf = format!("  {ERIKA_L1}\r\n{ERIKA_L2}\r\n");
        assert_eq!(
            run(&doc("passport", &crlf), &erika(), today).0,
            CheckOutcome::Clear
        );
    }

    /// A valid TD3 of Erika's data under the nationality (and issuing state) code `code`.
    fn erika_as(code: &str) -> serde_json::Value {
        let zone = mrz::format_td3(&mrz::Td3Fields {
            issuing_country: code.into(),
            document_number: "C01X00T47".into(),
            surname: "Mustermann".into(),
            given_names: "Erika".into(),
            nationality: code.into(),
            date_of_birth: MrzDate::Calendar(mrz::Date::new(1990, 1, 31)),
            sex: mrz::Sex::Female,
            date_of_expiry: MrzDate::Calendar(mrz::Date::new(2035, 8, 1)),
            ..Default::default()
        });
        doc("passport", &zone)
    }

    #[test]
    fn every_country_and_every_icao_code_is_read() {
        // Every ISO 3166-1 country's passport (and Kosovo's) matches its nationality: no
        // country goes to review for want of a table entry (a Yemeni one did).
        for code in country::all_alpha2() {
            let mut id = erika();
            id.nationality = kyc_core::credential::CountryCode::parse(code).expect(code);
            for zone_code in country::mrz_codes(code).expect(code) {
                let (outcome, reasons) = run(&erika_as(zone_code), &id, "2026-11-26");
                assert_eq!(
                    outcome,
                    CheckOutcome::Clear,
                    "{code} as {zone_code}: {reasons:?}"
                );
            }
        }
        // ICAO 9303 Part 3's own codes, read through a real zone.
        for (zone_code, typed) in [
            ("D", "DE"),
            ("GBD", "GB"),
            ("GBN", "GB"),
            ("GBO", "GB"),
            ("GBP", "GB"),
            ("GBS", "GB"),
            ("RKS", "XK"),
        ] {
            let mut id = erika();
            id.nationality = kyc_core::credential::CountryCode::parse(typed).expect(typed);
            let (outcome, reasons) = run(&erika_as(zone_code), &id, "2026-11-26");
            assert_eq!(outcome, CheckOutcome::Clear, "{zone_code}: {reasons:?}");
        }
        // An organisation's or a stateless person's document names no nationality a typed one
        // could match: a mismatch, never a silent pass.
        for zone_code in ["UNO", "UNA", "UNK", "EUE", "XXA", "XXB", "XXC", "XXX"] {
            let (outcome, reasons) = run(&erika_as(zone_code), &erika(), "2026-11-26");
            assert_eq!(outcome, CheckOutcome::Rejected, "{zone_code}");
            assert_eq!(reasons, ["nationality_mismatch"], "{zone_code}");
        }
    }

    #[test]
    fn the_check_runs_on_a_submission() {
        let submission: Submission = serde_json::from_value(json!({
            "jurisdiction": "EU",
            "holder": "did:key:z6Mk",
            "identity": {
                "givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
                "nationality": "DE", "documentNumber": "C01X00T47"
            },
            "document": {"type": "passport", "mrz": format!("{ERIKA_L1}\n{ERIKA_L2}")}
        }))
        .expect("submission");
        let now = "2026-11-26T12:00:00Z".parse().expect("now");
        let record = DocumentCheck.run(&submission, now);
        assert_eq!(
            (record.check, record.outcome),
            (AuditCheck::Document, CheckOutcome::Clear)
        );
        assert_eq!(DocumentCheck.kind(), AuditCheck::Document);
    }
}
