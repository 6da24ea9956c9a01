//! The certificate STARTTLS and implicit TLS present, read from files and read again on
//! request (`serve` does on SIGHUP, after certbot or an operator replaced the files).
//!
//! The TLS configuration is built once around [`CertificateFiles`] as its certificate
//! resolver, so every listener sharing it sees a replacement at the next handshake. A
//! handshake already done keeps the certificate it presented: open sessions are not touched.
//! The replacement is one atomic swap of certificate chain and key together, made only after
//! both files were read and the key found to belong to the certificate, so a failed reload
//! leaves the old pair in place whole.

use super::tls::{certified_key_from_pem, server_config_with, TlsSetupError};
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A certificate chain and key from two PEM files, swappable while the server runs.
#[derive(Debug)]
pub struct CertificateFiles {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl CertificateFiles {
    /// Reads both files; an error names what is wrong (see [`CertificateFiles::culprit`]).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>, TlsSetupError> {
        let key = read_pair(cert_path, key_path)?;
        Ok(Arc::new(CertificateFiles {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            current: ArcSwap::from_pointee(key),
        }))
    }

    /// A server configuration (TLS 1.2 and 1.3, no client certificates) that presents
    /// whatever pair is current at each handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsSetupError> {
        server_config_with(Arc::clone(self) as Arc<dyn ResolvesServerCert>)
    }

    /// Reads both files again and, if they make a usable pair, presents it from the next
    /// handshake on. On error the pair in use stays.
    pub fn reload(&self) -> Result<(), TlsSetupError> {
        let key = read_pair(&self.cert_path, &self.key_path)?;
        self.current.store(Arc::new(key));
        Ok(())
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// The file an error is about, for the operator's log line: the one that could not be
    /// read or parsed, or the key when it does not belong to the certificate.
    pub fn culprit<'a>(&'a self, error: &'a TlsSetupError) -> &'a Path {
        match error {
            TlsSetupError::Read { path, .. } => path,
            TlsSetupError::NoCertificate | TlsSetupError::CertificatePem(_) => &self.cert_path,
            TlsSetupError::PrivateKeyPem(_)
            | TlsSetupError::Rustls(_)
            | TlsSetupError::SelfSigned(_) => &self.key_path,
        }
    }

    /// The end-entity certificate presented now (DER).
    pub fn current_der(&self) -> Vec<u8> {
        self.current.load().cert[0].to_vec()
    }
}

impl ResolvesServerCert for CertificateFiles {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn read_pair(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsSetupError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsSetupError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    certified_key_from_pem(&read(cert_path)?, &read(key_path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::generate_self_signed;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec()
    }

    #[test]
    fn a_reload_swaps_the_pair_and_a_failed_one_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let (cert_a, key_a) = generate_self_signed(&["a.example".to_string()]).unwrap();
        let (cert_b, key_b) = generate_self_signed(&["b.example".to_string()]).unwrap();
        std::fs::write(&cert_path, &cert_a).unwrap();
        std::fs::write(&key_path, &key_a).unwrap();
        let files = CertificateFiles::load(&cert_path, &key_path).unwrap();
        assert!(files.server_config().is_ok());
        assert_eq!(files.current_der(), der(&cert_a));

        std::fs::write(&cert_path, &cert_b).unwrap();
        std::fs::write(&key_path, &key_b).unwrap();
        files.reload().unwrap();
        assert_eq!(files.current_der(), der(&cert_b));

        // A key of another certificate: refused, blamed on the key file, B stays.
        std::fs::write(&key_path, &key_a).unwrap();
        let mismatch = files.reload().unwrap_err();
        assert!(matches!(mismatch, TlsSetupError::Rustls(_)), "{mismatch}");
        assert_eq!(files.culprit(&mismatch), key_path);
        assert_eq!(files.current_der(), der(&cert_b));

        std::fs::write(&cert_path, "not a certificate").unwrap();
        let broken = files.reload().unwrap_err();
        assert_eq!(files.culprit(&broken), cert_path);
        std::fs::remove_file(&cert_path).unwrap();
        let missing = files.reload().unwrap_err();
        assert_eq!(files.culprit(&missing), cert_path);
        assert_eq!(files.current_der(), der(&cert_b));
    }
}
