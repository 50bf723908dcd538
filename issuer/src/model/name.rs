//! Names: what a name field may hold, and the one way every check splits a name into its parts.
//!
//! # One normalisation
//!
//! Screening, the document check and the association keys must agree on when two spellings of
//! a name are the same name. If one of them split a name where another ignored a character, an
//! applicant could write a name that the document check accepts as the passport's
//! (`S.i.d.o.r.o.v` against `SIDOROV`) while screening sees something else (seven one-letter
//! tokens) and finds nothing. So there is one rule, [`components`], applied after each check's
//! transliteration to ASCII:
//!
//! - ASCII letters make up a component (upper-cased);
//! - whitespace, hyphens (`-`, U+2010, U+2011, U+2013, U+2014), the comma and the MRZ filler
//!   `<` separate components (ICAO 9303 Part 3 §4.6 writes them as `<`);
//! - every other character is ignored: it neither adds to a component nor splits one
//!   (apostrophes, full stops, digits, `_`, NUL, invisible characters).
//!
//! Inserting an ignored character therefore changes no component, and no check's result.
//!
//! # What a name may hold
//!
//! [`check_name`] is applied to the typed names at intake, before anything is stored or
//! checked, so that nothing invisible, reordering or punctuated ends up in a credential:
//! words of letters (any script, with their combining marks; ZWJ and ZWNJ, which Persian and
//! Indic spellings need, between letters), separated by single spaces; a hyphen or an
//! apostrophe only between two letters (`Jean-Pierre`, `O'Brien`, `N’Dour`); a full stop only
//! at the end of a word, after a letter (`Jr.`, `St. John`). Refused: control characters
//! (NUL included), bidirectional overrides and other invisible format characters, private-use
//! characters, digits, symbols, punctuation inside a word (`S.i.d.o.r.o.v`, `I_v_a_n`), and
//! leading, trailing or repeated spaces. The error names the rule, never the value.

use std::fmt;

/// Why a name field was refused; the message names the rule, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// Nothing but spaces, or nothing at all.
    Empty,
    /// A control character (U+0000–U+001F, U+007F–U+009F), NUL included.
    Control,
    /// A bidirectional override or isolate, or another invisible format character.
    Invisible,
    /// A digit, symbol, private-use character or punctuation other than `-`, `'`, `.`.
    NotALetter,
    /// Punctuation that does not sit between two letters (or, for `.`, after the last one).
    PunctuationInsideWord,
    /// Leading, trailing or repeated spaces.
    Spacing,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "is empty",
            Self::Control => "contains a control character",
            Self::Invisible => {
                "contains an invisible formatting or text-direction character"
            }
            Self::NotALetter => {
                "may hold only letters, spaces, hyphens, apostrophes and a full stop ending an abbreviation"
            }
            Self::PunctuationInsideWord => {
                "has a hyphen, apostrophe or full stop that is not between letters"
            }
            Self::Spacing => "has leading, trailing or repeated spaces",
        })
    }
}

/// Check a typed name (a given name or a family name) against the rules above.
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.trim().is_empty() {
        return Err(NameProblem::Empty);
    }
    // Character classes first, so that the most telling problem is reported.
    for c in name.chars() {
        if c.is_control() {
            return Err(NameProblem::Control);
        }
        if is_invisible_format(c) {
            return Err(NameProblem::Invisible);
        }
        if !(is_letter(c) || is_joiner(c) || c == ' ' || is_name_punctuation(c)) {
            return Err(NameProblem::NotALetter);
        }
    }
    if name.starts_with(' ') || name.ends_with(' ') || name.contains("  ") {
        return Err(NameProblem::Spacing);
    }
    for word in name.split(' ') {
        check_word(word)?;
    }
    Ok(())
}

/// Check free text that is not a name (birth place, street, city, region): no control
/// characters, no invisible format or text-direction characters.
pub fn check_text(text: &str) -> Result<(), NameProblem> {
    for c in text.chars() {
        if c.is_control() {
            return Err(NameProblem::Control);
        }
        if is_invisible_format(c) {
            return Err(NameProblem::Invisible);
        }
    }
    Ok(())
}

