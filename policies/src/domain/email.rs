//! A syntactically valid email address, normalised for comparison.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address \"{given}\": {reason}")]
pub struct InvalidEmail {
    pub given: String,
    pub reason: String,
}

/// An address such as `anna@example.org`. The domain is lower-cased (domains are
/// case-insensitive); the local part is kept as given, since RFC 5321 lets servers treat it as
/// case-sensitive, but [`EmailAddress::key`] gives a lower-cased form for uniqueness checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let trimmed = input.trim();
        let invalid = |reason: &str| InvalidEmail {
            given: input.to_string(),
            reason: reason.to_string(),
        };
        if trimmed.is_empty() {
            return Err(invalid("empty"));
        }
        // Display names, comments and quoted local parts are legal in RFC 5322 but never belong
        // in a member directory; refusing them keeps header injection out of every later step.
        if trimmed.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        }) {
            return Err(invalid("contains spaces, quotes, brackets or separators"));
        }
        let opts = email_address::Options::default().without_display_text();
        let parsed = email_address::EmailAddress::parse_with_options(trimmed, opts)
            .map_err(|e| invalid(&e.to_string()))?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        if !domain.contains('.') || domain.starts_with('[') {
            return Err(invalid("the domain must be a name with a dot"));
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The form used for uniqueness and look-ups: the whole address lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl FromStr for EmailAddress {
    type Err = InvalidEmail;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        let e = EmailAddress::parse(" Anna.Schulz@Example.ORG ").unwrap();
        assert_eq!(e.as_str(), "Anna.Schulz@example.org");
        assert_eq!(e.key(), "anna.schulz@example.org");
        assert_eq!(e.domain(), "example.org");
    }

    #[test]
    fn rejects_the_broken_addresses_of_real_exports() {
        for bad in [
            "kaputt@@example.de",
            "max.mustermann@",
            "@example.de",
            "",
            "no-at-sign",
            "a@localhost",
            "Anna <anna@example.org>",
            "a@example.org\r\nBcc: x@evil.test",
            "a b@example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
