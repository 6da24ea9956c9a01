//! Signing in to the portal: one-time links sent by email, an optional password, and
//! server-side sessions.
//!
//! Every secret handed to a browser or put in a link (link tokens, session ids) is 32 random
//! bytes; the database keeps only its SHA-256, so a copy of the database signs nobody in. A
//! link is redeemed by one `UPDATE … WHERE used_at IS NULL AND expires_at > now`, so two
//! clicks at once cannot both succeed.

use crate::access::credentials::{dummy_hash, hash_password, verify_password};
use crate::audit::log::{self as audit, AuditEvent};
use crate::{now_ms, Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use verteiler_policies::EmailAddress;

/// A sign-in link is valid this long.
pub const SIGN_IN_LINK_TTL_MS: i64 = 15 * 60 * 1000;
/// A session ends this long after it started, used or not.
pub const SESSION_TTL_MS: i64 = 14 * 24 * 3_600 * 1000;
/// A session unused this long ends early.
pub const SESSION_IDLE_MS: i64 = 2 * 24 * 3_600 * 1000;
/// `last_seen_at` is written at most this often: a page view must not be a database write.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// 32 random bytes as 64 hex digits: link tokens, session ids, CSRF tokens.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How a secret is stored: its SHA-256 in hex.
pub(crate) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Stores a one-time sign-in link to `email`, valid `ttl_ms`; returns its secret.
pub(crate) async fn new_sign_in_link(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: i64,
    email: &str,
    ttl_ms: i64,
    now: i64,
) -> Result<String, StoreError> {
    let token = new_secret();
    sqlx::query(
        "INSERT INTO sign_in_links (token_hash, member_id, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(digest(&token))
    .bind(member_id)
    .bind(email)
    .bind(now)
    .bind(now + ttl_ms)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// A signed-in person, as each request sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub member_id: i64,
    /// Carried by every state-changing form of this session.
    pub csrf_token: String,
    pub first_name: String,
    pub last_name: String,
    pub language: String,
    /// Holds any office (the approval queue is worth a link in the navigation).
    pub has_office: bool,
    /// An admin of the organisation (the admin function at a top unit; see [`Store::is_admin`]).
    pub is_admin: bool,
}

impl Store {
    /// Sends a sign-in link to `email` if it is a verified address of an active member, and
    /// returns whether it did. The caller must answer the same either way.
    pub async fn request_sign_in(
        &self,
        email: &str,
        mail: &dyn crate::PortalMail,
    ) -> Result<bool, StoreError> {
        let Ok(address) = EmailAddress::parse(email) else {
            return Ok(false);
        };
        let now = now_ms();
        // It reads before it writes: on SQLite the write lock comes first (see begin_write).
        let mut tx = self.begin_write().await?;
        let found = sqlx::query(
            "SELECT c.member_id, c.value, m.language FROM contact_points c \
             JOIN members m ON m.id = c.member_id \
             WHERE c.kind = 'email' AND c.value_key = $1 AND c.verified = $2 \
               AND c.undeliverable = $3 AND m.status = 'active' \
             ORDER BY c.member_id LIMIT 1",
        )
        .bind(address.key())
        .bind(true)
        .bind(false)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = found else {
            return Ok(false);
        };
        let member_id: i64 = row.try_get("member_id")?;
        let to: String = row.try_get("value")?;
        let language: String = row.try_get("language")?;
        let token = new_sign_in_link(&mut tx, member_id, &to, SIGN_IN_LINK_TTL_MS, now).await?;
        let (subject, body) = mail.sign_in(&token, &language);
        crate::notices::queue(
            &mut tx,
            &crate::notices::Outgoing {
                member_id: Some(member_id),
                to: &to,
                kind: "portal.sign_in",
                subject: &subject,
                body: &body,
                submission_id: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Uses a sign-in link: the member it signs in, or `None` when it is unknown, used or
    /// expired (or the member has left since).
    pub async fn redeem_sign_in(&self, token: &str) -> Result<Option<i64>, StoreError> {
        let now = now_ms();
        let member: Option<i64> = sqlx::query_scalar(
            "UPDATE sign_in_links SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
               AND member_id IN (SELECT id FROM members WHERE status = 'active') \
             RETURNING member_id",
        )
        .bind(now)
        .bind(digest(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(member)
    }

    /// Checks the portal password of the member with this verified address. Unknown addresses
    /// cost the same argon2 work, so the time taken tells nothing.
    pub async fn sign_in_with_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<i64>, StoreError> {
        let key = EmailAddress::parse(email).map(|a| a.key()).ok();
        let found: Option<(i64, String)> = match key {
            Some(key) => {
                sqlx::query_as(
                    "SELECT p.member_id, p.password_hash FROM member_passwords p \
                     JOIN contact_points c ON c.member_id = p.member_id \
                     JOIN members m ON m.id = p.member_id \
                     WHERE c.kind = 'email' AND c.value_key = $1 AND c.verified = $2 \
                       AND m.status = 'active' ORDER BY p.member_id LIMIT 1",
                )
                .bind(key)
                .bind(true)
                .fetch_optional(&self.pool)
                .await?
            }
            None => None,
        };
        let (member_id, hash) = found.unwrap_or((0, dummy_hash().to_string()));
        let hash_for_task = hash.clone();
        let password = password.to_string();
        // argon2 takes tens of milliseconds of CPU: off the async workers.
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash_for_task, &password))
            .await
            .unwrap_or(false);
        Ok((ok && member_id != 0).then_some(member_id))
    }

    /// Sets (or replaces) a member's portal password.
    pub async fn set_portal_password(
        &self,
        member_id: i64,
        password: &str,
    ) -> Result<(), StoreError> {
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .unwrap_or_default();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO member_passwords (member_id, password_hash, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (member_id) DO UPDATE SET password_hash = excluded.password_hash, \
             updated_at = excluded.updated_at",
        )
        .bind(member_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            self.backend,
            &[AuditEvent::new("member.password_set", self.actor.to_string()).by_member(member_id)],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the member has a portal password.
    pub async fn has_portal_password(&self, member_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM member_passwords WHERE member_id = $1",
        )
        .bind(member_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Starts a session; returns the cookie value (the only copy of the session id).
    pub async fn start_session(&self, member_id: i64, how: &str) -> Result<String, StoreError> {
        let id = new_secret();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO portal_sessions (id_hash, member_id, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(digest(&id))
        .bind(member_id)
        .bind(new_secret())
        .bind(now)
        .bind(now + SESSION_TTL_MS)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            self.backend,
            &[AuditEvent::new("member.signed_in", self.actor.to_string())
                .by_member(member_id)
                .details(serde_json::json!({ "how": how }))],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The session a cookie names, if it is still valid and its member still active.
    pub async fn session(&self, cookie: &str) -> Result<Option<PortalSession>, StoreError> {
        let now = now_ms();
        let id_hash = digest(cookie);
        let row = sqlx::query(
            "SELECT s.member_id, s.csrf_token, s.last_seen_at, m.first_name, m.last_name, m.language, \
             EXISTS (SELECT 1 FROM roles r WHERE r.member_id = m.id) AS has_office, \
             EXISTS (SELECT 1 FROM roles r JOIN units u ON u.id = r.unit_id \
                     WHERE r.member_id = m.id AND r.function = 'admin' AND u.parent_id IS NULL) AS is_admin \
             FROM portal_sessions s JOIN members m ON m.id = s.member_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND m.status = 'active'",
        )
        .bind(&id_hash)
        .bind(now)
        .bind(now - SESSION_IDLE_MS)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let last_seen: i64 = row.try_get("last_seen_at")?;
        if now - last_seen > TOUCH_EVERY_MS {
            sqlx::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&id_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(PortalSession {
            member_id: row.try_get("member_id")?,
            csrf_token: row.try_get("csrf_token")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            language: row.try_get("language")?,
            has_office: crate::db::sql::get_bool(&row, "has_office")?,
            is_admin: crate::db::sql::get_bool(&row, "is_admin")?,
        }))
    }

    /// Ends the session a cookie names (signing out on this device).
    pub async fn end_session(&self, cookie: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
            .bind(digest(cookie))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a member (signing out everywhere); returns how many there were.
    pub async fn end_all_sessions(&self, member_id: i64) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query("DELETE FROM portal_sessions WHERE member_id = $1")
            .bind(member_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit::append(
            &mut tx,
            self.backend,
            &[
                AuditEvent::new("member.signed_out_everywhere", self.actor.to_string())
                    .by_member(member_id)
                    .details(serde_json::json!({ "sessions": ended })),
            ],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Deletes what can no longer be used: expired sessions, sign-in links and verifications a
    /// day after they ran out (the day keeps recent ones for questions about a failed sign-in).
    /// Returns the rows deleted.
    pub async fn purge_portal_secrets(&self, now: i64) -> Result<u64, StoreError> {
        let before = now - 24 * 3_600 * 1000;
        let mut purged = 0;
        for sql in [
            "DELETE FROM portal_sessions WHERE expires_at < $1 OR last_seen_at < $1 - $2",
            "DELETE FROM sign_in_links WHERE expires_at < $1",
        ] {
            let mut query = sqlx::query(sql).bind(before);
            if sql.contains("$2") {
                query = query.bind(SESSION_IDLE_MS);
            }
            purged += query.execute(&self.pool).await?.rows_affected();
        }
        purged += sqlx::query("DELETE FROM verifications WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(purged)
    }
}
