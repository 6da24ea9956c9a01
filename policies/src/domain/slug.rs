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
}
