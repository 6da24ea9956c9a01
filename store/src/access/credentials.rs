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

/// Between a keyed app password's row id and its secret. Not in the generated alphabet, so a
/// password generated before ids were added is never read as `<id>_<secret>`.
const ID_SEPARATOR: char = '_';

/// The row id and the secret of a keyed app password (`<id>_<secret>`).
fn keyed_parts(password: &str) -> Option<(i64, &str)> {
    let (id, secret) = password.split_once(ID_SEPARATOR)?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    (!secret.is_empty()).then_some((id, secret))
}

impl Store {
    /// Creates an app password that names its own row, `<id>_<secret>`, and returns (id, the
    /// password): a login with it costs one argon2 check, found by the id. The clear text is
    /// never stored; the caller shows it once.
    pub async fn new_app_password(
        &self,
        member_id: i64,
        name: &str,
    ) -> Result<(i64, String), StoreError> {
        let secret = generate_app_password();
        let hash = hash_password(&secret);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO app_passwords (member_id, name, password_hash, created_at, keyed) \
             VALUES ($1, $2, $3, $4, TRUE) RETURNING id",
        )
        .bind(member_id)
        .bind(name)
        .bind(hash)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok((id, format!("{id}{ID_SEPARATOR}{secret}")))
    }

    /// Stores a password somebody chose (`member set-password --password-stdin`, the demo's
    /// fixed logins) and returns its id. It carries no id, so a login checks it together with
    /// the member's other such passwords, one argon2 check each; prefer
    /// [`Store::new_app_password`].
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
    fn only_an_id_then_an_underscore_makes_a_keyed_password() {
        assert_eq!(keyed_parts("42_abcd-efgh"), Some((42, "abcd-efgh")));
        for other in [
            "abcd-efgh",
            "_abcd",
            "42_",
            "0_abcd",
            "4x_abcd",
            "2345-abcd-efgh",
        ] {
            assert_eq!(keyed_parts(other), None, "{other}");
        }
        for _ in 0..100 {
            assert_eq!(keyed_parts(&generate_app_password()), None);
        }
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

/// Candidate hashes of one login attempt, and the text to check against them.
struct Candidates {
    rows: Vec<(i64, String)>,
    attempt: String,
}

impl Store {
    /// Checks a login (a verified email address of an active member) and password. Returns
    /// the member and the credential that matched. Hashing runs on the blocking pool: argon2
    /// is deliberately slow.
    ///
    /// What an attempt costs must not tell whether the login is a member, so it is one argon2
    /// check whoever logs in: a keyed password (`<id>_<secret>`) is checked against its one row
    /// when that row belongs to the login; an unknown login, an unknown id and a member without
    /// passwords are checked against a fixed dummy hash. Only passwords without an id (made
    /// before ids, or chosen by an admin) are checked one by one, one check each, until they
    /// are replaced.
    pub async fn verify_app_password(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let email = verteiler_policies::EmailAddress::parse(login).ok();
        let keyed = match (&email, keyed_parts(password)) {
            (Some(email), Some((id, secret))) => self
                .keyed_row(id, email)
                .await?
                .map(|(member_id, hash)| (member_id, id, hash, secret)),
            _ => None,
        };
        let (member_id, candidates) = match keyed {
            Some((member_id, id, hash, secret)) => (
                Some(member_id),
                Candidates {
                    rows: vec![(id, hash)],
                    attempt: secret.to_string(),
                },
            ),
            None => {
                let member_id = match &email {
                    Some(email) => self.member_id_by_email(email).await?,
                    None => None,
                };
                let rows = match member_id {
                    Some(member_id) => self.unkeyed_hashes(member_id).await?,
                    None => Vec::new(),
                };
                let attempt = password.to_string();
                (member_id, Candidates { rows, attempt })
            }
        };
        let (Some(member_id), Some(credential_id)) = (member_id, self.check(candidates).await)
        else {
            return Ok(None);
        };
        sqlx::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(credential_id)
            .execute(&self.pool)
            .await?;
        Ok(Some((member_id, credential_id)))
    }

    /// The owner and hash of keyed app password `id`, if it is in use, its owner is active and
    /// `login` is one of the owner's verified addresses (several members may share one).
    async fn keyed_row(
        &self,
        id: i64,
        login: &verteiler_policies::EmailAddress,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.member_id, a.password_hash FROM app_passwords a \
             JOIN members m ON m.id = a.member_id \
             WHERE a.id = $1 AND a.keyed AND a.revoked_at IS NULL AND m.status = 'active' \
             AND EXISTS (SELECT 1 FROM contact_points c WHERE c.member_id = a.member_id \
               AND c.kind = 'email' AND c.value_key = $2 AND c.verified)",
        )
        .bind(id)
        .bind(login.key())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The member's app passwords in use that carry no id.
    async fn unkeyed_hashes(&self, member_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, password_hash FROM app_passwords \
             WHERE member_id = $1 AND NOT keyed AND revoked_at IS NULL ORDER BY id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The row whose hash the attempt matches. No rows: one check against the dummy hash, so
    /// that an attempt never costs nothing.
    async fn check(&self, candidates: Candidates) -> Option<i64> {
        let checks = std::sync::Arc::clone(&self.password_checks);
        check_password(move || {
            let Candidates { rows, attempt } = candidates;
            let count = || checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if rows.is_empty() {
                count();
                verify_password(dummy_hash(), &attempt);
                return None;
            }
            rows.into_iter()
                .find(|(_, hash)| {
                    count();
                    verify_password(hash, &attempt)
                })
                .map(|(id, _)| id)
        })
        .await
        .flatten()
    }

    /// argon2 checks app-password logins through this store (and its clones) have run: each
    /// attempt should add exactly one.
    pub fn password_checks(&self) -> u64 {
        self.password_checks
            .load(std::sync::atomic::Ordering::Relaxed)
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
            .map(|r| {
                Ok((
                    r.try_get("value")?,
                    crate::db::sql::get_bool(r, "verified")?,
                ))
            })
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
