//! Reading the credential's timestamps (`validFrom`, `validUntil`, `performedAt`) fast.
//!
//! What is accepted is exactly what chrono's `DateTime<Utc>` deserializer accepts (its relaxed
//! RFC 3339 parser, any offset, converted to UTC). The form every issuer here writes,
//! `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z` (RFC 3339 §5.6 `date-time` in UTC, as chrono serializes it),
//! is read directly; anything else, and any field out of range, goes to chrono, which decides.
//! chrono's general parser costs about 1.9k instructions a timestamp, six times a credential.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::de::{self, Deserializer, Visitor};

/// `deserialize_with` for a `DateTime<Utc>` field.
pub(crate) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(Rfc3339)
}

/// `deserialize_with` for an `Option<DateTime<Utc>>` field (`null` is `None`, as before).
pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct Wrapped(DateTime<Utc>);
    impl<'de> serde::Deserialize<'de> for Wrapped {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            required(d).map(Wrapped)
        }
    }
    Ok(<Option<Wrapped> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
}

struct Rfc3339;

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // chrono's words, so errors read as they did.
        f.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<DateTime<Utc>, E> {
        if let Some(t) = canonical_utc(s.as_bytes()) {
            return Ok(t);
        }
        s.parse::<DateTime<FixedOffset>>()
            .map(|t| t.with_timezone(&Utc))
            .map_err(E::custom)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z` with every field in range and no leap second; `None` for
/// anything else (chrono then parses it, or says why not).
fn canonical_utc(s: &[u8]) -> Option<DateTime<Utc>> {
    let (head, tail) = (s.get(..19)?, s.get(19..)?);
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        head[r].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    if head[4] != b'-' || head[7] != b'-' || head[10] != b'T' || head[13] != b':' {
        return None;
    }
    if head[16] != b':' {
        return None;
    }
    let nanos = match tail {
        [b'Z'] => 0,
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            let n = fraction.iter().try_fold(0u32, |n, &b| {
                b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
            })?;
            // The digits are the leading ones of nine: ".5" is 500,000,000 ns.
            n * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)?;
    let second = digits(17..19)?;
    if second > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(digits(11..13)?, digits(14..16)?, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever chrono's own deserializer says, this says too.
    #[test]
    fn agrees_with_chrono() {
        let cases = [
            "2026-11-26T12:00:00Z",
            "2026-11-26T12:00:00.417093612Z",
            "2026-11-26T12:00:00.5Z",
            "2026-11-26T12:00:00.000Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2026-11-26T12:00:61Z",
            "2026-11-26T12:00:00.Z",
            "2026-11-26T12:00:00.1234567891Z",
            "2026-11-26T12:00:00.123456789123Z",
            "2026-11-26t12:00:00z",
            "2026-11-26 12:00:00Z",
            "2026-11-26T12:00:00+02:00",
            "2026-11-26T12:00:00.25-05:30",
            "2026-11-26T12:00:00",
            "2026-11-26T12:00Z",
            "2026-11-26",
            "2026-11-26T12:00:00Z ",
            " 2026-11-26T12:00:00Z",
            "+2026-11-26T12:00:00Z",
            "2026-1a-26T12:00:00Z",
            "2026-11-26T12:00:00.1a3Z",
            "２026-11-26T12:00:00Z",
            "",
        ];
        for case in cases {
            let json = serde_json::to_string(case).unwrap();
            let ours =
                required(&mut serde_json::Deserializer::from_str(&json)).map_err(|e| e.to_string());
            let chrono = serde_json::from_str::<DateTime<Utc>>(&json).map_err(|e| e.to_string());
            assert_eq!(ours, chrono, "{case}");
        }
        for json in ["null", "1", "[]"] {
            let ours =
                required(&mut serde_json::Deserializer::from_str(json)).map_err(|e| e.to_string());
            let chrono = serde_json::from_str::<DateTime<Utc>>(json).map_err(|e| e.to_string());
            assert_eq!(ours, chrono, "{json}");
        }
    }

    #[test]
    fn optional_reads_null_as_none() {
        let mut d = serde_json::Deserializer::from_str("null");
        assert_eq!(optional(&mut d).unwrap(), None);
    }
}
