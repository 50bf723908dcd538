//! One line of the log, accepted exactly when [`Entry::parse_line`] accepts it, but fast.
//!
//! `Entry::parse_line` parses the line into serde_json values, writes its RFC 8785 form and
//! compares: exact, and several times the cost of hashing the line. Nearly every line the
//! issuer writes fits a narrower shape whose canonicity can be checked in one pass over the
//! bytes, without building values:
//!
//! ```text
//! {"data":<object>,"kind":"<string>","prev":"<44 base64>","seq":<integer>,"time":"<RFC 3339>"}
//! ```
//!
//! where, inside `data`, keys are printable ASCII without escapes in strictly increasing byte
//! order (for ASCII, byte order is RFC 8785 §3.2.3's UTF-16 order, and strictly increasing
//! rules out duplicates), strings hold no escape and no control character (RFC 8785 §3.2.2.2
//! escapes exactly `"`, `\` and U+0000–U+001F, so such a string is canonical as it stands),
//! numbers are integers without sign on zero, leading zero, fraction or exponent and of
//! magnitude at most 2^53 (where ECMAScript's `Number.prototype.toString`, RFC 8785 §3.2.2.3,
//! writes exactly those digits), nesting is at most [`MAX_FAST_DEPTH`] deep; `seq` is such an
//! integer; `time` is `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` with as many fractional
//! digits as chrono's canonical form needs (0, 3, 6 or 9) and a second below 60.
//!
//! The fast check only ever *accepts*: any line outside that shape goes to `Entry::parse_line`,
//! which gives the verdict and the error. So the fast path can be narrower than canonical
//! JSON, never wider; the tests check it against `Entry::parse_line` on every line they build
//! and on thousands of mutations of them.

use chrono::{DateTime, NaiveDate, Utc};
use kyc_core::audit_event::AuditEvent;
use kyc_core::tlog::{Entry, EntryError, Hash};
use serde_json::{Map, Value};

/// The longest line accepted. An audit entry is well under a kilobyte; a longer line is
/// malformed, and refusing it bounds the memory a hostile log can claim.
pub const MAX_ENTRY_LEN: usize = 64 * 1024;

/// Deeper `data` goes to the full check (serde_json itself stops at 128).
const MAX_FAST_DEPTH: u32 = 32;

/// 2^53: every integer up to this magnitude is a double written with exactly its digits.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// An entry's fields as the auditor needs them.
#[derive(Debug)]
pub(crate) struct LineEntry<'a> {
    /// `seq`.
    pub(crate) seq: u64,
    /// `time`.
    pub(crate) time: DateTime<Utc>,
    /// `prev`.
    pub(crate) prev: Hash,
    body: Body<'a>,
}

#[derive(Debug)]
enum Body<'a> {
    /// From the fast path: the `kind` string's bytes (no escapes) and the `data` object's JSON.
    Raw { kind: &'a [u8], data: &'a [u8] },
    /// From `Entry::parse_line`.
    Parsed {
        kind: String,
        data: Map<String, Value>,
    },
}

