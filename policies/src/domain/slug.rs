//! The local part of a list address: `oldenfelde` in `oldenfelde@lists.example.org`.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid audience slug \"{0}\": use 2 to 64 lower-case letters, digits and single hyphens")]
pub struct InvalidSlug(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AudienceSlug(String);

impl AudienceSlug {
    pub fn parse(input: &str) -> Result<Self, InvalidSlug> {
        let s = input.trim().to_ascii_lowercase();
        let ok = (2..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(AudienceSlug(s))
        } else {
            Err(InvalidSlug(input.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name as the words of a slug: lower case, German umlauts and ß spelled out (`ä` → `ae`,
/// `ß` → `ss`, as Germans write them where umlauts cannot go), every other letter in its closest
/// ASCII form (`Ł` → `l`, `ç` → `c`, Cyrillic and Greek transliterated), and every run of other
/// characters one hyphen, none at either end: `Distrikt Groß Borstel` → `distrikt-gross-borstel`.
/// The result may still be too short or too long for a slug; [`AudienceSlug::parse`] decides.
pub fn slug_words(name: &str) -> String {
    let mut spelled = String::with_capacity(name.len());
    for ch in name.chars() {
        match ch {
            'ä' | 'Ä' => spelled.push_str("ae"),
            'ö' | 'Ö' => spelled.push_str("oe"),
            'ü' | 'Ü' => spelled.push_str("ue"),
            'ß' | 'ẞ' => spelled.push_str("ss"),
            _ => spelled.push(ch),
        }
    }
    let ascii = deunicode::deunicode(&spelled).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for b in ascii.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

impl TryFrom<String> for AudienceSlug {
    type Error = InvalidSlug;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AudienceSlug> for String {
    fn from(s: AudienceSlug) -> Self {
        s.0
    }
}

impl fmt::Display for AudienceSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_with_hyphens() {
        assert_eq!(
            AudienceSlug::parse("HH-WA-OLD").unwrap().as_str(),
            "hh-wa-old"
        );
        for bad in ["a", "-x", "x-", "a--b", "a_b", "ä-b", "a b"] {
            assert!(AudienceSlug::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn names_become_slug_words_the_way_germans_spell_them_without_umlauts() {
        assert_eq!(
            slug_words("Distrikt Groß Borstel"),
            "distrikt-gross-borstel"
        );
        assert_eq!(slug_words("Kreis Eimsbüttel"), "kreis-eimsbuettel");
        assert_eq!(slug_words("ÖKO – Äcker & Übersee"), "oeko-aecker-uebersee");
        assert_eq!(slug_words("Łukasz Çelik-Nowak"), "lukasz-celik-nowak");
        assert_eq!(slug_words("  HH-WA-OLD  "), "hh-wa-old");
        assert_eq!(slug_words("Москва"), "moskva");
        assert_eq!(slug_words("--AG 60 plus!--"), "ag-60-plus");
        assert_eq!(slug_words("!!!"), "");
        assert!(AudienceSlug::parse(&slug_words("AG 60 plus Hamburg")).is_ok());
    }
}
