//! Keyed hashes of contact values, for the audit log.
//!
//! The audit log is kept for good and cannot be rewritten (its entries are hash-chained), so it
//! must not hold what a member may ask to have erased: an email address, a phone number or a
//! postal address appears there only as HMAC-SHA256 under a key of the installation. The key
//! lives in a file beside the database, never in it: a copy of the database alone cannot turn
//! the hashes back into values by trying every phone number (there are few enough for that
//! with a plain hash). An admin who holds the key can still ask "which entries are about this
//! address?" by hashing the address ([`PrivacyKey::contact_hash`]).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use verteiler_policies::{EmailAddress, PhoneNumber};

/// Bytes of a key: the HMAC's block is larger, but 256 random bits cannot be guessed.
pub const PRIVACY_KEY_BYTES: usize = 32;

/// The installation's secret for keyed hashes. `Debug` never shows it.
#[derive(Clone)]
pub struct PrivacyKey(Arc<[u8; PRIVACY_KEY_BYTES]>);

impl std::fmt::Debug for PrivacyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivacyKey(<secret>)")
    }
}

/// Why the key file cannot be used. Each names the file; the caller adds the configuration
/// key that named it.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyKeyError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the key file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} holds {found} bytes, not {PRIVACY_KEY_BYTES}: it is not a key this \
         program wrote (restore the right file; a new key makes earlier audit hashes unsearchable)"
    )]
    Length { path: PathBuf, found: usize },
    #[error(
        "the key file {path} can be read by other users (mode {mode:o}): `chmod 600` it, so only \
         the service's user can"
    )]
    Readable { path: PathBuf, mode: u32 },
    #[error(
        "the key file {path} is missing, but this database's audit log was hashed with a key: \
         restore the file (every instance and command on this database needs the same one)"
    )]
    Missing { path: PathBuf },
    #[error(
        "the key file {path} is not the key this database's audit log was hashed with: use the \
         file the service uses (every instance and command on this database needs the same one)"
    )]
    Mismatch { path: PathBuf },
}

