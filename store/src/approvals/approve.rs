//! One person approves a held send. The approval counts only if the engine says so; the send
//! is then decided again with every approval, and released through the undo window only when
//! that decision is a release. Split into steps so each reads on its own: the checks before
//! anything is written, the approval row, and what the fresh decision does.

use super::{about, recorded_approvals, Actor, ApprovalSettings, Pending};
use crate::audit::log as audit;
use crate::notices;
use crate::{now_ms, SendState, StateNow, Store, StoreError};
use verteiler_policies::{
    approval_validity, decide, Approval, ApprovalRefusal, ContentHash, Decision, Facts,
    HeaderTreatment, Reason,
};

/// What became of an approval.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalOutcome {
    /// Counted; this many more are needed.
    Recorded {
        missing: u32,
    },
    /// It was the last one: the send is scheduled for `release_at`.
    Released {
        release_at: i64,
        recipients: u64,
    },
    /// Counted, but deciding again refused the send (the list was switched off meanwhile, a
    /// limit was lowered, …): nothing goes out.
    Rejected {
        reasons: Vec<Reason>,
    },
    /// The approval does not count, for this reason; nothing was changed.
    Refused(ApprovalRefusal),
    /// The send is not waiting for approval (any more).
    NotHeld {
        state: StateNow,
    },
    NotFound,
    /// The submission carries no figures to decide again with; only a new submission can go.
    Undecidable,
}

/// A held send and an approval that passed the checks before anything is written, ready to
/// be counted in the transaction that locks the send.
struct ToCount {
    pending: Pending,
    facts: Facts,
    approval: Approval,
}

