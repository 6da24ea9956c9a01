//! The ways a held send ends without going out: an approver rejects it (with a comment the
//! sender reads), the sender withdraws it, or its approval window runs out. Each is one
//! transaction that takes the send out of `held` first, so only one of them can happen.

use super::pending::window_hours;
use super::{about, take_held, Actor, ApprovalSettings};
use crate::audit::log::{self as audit, AuditEvent};
use crate::notices;
use crate::{now_ms, SendState, StateNow, Store, StoreError};
use verteiler_policies::{approval_validity, Approval, ApprovalRefusal};

/// What became of a rejection or withdrawal.
#[derive(Debug, Clone, PartialEq)]
pub enum StopOutcome {
    Stopped,
    /// A rejection needs a comment: it is what the sender reads.
    CommentMissing,
    /// The person may not do this (not in scope, or the sender for a rejection; not the
    /// sender for a withdrawal).
    Refused(ApprovalRefusal),
    NotSender,
    NotHeld {
        state: StateNow,
    },
    NotFound,
}

impl Store {
    /// An approver refuses a held send; `comment` (required) reaches the sender.
    pub async fn reject_send(
        &self,
        send_id: i64,
        actor: &Actor,
        comment: &str,
        settings: &ApprovalSettings,
    ) -> Result<StopOutcome, StoreError> {
        let comment = comment.trim();
        if comment.is_empty() {
            return Ok(StopOutcome::CommentMissing);
        }
        let now = now_ms();
        let Some(pending) = self.pending(send_id).await? else {
            return Ok(StopOutcome::NotFound);
        };
        if !self.may_decide(&pending, actor, &settings.limits).await? {
            return Ok(StopOutcome::NotFound);
        }
        if pending.state != SendState::Held {
            return Ok(StopOutcome::NotHeld {
                state: pending.state.into(),
            });
        }
        let roles = self.role_grants(actor.member_id).await?;
        // The same scope rules as approving: only somebody who could have approved may refuse;
        // a send the circuit breaker holds an organisation admin may refuse as well.
        let admin_on_breaker = self
            .admin_stops_breaker_hold(actor.member_id, &pending)
            .await?;
        if admin_on_breaker {
            // The breaker is the organisation's: its admins refuse what it holds, in any list.
        } else if let Some(mut facts) = self.facts_again(&pending, settings, now).await? {
            facts.approvals.clear();
            let probe = Approval {
                approver_id: actor.member_id,
                approver_roles: roles.clone(),
                content_hash: facts.message.content_hash,
            };
            if let Err(refusal) = approval_validity(&facts, &settings.limits, &probe) {
                return Ok(StopOutcome::Refused(refusal));
            }
        } else if actor.member_id == pending.sender_member_id {
            return Ok(StopOutcome::Refused(ApprovalRefusal::OwnSubmission {}));
        }
        let Some(mut tx) = self
            .take_held_for_stop(send_id, SendState::Rejected, now)
            .await?
        else {
            return Ok(StopOutcome::NotHeld {
                state: StateNow::DecidedMeanwhile,
            });
        };
        sqlx::query(
            "INSERT INTO approvals (send_id, approver_member_id, verdict, content_hash, approver_roles, \
             comment, ingress, created_at) VALUES ($1, $2, 'reject', $3, $4, $5, $6, $7)",
        )
        .bind(send_id)
        .bind(actor.member_id)
        .bind(&pending.content_hash)
        .bind(serde_json::to_string(&roles).unwrap_or_else(|_| "[]".into()))
        .bind(comment)
        .bind(actor.ingress.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let approver = self.member_label(actor.member_id).await?;
        self.notify_sender(
            &mut tx,
            &pending,
            "submission.rejected",
            now,
            |audience, lang| {
                notices::rejected_by_approver(
                    audience,
                    &pending.subject,
                    &approver,
                    comment,
                    &settings.link(send_id),
                    lang,
                )
            },
        )
        .await?;
        let event = about("approval.rejected", Some(actor), &pending).details(self.with_token(
            actor,
            serde_json::json!({
                "comment": comment,
                "content_hash": pending.content_hash,
                "ingress": actor.ingress.as_str(),
                "as_admin_of_circuit_breaker_hold": admin_on_breaker,
            }),
        ));
        self.commit_stop(tx, event, now).await?;
        Ok(StopOutcome::Stopped)
    }

    /// The sender takes back a held send.
    pub async fn withdraw_send(
        &self,
        send_id: i64,
        actor: &Actor,
    ) -> Result<StopOutcome, StoreError> {
        let now = now_ms();
        let Some(pending) = self.pending(send_id).await? else {
            return Ok(StopOutcome::NotFound);
        };
        if pending.sender_member_id != actor.member_id {
            return Ok(StopOutcome::NotSender);
        }
        let Some(tx) = self
            .take_held_for_stop(send_id, SendState::Withdrawn, now)
            .await?
        else {
            return Ok(StopOutcome::NotHeld {
                state: pending.state.into(),
            });
        };
        let event = about("send.withdrawn", Some(actor), &pending)
            .details(serde_json::json!({ "ingress": actor.ingress.as_str() }));
        self.commit_stop(tx, event, now).await?;
        Ok(StopOutcome::Stopped)
    }

    /// Expires every held send whose window ended by `now` and tells each sender. Returns the
    /// expired sends. `now` is a parameter so tests move time instead of sleeping.
    pub async fn expire_held(
        &self,
        now: i64,
        settings: &ApprovalSettings,
    ) -> Result<Vec<i64>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM sends WHERE state = 'held' AND expires_at IS NOT NULL AND expires_at <= $1 \
             ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut expired = Vec::new();
        for send_id in ids {
            let Some(pending) = self.pending(send_id).await? else {
                continue;
            };
            let Some(mut tx) = self
                .take_held_for_stop(send_id, SendState::Expired, now)
                .await?
            else {
                continue;
            };
            let hours = window_hours(&pending);
            self.notify_sender(
                &mut tx,
                &pending,
                "submission.expired",
                now,
                |audience, lang| {
                    notices::expired(
                        audience,
                        &pending.subject,
                        hours,
                        &settings.link(send_id),
                        lang,
                    )
                },
            )
            .await?;
            let event = about("send.expired", None, &pending).details(
                serde_json::json!({ "expires_at": pending.expires_at, "window_hours": hours }),
            );
            self.commit_stop(tx, event, now).await?;
            expired.push(send_id);
        }
        Ok(expired)
    }

    /// Begins the transaction that ends a held send: takes it out of `held` into `state`.
    /// `None`, with nothing written, when another decision took it first.
    async fn take_held_for_stop(
        &self,
        send_id: i64,
        state: SendState,
        now: i64,
    ) -> Result<Option<sqlx::Transaction<'static, sqlx::Any>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !take_held(&mut tx, send_id, state, now).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(tx))
    }

    /// Records how the send ended and commits what `tx` holds with it.
    async fn commit_stop(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        event: AuditEvent,
        now: i64,
    ) -> Result<(), StoreError> {
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        Ok(())
    }
}
