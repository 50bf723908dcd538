//! The match score: a name score, then date of birth and nationality as boosts, a penalty, or
//! a veto. Pure and deterministic.
//!
//! **Token similarity** ([`token_similarity`]): 1 for equal tokens; Jaro-Winkler (Winkler
//! 1990, prefix scale 0.1, `strsim`) otherwise, raised to [`PHONETIC_FLOOR`] when the two
//! tokens share a Double Metaphone code (transliterations that differ in vowels or doubled
//! letters: "Mohammed"/"Muhammad"); an initial against a token with that first letter scores
//! [`INITIAL_SIM`].
//!
//! **Name score** ([`name_score`]): tokens are aligned one to one, greedily by descending
//! similarity (ties by position, so it is deterministic), pairs below [`MIN_PAIR`] left out.
//! With S the name with fewer tokens and L the other:
//!
//! ```text
//! aligned = Σ_{s∈S} sim(s, partner(s)) · len(s) / Σ_{s∈S} len(s)      (0 for no partner)
//!         − EXTRA_TOKEN · (|L| − |S|)        (a missing middle name or patronymic costs a little)
//!         + PHONETIC_BOOST                   (when every token of S has a partner that sounds alike)
//! name    = max(aligned, JW(concat(S), concat(L)) when |S| ≠ |L|)   (a split or joined name:
//!                                                                   "Abdul Rahman"/"Abdulrahman")
//! ```
//!
//! Longer tokens weigh more: a surname carries more evidence than an initial. Comparing from
//! the shorter name means a missing middle name does not sink the match; the extra-token
//! penalty keeps the longer name's surplus from being free. A single token against a name of
//! several is penalised harder ([`SINGLE_TOKEN_EXTRA`]): one shared surname is thousands of
//! people.
//!
//! **Total** ([`evaluate`]): `name + dob + nationality`, clamped to [0, 1]:
//! - date of birth: the same day `+DOB_EXACT`; the same year (or inside the list's range)
//!   `+DOB_YEAR`; both known and every list date more than a year away: **veto**, not a hit
//!   whatever the name (two people of one name are not one person twenty years apart); within
//!   a year but not the same: nothing (lists get dates wrong by a year).
//! - nationality: shared `+NATIONALITY_MATCH`; both known and disjoint `−NATIONALITY_MISMATCH`
//!   (a penalty, not a veto: people have several nationalities and lists miss some).
//!
//! A hit needs `total ≥ threshold` and `name ≥ NAME_FLOOR`, so the boosts cannot make a
//! weak name a hit on their own.

use chrono::{Datelike as _, NaiveDate};

use super::lists::BirthDate;
use super::normalise::{phonetic_agree, PhoneticCode};

/// Similarity of two tokens that sound alike, at least.
pub(crate) const PHONETIC_FLOOR: f64 = 0.90;
/// An initial ("j") against a token it may abbreviate ("john").
pub(crate) const INITIAL_SIM: f64 = 0.85;
/// Token pairs below this are not aligned: unrelated tokens.
pub(crate) const MIN_PAIR: f64 = 0.75;
/// Cost of each token of the longer name beyond the shorter's count.
pub(crate) const EXTRA_TOKEN: f64 = 0.04;
/// The same when the shorter name is a single token.
pub(crate) const SINGLE_TOKEN_EXTRA: f64 = 0.15;
/// Every token sounds alike.
pub(crate) const PHONETIC_BOOST: f64 = 0.02;
/// Same birth day.
pub(crate) const DOB_EXACT: f64 = 0.05;
/// Same birth year, or inside the list's range.
pub(crate) const DOB_YEAR: f64 = 0.02;
/// A nationality in common.
pub(crate) const NATIONALITY_MATCH: f64 = 0.02;
/// Both nationalities known and none in common.
pub(crate) const NATIONALITY_MISMATCH: f64 = 0.05;
/// The least name score a hit needs, whatever the boosts.
pub(crate) const NAME_FLOOR: f64 = 0.80;
/// A name this close is a strong name match (with the exact birth day, a confirmed match).
pub(crate) const NAME_STRONG: f64 = 0.95;

/// A normalised token with its phonetic codes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) phonetic: [PhoneticCode; 2],
}

/// Similarity of two tokens in [0, 1].
pub(crate) fn token_similarity(a: Token<'_>, b: Token<'_>) -> f64 {
    if a.text == b.text {
        return 1.0;
    }
    if a.text.len() == 1 || b.text.len() == 1 {
        return if a.text.as_bytes().first() == b.text.as_bytes().first() {
            INITIAL_SIM
        } else {
            0.0
        };
    }
    let jw = strsim::jaro_winkler(a.text, b.text);
    if phonetic_agree(a.phonetic, b.phonetic) {
        jw.max(PHONETIC_FLOOR)
    } else {
        jw
    }
}

/// A name comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NameScore {
    /// In [0, 1].
    pub(crate) score: f64,
    /// Every token of the shorter name has a partner that sounds alike.
    pub(crate) phonetic: bool,
}

