//! The DNS TXT record that publishes a key's public half, and the DNS-name check for the
//! domain and selectors it is published under.

use super::DkimAlgorithm;
use base64::{engine::general_purpose::STANDARD, Engine as _};

/// The DNS TXT record that publishes one key's public half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// `selector._domainkey.domain`, without a final dot.
    pub name: String,
    /// `v=DKIM1; k=rsa; p=…`
    pub value: String,
}

impl DnsRecord {
    /// The value cut into strings of at most 255 characters: one TXT character-string cannot
    /// be longer (RFC 1035 3.3), and an RSA-2048 record is about 410 characters.
    pub fn strings(&self) -> Vec<&str> {
        // The value is ASCII (tags and base64), so byte chunks are character chunks.
        self.value
            .as_bytes()
            .chunks(255)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect()
    }

    /// The record as a line for a BIND-style zone file.
    pub fn zone_line(&self) -> String {
        let strings: Vec<String> = self.strings().iter().map(|s| format!("\"{s}\"")).collect();
        format!("{}. IN TXT ( {} )", self.name, strings.join(" "))
    }
}

/// The TXT record that publishes `public` as the key `selector` of `domain`.
pub(super) fn record(
    algorithm: DkimAlgorithm,
    selector: &str,
    domain: &str,
    public: &[u8],
) -> DnsRecord {
    DnsRecord {
        name: format!("{selector}._domainkey.{domain}"),
        value: format!(
            "v=DKIM1; k={}; p={}",
            algorithm.dns_name(),
            STANDARD.encode(public)
        ),
    }
}

/// Letters, digits and inner hyphens in dot-separated labels (selectors may have dots too,
/// RFC 6376 3.1).
pub(super) fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}