/// One word: starts with a letter; `-` and `'` between letters; `.` only last, after a letter;
/// joiners only between letters.
fn check_word(word: &str) -> Result<(), NameProblem> {
    let chars: Vec<char> = word.chars().collect();
    if !chars.first().is_some_and(|c| is_letter(*c)) {
        return Err(NameProblem::PunctuationInsideWord);
    }
    for (i, c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let after = chars.get(i + 1).copied();
        let letter_before = before.is_some_and(is_letter);
        let letter_after = after.is_some_and(is_letter);
        let ok = if *c == '.' {
            letter_before && after.is_none()
        } else if is_name_punctuation(*c) || is_joiner(*c) {
            letter_before && letter_after
        } else {
            true
        };
        if !ok {
            return Err(NameProblem::PunctuationInsideWord);
        }
    }
    Ok(())
}

/// A letter of any script, or a combining mark (accents, vowel signs, viramas).
pub fn is_letter(c: char) -> bool {
    c.is_alphabetic() || is_combining_mark(c)
}

/// Combining marks (general category M) in the blocks names use. `char::is_alphabetic`
/// already covers most vowel signs; these are the ones it leaves out (accents, viramas,
/// nuktas, Hebrew and Arabic points).
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}' // combining diacritical marks
        | '\u{0483}'..='\u{0489}' // Cyrillic
        | '\u{0591}'..='\u{05C7}' // Hebrew points
        | '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' // Arabic
        | '\u{06D6}'..='\u{06DC}' | '\u{06DF}'..='\u{06E4}' | '\u{06E7}'..='\u{06E8}'
        | '\u{06EA}'..='\u{06ED}'
        | '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0951}'..='\u{0957}' // Devanagari
        | '\u{0962}'..='\u{0963}'
        | '\u{0981}'..='\u{0983}' | '\u{09BC}'..='\u{09D7}' // Bengali
        | '\u{0A01}'..='\u{0A03}' | '\u{0A3C}'..='\u{0A51}' // Gurmukhi
        | '\u{0A81}'..='\u{0A83}' | '\u{0ABC}'..='\u{0ACD}' // Gujarati
        | '\u{0B01}'..='\u{0B03}' | '\u{0B3C}'..='\u{0B57}' // Oriya
        | '\u{0B82}' | '\u{0BBE}'..='\u{0BD7}' // Tamil
        | '\u{0C00}'..='\u{0C04}' | '\u{0C3C}'..='\u{0C56}' // Telugu
        | '\u{0C81}'..='\u{0C83}' | '\u{0CBC}'..='\u{0CD6}' // Kannada
        | '\u{0D00}'..='\u{0D03}' | '\u{0D3B}'..='\u{0D57}' // Malayalam
        | '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}' // Thai
        | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}'
        | '\u{3099}'..='\u{309A}' // kana voicing marks
        | '\u{FE20}'..='\u{FE2F}'
    )
}

/// ZWNJ and ZWJ: invisible, but part of correct spelling in Persian and Indic scripts.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// The punctuation a name may hold: hyphens, apostrophes (ASCII, right single quotation mark,
/// modifier letter apostrophe) and the full stop.
fn is_name_punctuation(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\'' | '\u{2019}' | '\u{02BC}' | '.'
    )
}

/// Invisible format characters (general category Cf, outside the joiners), including every
/// bidirectional embedding, override, isolate and mark; the soft hyphen; the byte-order mark;
/// tag characters; and private-use characters, which render as anything.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}'
        | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{E000}'..='\u{F8FF}' | '\u{E0000}'..='\u{E0FFF}'
        | '\u{F0000}'..='\u{10FFFF}'
    )
}

/// How the one rule treats a character of transliterated (ASCII) text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameChar {
    /// Part of a component (the upper-case letter).
    Letter(char),
    /// Ends a component.
    Separator,
    /// Neither: dropped without splitting.
    Ignored,
}

