//! Erasing a member who asked for it: everything that names or reaches the person goes, and
//! what the audit trail needs stays as an anonymous record.
//!
//! Gone: contact data, units, offices, subscriptions, choices, sessions, passwords, API tokens,
//! codes, queued mail, the addresses of copies sent to them and what remote servers said about those
//! copies. Of their own submissions the message itself goes (raw content, `From:`, envelope,
//! subject, preview, SMS text, client), replaced by the marker `raw_state = 'erased'`; the
//! content hash stays, so the audit entries that name the message by it still verify and still
//! say which message they were about. Sends of theirs still running are stopped first: an
//! erased message is never delivered. The audit log itself is not rewritten (it cannot be
//! without breaking its chain): since it holds members by id and contact values only as keyed
//! hashes, nothing in it names the person once the directory does not.

use crate::audit::log::{self as audit, AuditEvent};
use crate::{now_ms, SendState, Store, StoreError};

/// What an erasure changes beside the member's own rows, one statement each, all bound to the
/// member's id ($1) and the time ($2).
const MEMBER_DATA: &[&str] = &[
    "DELETE FROM verifications WHERE member_id = $1 \
       OR contact_point_id IN (SELECT id FROM contact_points WHERE member_id = $1) \
       OR subscription_id IN (SELECT id FROM subscriptions WHERE member_id = $1)",
    "DELETE FROM sign_in_links WHERE member_id = $1",
    "DELETE FROM portal_sessions WHERE member_id = $1",
    "DELETE FROM member_passwords WHERE member_id = $1",
    "DELETE FROM sms_outbox WHERE member_id = $1",
    "DELETE FROM subscriptions WHERE member_id = $1",
    "DELETE FROM channel_preferences WHERE member_id = $1",
    "DELETE FROM roles WHERE member_id = $1",
    "DELETE FROM memberships WHERE member_id = $1",
    "DELETE FROM contact_points WHERE member_id = $1",
    // Hashes of the numbers and addresses they had codes sent to (kept two days for limits).
    "DELETE FROM verification_sends WHERE member_id = $1",
    // Which postal lists named them: an erased member is on nobody's list any more.
    "DELETE FROM postal_recipients WHERE member_id = $1",
    "DELETE FROM notifications WHERE member_id = $1 AND sent_at IS NULL AND failed_at IS NULL",
    "UPDATE notifications SET to_address = '', subject = '', body = '' WHERE member_id = $1",
    // What a remote server answered about a copy to them may quote their address.
    "UPDATE bounces SET diagnostic = '' WHERE delivery_id IN \
       (SELECT id FROM deliveries WHERE member_id = $1)",
    // Unique per send: each erased row gets an address of its own that reaches nobody.
    "UPDATE deliveries SET address = 'erased-' || CAST(id AS TEXT), last_error = NULL, \
       state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END WHERE member_id = $1",
    // Their comments as an approver are their words.
    "UPDATE approvals SET comment = NULL WHERE approver_member_id = $1",
];

/// The sends of the member's own submissions ($1).
const OWN_SENDS: &str =
    "SELECT s.id FROM sends s JOIN submissions sub ON sub.id = s.submission_id \
     WHERE sub.sender_member_id = $1";

