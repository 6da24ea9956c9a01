//! The rules of what is kept and for how long: `limits.retention_days`,
//! `limits.refused_per_sender_per_hour`, `limits.drafts_per_member`, `privacy.hash_key_file`.

use super::Config;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Every broken rule as (dotted key, message).
pub(super) fn problems(c: &Config) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let retention = c.limits.retention_days;
    if retention > 36_500 {
        problems.push((
            "limits.retention_days",
            format!("{retention} must be 0 (keep messages for ever) or from 1 to 36500"),
        ));
    }
    let refused = c.limits.refused_per_sender_per_hour;
    if !(1..=1_000_000).contains(&refused) {
        problems.push((
            "limits.refused_per_sender_per_hour",
            format!("{refused} must be from 1 to 1000000"),
        ));
    }
    let drafts = c.limits.drafts_per_member;
    if !(1..=1_000).contains(&drafts) {
        problems.push((
            "limits.drafts_per_member",
            format!("{drafts} must be from 1 to 1000"),
        ));
    }
    if c.privacy.hash_key_file.as_os_str().is_empty() {
        problems.push(("privacy.hash_key_file", "must name a file".into()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_refusals_drafts_and_the_key_file_are_checked() {
        let mut c = Config::default();
        assert!(problems(&c).is_empty());
        c.limits.retention_days = 0;
        assert!(problems(&c).is_empty(), "0 keeps messages for ever");
        c.limits.retention_days = 36_501;
        c.limits.refused_per_sender_per_hour = 0;
        c.limits.drafts_per_member = 0;
        c.privacy.hash_key_file = "".into();
        let keys: Vec<&str> = problems(&c).into_iter().map(|(key, _)| key).collect();
        assert_eq!(
            keys,
            [
                "limits.retention_days",
                "limits.refused_per_sender_per_hour",
                "limits.drafts_per_member",
                "privacy.hash_key_file",
            ]
        );
    }

    #[test]
    fn a_bad_value_is_reported_with_its_key() {
        let errors = Config::from_toml_str("[limits]\ndrafts_per_member = 0\n").unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("limits.drafts_per_member"), "{text}");
    }
}

/// `[privacy]`: how the audit log keeps contact values out of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// The installation's key for the audit log's hashes of addresses and numbers: 32 random
    /// bytes, made (mode 0600) on the first start. Kept apart from the database, so a dump of
    /// it cannot turn the hashes back into phone numbers.
    pub hash_key_file: PathBuf,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            hash_key_file: PathBuf::from("./data/privacy.key"),
        }
    }
}
