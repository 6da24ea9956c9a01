//! Signing copies: the configured keys, each set up for mail-auth with the signed header
//! fields and relaxed canonicalisation, give one `DKIM-Signature` each.

use super::keys::{ed25519_key, rsa_key, OpensslRsa};
use super::record::{is_dns_name, record, DnsRecord};
use super::{DkimAlgorithm, DkimError};
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner as MailAuthSigner, Done};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The header fields every signature covers, in the order of issue 5: what a recipient sees
/// and what decides where replies and unsubscriptions go.
///
/// Each name is listed twice ("oversigning", RFC 6376 8.15): the signature then also covers the
/// absence of a further instance, so nobody on the way can add a second `From`, `Subject` or
/// `List-Unsubscribe` that a mail client would show or act on while the signature still
/// verifies. A field the copy lacks (`Reply-To` in sender-reply mode, `List-Unsubscribe-Post`
/// for statutory mail) is signed as absent the same way. The price: a mailing list downstream
/// that adds its own `List-Id` breaks our signature, which its other changes would do anyway.
pub const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Sender",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
];

/// One loaded key with its selector.
struct SigningKey {
    algorithm: DkimAlgorithm,
    selector: String,
    record: DnsRecord,
    signer: KeySigner,
}

enum KeySigner {
    Rsa(MailAuthSigner<OpensslRsa, Done>),
    Ed25519(MailAuthSigner<Ed25519Key, Done>),
}

/// Signs copies with every configured key for one signing domain (`d=`).
pub struct DkimSigner {
    domain: String,
    keys: Vec<SigningKey>,
}

impl fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{} {}", k.algorithm, k.selector))
            .collect();
        f.debug_struct("DkimSigner")
            .field("domain", &self.domain)
            .field("keys", &keys)
            .finish()
    }
}

/// Where one key comes from.
#[derive(Debug, Clone)]
pub struct KeyFile {
    pub algorithm: DkimAlgorithm,
    pub selector: String,
    pub path: PathBuf,
}

impl DkimSigner {
    /// Reads every key file; the first unusable one is the error, naming its file.
    pub fn load(domain: &str, keys: &[KeyFile]) -> Result<DkimSigner, DkimError> {
        let mut signer = DkimSigner::new(domain)?;
        for key in keys {
            signer.add_key_file(key)?;
        }
        if signer.keys.is_empty() {
            return Err(DkimError::NoKeys);
        }
        Ok(signer)
    }

    /// Reads and adds one key file.
    pub fn add_key_file(&mut self, key: &KeyFile) -> Result<(), DkimError> {
        let pem = std::fs::read(&key.path).map_err(|error| DkimError::Read {
            path: key.path.clone(),
            error,
        })?;
        self.add_key(key.algorithm, &key.selector, &pem, &key.path)
    }

    /// Whether no key was added yet.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A signer without keys yet; see [`DkimSigner::add_key`].
    pub fn new(domain: &str) -> Result<DkimSigner, DkimError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        if !is_dns_name(&domain) || !domain.contains('.') {
            return Err(DkimError::BadDomain { domain });
        }
        Ok(DkimSigner {
            domain,
            keys: Vec::new(),
        })
    }

    /// Adds a key from PEM text; `origin` names it in errors (usually its file).
    pub fn add_key(
        &mut self,
        algorithm: DkimAlgorithm,
        selector: &str,
        pem: &[u8],
        origin: &Path,
    ) -> Result<(), DkimError> {
        if !is_dns_name(selector) {
            return Err(DkimError::BadSelector {
                selector: selector.to_string(),
            });
        }
        let der = PrivateKeyDer::from_pem_slice(pem).map_err(|_| DkimError::NotPem {
            path: origin.to_path_buf(),
        })?;
        let (signer, public) = match algorithm {
            DkimAlgorithm::Rsa => {
                let (key, public) = rsa_key(der, origin)?;
                (
                    KeySigner::Rsa(configure(key, &self.domain, selector)),
                    public,
                )
            }
            DkimAlgorithm::Ed25519 => {
                let (key, public) = ed25519_key(der, origin)?;
                (
                    KeySigner::Ed25519(configure(key, &self.domain, selector)),
                    public,
                )
            }
        };
        self.keys.push(SigningKey {
            algorithm,
            selector: selector.to_string(),
            record: record(algorithm, selector, &self.domain, &public),
            signer,
        });
        Ok(())
    }

    /// The signing domain (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Algorithm, selector and DNS record of each key, in signing order.
    pub fn records(&self) -> Vec<(DkimAlgorithm, &str, &DnsRecord)> {
        self.keys
            .iter()
            .map(|k| (k.algorithm, k.selector.as_str(), &k.record))
            .collect()
    }

    /// The `DKIM-Signature` fields for `message` (CRLF line breaks), one per key.
    pub fn signature_fields(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        let mut fields = Vec::with_capacity(self.keys.len() * 600);
        for key in &self.keys {
            let signature = match &key.signer {
                KeySigner::Rsa(signer) => signer.sign(message),
                KeySigner::Ed25519(signer) => signer.sign(message),
            }
            .map_err(|e| DkimError::Sign(e.to_string()))?;
            signature.write_header(&mut fields);
        }
        Ok(fields)
    }

    /// `message` with its signatures on top.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        let mut signed = self.signature_fields(message)?;
        signed.extend_from_slice(message);
        Ok(signed)
    }

    /// [`DkimSigner::sign`] on tokio's blocking pool: an RSA signature takes about a
    /// millisecond of CPU, which on the runtime's own threads would hold up every socket that
    /// thread drives (SMTP sessions, relay connections, the portal).
    pub async fn sign_off_runtime(
        self: &Arc<Self>,
        message: Vec<u8>,
    ) -> Result<Vec<u8>, DkimError> {
        let signer = Arc::clone(self);
        tokio::task::spawn_blocking(move || signer.sign(&message))
            .await
            .map_err(|e| DkimError::Sign(format!("the signing task stopped: {e}")))?
    }
}

