//! DKIM signatures on every outgoing copy (RFC 6376; Ed25519 per RFC 8463), made with
//! mail-auth: Ed25519 on ring, RSA on OpenSSL (see [`OpensslRsa`]). Each configured key adds
//! one `DKIM-Signature`, so an RSA and an Ed25519 key together give two signatures: receivers
//! that do not know Ed25519 yet check the RSA one.
//!
//! Keys are read once at start from PEM files; a bad key stops the start rather than letting
//! unsigned mail out (fail closed). Signing is CPU work (about a millisecond for RSA-2048), so
//! the delivery workers call [`DkimSigner::sign_off_runtime`], which runs it on tokio's blocking
//! pool instead of the threads that drive the sockets.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use mail_auth::common::crypto::{Algorithm, CryptoError, Ed25519Key, Sha256};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner as MailAuthSigner, Done};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
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

/// Keys below this many bits are refused: RFC 8301 requires at least 1024, and receivers such
/// as Gmail treat 1024-bit keys as weak.
pub const MIN_RSA_BITS: usize = 2048;
/// Bits of the RSA keys `generate_key` makes.
pub const GENERATED_RSA_BITS: usize = 2048;

/// The two signature algorithms in use for DKIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    /// `rsa-sha256`, understood by every receiver.
    Rsa,
    /// `ed25519-sha256` (RFC 8463): small keys and fast signing, not yet checked everywhere.
    Ed25519,
}

impl DkimAlgorithm {
    /// The `k=` tag of the DNS record.
    pub fn dns_name(self) -> &'static str {
        match self {
            DkimAlgorithm::Rsa => "rsa",
            DkimAlgorithm::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for DkimAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DkimAlgorithm::Rsa => "RSA",
            DkimAlgorithm::Ed25519 => "Ed25519",
        })
    }
}

/// Why a key cannot be used or a copy not signed. Key errors name the file; none carries key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("cannot read the DKIM key file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} holds no PEM private key (expected \"-----BEGIN PRIVATE KEY-----\", PKCS#8, or for RSA also \"-----BEGIN RSA PRIVATE KEY-----\", PKCS#1)")]
    NotPem { path: PathBuf },
    #[error("{path} holds {found}, not the {expected} key this setting is for")]
    WrongKind {
        path: PathBuf,
        expected: DkimAlgorithm,
        found: String,
    },
    #[error("{path} holds a {bits}-bit RSA key; DKIM keys must have at least {MIN_RSA_BITS} bits (make one with `verteiler dkim generate`)")]
    TooSmall { path: PathBuf, bits: usize },
    #[error("{path} is not a usable {algorithm} private key: {reason}")]
    Invalid {
        path: PathBuf,
        algorithm: DkimAlgorithm,
        reason: String,
    },
    #[error("the DKIM selector {selector:?} is not a DNS name (letters, digits, hyphens, dots)")]
    BadSelector { selector: String },
    #[error("the DKIM domain {domain:?} is not a DNS name")]
    BadDomain { domain: String },
    #[error("no DKIM key configured")]
    NoKeys,
    #[error("{path} already exists; refusing to overwrite a key (move it away or choose --out)")]
    Exists { path: PathBuf },
    #[error("cannot write the DKIM key file {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("generating a {algorithm} key failed: {reason}")]
    Generate {
        algorithm: DkimAlgorithm,
        reason: String,
    },
    #[error("DKIM signing failed: {0}")]
    Sign(String),
}

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

/// RSA-SHA256 (PKCS#1 v1.5) signatures through OpenSSL. RSA is most of what a signed copy
/// costs, and OpenSSL's RSA uses the wide multiply instructions of current CPUs: on the 2-core
/// benchmark machine `openssl speed rsa2048` gives about 4,800 signatures a second per core,
/// where ring managed about 1,400 (734 µs per signed copy in `cargo bench -p
/// verteiler-gateway --bench dkim`). PKCS#1 v1.5 is deterministic, so the signature is the
/// same bytes as ring's; the tests verify it with mail-auth's own verifier.
pub struct OpensslRsa {
    key: openssl::pkey::PKey<openssl::pkey::Private>,
}