impl PrivacyKey {
    /// A key nobody will know again: for in-memory databases, `serve --demo` and tests.
    /// Hashes made with it cannot be searched after the process ends, which is safe.
    pub fn random() -> PrivacyKey {
        let mut key = [0u8; PRIVACY_KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        PrivacyKey(Arc::new(key))
    }

    /// A key from its bytes (exactly [`PRIVACY_KEY_BYTES`]).
    pub fn from_bytes(bytes: &[u8]) -> Option<PrivacyKey> {
        let key: [u8; PRIVACY_KEY_BYTES] = bytes.try_into().ok()?;
        Some(PrivacyKey(Arc::new(key)))
    }

    /// Reads the key file, or makes it (32 random bytes, mode 0600) on the first start.
    ///
    /// The new file is written under another name and then linked into place, so two
    /// processes starting at once end up with the same key and neither reads half a file.
    pub fn load_or_create(path: &Path) -> Result<PrivacyKey, PrivacyKeyError> {
        match std::fs::read(path) {
            Ok(bytes) => return Self::checked(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(PrivacyKeyError::Read {
                    path: path.into(),
                    source,
                })
            }
        }
        let create = |source| PrivacyKeyError::Create {
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(create)?;
        }
        let key = PrivacyKey::random();
        let staged = path.with_extension(format!("new-{}", std::process::id()));
        write_private(&staged, key.0.as_slice()).map_err(create)?;
        let linked = std::fs::hard_link(&staged, path);
        let _ = std::fs::remove_file(&staged);
        match linked {
            Ok(()) => Ok(key),
            // Somebody else was first: theirs is the key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = std::fs::read(path).map_err(|source| PrivacyKeyError::Read {
                    path: path.into(),
                    source,
                })?;
                Self::checked(path, &bytes)
            }
            Err(e) => Err(create(e)),
        }
    }

    fn checked(path: &Path, bytes: &[u8]) -> Result<PrivacyKey, PrivacyKeyError> {
        if let Some(mode) = readable_by_others(path) {
            return Err(PrivacyKeyError::Readable {
                path: path.into(),
                mode,
            });
        }
        PrivacyKey::from_bytes(bytes).ok_or(PrivacyKeyError::Length {
            path: path.into(),
            found: bytes.len(),
        })
    }

    /// HMAC-SHA256 (hex) of a contact value in its normal form: an email address lower-cased,
    /// a phone number in E.164 (numbers without a country code read in `region`), anything
    /// else (a postal address) lower-cased with its whitespace collapsed. The form is tagged
    /// with its kind, so an address and a number never share a hash.
    pub fn contact_hash(&self, value: &str, region: &str) -> String {
        self.hash(&normal_form(value, region))
    }

    /// An actor as the audit log may name it: one given as an email address or a phone
    /// number (a command's `--as`, an old caller) is written as `hmac:` and the value's hash,
    /// which an admin with the key can still search for; anything else as given.
    pub(crate) fn actor_text(&self, actor: &str) -> String {
        match normal_form(actor, DEFAULT_REGION) {
            form if form.starts_with("text:") => actor.to_string(),
            form => format!("hmac:{}", self.hash(&form)),
        }
    }

    /// What the database keeps to recognise its key: an HMAC of a fixed text, which tells
    /// nothing about the key.
    pub(crate) fn fingerprint(&self) -> String {
        self.hash("verteiler-privacy-key-check-v1")
    }

    fn hash(&self, text: &str) -> String {
        // HMAC takes keys of any length: new_from_slice cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_slice())
            .expect("HMAC accepts any key length");
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl crate::Store {
    /// The same database with the installation's key from `path` (made on the first start).
    /// The database remembers the key's fingerprint, so a command run from another directory,
    /// or an instance with another file, is refused instead of hashing with a key of its own
    /// (whose hashes nobody could ever search for).
    pub async fn with_privacy_key_file(
        &self,
        path: &Path,
    ) -> Result<crate::Store, crate::StoreError> {
        let known: Option<String> =
            sqlx::query_scalar("SELECT fingerprint FROM privacy_key WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        if known.is_some() && !path.exists() {
            return Err(PrivacyKeyError::Missing { path: path.into() }.into());
        }
        let key = PrivacyKey::load_or_create(path)?;
        match known {
            Some(known) if known != key.fingerprint() => {
                Err(PrivacyKeyError::Mismatch { path: path.into() }.into())
            }
            Some(_) => Ok(self.with_privacy_key(key)),
            None => {
                // Two processes starting at once read the same file (see load_or_create);
                // the second insert changes nothing.
                sqlx::query(
                    "INSERT INTO privacy_key (id, fingerprint, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(key.fingerprint())
                .bind(crate::now_ms())
                .execute(&self.pool)
                .await?;
                Ok(self.with_privacy_key(key))
            }
        }
    }
}

/// The region contact values without a country code are read in when the caller has none:
/// stored numbers are E.164 already, so it matters only for a number typed into a search.
pub const DEFAULT_REGION: &str = "DE";

fn normal_form(value: &str, region: &str) -> String {
    let value = value.trim();
    if let Ok(address) = EmailAddress::parse(value) {
        return format!("email:{}", address.key());
    }
    if value.chars().any(|c| c.is_ascii_digit())
        && !value.chars().any(char::is_alphabetic)
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-/().".contains(c))
    {
        if let Ok(number) = PhoneNumber::parse(value, region) {
            return format!("phone:{}", number.as_str());
        }
    }
    let words: Vec<String> = value.split_whitespace().map(str::to_lowercase).collect();
    format!("text:{}", words.join(" "))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The file's mode when group or others may read it.
#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_in_other_notations_hash_alike() {
        let key = PrivacyKey::random();
        let h = |v: &str| key.contact_hash(v, "DE");
        assert_eq!(h("Anna@Example.org"), h(" anna@example.org "));
        assert_eq!(h("0151 23456789"), h("+4915123456789"));
        assert_eq!(
            h("Hauptstraße 5,  22359 Hamburg"),
            h("hauptstraße 5, 22359 hamburg")
        );
        assert_ne!(h("anna@example.org"), h("ben@example.org"));
        assert_eq!(h("anna@example.org").len(), 64);
    }

    #[test]
    fn an_actor_given_as_an_address_or_number_is_hashed() {
        let key = PrivacyKey::random();
        assert_eq!(key.actor_text("cli:root"), "cli:root");
        assert_eq!(key.actor_text("portal:member:12"), "portal:member:12");
        assert_eq!(
            key.actor_text("Aylin@example.org"),
            format!("hmac:{}", key.contact_hash("aylin@example.org", "DE"))
        );
        assert!(key.actor_text("+49 151 23456789").starts_with("hmac:"));
    }

    #[test]
    fn another_key_gives_other_hashes() {
        let (a, b) = (PrivacyKey::random(), PrivacyKey::random());
        assert_ne!(
            a.contact_hash("+4915123456789", "DE"),
            b.contact_hash("+4915123456789", "DE")
        );
        assert!(!format!("{a:?}").contains(&format!("{:?}", a.0)));
    }

    #[test]
    fn the_key_file_is_made_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/privacy.key");
        let first = PrivacyKey::load_or_create(&path).unwrap();
        let again = PrivacyKey::load_or_create(&path).unwrap();
        assert_eq!(
            first.contact_hash("anna@example.org", "DE"),
            again.contact_hash("anna@example.org", "DE")
        );
        assert_eq!(std::fs::read(&path).unwrap().len(), PRIVACY_KEY_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = PrivacyKey::load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, b"short").unwrap();
        let err = PrivacyKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("holds 5 bytes"), "{err}");
    }
}
