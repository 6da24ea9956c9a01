//! TLS for STARTTLS and implicit-TLS listeners: loading a certificate and key from PEM, and
//! a self-signed certificate for `serve --demo`. The `ring` provider is passed explicitly
//! instead of relying on rustls' process-wide default, which panics when two providers end
//! up compiled into one binary.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ResolvesServerCert;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a TLS configuration could not be built; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no PEM certificate found in the certificate file")]
    NoCertificate,
    #[error("the certificate file is not valid PEM")]
    CertificatePem(#[source] rustls::pki_types::pem::Error),
    #[error("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM) in the key file")]
    PrivateKeyPem(#[source] rustls::pki_types::pem::Error),
    #[error("certificate and key do not make a TLS configuration")]
    Rustls(#[from] rustls::Error),
    #[error("generating a self-signed certificate")]
    SelfSigned(#[from] rcgen::Error),
}

/// Loads a server configuration from a PEM certificate chain (leaf first) and a PEM key.
pub fn load_tls_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsSetupError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    tls_config_from_pem(&read(cert_path)?, &read(key_path)?)
}

/// Builds a server configuration from PEM bytes (TLS 1.2 and 1.3, no client certificates).
pub fn tls_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let key = certified_key_from_pem(cert_pem, key_pem)?;
    server_config_with(Arc::new(SingleCertAndKey::from(key)))
}

/// A certificate chain (leaf first) with its key, refused when the key is not the
/// certificate's.
pub(crate) fn certified_key_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<CertifiedKey, TlsSetupError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(TlsSetupError::CertificatePem)?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(TlsSetupError::PrivateKeyPem)?;
    Ok(CertifiedKey::from_der(certs, key, &provider())?)
}

/// The server configuration every listener uses, presenting what `certificates` resolves.
pub(crate) fn server_config_with(
    certificates: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(certificates);
    Ok(Arc::new(config))
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// A fresh self-signed certificate for `hostnames` (the first also being the common name),
/// as `(cert_pem, key_pem)`. For the demo and tests only: mail clients will ask the person
/// to accept it.
pub fn generate_self_signed(hostnames: &[String]) -> Result<(String, String), TlsSetupError> {
    let certified = rcgen::generate_simple_self_signed(hostnames.to_vec())?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_makes_a_server_config() {
        let (cert, key) = generate_self_signed(&["localhost".to_string()]).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(tls_config_from_pem(cert.as_bytes(), key.as_bytes()).is_ok());
    }

    #[test]
    fn files_are_read_and_errors_name_the_problem() {
        let dir = std::env::temp_dir().join(format!("verteiler-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = generate_self_signed(&["mail.example".to_string()]).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, &cert).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        assert!(load_tls_config(&cert_path, &key_path).is_ok());

        let missing = load_tls_config(&dir.join("nope.pem"), &key_path).unwrap_err();
        assert!(matches!(missing, TlsSetupError::Read { .. }), "{missing}");
        let swapped = tls_config_from_pem(key.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(matches!(swapped, TlsSetupError::NoCertificate), "{swapped}");
        let no_key = tls_config_from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(
            matches!(no_key, TlsSetupError::PrivateKeyPem(_)),
            "{no_key}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