impl OpensslRsa {
    fn from_der(der: &PrivateKeyDer<'_>) -> Result<OpensslRsa, String> {
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        let key = match der {
            PrivateKeyDer::Pkcs1(pkcs1) => {
                Rsa::private_key_from_der(pkcs1.secret_pkcs1_der()).and_then(PKey::from_rsa)
            }
            PrivateKeyDer::Pkcs8(pkcs8) => PKey::private_key_from_der(pkcs8.secret_pkcs8_der()),
            _ => return Err("not PKCS#1 or PKCS#8".into()),
        };
        key.map(|key| OpensslRsa { key }).map_err(|e| e.to_string())
    }
}

impl mail_auth::common::crypto::SigningKey for OpensslRsa {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        let mut data = Vec::with_capacity(512);
        input.write(&mut data);
        let library = |e: openssl::error::ErrorStack| {
            mail_auth::Error::Crypto(CryptoError::Library(e.to_string()))
        };
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.key)
                .map_err(library)?;
        signer.sign_oneshot_to_vec(&data).map_err(library)
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::RsaSha256
    }
}

/// The RSA signing key and its public half as SubjectPublicKeyInfo (DER).
fn rsa_key(der: PrivateKeyDer<'_>, path: &Path) -> Result<(OpensslRsa, Vec<u8>), DkimError> {
    let parsed = match &der {
        PrivateKeyDer::Pkcs1(pkcs1) => {
            rsa::RsaPrivateKey::from_pkcs1_der(pkcs1.secret_pkcs1_der()).map_err(|e| e.to_string())
        }
        PrivateKeyDer::Pkcs8(pkcs8) => {
            rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.secret_pkcs8_der()).map_err(|e| e.to_string())
        }
        _ => Err("not PKCS#1 or PKCS#8".to_string()),
    };
    let private = match parsed {
        Ok(private) => private,
        Err(reason) => {
            return Err(match other_kind(&der, DkimAlgorithm::Rsa) {
                Some(found) => DkimError::WrongKind {
                    path: path.to_path_buf(),
                    expected: DkimAlgorithm::Rsa,
                    found,
                },
                None => DkimError::Invalid {
                    path: path.to_path_buf(),
                    algorithm: DkimAlgorithm::Rsa,
                    reason,
                },
            })
        }
    };
    let bits = rsa::traits::PublicKeyParts::n(&private).bits();
    if bits < MIN_RSA_BITS {
        return Err(DkimError::TooSmall {
            path: path.to_path_buf(),
            bits,
        });
    }
    let public = rsa::RsaPublicKey::from(&private)
        .to_public_key_der()
        .map_err(|e| DkimError::Invalid {
            path: path.to_path_buf(),
            algorithm: DkimAlgorithm::Rsa,
            reason: e.to_string(),
        })?;
    let key = OpensslRsa::from_der(&der).map_err(|reason| DkimError::Invalid {
        path: path.to_path_buf(),
        algorithm: DkimAlgorithm::Rsa,
        reason,
    })?;
    Ok((key, public.as_bytes().to_vec()))
}

/// The Ed25519 signing key and its raw 32-byte public key (RFC 8463 publishes it as is).
fn ed25519_key(der: PrivateKeyDer<'_>, path: &Path) -> Result<(Ed25519Key, Vec<u8>), DkimError> {
    let invalid = |reason: String| match other_kind(&der, DkimAlgorithm::Ed25519) {
        Some(found) => DkimError::WrongKind {
            path: path.to_path_buf(),
            expected: DkimAlgorithm::Ed25519,
            found,
        },
        None => DkimError::Invalid {
            path: path.to_path_buf(),
            algorithm: DkimAlgorithm::Ed25519,
            reason,
        },
    };
    let PrivateKeyDer::Pkcs8(pkcs8) = &der else {
        return Err(invalid("Ed25519 keys come as PKCS#8 only".into()));
    };
    // "Maybe unchecked" accepts PKCS#8 v1 without the public key, which is what
    // `openssl genpkey -algorithm ed25519` writes.
    let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(pkcs8.secret_pkcs8_der())
        .map_err(|e| invalid(e.to_string()))?;
    let public = key.public_key();
    Ok((key, public))
}