fn configure<K: mail_auth::common::crypto::SigningKey>(
    key: K,
    domain: &str,
    selector: &str,
) -> MailAuthSigner<K, Done> {
    let headers = SIGNED_HEADERS.iter().chain(SIGNED_HEADERS.iter()).copied();
    // Relaxed for both: relays that refold headers or trim trailing blanks keep it valid.
    // No `l=` body length: it would let anyone append text under our signature.
    MailAuthSigner::from_key(key)
        .domain(domain)
        .selector(selector)
        .headers(headers)
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::super::test_keys::{ed25519_key, rsa_key, signer, DOMAIN};
    use super::super::{generate_key, verify_with_records, GeneratedKey, Verdict};
    use super::*;
    use crate::delivery::copy::{build_copy, CopySpec, ReplyTo, ToHeader, Unsubscribe};

    /// A personal copy as the delivery engine builds it.
    fn copy() -> Vec<u8> {
        let original = b"From: Ole Brandt <ole.brandt@example.org>\r\n\
            To: oldenfelde@lists.example.org\r\nCc: someone@example.net\r\n\
            Subject: Einladung zur Mitgliederversammlung\r\n\
            Date: Mon, 30 Nov 2026 15:00:00 +0100\r\nMessage-ID: <orig@example.org>\r\n\
            MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
            Liebe Mitglieder,\r\nwir laden ein.\r\n";
        let spec = CopySpec {
            list_address: "oldenfelde@lists.example.org",
            list_name: "Distrikt Oldenfelde",
            list_id: "oldenfelde.lists.example.org",
            recipient: "anna@example.net",
            to: ToHeader::List,
            reply_to: ReplyTo::List,
            unsubscribe: Unsubscribe::OneClick("https://portal.example.org/unsubscribe/t1".into()),
            message_id: "d1.abcdefgh@lists.example.org",
            send_ref: "s1.1@lists.example.org",
            return_path: "bounce+t1@lists.example.org",
        };
        build_copy(original, &spec).unwrap()
    }

    fn replace(message: &[u8], from: &str, to: &str) -> Vec<u8> {
        let text = String::from_utf8(message.to_vec()).unwrap();
        assert!(text.contains(from), "{from} not in the message");
        text.replacen(from, to, 1).into_bytes()
    }

    async fn verdicts(message: &[u8], keys: &[&GeneratedKey]) -> Vec<Verdict> {
        let records: Vec<DnsRecord> = keys.iter().map(|k| k.record.clone()).collect();
        verify_with_records(message, &records).await
    }

    #[tokio::test]
    async fn an_rsa_signed_copy_verifies_and_covers_the_issue_headers() {
        let key = rsa_key();
        let signed = signer(&[(DkimAlgorithm::Rsa, "rsa1", key)])
            .sign(&copy())
            .unwrap();
        assert!(signed.starts_with(b"DKIM-Signature: "));
        let v = verdicts(&signed, &[key]).await;
        assert_eq!(v.len(), 1);
        assert!(v[0].passed(), "{v:?}");
        assert_eq!(
            (v[0].domain.as_str(), v[0].selector.as_str()),
            (DOMAIN, "rsa1")
        );
        for name in SIGNED_HEADERS {
            let name = name.to_ascii_lowercase();
            let count = v[0].signed_headers.iter().filter(|h| **h == name).count();
            // Once for the field, once more for the absence of a second one.
            assert!(
                count >= 2,
                "{name} signed {count} times: {:?}",
                v[0].signed_headers
            );
        }
    }

    #[tokio::test]
    async fn an_ed25519_signed_copy_verifies_and_two_keys_give_two_signatures() {
        let ed = ed25519_key();
        let rsa = rsa_key();
        let signed = signer(&[(DkimAlgorithm::Ed25519, "ed1", &ed)])
            .sign(&copy())
            .unwrap();
        let v = verdicts(&signed, &[&ed]).await;
        assert!(v.len() == 1 && v[0].passed(), "{v:?}");

        let both = signer(&[
            (DkimAlgorithm::Rsa, "rsa1", rsa),
            (DkimAlgorithm::Ed25519, "ed1", &ed),
        ]);
        let signed = both.sign(&copy()).unwrap();
        let v = verdicts(&signed, &[rsa, &ed]).await;
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().all(Verdict::passed), "{v:?}");
        let selectors: Vec<&str> = v.iter().map(|v| v.selector.as_str()).collect();
        assert!(selectors.contains(&"rsa1") && selectors.contains(&"ed1"));
    }

    #[tokio::test]
    async fn tampering_with_a_covered_header_or_the_body_fails_verification() {
        let key = rsa_key();
        let signed = signer(&[(DkimAlgorithm::Rsa, "rsa1", key)])
            .sign(&copy())
            .unwrap();
        let tampered = [
            replace(&signed, "Subject: Einladung", "Subject: Ausladung"),
            replace(&signed, "/unsubscribe/t1>", "/unsubscribe/t2>"),
            replace(&signed, "\r\nList-Unsubscribe-Post: ", "\r\nX-Removed: "),
            replace(&signed, "List-Id: \"Distrikt", "List-Id: \"District"),
            replace(&signed, "wir laden ein.", "wir laden aus."),
            // A second From on top: oversigning makes its mere presence break the signature.
            replace(&signed, "From: Ole", "From: ceo@example.org\r\nFrom: Ole"),
            // A second List-Unsubscribe above ours, pointing elsewhere.
            replace(
                &signed,
                "\r\nList-Unsubscribe: ",
                "\r\nList-Unsubscribe: <https://evil.example/u>\r\nList-Unsubscribe: ",
            ),
        ];
        for message in &tampered {
            let v = verdicts(message, &[key]).await;
            assert!(
                v.len() == 1 && !v[0].passed(),
                "still verifies: {v:?}\n{}",
                String::from_utf8_lossy(message)
            );
        }
        // Headers outside the list may change: a relay adding Received must not break it.
        let relayed = [b"Received: from relay\r\n".as_slice(), &signed].concat();
        assert!(verdicts(&relayed, &[key]).await[0].passed());
    }

    #[tokio::test]
    async fn a_signature_does_not_verify_against_another_key() {
        let ed = ed25519_key();
        let other = generate_key(DkimAlgorithm::Ed25519, "ed1", DOMAIN).unwrap();
        let signed = signer(&[(DkimAlgorithm::Ed25519, "ed1", &ed)])
            .sign(&copy())
            .unwrap();
        let v = verdicts(&signed, &[&other]).await;
        assert!(v.len() == 1 && !v[0].passed(), "{v:?}");
        // No record at all: the look-up fails without asking DNS.
        let v = verdicts(&signed, &[]).await;
        assert!(v.len() == 1 && !v[0].passed(), "{v:?}");
    }

    #[tokio::test]
    async fn signing_off_the_runtime_gives_the_same_verifiable_copy() {
        let ed = ed25519_key();
        let signer = Arc::new(signer(&[(DkimAlgorithm::Ed25519, "ed1", &ed)]));
        let signed = signer.sign_off_runtime(copy()).await.unwrap();
        assert!(verdicts(&signed, &[&ed]).await[0].passed());
    }
}
