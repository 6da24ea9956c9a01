//! The fingerprint of a submitted message, written as 64 lower-case hex digits.
//!
//! An approval names the content hash it approved; a message changed after approval has another
//! hash, so the old approval no longer counts (the unapproved-post incident of `ARCHITECTURE.md`).
//! This crate never computes the hash (that would tie it to one digest crate and to the raw
//! bytes); the store hashes the canonical message once and hands the result in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid content hash \"{0}\": expected 64 hex digits")]
pub struct InvalidContentHash(pub String);

/// A 32-byte digest (SHA-256 in the store) of one message's content.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        ContentHash(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn parse(input: &str) -> Result<Self, InvalidContentHash> {
        let s = input.trim();
        let invalid = || InvalidContentHash(input.to_string());
        if s.len() != 64 || !s.is_ascii() {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
        }
        Ok(ContentHash(bytes))
    }

    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl FromStr for ContentHash {
    type Err = InvalidContentHash;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ContentHash {
    type Error = InvalidContentHash;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ContentHash> for String {
    fn from(h: ContentHash) -> Self {
        h.to_string()
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

// Debug shows the short form people compare by eye in logs and test failures.
impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_string();
        write!(f, "ContentHash({}…)", &hex[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_upper_case_is_accepted() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let hash = ContentHash::from_bytes(bytes);
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(hex.starts_with("ab00"));
        assert!(hex.ends_with("01"));
        assert_eq!(ContentHash::parse(&hex).unwrap(), hash);
        assert_eq!(ContentHash::parse(&hex.to_uppercase()).unwrap(), hash);
    }

    #[test]
    fn wrong_lengths_and_non_hex_are_refused() {
        for bad in [
            "",
            "ab",
            &"g".repeat(64),
            &"a".repeat(63),
            &"a".repeat(65),
            &"ä".repeat(32),
        ] {
            assert!(ContentHash::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
