//! A held send decided again, whoever caused it (the last approval, or an admin lifting the
//! circuit breaker): the facts it is decided on, and what the fresh decision does to it — a
//! release schedules it through the undo window, a refusal ends it and tells the sender. One
//! place, so both ways behave alike.
//!
//! A send is bound to the definition of its list the sender addressed: if whom the list
//! reaches changed after the submission, deciding again refuses it (`audience.redefined`),
//! so an approver learns at once that it cannot go, and no approval sends it to the new one.

use crate::approvals::{about, Pending};
use crate::audit::log::AuditEvent;
use crate::clock::HOUR_MS;
use crate::{notices, ApprovalSettings, Store, StoreError};
use verteiler_policies::{
    redefined_after, Channel, Facts, HeaderTreatment, Lang, MessageFacts, Reason,
};

/// Takes the held send's own share out of the volume figures: it was counted when it was
/// held, and deciding again must not count it twice against its own sender.
fn without_itself(facts: &mut Facts, pending: &Pending, now: i64) {
    let hour = now / HOUR_MS;
    let held_hour = pending.created_at / HOUR_MS;
    let v = &mut facts.volume;
    if held_hour >= hour - 24 {
        v.sender_sends_today = v.sender_sends_today.saturating_sub(1);
        v.sender_recipients_today = v.sender_recipients_today.saturating_sub(pending.recipients);
        v.audience_sends_today = v.audience_sends_today.saturating_sub(1);
    }
    if held_hour >= hour - 1 {
        v.sender_sends_last_hour = v.sender_sends_last_hour.saturating_sub(1);
    }
}

impl Store {
    /// The engine's facts for deciding a held send again, without approvals; `None` when the
    /// submission carries no figures to decide with.
    pub(crate) async fn facts_again(
        &self,
        pending: &Pending,
        settings: &ApprovalSettings,
        now: i64,
    ) -> Result<Option<Facts>, StoreError> {
        let Some(message) = pending
            .message_facts
            .as_deref()
            .and_then(|m| serde_json::from_str::<MessageFacts>(m).ok())
        else {
            return Ok(None);
        };
        let mut facts = self
            .gather_facts(
                &crate::Submission {
                    sender_member_id: pending.sender_member_id,
                    audience_address: &pending.address,
                    channel: Channel::Email,
                    message,
                    from: None,
                },
                &settings.list_domain,
            )
            .await?;
        without_itself(&mut facts, pending, now);
        // An admin's lift of the circuit breaker holds for every later decision of the send.
        facts.circuit_breaker_lifted_by = pending.breaker_lifted_by;
        facts.audience_redefined = match pending.audience_id {
            Some(id) => self.redefined_since(id, pending.created_at).await?,
            None => false,
        };
        Ok(Some(facts))
    }

    /// Whether whom the audience reaches changed after `submitted_at` (unix ms), or so shortly
    /// before it that the submission's decision may have read the old definition from the
    /// facts cache: a change inside that margin counts as after.
    pub(crate) async fn redefined_since(
        &self,
        audience_id: i64,
        submitted_at: i64,
    ) -> Result<bool, StoreError> {
        let changed_at: Option<i64> =
            sqlx::query_scalar("SELECT definition_changed_at FROM audiences WHERE id = $1")
                .bind(audience_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        let margin = crate::FACT_CACHE_TTL.as_millis() as i64;
        Ok(redefined_after(changed_at, submitted_at, margin))
    }

    /// Schedules a held send that a fresh decision released, in `tx`: delivery starts after
    /// the undo window; `recipients` (counted now, and confirmed by whoever released it) is
    /// what expansion compares growth against; the organisation's hourly volume counts it.
    /// Returns when delivery may start.
    pub(crate) async fn schedule_released(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        send_id: i64,
        headers: HeaderTreatment,
        recipients: u64,
        now: i64,
        settings: &ApprovalSettings,
    ) -> Result<i64, StoreError> {
        let release_at = now + settings.undo_window_secs as i64 * 1000;
        sqlx::query(
            "UPDATE sends SET state = 'scheduled', decision = 'release', reasons = '[]', \
             approvals_needed = 0, rewrite_to = $1, release_at = $2, updated_at = $3, \
             recipients = $5 WHERE id = $4",
        )
        .bind(headers == HeaderTreatment::RewriteToRecipient)
        .bind(release_at)
        .bind(now)
        .bind(send_id)
        .bind(recipients as i64)
        .execute(&mut **tx)
        .await?;
        crate::intake::submissions::add_org_volume(tx, now, recipients).await?;
        Ok(release_at)
    }

    /// Ends a held send that a fresh decision refused, in `tx`: rejected with `reasons` and the
    /// sender told. Returns the audit entry to add (`when` says which decision it was).
    pub(crate) async fn refuse_held(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        pending: &Pending,
        reasons: &[Reason],
        when: &str,
        now: i64,
        settings: &ApprovalSettings,
    ) -> Result<AuditEvent, StoreError> {
        sqlx::query(
            "UPDATE sends SET state = 'rejected', decision = 'reject', reasons = $1 WHERE id = $2",
        )
        .bind(serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into()))
        .bind(pending.send_id)
        .execute(&mut **tx)
        .await?;
        let lines_for = |lang: Lang| -> String {
            reasons
                .iter()
                .map(|r| r.text(lang))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let link = settings.link(pending.send_id);
        self.notify_sender(tx, pending, "submission.rejected", now, |audience, lang| {
            notices::rejected_by_approver(
                audience,
                &pending.subject,
                "verteiler",
                &lines_for(lang),
                &link,
                lang,
            )
        })
        .await?;
        Ok(about("send.rejected", None, pending)
            .details(serde_json::json!({ "reasons": reasons, "when": when })))
    }
}