/// What else `der` is, when it is not the key the setting expects: for the error message.
fn other_kind(der: &PrivateKeyDer<'_>, expected: DkimAlgorithm) -> Option<String> {
    match (der, expected) {
        (PrivateKeyDer::Sec1(_), _) => Some("an EC (SEC1) key".into()),
        (PrivateKeyDer::Pkcs1(_), DkimAlgorithm::Ed25519) => Some("an RSA key".into()),
        (PrivateKeyDer::Pkcs8(pkcs8), DkimAlgorithm::Ed25519) => {
            rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.secret_pkcs8_der())
                .is_ok()
                .then(|| "an RSA key".into())
        }
        (PrivateKeyDer::Pkcs8(pkcs8), DkimAlgorithm::Rsa) => {
            ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8.secret_pkcs8_der())
                .is_ok()
                .then(|| "an Ed25519 key".into())
        }
        _ => None,
    }
}

fn record(algorithm: DkimAlgorithm, selector: &str, domain: &str, public: &[u8]) -> DnsRecord {
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
fn is_dns_name(name: &str) -> bool {
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

/// A new private key and the DNS record for it.
pub struct GeneratedKey {
    /// PKCS#8 PEM. Secret: write it with [`write_key_file`], never log it.
    pub pem: String,
    pub record: DnsRecord,
}

/// Makes a new key for `selector._domainkey.domain`: RSA with 2048 bits, or Ed25519.
pub fn generate_key(
    algorithm: DkimAlgorithm,
    selector: &str,
    domain: &str,
) -> Result<GeneratedKey, DkimError> {
    if !is_dns_name(selector) {
        return Err(DkimError::BadSelector {
            selector: selector.to_string(),
        });
    }
    let failed = |reason: String| DkimError::Generate { algorithm, reason };
    let pem = match algorithm {
        DkimAlgorithm::Rsa => {
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, GENERATED_RSA_BITS)
                .map_err(|e| failed(e.to_string()))?;
            key.to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| failed(e.to_string()))?
                .to_string()
        }
        DkimAlgorithm::Ed25519 => {
            let rng = ring::rand::SystemRandom::new();
            let der = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|e| failed(e.to_string()))?;
            pem_encode("PRIVATE KEY", der.as_ref())
        }
    };
    // Load what was made through the same path as a configured key, so the printed record
    // is exactly what the signer will use.
    let mut signer = DkimSigner::new(domain)?;
    signer.add_key(
        algorithm,
        selector,
        pem.as_bytes(),
        Path::new("the new key"),
    )?;
    let record = signer.keys.remove(0).record;
    Ok(GeneratedKey { pem, record })
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// Writes a private key readable by its owner only, never replacing an existing file: a key
/// overwritten by mistake takes the published DNS record with it.
pub fn write_key_file(path: &Path, pem: &str) -> Result<(), DkimError> {
    use std::io::Write;
    let write_error = |error| DkimError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            DkimError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            write_error(error)
        }
    })?;
    file.write_all(pem.as_bytes()).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::copy::{build_copy, CopySpec, ReplyTo, ToHeader, Unsubscribe};
    use std::sync::OnceLock;

    const DOMAIN: &str = "lists.example.org";

    /// One RSA-2048 key for all tests: generating one takes a while in a debug build.
    fn rsa_key() -> &'static GeneratedKey {
        static KEY: OnceLock<GeneratedKey> = OnceLock::new();
        KEY.get_or_init(|| generate_key(DkimAlgorithm::Rsa, "rsa1", DOMAIN).unwrap())
    }

    fn ed25519_key() -> GeneratedKey {
        generate_key(DkimAlgorithm::Ed25519, "ed1", DOMAIN).unwrap()
    }

    fn signer(keys: &[(DkimAlgorithm, &str, &GeneratedKey)]) -> DkimSigner {
        let mut signer = DkimSigner::new(DOMAIN).unwrap();
        for (algorithm, selector, key) in keys {
            signer
                .add_key(
                    *algorithm,
                    selector,
                    key.pem.as_bytes(),
                    Path::new("test.pem"),
                )
                .unwrap();
        }
        signer
    }

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

    fn add(algorithm: DkimAlgorithm, pem: &[u8]) -> Result<(), DkimError> {
        DkimSigner::new(DOMAIN)
            .unwrap()
            .add_key(algorithm, "s1", pem, Path::new("/etc/k.pem"))
    }

    #[test]
    fn small_foreign_and_garbled_keys_are_refused_with_the_file_named() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let small_pem = small.to_pkcs8_pem(LineEnding::LF).unwrap();
        let e = add(DkimAlgorithm::Rsa, small_pem.as_bytes()).unwrap_err();
        assert!(matches!(e, DkimError::TooSmall { bits: 1024, .. }), "{e}");
        assert!(e.to_string().contains("/etc/k.pem") && e.to_string().contains("2048"));

        let ed = ed25519_key();
        let e = add(DkimAlgorithm::Rsa, ed.pem.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("holds an Ed25519 key"), "{e}");
        let e = add(DkimAlgorithm::Ed25519, rsa_key().pem.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("holds an RSA key"), "{e}");

        let e = add(DkimAlgorithm::Rsa, b"not a key").unwrap_err();
        assert!(matches!(e, DkimError::NotPem { .. }), "{e}");
        let garbled = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = add(DkimAlgorithm::Rsa, garbled.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("/etc/k.pem"), "{e}");

        // PKCS#1 ("RSA PRIVATE KEY", as older tools write) is accepted for RSA.
        let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(&rsa_key().pem).unwrap();
        let pkcs1 = rsa.to_pkcs1_pem(LineEnding::LF).unwrap();
        add(DkimAlgorithm::Rsa, pkcs1.as_bytes()).unwrap();

        let e = DkimSigner::new(DOMAIN)
            .unwrap()
            .add_key(
                DkimAlgorithm::Ed25519,
                "bad selector",
                ed.pem.as_bytes(),
                Path::new("x"),
            )
            .unwrap_err();
        assert!(matches!(e, DkimError::BadSelector { .. }), "{e}");
        let e = DkimSigner::load(
            DOMAIN,
            &[KeyFile {
                algorithm: DkimAlgorithm::Ed25519,
                selector: "s".into(),
                path: "/nonexistent/dkim.pem".into(),
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/dkim.pem"), "{e}");
    }

    #[test]
    fn generated_records_fit_zone_files_and_key_files_are_private_and_kept() {
        let rsa = rsa_key();
        assert_eq!(rsa.record.name, "rsa1._domainkey.lists.example.org");
        assert!(
            rsa.record.value.starts_with("v=DKIM1; k=rsa; p=MIIB"),
            "{:?}",
            rsa.record
        );
        let strings = rsa.record.strings();
        assert!(strings.len() >= 2 && strings.iter().all(|s| s.len() <= 255));
        assert_eq!(strings.concat(), rsa.record.value);
        assert!(rsa
            .record
            .zone_line()
            .starts_with("rsa1._domainkey.lists.example.org. IN TXT ( \""));
        let ed = ed25519_key();
        assert!(ed.record.value.starts_with("v=DKIM1; k=ed25519; p="));
        assert_eq!(ed.record.strings().len(), 1);

        let dir = tempfile_dir();
        let path = dir.join("key.pem");
        write_key_file(&path, &ed.pem).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = write_key_file(&path, &rsa.pem).unwrap_err();
        assert!(matches!(e, DkimError::Exists { .. }), "{e}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            ed.pem,
            "kept as it was"
        );
        let loaded = DkimSigner::load(
            DOMAIN,
            &[KeyFile {
                algorithm: DkimAlgorithm::Ed25519,
                selector: "ed1".into(),
                path: path.clone(),
            }],
        )
        .unwrap();
        assert_eq!(loaded.records()[0].2, &ed.record);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "verteiler-dkim-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
