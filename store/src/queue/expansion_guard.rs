//! What expansion checks before it queues a batch of copies, and what becomes of a send that
//! fails: the audience must still be the one the sender addressed.
//!
//! A list that is gone, deactivated or redefined (its target, sub-units, role, kind or scope
//! changed) after the submission can never carry this send, whether an approval let it go
//! later or not: the approvers were shown the figures of the definition the sender addressed.
//! A list that reaches nobody any more when the send is due (its unit or a unit above it
//! switched off, every member gone) would take it to nobody in silence. Such a send is
//! **refused** — rejected, with the reason, audited, and the sender told — so nobody is asked
//! to approve what cannot go out. A list that only grew beyond the decided count still is the
//! list decided on: the send is **held** for a person to confirm the larger number, with the
//! normal approval window, after which it expires like any held send.

use crate::audit::log::{self as audit, AuditEvent};
use crate::notices;
use crate::{now_ms, Audience, Expansion, Store, StoreError};
use verteiler_policies::{audience_growth, Lang, Reason};

/// What expansion needs besides the send itself: how long a send held at expansion waits for
/// approval, and where the sender's notice about a stopped send links to.
#[derive(Debug, Clone)]
pub struct ExpansionSettings {
    /// `limits.approval_window_hours` in seconds, as for sends held at submission.
    pub approval_window_secs: u64,
    /// Base of the portal links (`https://portal.example.org`).
    pub portal_base_url: String,
}

/// A scheduled send as expansion reads it.
pub(crate) struct Scheduled {
    pub send_id: i64,
    pub address: String,
    pub audience_id: Option<i64>,
    /// The recipients decided on (confirmed by the approvers, if any).
    pub decided: u64,
    /// When it was submitted (its creation): the definition of its list it is bound to.
    pub submitted_at: i64,
    /// No batch queued yet.
    pub first_batch: bool,
}

impl Store {
    /// The audience to expand `send` to, or what became of the send instead.
    pub(crate) async fn audience_to_expand(
        &self,
        send: &Scheduled,
        settings: &ExpansionSettings,
    ) -> Result<Result<Audience, Expansion>, StoreError> {
        let audience = self.send_audience(send.audience_id).await?;
        let Some(audience) = audience else {
            let reasons = vec![Reason::AudienceUnknown {
                address: send.address.clone(),
            }];
            return self
                .refuse_at_expansion(send.send_id, reasons, settings)
                .await;
        };
        // Checked before every batch: a list switched off or redefined half-way stops its send
        // there, and no later batch reaches the new definition.
        let mut refusals = Vec::new();
        if !audience.active {
            refusals.push(Reason::AudienceInactive {
                audience: audience.name.clone(),
            });
        }
        if self.redefined_since(audience.id, send.submitted_at).await? {
            refusals.push(Reason::AudienceRedefined {
                audience: audience.name.clone(),
            });
        }
        if !refusals.is_empty() {
            return self
                .refuse_at_expansion(send.send_id, refusals, settings)
                .await;
        }
        // These checks count the whole audience, so they run once, before the first batch.
        if send.first_batch {
            let now_count = self.count(&audience).await?;
            if now_count == 0 {
                let reasons = vec![Reason::AudienceEmptied {
                    audience: audience.name.clone(),
                }];
                return self
                    .refuse_at_expansion(send.send_id, reasons, settings)
                    .await;
            }
            if let Some(grew) = audience_growth(&audience.name, send.decided, now_count) {
                let reasons = vec![grew];
                self.hold_at_expansion(send.send_id, &reasons, settings)
                    .await?;
                return Ok(Err(Expansion::Held(reasons)));
            }
        }
        Ok(Ok(audience))
    }

    /// Refuses a scheduled send for `reasons`: rejected, its queued copies cancelled, audited,
    /// and the sender told. Nothing is done when it stopped being scheduled meanwhile.
    async fn refuse_at_expansion(
        &self,
        send_id: i64,
        reasons: Vec<Reason>,
        settings: &ExpansionSettings,
    ) -> Result<Result<Audience, Expansion>, StoreError> {
        let Some(pending) = self.pending(send_id).await? else {
            return Ok(Err(Expansion::NotScheduled));
        };
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let refused = sqlx::query(
            "UPDATE sends SET state = 'rejected', decision = 'reject', reasons = $1, \
             approvals_needed = 0, updated_at = $2 WHERE id = $3 AND state = 'scheduled'",
        )
        .bind(serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .bind(send_id)
        .execute(&mut *tx)
        .await?;
        if refused.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Err(Expansion::NotScheduled));
        }
        // Copies of earlier batches not handed over yet stay with the refused send.
        let cancelled = sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', lease_until = NULL, updated_at = $1 \
             WHERE send_id = $2 AND state = 'queued'",
        )
        .bind(now)
        .bind(send_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // And so do its texts not handed to the provider yet: a text cannot be called back.
        let texts_stopped = sqlx::query(
            "UPDATE sms_outbox SET failed_at = $1, last_error = 'the send was refused' \
             WHERE send_id = $2 AND sent_at IS NULL AND failed_at IS NULL",
        )
        .bind(now)
        .bind(send_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let link = format!(
            "{}/submissions/{}",
            settings.portal_base_url.trim_end_matches('/'),
            pending.submission_id
        );
        let lines = |lang: Lang| -> String {
            reasons
                .iter()
                .map(|r| r.text(lang))
                .collect::<Vec<_>>()
                .join("\n")
        };
        self.notify_sender(
            &mut tx,
            &pending,
            "submission.rejected",
            now,
            |audience, lang| {
                notices::stopped_before_delivery(
                    audience,
                    &pending.subject,
                    &lines(lang),
                    &link,
                    lang,
                )
            },
        )
        .await?;
        let event = AuditEvent::new("send.rejected", "system")
            .submission(pending.submission_id)
            .send(send_id)
            .details(serde_json::json!({
                "reasons": reasons,
                "when": "at expansion",
                "copies_cancelled": cancelled,
                "texts_stopped": texts_stopped,
            }));
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        // Logged once, by the delivery loop that asked (`delivery.refused_at_expansion`).
        Ok(Err(Expansion::Refused(reasons)))
    }

    /// Holds a scheduled send for approval with the approval window from now; the approvers
    /// are asked by the next sweep (again, if they were asked before an earlier release).
    async fn hold_at_expansion(
        &self,
        send_id: i64,
        reasons: &[Reason],
        settings: &ExpansionSettings,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into());
        let now = now_ms();
        let expires_at = now.saturating_add(settings.approval_window_secs as i64 * 1000);
        let mut tx = self.pool.begin().await?;
        let held = sqlx::query(
            "UPDATE sends SET state = 'held', decision = 'hold', reasons = $1, \
             approvals_needed = CASE WHEN approvals_needed > 0 THEN approvals_needed ELSE 1 END, \
             expires_at = $4, approvers_asked_at = NULL, updated_at = $2 \
             WHERE id = $3 AND state = 'scheduled'",
        )
        .bind(json)
        .bind(now)
        .bind(send_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() > 0 {
            let submission_id: Option<i64> =
                sqlx::query_scalar("SELECT submission_id FROM sends WHERE id = $1")
                    .bind(send_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let mut event = AuditEvent::new("send.held", "system")
                .send(send_id)
                .details(serde_json::json!({
                    "reasons": reasons,
                    "when": "at expansion",
                    "expires_at": expires_at,
                }));
            event.submission_id = submission_id;
            audit::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        // Logged once, by the delivery loop that asked (`delivery.held_at_expansion`).
        Ok(())
    }
}