/// Compare two names (token lists, sorted) given a token similarity `sim(i, j)` between the
/// query's token `i` and the candidate's token `j` (the caller may memoise it).
pub(crate) fn name_score(
    query: &[Token<'_>],
    candidate: &[Token<'_>],
    mut sim: impl FnMut(usize, usize) -> f64,
) -> NameScore {
    let none = NameScore {
        score: 0.0,
        phonetic: false,
    };
    if query.is_empty() || candidate.is_empty() {
        return none;
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(query.len() * candidate.len());
    for i in 0..query.len() {
        for j in 0..candidate.len() {
            let s = sim(i, j);
            if s >= MIN_PAIR {
                pairs.push((s, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let query_is_short = query.len() <= candidate.len();
    let (short, long) = if query_is_short {
        (query, candidate)
    } else {
        (candidate, query)
    };
    let mut short_taken = vec![false; short.len()];
    let mut long_taken = vec![false; long.len()];
    let mut weighted = 0.0;
    let mut all_phonetic = true;
    let mut partnered = 0usize;
    for (s, i, j) in pairs {
        let (si, li) = if query_is_short { (i, j) } else { (j, i) };
        let (Some(false), Some(false)) = (short_taken.get(si), long_taken.get(li)) else {
            continue;
        };
        short_taken[si] = true;
        long_taken[li] = true;
        partnered += 1;
        weighted += s * short[si].text.len() as f64;
        all_phonetic &= short[si].text == long[li].text
            || phonetic_agree(short[si].phonetic, long[li].phonetic);
    }
    let total_len: usize = short.iter().map(|t| t.text.len()).sum();
    if total_len == 0 {
        return none;
    }
    let extras = (long.len() - short.len()) as f64;
    let extra_cost = if short.len() == 1 && long.len() > 1 {
        SINGLE_TOKEN_EXTRA
    } else {
        EXTRA_TOKEN
    };
    let phonetic = all_phonetic && partnered == short.len();
    let mut aligned = weighted / total_len as f64 - extra_cost * extras;
    if phonetic {
        aligned += PHONETIC_BOOST;
    }
    let mut score = aligned;
    if short.len() != long.len() {
        let concat = |ts: &[Token<'_>]| ts.iter().map(|t| t.text).collect::<String>();
        score = score.max(strsim::jaro_winkler(&concat(short), &concat(long)));
    }
    NameScore {
        score: score.clamp(0.0, 1.0),
        phonetic,
    }
}

/// What a list's birth dates say about the query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DobEvidence {
    /// One side does not know.
    Unknown,
    /// The same day.
    Exact,
    /// The same year, or inside the list's range.
    Year,
    /// Within a year of a list date, not inside it: no evidence either way.
    Near,
    /// Every list date more than a year away.
    Mismatch,
}

/// Compare the query's birth date with a list entry's.
pub(crate) fn dob_evidence(query: Option<NaiveDate>, list: &[BirthDate]) -> DobEvidence {
    let Some(q) = query else {
        return DobEvidence::Unknown;
    };
    if list.is_empty() {
        return DobEvidence::Unknown;
    }
    if list.iter().any(|d| d.is_exact() && d.earliest == q) {
        return DobEvidence::Exact;
    }
    let y = q.year();
    if list
        .iter()
        .any(|d| (d.earliest.year()..=d.latest.year()).contains(&y))
    {
        return DobEvidence::Year;
    }
    if list
        .iter()
        .any(|d| (d.earliest.year() - 1..=d.latest.year() + 1).contains(&y))
    {
        return DobEvidence::Near;
    }
    DobEvidence::Mismatch
}

/// What a list's nationalities say about the query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NationalityEvidence {
    /// One side does not know.
    Unknown,
    /// One in common.
    Match,
    /// Both known, none in common.
    Mismatch,
}

/// Compare nationalities.
pub(crate) fn nationality_evidence(
    query: Option<[u8; 2]>,
    list: &[[u8; 2]],
) -> NationalityEvidence {
    match query {
        None => NationalityEvidence::Unknown,
        Some(_) if list.is_empty() => NationalityEvidence::Unknown,
        Some(q) if list.contains(&q) => NationalityEvidence::Match,
        Some(_) => NationalityEvidence::Mismatch,
    }
}

/// A scored comparison of the query with one list entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evaluation {
    /// Total score in [0, 1].
    pub(crate) score: f64,
    /// Whether it is a hit at the threshold.
    pub(crate) hit: bool,
    /// Reason codes, never values.
    pub(crate) reasons: Vec<&'static str>,
}

/// Combine the name score with the birth date and nationality evidence.
pub(crate) fn evaluate(
    name: NameScore,
    dob: DobEvidence,
    nationality: NationalityEvidence,
    threshold: f64,
) -> Evaluation {
    let mut reasons = vec![if name.score >= NAME_STRONG {
        "name_strong"
    } else {
        "name_match"
    }];
    if name.phonetic {
        reasons.push("name_phonetic");
    }
    let mut score = name.score;
    let mut veto = false;
    match dob {
        DobEvidence::Exact => {
            score += DOB_EXACT;
            reasons.push("dob_exact");
        }
        DobEvidence::Year => {
            score += DOB_YEAR;
            reasons.push("dob_year");
        }
        DobEvidence::Mismatch => {
            veto = true;
            reasons.push("dob_mismatch");
        }
        DobEvidence::Unknown | DobEvidence::Near => {}
    }
    match nationality {
        NationalityEvidence::Match => {
            score += NATIONALITY_MATCH;
            reasons.push("nationality_match");
        }
        NationalityEvidence::Mismatch => {
            score -= NATIONALITY_MISMATCH;
            reasons.push("nationality_mismatch");
        }
        NationalityEvidence::Unknown => {}
    }
    let score = score.clamp(0.0, 1.0);
    Evaluation {
        score,
        hit: !veto && name.score >= NAME_FLOOR && score >= threshold,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalise::{phonetic, tokens};
    use super::*;

    fn score(a: &str, b: &str) -> NameScore {
        let (ta, tb) = (tokens(a), tokens(b));
        let qa: Vec<Token<'_>> = ta
            .iter()
            .map(|t| Token {
                text: t,
                phonetic: phonetic(t),
            })
            .collect();
        let qb: Vec<Token<'_>> = tb
            .iter()
            .map(|t| Token {
                text: t,
                phonetic: phonetic(t),
            })
            .collect();
        name_score(&qa, &qb, |i, j| token_similarity(qa[i], qb[j]))
    }

    #[test]
    fn order_and_script_do_not_matter() {
        assert_eq!(score("Putin Vladimir", "Vladimir Putin").score, 1.0);
        assert_eq!(score("Vladimir Putin", "Влади́мир Пу́тин").score, 1.0);
    }

    #[test]
    fn missing_middle_name_still_scores_high() {
        let s = score("Ivan Sidorov", "Ivan Petrovich Sidorov");
        assert!(s.score >= 0.95 && s.phonetic, "{s:?}");
        let s = score("Ivan Petrovich Sidorov", "Sidorov, Ivan");
        assert!(s.score >= 0.95, "{s:?}");
    }

    #[test]
    fn spelling_variants_score_high_different_names_low() {
        assert!(score("Mohammed Al Hassan", "Muhammad Al Hasan").score >= 0.9);
        assert!(score("Ivan Sidorov", "Ivan Sydorov").score >= 0.9);
        assert!(score("Ivan Sidorov", "Maria Gonzalez").score < 0.5);
        assert!(score("Ivan Sidorov", "Pavel Sidorov").score < NAME_FLOOR);
    }

    #[test]
    fn a_single_shared_token_is_not_a_name_match() {
        assert!(score("Sidorov", "Ivan Sidorov").score < 0.88);
        assert!(score("Ivan Sidorov", "Sidorov").score < 0.88);
    }

    #[test]
    fn split_or_joined_names() {
        assert!(score("Abdulrahman Khalid", "Abdul Rahman Khalid").score >= 0.9);
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn birth_dates() {
        let list = [BirthDate::day(ymd(1961, 8, 4))];
        let q = |d| dob_evidence(Some(d), &list);
        assert_eq!(q(ymd(1961, 8, 4)), DobEvidence::Exact);
        assert_eq!(q(ymd(1961, 1, 1)), DobEvidence::Year);
        assert_eq!(q(ymd(1962, 8, 4)), DobEvidence::Near);
        assert_eq!(q(ymd(1975, 3, 2)), DobEvidence::Mismatch);
        assert_eq!(dob_evidence(None, &list), DobEvidence::Unknown);
        assert_eq!(
            dob_evidence(Some(ymd(1975, 3, 2)), &[]),
            DobEvidence::Unknown
        );
    }

    #[test]
    fn evidence_boosts_penalises_and_vetoes() {
        let name = NameScore {
            score: 0.9,
            phonetic: false,
        };
        let t = 0.88;
        let e = evaluate(name, DobEvidence::Exact, NationalityEvidence::Match, t);
        assert!(e.hit && (e.score - 0.97).abs() < 1e-9, "{e:?}");
        let e = evaluate(name, DobEvidence::Mismatch, NationalityEvidence::Match, t);
        assert!(!e.hit && e.reasons.contains(&"dob_mismatch"));
        let e = evaluate(name, DobEvidence::Unknown, NationalityEvidence::Mismatch, t);
        assert!(!e.hit && (e.score - 0.85).abs() < 1e-9);
        // Boosts cannot lift a weak name.
        let weak = NameScore {
            score: 0.79,
            phonetic: false,
        };
        let e = evaluate(weak, DobEvidence::Exact, NationalityEvidence::Match, 0.8);
        assert!(!e.hit);
    }
}
