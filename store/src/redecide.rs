//! What a held send's fresh decision does to it, whoever caused it (the last approval, or an
//! admin lifting the circuit breaker): a release schedules it through the undo window, a
//! refusal ends it and tells the sender. One place, so both ways behave alike.

use crate::approvals::{about, Pending};
use crate::audit::AuditEvent;
use crate::{notices, ApprovalSettings, Store, StoreError};
use verteiler_policies::{HeaderTreatment, Lang, Reason};

impl Store {
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
             decided_at = $3, recipients = $5 WHERE id = $4",
        )
        .bind(headers == HeaderTreatment::RewriteToRecipient)
        .bind(release_at)
        .bind(now)
        .bind(send_id)
        .bind(recipients as i64)
        .execute(&mut **tx)
        .await?;
        crate::submissions::add_org_volume(tx, now, recipients).await?;
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
