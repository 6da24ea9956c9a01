//! Checking the DKIM signatures of a message against given DNS records instead of DNS.

use super::record::DnsRecord;

/// The result of checking one `DKIM-Signature` of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `d=` and `s=` of the signature, when it could be parsed.
    pub domain: String,
    pub selector: String,
    /// `pass`, or why not.
    pub result: String,
    /// The `h=` list, lower-cased.
    pub signed_headers: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.result == "pass"
    }
}

/// Checks every DKIM signature of `message` with mail-auth's verifier against `records`
/// instead of DNS (for tests and for checking a key before publishing it). A selector not in
/// `records` fails the lookup; nothing is asked of any name server.
pub async fn verify_with_records(message: &[u8], records: &[DnsRecord]) -> Vec<Verdict> {
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
    use mail_auth::{AuthenticatedMessage, MessageAuthenticator, Parameters};

    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        return Vec::new();
    };
    let cache = RecordCache::default();
    for record in records {
        let key: mail_auth::Txt = DomainKey::parse(record.value.as_bytes()).into();
        cache.0.lock().unwrap_or_else(|e| e.into_inner()).insert(
            format!("{}.", record.name.to_ascii_lowercase()).into_boxed_str(),
            key,
        );
    }
    // No name servers at all: a record missing from the cache is a failed look-up, never a
    // query leaving the machine.
    let Ok(authenticator) = MessageAuthenticator::new(
        ResolverConfig::from_parts(None, vec![], vec![]),
        ResolverOpts::default(),
    ) else {
        return Vec::new();
    };
    authenticator
        .verify_dkim(Parameters::new(&parsed).with_txt_cache(&cache))
        .await
        .iter()
        .map(|output| Verdict {
            domain: output.signature().map(|s| s.d.clone()).unwrap_or_default(),
            selector: output.signature().map(|s| s.s.clone()).unwrap_or_default(),
            result: match output.result() {
                mail_auth::DkimResult::Pass => "pass".to_string(),
                other => format!("{other:?}"),
            },
            signed_headers: output
                .signature()
                .map(|s| s.h.iter().map(|h| h.to_ascii_lowercase()).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// The TXT records [`verify_with_records`] hands to mail-auth in place of DNS answers.
#[derive(Default)]
struct RecordCache(std::sync::Mutex<std::collections::HashMap<Box<str>, mail_auth::Txt>>);

impl mail_auth::ResolverCache<Box<str>, mail_auth::Txt> for RecordCache {
    fn get<Q>(&self, key: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn remove<Q>(&self, key: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key)
    }

    fn insert(&self, key: Box<str>, value: mail_auth::Txt, _valid_until: std::time::Instant) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, value);
    }
}
