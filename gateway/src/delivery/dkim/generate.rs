//! Making a new key (`verteiler dkim generate`) and writing it to a file only its owner can
//! read.

use super::record::{is_dns_name, DnsRecord};
use super::signer::DkimSigner;
use super::{DkimAlgorithm, DkimError};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use std::path::Path;

/// Bits of the RSA keys `generate_key` makes.
pub const GENERATED_RSA_BITS: usize = 2048;

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
    let record = signer.records()[0].2.clone();
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

#[cfg(test)]
mod tests {
    use super::super::test_keys::{ed25519_key, rsa_key, DOMAIN};
    use super::super::KeyFile;
    use super::*;
    use std::path::PathBuf;

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
