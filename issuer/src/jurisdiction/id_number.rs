//! National identification numbers: the schemes a jurisdiction policy may name for an identity
//! field, each checked for its structure and check character. Pure.
//!
//! - `jp_my_number`: Japan's Individual Number (マイナンバー), 12 digits, the last a check digit.
//!   Ordinance of the Ministry of Internal Affairs and Communications No. 85 of 2014, Art. 5:
//!   with Pn the n-th digit counted from the right *excluding* the check digit and
//!   Qn = n + 1 for 1 <= n <= 6, n - 5 for 7 <= n <= 11, the check digit is
//!   0 if (Σ Pn·Qn mod 11) <= 1, else 11 − (Σ Pn·Qn mod 11). Read left to right the weights are
//!   6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2.
//! - `cn_resident_id`: China's citizen identity number, GB 11643-1999: a 6-digit address code,
//!   the birth date as YYYYMMDD, a 3-digit sequence, and a check character by ISO 7064
//!   MOD 11-2 (weights 2^(17−i) mod 11, i.e. 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; the remainder
//!   of the weighted sum mod 11 maps to 1 0 X 9 8 7 6 5 4 3 2). The embedded birth date must be a
//!   real date and agree with the submitted one.
//! - `us_ssn`: a U.S. Social Security number's structure (SSA, "Social Security Number
//!   Randomization", 2011): area 001–899 except 666, group 01–99, serial 0001–9999. The SSA
//!   publishes no check digit; whether the number is the customer's needs a provider.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::IdNumberProblem;

/// An identification-number scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdScheme {
    /// Japan's Individual Number.
    JpMyNumber,
    /// China's resident identity card number.
    CnResidentId,
    /// A U.S. Social Security number.
    UsSsn,
}

impl IdScheme {
    /// Check `value` (spaces and hyphens allowed between digits) for a holder born on
    /// `birth_date`.
    pub fn check(self, value: &str, birth_date: NaiveDate) -> Result<(), IdNumberProblem> {
        let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        match self {
            Self::JpMyNumber => my_number(&compact),
            Self::CnResidentId => resident_id(&compact, birth_date),
            Self::UsSsn => ssn(&compact),
        }
    }
}

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn my_number(s: &str) -> Result<(), IdNumberProblem> {
    let d = digits(s)
        .filter(|d| d.len() == 12)
        .ok_or(IdNumberProblem::Format)?;
    const WEIGHTS: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(p, q)| p * q).sum();
    let remainder = sum % 11;
    let expected = if remainder <= 1 { 0 } else { 11 - remainder };
    if d[11] == expected {
        Ok(())
    } else {
        Err(IdNumberProblem::CheckDigit)
    }
}

fn resident_id(s: &str, birth_date: NaiveDate) -> Result<(), IdNumberProblem> {
    let bytes = s.as_bytes();
    // ASCII first: the slices below are byte offsets.
    if bytes.len() != 18 || !s.is_ascii() {
        return Err(IdNumberProblem::Format);
    }
    let d = digits(&s[..17]).ok_or(IdNumberProblem::Format)?;
    let check = bytes[17].to_ascii_uppercase();
    if !(check.is_ascii_digit() || check == b'X') {
        return Err(IdNumberProblem::Format);
    }
    // Address codes start with the region digit 1..=8 (GB/T 2260).
    if !(1..=8).contains(&d[0]) {
        return Err(IdNumberProblem::NeverIssued);
    }
    // ISO 7064 MOD 11-2: weight of position i (0-based, left to right) is 2^(17-i) mod 11.
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(p, w)| p * w).sum();
    let expected = CHECK[(sum % 11) as usize];
    if check != expected {
        return Err(IdNumberProblem::CheckDigit);
    }
    let embedded =
        NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").map_err(|_| IdNumberProblem::BirthDate)?;
    if embedded == birth_date {
        Ok(())
    } else {
        Err(IdNumberProblem::BirthDate)
    }
}

