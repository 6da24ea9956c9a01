//! Asking the approvers of held sends: the sweep the server runs every few seconds, one notice
//! per approver in their language and one audit entry per send naming who was asked. Apart
//! from the decisions, because it runs unattended and in batches.

use super::approvers::ApproversKnown;
use super::pending::window_hours;
use super::{about, ApprovalSettings};
use crate::audit::log as audit;
use crate::notices::{self, HeldSummary};
use crate::{now_ms, Store, StoreError};
use verteiler_policies::Lang;

/// Held sends whose approvers are asked in one transaction by the sweep.
const REQUESTS_PER_TRANSACTION: usize = 16;

impl Store {
    /// Asks the approvers of every held send not asked yet: one notice each, in their
    /// language, and an audit entry naming who was asked. Returns the sends handled. The
    /// server runs this every few seconds; a send held while no approver exists is marked
    /// asked (of nobody) once, so the sweep does not repeat it.
    pub async fn request_approvals(&self, settings: &ApprovalSettings) -> Result<u64, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM sends WHERE state = 'held' AND approvers_asked_at IS NULL \
             AND approvals_needed > 0 AND audience_id IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut known = ApproversKnown::new();
        let mut handled = 0;
        // Asked in groups, one transaction each: a burst of held sends must not take SQLite's
        // one write lock once per send while submissions wait for it.
        for group in ids.chunks(REQUESTS_PER_TRANSACTION) {
            let mut asks = Vec::with_capacity(group.len());
            for &send_id in group {
                let Some(pending) = self.pending(send_id).await? else {
                    continue;
                };
                let Some(audience_id) = pending.audience_id else {
                    continue;
                };
                let held = self.held_from(&pending).await?;
                let approvers = self
                    .approvers_known(
                        &mut known,
                        audience_id,
                        pending.sender_member_id,
                        &settings.limits,
                    )
                    .await?
                    .to_vec();
                asks.push((send_id, approvers, pending, held));
            }
            let now = now_ms();
            let mut tx = self.pool.begin().await?;
            let mut events = Vec::with_capacity(asks.len());
            for (send_id, approvers, pending, held) in &asks {
                let claimed = sqlx::query(
                    "UPDATE sends SET approvers_asked_at = $1 WHERE id = $2 AND approvers_asked_at IS NULL",
                )
                .bind(now)
                .bind(send_id)
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() == 0 {
                    continue;
                }
                if approvers.is_empty() {
                    // Asked once, of nobody: the send stays held (and expires) until an
                    // approver role is granted and somebody approves on the CLI; the sweep
                    // does not repeat.
                    tracing::warn!(event = "approval.nobody_to_ask", send = send_id, audience = %held.audience);
                }
                let link = settings.link(*send_id);
                for approver in approvers {
                    let lang = Lang::from_tag(&approver.language);
                    let lines: Vec<String> = held.reasons.iter().map(|r| r.text(lang)).collect();
                    let (subject, body) = notices::approval_requested(
                        &HeldSummary {
                            send_id: *send_id,
                            sender: &held.sender,
                            audience: &held.audience,
                            recipients: held.recipients,
                            usual_size: held.usual_size,
                            subject: &held.subject,
                            reasons: &lines,
                            link: &link,
                            expires_in_hours: window_hours(pending),
                            preview: &held.preview,
                            list_domain: &settings.list_domain,
                        },
                        lang,
                    );
                    notices::queue(
                        &mut tx,
                        &notices::Outgoing {
                            member_id: Some(approver.member_id),
                            to: &approver.email,
                            kind: "approval.requested",
                            subject: &subject,
                            body: &body,
                            submission_id: Some(pending.submission_id),
                        },
                        now,
                    )
                    .await?;
                }
                let asked: Vec<i64> = approvers.iter().map(|a| a.member_id).collect();
                events.push(
                    about("approval.requested", None, pending)
                        .details(serde_json::json!({ "asked": asked })),
                );
            }
            if !events.is_empty() {
                audit::append(&mut tx, self.backend, &events, now).await?;
            }
            tx.commit().await?;
            handled += events.len() as u64;
        }
        Ok(handled)
    }
}