impl LineEntry<'_> {
    /// Parses one whole line (without its terminator) strictly: accepted exactly when
    /// [`Entry::parse_line`] accepts it, with the same error when not.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn parse(line: &[u8]) -> Result<LineEntry<'_>, EntryError> {
        match fast(line) {
            Some((entry, len)) if len == line.len() => Ok(entry),
            _ => slow(line),
        }
    }

    /// Parses the first line of `rest` (up to the first `\n` or the end), as [`Self::parse`];
    /// returns the line's length too. On the fast path the scan itself finds the line's end:
    /// a line in the fast shape holds no `\n` (strings with control characters are not in it).
    pub(crate) fn parse_next(rest: &[u8]) -> (usize, Result<LineEntry<'_>, EntryError>) {
        if let Some((entry, len)) = fast(rest) {
            if rest.get(len).is_none_or(|&b| b == b'\n') {
                return (len, Ok(entry));
            }
        }
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        (len, slow(&rest[..len]))
    }

    /// The entry's typed event. `scratch` is a reusable buffer.
    ///
    /// On the fast path this deserialises `{"kind":…,"data":…}` straight from the line's bytes,
    /// tag first, which serde's adjacently tagged enums read without buffering; otherwise it is
    /// [`AuditEvent::from_parts`]. Both are serde over the same JSON.
    pub(crate) fn event(&self, scratch: &mut Vec<u8>) -> Result<AuditEvent, String> {
        match &self.body {
            Body::Raw { kind, data } => {
                scratch.clear();
                scratch.extend_from_slice(b"{\"kind\":\"");
                scratch.extend_from_slice(kind);
                scratch.extend_from_slice(b"\",\"data\":");
                scratch.extend_from_slice(data);
                scratch.push(b'}');
                serde_json::from_slice(scratch).map_err(|e| {
                    format!(
                        "not a valid audit event: {}",
                        kyc_core::MalformedError::json("audit event", &e)
                    )
                })
            }
            Body::Parsed { kind, data } => {
                AuditEvent::from_parts(kind, data).map_err(|e| e.to_string())
            }
        }
    }

    /// Whether the fast path accepted the line (for tests and the fuzz targets).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn is_fast(&self) -> bool {
        matches!(self.body, Body::Raw { .. })
    }
}

/// `Entry::parse_line`, for lines outside the fast shape.
fn slow(line: &[u8]) -> Result<LineEntry<'_>, EntryError> {
    let text = std::str::from_utf8(line)
        .map_err(|_| EntryError::Json("audit entry is not UTF-8".into()))?;
    let entry = Entry::parse_line(text)?;
    Ok(LineEntry {
        seq: entry.seq,
        time: entry.time,
        prev: entry.prev,
        body: Body::Parsed {
            kind: entry.kind,
            data: entry.data,
        },
    })
}

/// The fast path: `Some` only when `line` starts with an entry in the shape of the module
/// docs, with the length of that entry.
fn fast(line: &[u8]) -> Option<(LineEntry<'_>, usize)> {
    let mut s = Scanner {
        b: line,
        pos: 0,
        non_ascii: false,
    };
    s.literal(b"{\"data\":{")?;
    let data_start = s.pos - 1;
    s.object_rest(1)?;
    let data = line.get(data_start..s.pos)?;
    s.literal(b",\"kind\":\"")?;
    let kind = s.string_rest()?;
    s.literal(b",\"prev\":\"")?;
    let prev = Hash::from_base64(line.get(s.pos..s.pos + 44)?).ok()?;
    s.pos += 44;
    s.literal(b"\",\"seq\":")?;
    let (negative, seq) = s.integer()?;
    if negative {
        return None;
    }
    s.literal(b",\"time\":\"")?;
    let time = time(line.get(s.pos..)?)?;
    s.pos += time.1;
    s.literal(b"\"}")?;
    // Non-ASCII bytes only occur inside strings; the line must still be UTF-8 as a whole.
    if s.non_ascii && std::str::from_utf8(&line[..s.pos]).is_err() {
        return None;
    }
    let entry = LineEntry {
        seq,
        time: time.0,
        prev,
        body: Body::Raw { kind, data },
    };
    Some((entry, s.pos))
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    non_ascii: bool,
}

