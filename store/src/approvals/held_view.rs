//! A held send as an approver sees it: the request details with every approval and rejection
//! recorded, one send or all held ones, and a press office's queue of what it is asked about;
//! and whether a member is one of those asked to approve it.

use super::approvers::ApproversKnown;
use super::Pending;
use crate::{SendState, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use verteiler_policies::{OrgLimits, Reason};

/// A held send as an approver sees it.
#[derive(Debug, Clone, Serialize)]
pub struct HeldSend {
    pub send_id: i64,
    pub submission_id: i64,
    pub audience_id: Option<i64>,
    /// `held` while it waits; what became of it otherwise.
    pub state: SendState,
    pub audience: String,
    pub address: String,
    pub sender_member_id: i64,
    pub sender: String,
    pub subject: String,
    pub recipients: u64,
    pub usual_size: Option<u64>,
    /// More approvals needed (0: only an admin resuming sending can release it).
    pub approvals_needed: u64,
    pub reasons: Vec<Reason>,
    pub content_hash: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub decisions: Vec<ApprovalRecord>,
    /// The beginning of the message's text.
    pub preview: String,
}

/// One approval or rejection as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRecord {
    pub approver_member_id: i64,
    pub approver: String,
    pub verdict: String,
    pub content_hash: String,
    pub comment: Option<String>,
    pub at: i64,
}

impl Store {
    /// The held sends `member_id` is asked to approve, newest first, at most `max`: a press
    /// office's queue. Whom a send asks is decided as for the approval request itself
    /// ([`Store::approvers_for`]), so the sender's own sends are never in it.
    pub async fn approval_queue(
        &self,
        member_id: i64,
        limits: &OrgLimits,
        max: usize,
    ) -> Result<Vec<HeldSend>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM sends WHERE state = 'held' AND audience_id IS NOT NULL \
             AND approvals_needed > 0 ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut known = ApproversKnown::new();
        let mut queue = Vec::new();
        for send_id in ids {
            let Some(pending) = self.pending(send_id).await? else {
                continue;
            };
            let Some(audience_id) = pending.audience_id else {
                continue;
            };
            let asked = self
                .approvers_known(&mut known, audience_id, pending.sender_member_id, limits)
                .await?
                .iter()
                .any(|a| a.member_id == member_id);
            if asked {
                queue.push(self.held_from(&pending).await?);
                if queue.len() >= max {
                    break;
                }
            }
        }
        Ok(queue)
    }

    /// Held sends, oldest first.
    pub async fn held_sends(&self) -> Result<Vec<HeldSend>, StoreError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM sends WHERE state = 'held' ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut held = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(h) = self.held_send(id).await? {
                held.push(h);
            }
        }
        Ok(held)
    }

    /// One send with its request details, whatever its state now (`None`: no such send).
    pub async fn held_send(&self, send_id: i64) -> Result<Option<HeldSend>, StoreError> {
        match self.pending(send_id).await? {
            Some(p) => Ok(Some(self.held_from(&p).await?)),
            None => Ok(None),
        }
    }

    /// The request details of a send already read.
    pub(super) async fn held_from(&self, p: &Pending) -> Result<HeldSend, StoreError> {
        let send_id = p.send_id;
        let audience = self.send_audience(p.audience_id).await?;
        let rows = sqlx::query(
            "SELECT approver_member_id, verdict, content_hash, comment, created_at FROM approvals \
             WHERE send_id = $1 ORDER BY id",
        )
        .bind(send_id)
        .fetch_all(&self.pool)
        .await?;
        let mut decisions = Vec::with_capacity(rows.len());
        for r in &rows {
            let approver_member_id: i64 = r.try_get("approver_member_id")?;
            decisions.push(ApprovalRecord {
                approver_member_id,
                approver: self.member_label(approver_member_id).await?,
                verdict: r.try_get("verdict")?,
                content_hash: r.try_get("content_hash")?,
                comment: r.try_get("comment")?,
                at: r.try_get("created_at")?,
            });
        }
        Ok(HeldSend {
            send_id: p.send_id,
            submission_id: p.submission_id,
            audience_id: p.audience_id,
            state: p.state,
            audience: audience
                .as_ref()
                .map_or_else(|| p.address.clone(), |a| a.name.clone()),
            address: p.address.clone(),
            sender_member_id: p.sender_member_id,
            sender: self.member_label(p.sender_member_id).await?,
            subject: p.subject.clone(),
            recipients: p.recipients,
            usual_size: audience.as_ref().and_then(|a| a.usual_size),
            approvals_needed: if p.state == SendState::Held {
                p.approvals_needed
            } else {
                0
            },
            reasons: serde_json::from_str(&p.reasons).unwrap_or_default(),
            content_hash: p.content_hash.clone(),
            preview: p.preview.clone().unwrap_or_default(),
            created_at: p.created_at,
            expires_at: p.expires_at,
            decisions,
        })
    }

    /// Whether `member_id` is one of the people asked to approve `held` (the portal shows a
    /// request only to them; the approval itself is checked again by [`Store::approve_send`]).
    pub async fn may_review(
        &self,
        held: &HeldSend,
        member_id: i64,
        limits: &OrgLimits,
    ) -> Result<bool, StoreError> {
        let Some(audience_id) = held.audience_id else {
            return Ok(false);
        };
        Ok(self
            .approvers_for(audience_id, held.sender_member_id, limits)
            .await?
            .iter()
            .any(|a| a.member_id == member_id))
    }
}