impl Store {
    /// Completes a member's open deletion request (see the module's text). `false`: no
    /// request is open, and nothing changed.
    ///
    /// This erases verteiler's copy; data the membership database still holds comes back with
    /// its next import, so the membership office deletes it there too.
    pub async fn complete_deletion(&self, member_id: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        // The audit chain's head first, as every transaction that also locks send rows.
        let mut tx = self.begin_write().await?;
        audit::lock_head_first(&mut tx).await?;
        let open = sqlx::query(
            "UPDATE deletion_requests SET completed_at = $1, completed_by = $2 \
             WHERE member_id = $3 AND completed_at IS NULL",
        )
        .bind(now)
        .bind(self.actor.to_string())
        .bind(member_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if open == 0 {
            return Ok(false);
        }
        let mut events = stop_own_sends(&mut tx, member_id, now).await?;
        for sql in MEMBER_DATA {
            sqlx::query(sql).bind(member_id).execute(&mut *tx).await?;
        }
        let submissions = erase_own_submissions(&mut tx, member_id, now).await?;
        sqlx::query(
            "UPDATE app_passwords SET name = '', password_hash = '', \
             revoked_at = COALESCE(revoked_at, $1) WHERE member_id = $2",
        )
        .bind(now)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
        // A token's name may say whose it is ("Annas Newsroom"); the id stays for the audit.
        sqlx::query(
            "UPDATE api_tokens SET name = '', secret_sha256 = '', \
             revoked_at = COALESCE(revoked_at, $1) WHERE member_id = $2",
        )
        .bind(now)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE members SET first_name = '', last_name = '', status = 'left', \
             left_at = COALESCE(left_at, $1), import_fingerprint = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
        // Done by an admin (this handle's actor), about the member.
        events.push(
            AuditEvent::new("member.erased", self.actor.to_string()).details(serde_json::json!({
                "member_id": member_id,
                "submissions_erased": submissions,
                "sends_stopped": events.len(),
            })),
        );
        audit::append(&mut tx, self.backend, &events, now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(true)
    }
}

/// Stops the member's sends that have not ended: held ones are withdrawn, the others
/// cancelled with the copies not yet handed over. Returns their audit entries.
async fn stop_own_sends(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: i64,
    now: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let running: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT s.id, s.submission_id, s.state FROM sends s \
         JOIN submissions sub ON sub.id = s.submission_id \
         WHERE sub.sender_member_id = $1 AND s.state IN ('scheduled', 'sending', 'held') \
         ORDER BY s.id",
    )
    .bind(member_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut events = Vec::with_capacity(running.len());
    for (send_id, submission_id, state) in running {
        let (to, action) = match crate::states::text_as(&state, "state")? {
            SendState::Held => (SendState::Withdrawn, "send.withdrawn"),
            _ => (SendState::Cancelled, "send.cancelled"),
        };
        sqlx::query("UPDATE sends SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(now)
            .bind(send_id)
            .execute(&mut **tx)
            .await?;
        let copies = sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', lease_until = NULL, updated_at = $1 \
             WHERE send_id = $2 AND state = 'queued'",
        )
        .bind(now)
        .bind(send_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        events.push(
            AuditEvent::new(action, "system")
                .submission(submission_id)
                .send(send_id)
                .details(serde_json::json!({
                    "reason": "sender erased",
                    "copies_cancelled": copies,
                })),
        );
    }
    Ok(events)
}

/// The member's own submissions lose their message (see the module's text); returns how many.
async fn erase_own_submissions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: i64,
    now: i64,
) -> Result<u64, StoreError> {
    // Notices about the message (to approvers, to the sender) quote its subject and text.
    for sql in [
        "DELETE FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL AND submission_id IN \
           (SELECT id FROM submissions WHERE sender_member_id = $1)",
        "UPDATE notifications SET subject = '', body = '' WHERE submission_id IN \
           (SELECT id FROM submissions WHERE sender_member_id = $1)",
        // List texts carry the message's SMS text.
        &format!("UPDATE sms_outbox SET body = '' WHERE send_id IN ({OWN_SENDS})"),
    ] {
        sqlx::query(sql).bind(member_id).execute(&mut **tx).await?;
    }
    // Texts not yet handed over never will be.
    sqlx::query(&format!(
        "UPDATE sms_outbox SET failed_at = $2, last_error = 'sender erased' \
         WHERE sent_at IS NULL AND failed_at IS NULL AND send_id IN ({OWN_SENDS})"
    ))
    .bind(member_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query(
        "UPDATE submissions SET raw = $1, raw_state = 'erased', raw_removed_at = $2, \
         envelope_from = '', header_from = '', subject = '', preview = NULL, sms_text = NULL, \
         client_ip = NULL, client_name = NULL WHERE sender_member_id = $3",
    )
    .bind(Vec::<u8>::new())
    .bind(now)
    .bind(member_id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
