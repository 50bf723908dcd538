//! Name normalisation: the same person written in another script, case, punctuation or order
//! becomes the same tokens.
//!
//! 1. Transliterate to ASCII (`any_ascii`: "Влади́мир Пу́тин" → "Vladimir Putin", "Müller" →
//!    "Muller"; combining accents vanish).
//! 2. Split into components by the one rule of [`crate::model::name`], which the document
//!    check uses too: spaces, hyphens and commas separate ("Jean-Pierre" → "jean", "pierre");
//!    every other character is ignored ("O'Brien" → "obrien", "S.i.d.o.r.o.v" → "sidorov");
//!    lower case.
//! 3. Sort and deduplicate the tokens, so "Putin Vladimir" and "Vladimir Putin" are equal.
//!
//! Phonetic keys are Double Metaphone (Philips 2000; `rphonetic`, 4-character codes), primary
//! and alternate, packed in a `u64` each so the index can store and compare them cheaply.

use rphonetic::DoubleMetaphone;

use crate::model::name::{classify, components, is_letter, NameChar};

/// The normalised tokens of a name, sorted, without duplicates: the name transliterated to
/// ASCII and split by the one rule every check uses ([`crate::model::name::components`]), in
/// lower case.
pub(crate) fn tokens(name: &str) -> Vec<String> {
    // Letters are transliterated one by one; anything else keeps its own class, so that a
    // symbol `any_ascii` spells out in letters (an emoji becomes `:grinning:`) is ignored as
    // the document check ignores it, not turned into part of the name.
    let mut ascii = String::with_capacity(name.len());
    for c in name.chars() {
        if is_letter(c) {
            ascii.push_str(any_ascii::any_ascii_char(c));
        } else if classify(c) == NameChar::Separator {
            ascii.push(' ');
        }
    }
    let mut out: Vec<String> = components(&ascii)
        .into_iter()
        .map(|t| t.to_ascii_lowercase())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A 4-character Double Metaphone code packed into a `u64` (0 for none).
pub(crate) type PhoneticCode = u64;

/// The token's Double Metaphone codes, primary and alternate (equal when the algorithm sees
/// one pronunciation). Tokens without letters have code 0, which matches nothing.
pub(crate) fn phonetic(token: &str) -> [PhoneticCode; 2] {
    if !token.bytes().any(|b| b.is_ascii_alphabetic()) {
        return [0, 0];
    }
    let result = DoubleMetaphone::default().double_metaphone(token);
    [pack(&result.primary()), pack(&result.alternate())]
}

/// Whether two tokens' codes share a non-empty code.
pub(crate) fn phonetic_agree(a: [PhoneticCode; 2], b: [PhoneticCode; 2]) -> bool {
    a.iter().any(|x| *x != 0 && b.contains(x))
}

/// Up to 7 ASCII bytes packed big-endian into the low bytes of a `u64`.
pub(crate) fn pack(s: &str) -> u64 {
    s.bytes()
        .take(7)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliteration_case_order() {
        assert_eq!(tokens("Влади́мир Пу́тин"), ["putin", "vladimir"]);
        assert_eq!(tokens("Putin, VLADIMIR"), ["putin", "vladimir"]);
        assert_eq!(tokens("Müller"), ["muller"]);
        assert_eq!(tokens("Jean-Pierre O'Brien"), ["jean", "obrien", "pierre"]);
        assert_eq!(
            tokens("Иван Петрович Сидоров"),
            ["ivan", "petrovich", "sidorov"]
        );
        assert_eq!(tokens("  ,;  "), Vec::<String>::new());
        assert_eq!(tokens("Ali Ali"), ["ali"]);
    }

    #[test]
    fn phonetic_codes() {
        // Spelling variants of one name sound alike.
        assert!(phonetic_agree(phonetic("mohammed"), phonetic("muhammad")));
        assert!(phonetic_agree(phonetic("sidorov"), phonetic("sydorov")));
        assert!(!phonetic_agree(phonetic("sidorov"), phonetic("petrov")));
        assert_eq!(phonetic("1961"), [0, 0]);
        assert!(!phonetic_agree([0, 0], [0, 0]));
    }
}
