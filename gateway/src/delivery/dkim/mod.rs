//! DKIM signatures on every outgoing copy (RFC 6376; Ed25519 per RFC 8463), made with
//! mail-auth: Ed25519 on ring, RSA on OpenSSL (see [`OpensslRsa`]). Each configured key adds
//! one `DKIM-Signature`, so an RSA and an Ed25519 key together give two signatures: receivers
//! that do not know Ed25519 yet check the RSA one.
//!
//! Keys are read at start from PEM files; a bad key stops the start rather than letting
//! unsigned mail out (fail closed). `serve` reads them again on SIGHUP and swaps the whole
//! signer (`current`) only when every key loaded; otherwise the old keys stay. Signing is CPU
//! work (about a millisecond for RSA-2048), so the delivery workers call
//! [`DkimSigner::sign_off_runtime`], which runs it on tokio's blocking pool instead of the
//! threads that drive the sockets.
//!
//! By concern: `current` holds the signer in use, `keys` reads key material from PEM,
//! `record` writes the DNS record that publishes a key, `signer` signs copies with the loaded
//! keys, `generate` makes and writes new keys, and `verify` checks signatures against given
//! records. The types they share, the algorithm and the error, are here.

mod current;
mod generate;
mod keys;
mod record;
mod signer;
#[cfg(test)]
mod test_keys;
mod verify;

pub use current::CurrentSigner;
pub use generate::{generate_key, write_key_file, GeneratedKey, GENERATED_RSA_BITS};
pub use keys::OpensslRsa;
pub use record::DnsRecord;
pub use signer::{DkimSigner, KeyFile, SIGNED_HEADERS};
pub use verify::{verify_with_records, Verdict};

use std::fmt;
use std::path::PathBuf;

/// Keys below this many bits are refused: RFC 8301 requires at least 1024, and receivers such
/// as Gmail treat 1024-bit keys as weak.
pub const MIN_RSA_BITS: usize = 2048;

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
