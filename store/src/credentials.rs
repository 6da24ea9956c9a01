//! Per-person credentials: app passwords for email clients, hashed with argon2id.

use crate::{now_ms, Store, StoreError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use sqlx::Row;

/// An argon2id PHC string for a password (argon2's defaults: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing only fails for parameters out of range, and ours are argon2's defaults.
        .unwrap_or_default()
}

/// Constant-time check of a password against a stored PHC string; a malformed hash never matches.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new app password: 24 characters from an alphabet without look-alikes (no 0/o, 1/l/i),
/// in groups of four (about 118 bits), easy to copy into a mail client's password field.
pub fn generate_app_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl Store {
    /// Stores a new app password for one member and returns its id. The clear text is never
    /// stored; the caller shows it once.
    pub async fn add_app_password(
        &self,
        member_id: i64,
        name: &str,
        password: &str,
    ) -> Result<i64, StoreError> {
        let hash = hash_password(password);
        Ok(sqlx::query_scalar(
            "INSERT INTO app_passwords (member_id, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(member_id)
        .bind(name)
        .bind(hash)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_app_passwords_are_long_and_unambiguous() {
        let p = generate_app_password();
        assert_eq!(p.len(), 29);
        assert_eq!(p.split('-').count(), 6);
        assert!(!p.contains(['0', 'o', '1', 'l', 'i']));
        assert_ne!(p, generate_app_password());
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horse "));
        assert!(!verify_password("not a hash", "correct horse"));
    }
}

/// One app password as listed to its owner (never the password itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppPassword {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Password checks allowed at once. Each argon2 check holds 19 MiB and a core for ~30 ms:
/// twenty clients logging in together would otherwise take 380 MiB and gain nothing, since
/// the cores are the limit anyway.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs one password check on the blocking pool, within the hashing permits.
async fn check_password<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = hashing_permits().acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

impl Store {
    /// Checks a login (an email address of an active member) and password against that
    /// member's app passwords. Returns the member and the credential that matched. Hashing runs
    /// on the blocking pool: argon2 is deliberately slow.
    pub async fn verify_app_password(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let Ok(email) = verteiler_policies::EmailAddress::parse(login) else {
            return Ok(None);
        };
        let Some(member_id) = self.member_id_by_email(&email).await? else {
            // Spend the same time as a real check so that timing does not reveal members.
            let password = password.to_string();
            check_password(move || verify_password(dummy_hash(), &password)).await;
            return Ok(None);
        };
        let hashes: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, password_hash FROM app_passwords WHERE member_id = $1 AND revoked_at IS NULL ORDER BY id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        let password = password.to_string();
        let matched = check_password(move || {
            hashes
                .into_iter()
                .find(|(_, hash)| verify_password(hash, &password))
                .map(|(id, _)| id)
        })
        .await
        .flatten();
        if let Some(credential_id) = matched {
            sqlx::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(credential_id)
                .execute(&self.pool)
                .await?;
            return Ok(Some((member_id, credential_id)));
        }
        Ok(None)
    }

    pub async fn list_app_passwords(&self, member_id: i64) -> Result<Vec<AppPassword>, StoreError> {
        let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM app_passwords \
             WHERE member_id = $1 AND revoked_at IS NULL ORDER BY id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, last_used_at)| AppPassword {
                id,
                name,
                created_at,
                last_used_at,
            })
            .collect())
    }

    /// Revokes one app password of one member; false when the member has no such password.
    pub async fn revoke_app_password(
        &self,
        member_id: i64,
        credential_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE app_passwords SET revoked_at = $1 WHERE id = $2 AND member_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(credential_id)
        .bind(member_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The member's email addresses with their verified flag, primary first.
    pub async fn member_emails(&self, member_id: i64) -> Result<Vec<(String, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT value, verified FROM contact_points WHERE member_id = $1 AND kind = 'email' \
             ORDER BY is_primary DESC, id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("value")?, crate::sql::get_bool(r, "verified")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The member's language for messages to them (`de` or `en`).
    pub async fn member_language(&self, member_id: i64) -> Result<String, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT language FROM members WHERE id = $1")
                .bind(member_id)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or_else(|| "de".to_string()),
        )
    }
}

/// A real argon2id hash, checked against when the login is unknown so that both answers take
/// the same time.
pub(crate) fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no member has this password"))
}

impl Store {
    /// The name a member gave an app password ("Thunderbird laptop"), revoked or not.
    pub async fn credential_name(&self, credential_id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM app_passwords WHERE id = $1")
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