/// The rule for one character of transliterated text.
pub fn classify(c: char) -> NameChar {
    if c.is_ascii_alphabetic() {
        NameChar::Letter(c.to_ascii_uppercase())
    } else if c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{2014}' | ',' | '<'
        )
    {
        NameChar::Separator
    } else {
        NameChar::Ignored
    }
}

/// A transliterated name's components in order, upper case A–Z, by the one rule.
pub fn components(transliterated: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in transliterated.chars() {
        match classify(c) {
            NameChar::Letter(l) => current.push(l),
            NameChar::Separator if !current.is_empty() => out.push(std::mem::take(&mut current)),
            NameChar::Separator | NameChar::Ignored => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_people_have() {
        for name in [
            "Erika",
            "Erika Maria",
            "Jean-Pierre",
            "O'Brien",
            "N’Dour",
            "D\u{2019}Artagnan",
            "Martin Luther King Jr.",
            "St. John",
            "Ivan.",
            "Müller",
            "Mu\u{0308}ller",
            "Иван Петрович",
            "محمد",
            "Zoë Ngọc Ánh",
            "देवनागरी",
            "王小明",
            "Ἀλέξανδρος",
            "می\u{200C}خواهم",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn what_is_refused() {
        let cases: &[(&str, NameProblem)] = &[
            ("", NameProblem::Empty),
            ("   ", NameProblem::Empty),
            ("Iv\0an", NameProblem::Control),
            ("Ivan\n", NameProblem::Control),
            ("\u{202E}voroDiS", NameProblem::Invisible),
            ("Si\u{200B}dorov", NameProblem::Invisible),
            ("Si\u{2066}dorov", NameProblem::Invisible),
            ("Sidorov\u{FEFF}", NameProblem::Invisible),
            ("Ivan1", NameProblem::NotALetter),
            ("I_v_a_n", NameProblem::NotALetter),
            ("Ivan/Iwan", NameProblem::NotALetter),
            ("Ivan <script>", NameProblem::NotALetter),
            ("S.i.d.o.r.o.v", NameProblem::PunctuationInsideWord),
            (
                "I.v.a.n P.e.t.r.o.v.i.c.h",
                NameProblem::PunctuationInsideWord,
            ),
            ("-Ivan", NameProblem::PunctuationInsideWord),
            ("Ivan-", NameProblem::PunctuationInsideWord),
            ("Jean--Pierre", NameProblem::PunctuationInsideWord),
            ("'Ivan", NameProblem::PunctuationInsideWord),
            (" Ivan", NameProblem::Spacing),
            ("Ivan ", NameProblem::Spacing),
            ("Ivan  Petrovich", NameProblem::Spacing),
            ("\u{200D}Ivan", NameProblem::PunctuationInsideWord),
        ];
        for (name, problem) in cases {
            assert_eq!(check_name(name), Err(*problem), "{name:?}");
        }
    }

    #[test]
    fn messages_never_carry_the_value() {
        for p in [
            NameProblem::Empty,
            NameProblem::Control,
            NameProblem::Invisible,
            NameProblem::NotALetter,
            NameProblem::PunctuationInsideWord,
            NameProblem::Spacing,
        ] {
            let m = p.to_string();
            assert!(!m.is_empty() && !m.contains('`') && !m.contains('"'));
        }
    }

    #[test]
    fn one_rule_for_components() {
        assert_eq!(components("SIDOROV"), ["SIDOROV"]);
        assert_eq!(components("S.i.d.o.r.o.v"), ["SIDOROV"]);
        assert_eq!(components("S_i\0d'o1rov"), ["SIDOROV"]);
        assert_eq!(
            components("Jean-Pierre O'Brien, Jr."),
            ["JEAN", "PIERRE", "OBRIEN", "JR"]
        );
        assert_eq!(
            components("WEISS<ALTER<<ERIKA"),
            ["WEISS", "ALTER", "ERIKA"]
        );
        assert_eq!(components(" .;  "), Vec::<String>::new());
    }
}
