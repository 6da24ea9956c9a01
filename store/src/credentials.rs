//! Per-person credentials: app passwords for email clients, hashed with argon2id.

use crate::{now_ms, Store, StoreError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

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
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horse "));
        assert!(!verify_password("not a hash", "correct horse"));
    }
}
