//! Countries, from one kept source: ISO 3166-1 as the `celes` crate holds it (all 249 entries,
//! and `XK` for Kosovo, which ISO has not assigned but the EU, the sanctions lists and
//! passports' issuers use), plus the codes ICAO 9303 Part 3 §5 writes in a machine-readable
//! zone where they differ from ISO 3166-1 alpha-3. Every check that reads a country (the
//! document check, screening lists, the FATF lists) goes through here.

use celes::Country;

/// The codes ICAO 9303 Part 3 §5 uses for nationality or issuing state in a zone, where they
/// are not the country's ISO 3166-1 alpha-3 code, with what they stand for.
const ICAO_EXCEPTIONS: &[(&str, MrzNationality)] = &[
    // Germany's single letter (Part 3 §5, Part A); `DEU` is read too.
    ("D", MrzNationality::Country("DE")),
    // British nationality variants (Part 3 §5, Part B): all British nationals.
    ("GBD", MrzNationality::Country("GB")),
    ("GBN", MrzNationality::Country("GB")),
    ("GBO", MrzNationality::Country("GB")),
    ("GBP", MrzNationality::Country("GB")),
    ("GBS", MrzNationality::Country("GB")),
    // Kosovo (ICAO's code; ISO has none, `XK`/`XKX` are user-assigned).
    ("RKS", MrzNationality::Country("XK")),
    // Documents of international organisations (Part 3 §5, Part C).
    ("UNO", MrzNationality::Organisation),
    ("UNA", MrzNationality::Organisation),
    ("UNK", MrzNationality::Organisation),
    ("EUE", MrzNationality::Organisation),
    // Stateless persons and refugees (Part 3 §5, Part D).
    ("XXA", MrzNationality::Stateless),
    ("XXB", MrzNationality::Refugee),
    ("XXC", MrzNationality::Refugee),
    ("XXX", MrzNationality::Unspecified),
];

/// What a zone's nationality (or issuing state) code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzNationality {
    /// A country, by its ISO 3166-1 alpha-2 code.
    Country(&'static str),
    /// An international organisation (`UNO`, `UNA`, `UNK`, `EUE`): no nationality.
    Organisation,
    /// A stateless person (`XXA`).
    Stateless,
    /// A refugee (`XXB`, `XXC`).
    Refugee,
    /// Unspecified nationality (`XXX`).
    Unspecified,
    /// A code neither ISO 3166-1 nor ICAO 9303 assigns (a specimen's `UTO`, a misprint).
    Unknown,
}

/// The country of the ISO 3166-1 alpha-2 `code` (upper case), `XK` included.
fn country(code: &str) -> Option<Country> {
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
        .then(|| Country::from_alpha2(code).ok())
        .flatten()
}

/// Whether `code` is an ISO 3166-1 alpha-2 code (upper case), or `XK`.
pub fn is_alpha2(code: &str) -> bool {
    country(code).is_some()
}

/// The codes a nationality of ISO 3166-1 alpha-2 `code` may appear as in a zone: its
/// alpha-3 code, and the ICAO codes that stand for it (`D` for Germany, the British variants,
/// `RKS` for Kosovo); `None` when `code` is no country.
pub fn mrz_codes(code: &str) -> Option<Vec<&'static str>> {
    let country = country(code)?;
    let mut codes = vec![country.alpha3];
    codes.extend(
        ICAO_EXCEPTIONS
            .iter()
            .filter(|(_, n)| *n == MrzNationality::Country(country.alpha2))
            .map(|(icao, _)| *icao),
    );
    Some(codes)
}

/// What the zone code `code` (its filler `<` already trimmed) stands for.
pub fn from_mrz(code: &str) -> MrzNationality {
    if let Some((_, n)) = ICAO_EXCEPTIONS.iter().find(|(icao, _)| *icao == code) {
        return *n;
    }
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return MrzNationality::Unknown;
    }
    Country::from_alpha3(code).map_or(MrzNationality::Unknown, |c| {
        MrzNationality::Country(c.alpha2)
    })
}

/// The alpha-2 code of a country written by name (`Russia`, `the Russian Federation`,
/// `Korea, North`, `Türkiye`): the ISO short and long names and their usual aliases, compared
/// without case, spaces or punctuation.
pub fn alpha2_for_name(name: &str) -> Option<&'static str> {
    let key: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let key = key
        .strip_prefix("the")
        .filter(|k| !k.is_empty())
        .map_or(key.as_str(), |k| k);
    Country::from_name(key)
        .or_else(|_| Country::from_alias(key))
        .or_else(|_| Country::from_name(format!("the{key}")))
        .ok()
        .map(|c| c.alpha2)
}

/// Every country's alpha-2 code.
pub fn all_alpha2() -> impl Iterator<Item = &'static str> {
    Country::get_countries().into_iter().map(|c| c.alpha2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_round_trips_through_its_zone_codes() {
        let all: Vec<&str> = all_alpha2().collect();
        assert_eq!(all.len(), 250, "ISO 3166-1's 249 and XK");
        for code in all {
            let codes = mrz_codes(code).expect(code);
            for zone in codes {
                assert_eq!(
                    from_mrz(zone),
                    MrzNationality::Country(code),
                    "{code} {zone}"
                );
            }
        }
    }

    #[test]
    fn the_icao_exceptions() {
        assert_eq!(mrz_codes("DE"), Some(vec!["DEU", "D"]));
        assert_eq!(
            mrz_codes("GB"),
            Some(vec!["GBR", "GBD", "GBN", "GBO", "GBP", "GBS"])
        );
        assert_eq!(mrz_codes("XK"), Some(vec!["XKX", "RKS"]));
        assert_eq!(mrz_codes("YE"), Some(vec!["YEM"]));
        assert_eq!(from_mrz("UNO"), MrzNationality::Organisation);
        assert_eq!(from_mrz("XXA"), MrzNationality::Stateless);
        assert_eq!(from_mrz("XXB"), MrzNationality::Refugee);
        assert_eq!(from_mrz("XXX"), MrzNationality::Unspecified);
        assert_eq!(from_mrz("UTO"), MrzNationality::Unknown);
        for bad in ["", "de", "ZZ", "DEU", "D<"] {
            assert!(mrz_codes(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn names_as_lists_write_them() {
        for (name, code) in [
            ("Russia", "RU"),
            ("the Russian Federation", "RU"),
            ("Iran", "IR"),
            ("North Korea", "KP"),
            ("Türkiye", "TR"),
            ("Turkey", "TR"),
            ("United Kingdom", "GB"),
            ("Yemen", "YE"),
            ("Kosovo", "XK"),
        ] {
            assert_eq!(alpha2_for_name(name), Some(code), "{name}");
        }
        assert_eq!(alpha2_for_name("Utopia"), None);
    }
}