fn ssn(s: &str) -> Result<(), IdNumberProblem> {
    let d = digits(s)
        .filter(|d| d.len() == 9)
        .ok_or(IdNumberProblem::Format)?;
    let number = |r: std::ops::Range<usize>| d[r].iter().fold(0, |n, x| n * 10 + x);
    let (area, group, serial) = (number(0..3), number(3..5), number(5..9));
    // 078-05-1120 was printed on a wallet insert in 1938 and voided; 219-09-9999 was an
    // advertisement's. Neither is anyone's.
    let voided = s == "078051120" || s == "219099999";
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 || voided {
        return Err(IdNumberProblem::NeverIssued);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn my_number() {
        let any = date(1990, 1, 1);
        // 1·6 + 2·5 + 3·4 + 4·3 + 5·2 + 6·7 + 7·6 + 8·5 + 9·4 + 0·3 + 1·2 = 212; 212 mod 11 = 3;
        // 11 − 3 = 8.
        assert_eq!(IdScheme::JpMyNumber.check("123456789018", any), Ok(()));
        assert_eq!(IdScheme::JpMyNumber.check("1234 5678 9018", any), Ok(()));
        for wrong in 0..10 {
            if wrong != 8 {
                assert_eq!(
                    IdScheme::JpMyNumber.check(&format!("12345678901{wrong}"), any),
                    Err(IdNumberProblem::CheckDigit)
                );
            }
        }
        // One digit at a time: 1 at weight 6 → Σ = 6 → 11 − 6 = 5; at weight 5 → 6; at the
        // last weight (2) → 9; Σ = 0 → 0; 2 at weight 6 → Σ = 12, remainder 1 → 0.
        assert_eq!(IdScheme::JpMyNumber.check("100000000005", any), Ok(()));
        assert_eq!(IdScheme::JpMyNumber.check("010000000006", any), Ok(()));
        assert_eq!(IdScheme::JpMyNumber.check("000000000019", any), Ok(()));
        assert_eq!(IdScheme::JpMyNumber.check("000000000000", any), Ok(()));
        assert_eq!(IdScheme::JpMyNumber.check("200000000000", any), Ok(()));
        for bad in ["12345678901", "1234567890188", "12345678901A", ""] {
            assert_eq!(
                IdScheme::JpMyNumber.check(bad, any),
                Err(IdNumberProblem::Format),
                "{bad}"
            );
        }
    }

    #[test]
    fn resident_id() {
        // GB 11643-1999's own example: 11010519491231002X, born 1949-12-31, check X.
        let born = date(1949, 12, 31);
        assert_eq!(
            IdScheme::CnResidentId.check("11010519491231002X", born),
            Ok(())
        );
        assert_eq!(
            IdScheme::CnResidentId.check("11010519491231002x", born),
            Ok(())
        );
        assert_eq!(
            IdScheme::CnResidentId.check("110105194912310021", born),
            Err(IdNumberProblem::CheckDigit)
        );
        assert_eq!(
            IdScheme::CnResidentId.check("11010519491231002X", date(1949, 12, 30)),
            Err(IdNumberProblem::BirthDate)
        );
        for bad in [
            "11010519491231002",
            "1101051949123100XX",
            "11010519491231002Y",
            // 18 bytes, not 18 characters: must be refused, not sliced inside 'é'.
            "1101051949123100é",
        ] {
            assert_eq!(
                IdScheme::CnResidentId.check(bad, born),
                Err(IdNumberProblem::Format),
                "{bad}"
            );
        }
        // 1949-02-30 with a valid check character: the date is not a date.
        let mut id = *b"11010519490230002?";
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = id[..17]
            .iter()
            .zip(w)
            .map(|(c, w)| u32::from(c - b'0') * w)
            .sum();
        id[17] = b"10X98765432"[(sum % 11) as usize];
        let id = std::str::from_utf8(&id).unwrap();
        assert_eq!(
            IdScheme::CnResidentId.check(id, born),
            Err(IdNumberProblem::BirthDate)
        );
    }

    #[test]
    fn ssn() {
        let any = date(1990, 1, 1);
        assert_eq!(IdScheme::UsSsn.check("123-45-6789", any), Ok(()));
        for never in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
        ] {
            assert_eq!(
                IdScheme::UsSsn.check(never, any),
                Err(IdNumberProblem::NeverIssued),
                "{never}"
            );
        }
        assert_eq!(
            IdScheme::UsSsn.check("12-345-678", any),
            Err(IdNumberProblem::Format)
        );
    }
}
