//! Proving a new address or number: the code by SMS, the link by mail, and marking the
//! contact point verified.

use super::*;

impl Store {
    /// Sends a new code for an unverified number of the member (the old one stops working).
    pub async fn resend_phone_code(
        &self,
        member_id: i64,
        contact_id: i64,
        mail: &dyn PortalMail,
    ) -> Result<ContactChange, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let number: Option<String> = sqlx::query_scalar(
            "SELECT value FROM contact_points WHERE id = $1 AND member_id = $2 AND kind = 'phone' \
             AND verified = $3",
        )
        .bind(contact_id)
        .bind(member_id)
        .bind(false)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(number) = number else {
            return Ok(ContactChange::NotFound);
        };
        let sent = self.send_phone_code(&mut tx, member_id, contact_id, &number, mail, now);
        if let Some(refused) = sent.await? {
            return Ok(ContactChange::Limited(refused));
        }
        tx.commit().await?;
        Ok(ContactChange::Done)
    }

    /// Checks a phone code for one of the member's numbers.
    pub async fn verify_phone(
        &self,
        member_id: i64,
        contact_id: i64,
        code: &str,
    ) -> Result<PhoneOutcome, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let pending: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT v.id, v.secret_hash, v.attempts, v.created_at FROM verifications v \
             JOIN contact_points c ON c.id = v.contact_point_id \
             WHERE v.contact_point_id = $1 AND c.member_id = $2 AND v.purpose = 'phone' \
               AND v.used_at IS NULL AND v.expires_at > $3 AND v.attempts < $4 \
             ORDER BY v.id DESC LIMIT 1",
        )
        .bind(contact_id)
        .bind(member_id)
        .bind(now)
        .bind(PHONE_CODE_ATTEMPTS)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, hash, attempts, created_at)) = pending else {
            return Ok(PhoneOutcome::NoCode);
        };
        let given = code.trim();
        if phone_code_hash(contact_id, created_at, given) != hash {
            sqlx::query("UPDATE verifications SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(PhoneOutcome::WrongCode {
                attempts_left: PHONE_CODE_ATTEMPTS - attempts - 1,
            });
        }
        use_verification(&mut tx, id, now).await?;
        mark_verified(&mut tx, contact_id, now).await?;
        self.commit_audited(
            tx,
            "contact.verified",
            member_id,
            serde_json::json!({ "contact_point_id": contact_id }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(PhoneOutcome::Verified)
    }
}

pub(crate) fn phone_code_hash(contact_id: i64, created_at: i64, code: &str) -> String {
    digest(&format!("phone:{contact_id}:{created_at}:{code}"))
}

pub(super) async fn use_verification(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE verifications SET used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A contact point proved by its link or code: from now on it is used.
pub(super) async fn mark_verified(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contact_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contact_points SET verified = $1, verified_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(true)
    .bind(now)
    .bind(contact_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A mail carrying a link that proves an address or confirms a subscription: what the link's
/// verification points at, and where the mail goes.
pub(super) struct LinkMail<'a> {
    pub purpose: &'static str,
    pub member_id: Option<i64>,
    pub contact_point_id: Option<i64>,
    pub subscription_id: Option<i64>,
    pub to: &'a str,
    /// The notice kind, e.g. `portal.verify_email`.
    pub kind: &'static str,
}

impl Store {
    /// Stores a new link secret, queues the mail `render` writes around it, records `audit`
    /// (action and details, by the link's member) and commits: the link, its mail and the entry
    /// are stored together or not at all.
    pub(super) async fn commit_with_link(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Any>,
        link: &LinkMail<'_>,
        render: impl FnOnce(&str) -> (String, String),
        audit: Option<(&'static str, serde_json::Value)>,
        now: i64,
    ) -> Result<(), StoreError> {
        let token = new_secret();
        sqlx::query(
            "INSERT INTO verifications (purpose, member_id, contact_point_id, subscription_id, secret_hash, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(link.purpose)
        .bind(link.member_id)
        .bind(link.contact_point_id)
        .bind(link.subscription_id)
        .bind(digest(&token))
        .bind(now)
        .bind(now + CONFIRM_LINK_TTL_MS)
        .execute(&mut *tx)
        .await?;
        let (subject, body) = render(&token);
        notices::queue(
            &mut tx,
            &Outgoing {
                member_id: link.member_id,
                to: link.to,
                kind: link.kind,
                subject: &subject,
                body: &body,
                submission_id: None,
            },
            now,
        )
        .await?;
        if let Some((action, details)) = audit {
            let mut event = AuditEvent::new(action, self.actor.to_string()).details(details);
            if let Some(member) = link.member_id {
                event = event.by_member(member);
            }
            audit::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
