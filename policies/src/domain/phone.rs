//! Phone numbers in E.164, the only form in which two notations of one number compare equal.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid phone number \"{given}\": {reason}")]
pub struct InvalidPhone {
    pub given: String,
    pub reason: String,
}

/// A valid phone number in E.164 form (`+494012345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses any local notation (`040/1047514`, `+49 (0)40 1015838`, `0151-1031676`); numbers
    /// without a country code are read in the organisation's default region (e.g. `DE`).
    pub fn parse(input: &str, default_region: &str) -> Result<Self, InvalidPhone> {
        let invalid = |reason: &str| InvalidPhone {
            given: input.to_string(),
            reason: reason.to_string(),
        };
        // "+49 (0)40 …" is the German way of writing an optional trunk prefix; libphonenumber
        // would read the 0 as part of the number.
        let cleaned = input.trim().replace("(0)", "");
        if cleaned.is_empty() {
            return Err(invalid("empty"));
        }
        let region = default_region
            .parse::<phonenumber::country::Id>()
            .map_err(|_| invalid(&format!("unknown default region {default_region}")))?;
        let number =
            phonenumber::parse(Some(region), &cleaned).map_err(|e| invalid(&e.to_string()))?;
        // libphonenumber's full validation knows only allocated number ranges and refuses real
        // numbers from the older, shorter German blocks; the length of the national number is
        // what tells an impossible number (`12345`) from a merely unusual one.
        let national_digits = number.national().value().to_string().len();
        if !phonenumber::is_valid(&number) && !(7..=13).contains(&national_digits) {
            return Err(invalid(
                "not a number that can exist (too short or too long)",
            ));
        }
        Ok(PhoneNumber(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Trusts that the text is already E.164, as stored by [`PhoneNumber::parse`].
    pub fn from_e164(stored: &str) -> Result<Self, InvalidPhone> {
        Self::parse(stored, "DE")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhone;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::from_e164(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> Self {
        p.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_local_notation_becomes_e164() {
        for (given, want) in [
            ("+49 (0)40 1015838", "+49401015838"),
            ("040/1047514", "+49401047514"),
            ("0151-1031676", "+491511031676"),
            ("+49 176 1055433", "+491761055433"),
            ("0176 2900560", "+491762900560"),
        ] {
            assert_eq!(
                PhoneNumber::parse(given, "DE").unwrap().as_str(),
                want,
                "{given}"
            );
        }
    }

    #[test]
    fn impossible_numbers_are_refused() {
        for bad in ["12345", "", "abc", "+49 1"] {
            assert!(PhoneNumber::parse(bad, "DE").is_err(), "accepted {bad:?}");
        }
    }
}