impl<'a> Scanner<'a> {
    /// Fixed-size, so that the comparison is a few register compares, not a `memcmp` call.
    fn literal<const N: usize>(&mut self, expected: &[u8; N]) -> Option<()> {
        let got: &[u8; N] = self.b.get(self.pos..self.pos + N)?.try_into().ok()?;
        if got == expected {
            self.pos += N;
            Some(())
        } else {
            None
        }
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    /// After `"`: the string's bytes, up to and past the closing `"`. No escapes, no control
    /// characters.
    fn string_rest(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let rest = self.b.get(start..)?;
        let (len, non_ascii) = string_len(rest);
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.non_ascii |= non_ascii;
        self.pos = start + len + 1;
        Some(&rest[..len])
    }

    /// After `"`: an object key, printable ASCII without escapes, past the closing `"`.
    fn key_rest(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let rest = self.b.get(start..)?;
        let (len, non_ascii) = string_len(rest);
        // Non-ASCII keys sort by UTF-16, not by bytes: the full check orders them.
        if non_ascii || rest.get(len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        Some(&rest[..len])
    }

    /// After `{`: members with strictly increasing keys, past the closing `}`.
    fn object_rest(&mut self, depth: u32) -> Option<()> {
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Some(());
        }
        let mut previous: Option<&[u8]> = None;
        loop {
            if self.next()? != b'"' {
                return None;
            }
            let key = self.key_rest()?;
            if previous.is_some_and(|p| !ascending(p, key)) {
                return None;
            }
            previous = Some(key);
            if self.next()? != b':' {
                return None;
            }
            self.value(depth)?;
            match self.next()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// After `[`: elements, past the closing `]`.
    fn array_rest(&mut self, depth: u32) -> Option<()> {
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.value(depth)?;
            match self.next()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    fn value(&mut self, depth: u32) -> Option<()> {
        match *self.b.get(self.pos)? {
            b'"' => {
                self.pos += 1;
                self.string_rest().map(|_| ())
            }
            b'{' if depth < MAX_FAST_DEPTH => {
                self.pos += 1;
                self.object_rest(depth + 1)
            }
            b'[' if depth < MAX_FAST_DEPTH => {
                self.pos += 1;
                self.array_rest(depth + 1)
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.integer().map(|_| ()),
            _ => None,
        }
    }

    /// An integer in ECMAScript's form for |n| ≤ 2^53: `0`, or `-`? then a non-zero digit and
    /// at most 15 more; not `-0`, and not followed by a fraction or exponent.
    fn integer(&mut self) -> Option<(bool, u64)> {
        let negative = self.b.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        let digits = self.b.get(start..)?;
        let len = digits
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let digits = &digits[..len];
        let value = match digits {
            [b'0'] if !negative => 0,
            [b'1'..=b'9', ..] if len <= 16 => digits
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
            _ => return None,
        };
        if value > MAX_EXACT_INTEGER {
            return None;
        }
        self.pos = start + len;
        if matches!(self.b.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some((negative, value))
    }
}

/// Whether `a < b` in byte order. Keys are short and usually differ early: a plain loop beats a
/// `memcmp` call.
fn ascending(a: &[u8], b: &[u8]) -> bool {
    match a.iter().zip(b).find(|(x, y)| x != y) {
        Some((x, y)) => x < y,
        None => a.len() < b.len(),
    }
}

/// The length of the run of bytes at the start of `b` that may stand in a string as they are
/// (not `"`, `\\`, or below 0x20), and whether a byte of it may be non-ASCII (a hint only:
/// it may also be set by bytes just past the run).
///
/// Eight bytes at a time (SWAR): for a word `x`, `(x - 0x01…) & !x & 0x80…` marks the zero
/// bytes and `(x - 0x20…) & !x & 0x80…` the bytes below 0x20; the lowest mark is exact (a
/// borrow only disturbs the bytes above it), which is the one wanted.
fn string_len(b: &[u8]) -> (usize, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut high = 0;
    let mut words = b.chunks_exact(8);
    let mut offset = 0;
    for word in words.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let marks = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        high |= x & HIGH;
        if marks != 0 {
            return (offset + marks.trailing_zeros() as usize / 8, high != 0);
        }
        offset += 8;
    }
    for &c in words.remainder() {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        high |= u64::from(c & 0x80);
        offset += 1;
    }
    (offset, high != 0)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` at the start of `b`, in chrono's canonical
/// form (`SecondsFormat::AutoSi` with `Z`, how `DateTime<Utc>` serialises): the time and the
/// number of bytes it takes.
fn time(b: &[u8]) -> Option<(DateTime<Utc>, usize)> {
    let head = b.get(..19)?;
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if punctuation.iter().any(|&(i, c)| head[i] != c) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        head[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = number(0..4)?;
    let (month, day) = (number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let (nanos, len) = match b.get(19)? {
        b'Z' => (0, 20),
        b'.' => {
            let rest = b.get(20..)?;
            let digits = rest
                .iter()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if rest.get(digits) != Some(&b'Z') || !matches!(digits, 3 | 6 | 9) {
                return None;
            }
            let value = rest[..digits]
                .iter()
                .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
            // AutoSi writes the fewest of 3, 6, 9 digits that hold the nanoseconds exactly,
            // and none for zero.
            let nanos = match digits {
                3 if value != 0 => value * 1_000_000,
                6 if value % 1000 != 0 => value * 1000,
                9 if value % 1000 != 0 => value,
                _ => return None,
            };
            (nanos, 21 + digits)
        }
        _ => return None,
    };
    // Years outside 1..=9999 and leap seconds (written as second 60) go to the full check.
    if year == 0 || second > 59 {
        return None;
    }
    let time = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_nano_opt(hour, minute, second, nanos)?
        .and_utc();
    Some((time, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyc_core::tlog::Chain;
    use serde_json::json;

    fn line(time: &str, data: Value) -> String {
        let Value::Object(data) = data else {
            panic!("not an object")
        };
        Chain::new()
            .next_entry(time.parse().unwrap(), "check_completed", data)
            .canonical_line()
            .unwrap()
    }

    /// The fast path agrees with `Entry::parse_line`: same acceptance, same fields.
    fn agrees(text: &str) -> Option<bool> {
        let fast = fast(text.as_bytes())
            .filter(|(_, len)| *len == text.len())
            .map(|(entry, _)| entry);
        let slow = Entry::parse_line(text);
        match (&fast, &slow) {
            (Some(f), Ok(s)) => {
                assert_eq!((f.seq, f.time, f.prev), (s.seq, s.time, s.prev), "{text}");
                let Body::Raw { kind, data } = f.body else {
                    unreachable!()
                };
                assert_eq!(kind, s.kind.as_bytes());
                let data: Map<String, Value> = serde_json::from_slice(data).unwrap();
                assert_eq!(data, s.data);
            }
            (Some(_), Err(e)) => panic!("fast path accepted what parse_line rejects ({e}): {text}"),
            _ => {}
        }
        // The crate's parse gives parse_line's verdict, and so does parse_next on the first
        // line of several, finding its end.
        assert_eq!(
            LineEntry::parse(text.as_bytes()).is_ok(),
            slow.is_ok(),
            "{text}"
        );
        let first_line = text.split('\n').next().unwrap();
        for more in [
            format!("{text}\n{text}"),
            format!("{text}\n"),
            text.to_owned(),
        ] {
            let (len, parsed) = LineEntry::parse_next(more.as_bytes());
            assert_eq!(len, first_line.len(), "{more}");
            assert_eq!(
                parsed.is_ok(),
                Entry::parse_line(first_line).is_ok(),
                "{more}"
            );
        }
        fast.is_some().then_some(true)
    }

    #[test]
    fn canonical_lines_take_the_fast_path() {
        for (time, data) in [
            ("2026-01-02T03:04:05Z", json!({})),
            (
                "2026-01-02T03:04:05.5Z",
                json!({"a": 1, "b": [true, false, null, "x", -7, 0]}),
            ),
            (
                "2026-01-02T03:04:05.000001Z",
                json!({"n": 9_007_199_254_740_992_u64, "z": {}}),
            ),
            (
                "2026-01-02T03:04:05.123456789Z",
                json!({"nested": {"a": [[], {"b": "c"}]}}),
            ),
            (
                "9999-12-31T23:59:59Z",
                json!({"utf8": "Grüße, 世界 🎉", "": ""}),
            ),
            ("0001-01-01T00:00:00.010Z", json!({"A": 1, "a": 2, "~": 3})),
        ] {
            let text = line(time, data);
            assert_eq!(agrees(&text), Some(true), "{text}");
            assert!(LineEntry::parse(text.as_bytes()).unwrap().is_fast());
        }
    }

    #[test]
    fn other_canonical_lines_go_to_the_full_check() {
        // Canonical, but outside the fast shape: escapes, fractions, big numbers, non-ASCII
        // keys, deep nesting. All must still be accepted, by parse_line.
        let deep = (0..40).fold(json!(1), |v, _| json!([v]));
        for data in [
            json!({"s": "a\"b\\c\nd\u{1}"}),
            json!({"x": 1.5, "y": 1e21, "z": -0.0}),
            json!({"big": 10_000_000_000_000_000_u64}),
            json!({"é": 1, "z": 2}),
            json!({"deep": deep}),
        ] {
            let text = line("2026-01-02T03:04:05Z", data);
            assert_eq!(agrees(&text), None, "{text}");
            let entry = LineEntry::parse(text.as_bytes()).unwrap();
            assert!(!entry.is_fast());
        }
    }

    #[test]
    fn fast_path_never_accepts_what_parse_line_rejects() {
        let base = line(
            "2026-01-02T03:04:05.120Z",
            json!({"application": "a-1", "check": "document", "n": [10, -3, 0], "o": {"k": "v"}}),
        );
        // Every single-byte substitution from a set of JSON-significant bytes, at every
        // position, plus every deletion and duplication.
        let alphabet = b" \"\\,:{}[]0129-.eEZT+/aA\n\t\x7f\xc3";
        let bytes = base.as_bytes();
        let mut checked = 0;
        for i in 0..bytes.len() {
            for &c in alphabet {
                let mut mutated = bytes.to_vec();
                mutated[i] = c;
                if let Ok(text) = String::from_utf8(mutated) {
                    agrees(&text);
                    checked += 1;
                }
            }
            let mut deleted = bytes.to_vec();
            deleted.remove(i);
            let mut doubled = bytes.to_vec();
            doubled.insert(i, bytes[i]);
            for m in [deleted, doubled] {
                if let Ok(text) = String::from_utf8(m) {
                    agrees(&text);
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
        // Invalid UTF-8 is an error from both sides.
        let mut bad = bytes.to_vec();
        let i = base.find("a-1").unwrap();
        bad[i] = 0xff;
        assert!(fast(&bad).is_none());
        assert!(matches!(LineEntry::parse(&bad), Err(EntryError::Json(_))));
    }

    #[test]
    fn time_forms() {
        for (text, ok) in [
            ("2026-01-02T03:04:05Z", true),
            ("2026-01-02T03:04:05.100Z", true),
            ("2026-01-02T03:04:05.000100Z", true),
            ("2026-01-02T03:04:05.000000100Z", true),
            ("2026-01-02T03:04:05.000Z", false),
            ("2026-01-02T03:04:05.100000Z", false),
            ("2026-01-02T03:04:05.000100000Z", false),
            ("2026-01-02T03:04:05.1Z", false),
            ("2026-02-30T03:04:05Z", false),
            ("2026-01-02T24:00:00Z", false),
            ("2016-12-31T23:59:60Z", false),
            ("2026-01-02t03:04:05Z", false),
            ("2026-01-02T03:04:05+00:00", false),
        ] {
            assert_eq!(time(format!("{text}\"").as_bytes()).is_some(), ok, "{text}");
            if ok {
                let (t, len) = time(text.as_bytes()).unwrap();
                assert_eq!(len, text.len());
                assert_eq!(t, text.parse::<DateTime<Utc>>().unwrap());
            }
        }
    }
}