impl Store {
    /// One person approves a held send, having seen the content with `seen_hash` (the stored
    /// content when `None`). The approval counts only if the engine says so; the send is then
    /// decided again with every approval, and released through the undo window when that
    /// decision is a release.
    pub async fn approve_send(
        &self,
        send_id: i64,
        actor: &Actor,
        comment: Option<&str>,
        seen_hash: Option<&str>,
        settings: &ApprovalSettings,
    ) -> Result<ApprovalOutcome, StoreError> {
        let now = now_ms();
        let ToCount {
            pending,
            mut facts,
            approval,
        } = match self
            .approval_to_count(send_id, actor, seen_hash, settings, now)
            .await?
        {
            Ok(to_count) => to_count,
            Err(outcome) => return Ok(outcome),
        };

        // Lock the send first (the row on PostgreSQL, the database on SQLite): two approvals
        // arriving together are then counted one after the other, never both without the other.
        let mut tx = match self.lock_held(send_id, now).await? {
            Ok(tx) => tx,
            Err(state) => return Ok(ApprovalOutcome::NotHeld { state }),
        };
        facts.approvals = recorded_approvals(&mut tx, send_id).await?;
        if let Err(refusal) = approval_validity(&facts, &settings.limits, &approval) {
            tx.rollback().await?;
            self.audit_refusal(actor, &pending, &approval, &refusal)
                .await?;
            return Ok(ApprovalOutcome::Refused(refusal));
        }
        insert_approval(&mut tx, send_id, actor, &approval, comment, now).await?;
        facts.approvals.push(approval.clone());
        let decision = decide(&facts, &settings.limits);
        let mut events =
            vec![
                about("approval.given", Some(actor), &pending).details(self.with_token(
                    actor,
                    serde_json::json!({
                        "content_hash": approval.content_hash.to_string(),
                        "comment": comment,
                        "ingress": actor.ingress.as_str(),
                        "roles": approval.approver_roles,
                    }),
                )),
            ];
        let outcome = match &decision {
            Decision::Release { headers } => {
                // The approvers confirmed today's count: expansion compares growth against it.
                let recipients = facts.resolution.recipients;
                let (release_at, approvers) = self
                    .release_approved(&mut tx, &pending, &facts, *headers, now, settings)
                    .await?;
                events.push(about("send.released", Some(actor), &pending).details(
                    serde_json::json!({
                        "release_at": release_at,
                        "recipients": recipients,
                        "recipients_when_held": pending.recipients,
                        "approved_by": approvers,
                    }),
                ));
                ApprovalOutcome::Released {
                    release_at,
                    recipients,
                }
            }
            Decision::Hold {
                approvals_needed,
                reasons,
                ..
            } => {
                record_still_needed(&mut tx, send_id, *approvals_needed, reasons).await?;
                ApprovalOutcome::Recorded {
                    missing: *approvals_needed,
                }
            }
            Decision::Reject { reasons } => {
                let when = "decided again at approval";
                let refused = self
                    .refuse_held(&mut tx, &pending, reasons, when, now, settings)
                    .await?;
                events.push(refused);
                ApprovalOutcome::Rejected {
                    reasons: reasons.clone(),
                }
            }
        };
        audit::append(&mut tx, self.backend, &events, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The checks before the transaction: the send exists, `actor` may decide on it, it is
    /// still held, it can be decided again, and the content they saw names a valid hash.
    /// `Err` is the outcome to answer with; nothing was written.
    async fn approval_to_count(
        &self,
        send_id: i64,
        actor: &Actor,
        seen_hash: Option<&str>,
        settings: &ApprovalSettings,
        now: i64,
    ) -> Result<Result<ToCount, ApprovalOutcome>, StoreError> {
        let Some(pending) = self.pending(send_id).await? else {
            return Ok(Err(ApprovalOutcome::NotFound));
        };
        if !self.may_decide(&pending, actor, &settings.limits).await? {
            return Ok(Err(ApprovalOutcome::NotFound));
        }
        if pending.state != SendState::Held {
            return Ok(Err(ApprovalOutcome::NotHeld {
                state: pending.state.into(),
            }));
        }
        let Some(facts) = self.facts_again(&pending, settings, now).await? else {
            return Ok(Err(ApprovalOutcome::Undecidable));
        };
        let content_hash = match ContentHash::parse(seen_hash.unwrap_or(&pending.content_hash)) {
            Ok(h) => h,
            Err(_) => {
                return Ok(Err(ApprovalOutcome::Refused(
                    ApprovalRefusal::ContentChanged {},
                )));
            }
        };
        let approval = Approval {
            approver_id: actor.member_id,
            approver_roles: self.role_grants(actor.member_id).await?,
            content_hash,
        };
        Ok(Ok(ToCount {
            pending,
            facts,
            approval,
        }))
    }

    /// The last approval made the decision a release: schedules the send through the undo
    /// window for the count the approvers confirmed and tells the sender who approved. Returns
    /// when it goes out and the approvers' names (for the audit entry).
    async fn release_approved(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        pending: &Pending,
        facts: &Facts,
        headers: HeaderTreatment,
        now: i64,
        settings: &ApprovalSettings,
    ) -> Result<(i64, Vec<String>), StoreError> {
        let send_id = pending.send_id;
        let recipients = facts.resolution.recipients;
        let release_at = self
            .schedule_released(tx, send_id, headers, recipients, now, settings)
            .await?;
        let approvers = self.approver_names(&facts.approvals).await?;
        self.notify_sender(tx, pending, "submission.released", now, |audience, lang| {
            notices::released_after_approval(
                audience,
                &pending.subject,
                &approvers.join(", "),
                send_id,
                settings.undo_window_secs,
                &settings.link(send_id),
                lang,
            )
        })
        .await?;
        Ok((release_at, approvers))
    }

    /// The names of the approvers, in the order they approved (one approving twice in a row
    /// named once).
    async fn approver_names(&self, approvals: &[Approval]) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<i64> = approvals.iter().map(|a| a.approver_id).collect();
        ids.dedup();
        let mut names = Vec::new();
        for id in ids {
            names.push(self.member_label(id).await?);
        }
        Ok(names)
    }
}

/// Records `approval` as given by `actor` in `tx`, with the roles it was checked against.
async fn insert_approval(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send_id: i64,
    actor: &Actor,
    approval: &Approval,
    comment: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO approvals (send_id, approver_member_id, verdict, content_hash, approver_roles, \
         comment, ingress, created_at) VALUES ($1, $2, 'approve', $3, $4, $5, $6, $7)",
    )
    .bind(send_id)
    .bind(actor.member_id)
    .bind(approval.content_hash.to_string())
    .bind(serde_json::to_string(&approval.approver_roles).unwrap_or_else(|_| "[]".into()))
    .bind(comment)
    .bind(actor.ingress.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The send stays held: records how many approvals it still needs and why, as decided again.
async fn record_still_needed(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send_id: i64,
    approvals_needed: u32,
    reasons: &[Reason],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sends SET approvals_needed = $1, reasons = $2 WHERE id = $3")
        .bind(i64::from(approvals_needed))
        .bind(serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into()))
        .bind(send_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
