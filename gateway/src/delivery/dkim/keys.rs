//! Reading a configured private key: the signing key for mail-auth and the public half for
//! the DNS record, or an error naming the file and, for a key of the other algorithm, what it
//! holds.

use super::{DkimAlgorithm, DkimError, MIN_RSA_BITS};
use mail_auth::common::crypto::{Algorithm, CryptoError, Ed25519Key, Sha256};
use mail_auth::common::headers::Writable;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rustls_pki_types::PrivateKeyDer;
use std::path::Path;

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
pub(super) fn rsa_key(
    der: PrivateKeyDer<'_>,
    path: &Path,
) -> Result<(OpensslRsa, Vec<u8>), DkimError> {
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
pub(super) fn ed25519_key(
    der: PrivateKeyDer<'_>,
    path: &Path,
) -> Result<(Ed25519Key, Vec<u8>), DkimError> {
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

#[cfg(test)]
mod tests {
    use super::super::test_keys::{ed25519_key, rsa_key, DOMAIN};
    use super::super::{DkimSigner, KeyFile};
    use super::*;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

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
}
