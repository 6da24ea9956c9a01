//! A sender's own submissions, for their pages: what they sent, what was decided and why, and
//! how far delivery got. Every look-up names the member, so another member's submission is
//! simply not found: the object-level authorisation lives in the query, not in the caller.

use crate::intake::submissions::send_from_row;
use crate::{
    Actor, DeliveryTotals, SendRecord, SendState, StateNow, StopOutcome, Store, StoreError,
};
use sqlx::Row;
use verteiler_policies::Reason;

/// One send of a member's own submission.
#[derive(Debug, Clone)]
pub struct OwnSend {
    pub send: SendRecord,
    /// The list's name (`None` when the address named no list).
    pub audience: Option<String>,
    pub reasons: Vec<Reason>,
}

impl OwnSend {
    /// Still running or waiting: the sender may stop it (in the undo window, during fan-out,
    /// or while it waits for approval).
    pub fn cancellable(&self) -> bool {
        self.send.state.stoppable()
    }

    /// Copies are still being handed over or about to be: the totals change.
    pub fn running(&self) -> bool {
        self.send.state.running()
    }
}

/// A member's own submission with its sends, in the order they were addressed.
#[derive(Debug, Clone)]
pub struct OwnSubmission {
    pub id: i64,
    pub subject: String,
    pub created_at: i64,
    pub sends: Vec<OwnSend>,
}

/// What stopping one's own send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Stopped (a held send: withdrawn); this many copies not yet handed over were cancelled.
    Cancelled { copies: u64 },
    /// The send had ended already (complete, rejected, cancelled …).
    NotRunning { state: SendState },
    /// No such send among the member's own.
    NotFound,
}

/// A submission's sends with the list names, one row per send.
const OWN_SELECT: &str = "SELECT sub.id AS sub_id, sub.subject, sub.created_at AS sub_created, \
     s.id, s.submission_id, s.address, s.state, s.decision, s.reasons, s.recipients, \
     s.release_at, a.name AS audience FROM submissions sub \
     JOIN sends s ON s.submission_id = sub.id LEFT JOIN audiences a ON a.id = s.audience_id";

impl Store {
    /// The member's newest `max` submissions, newest first.
    pub async fn own_submissions(
        &self,
        member_id: i64,
        max: usize,
    ) -> Result<Vec<OwnSubmission>, StoreError> {
        self.own_submissions_before(member_id, None, max).await
    }

    /// The member's newest `max` submissions with an id below `before` (all with `None`),
    /// newest first: a page of the API's list.
    pub async fn own_submissions_before(
        &self,
        member_id: i64,
        before: Option<i64>,
        max: usize,
    ) -> Result<Vec<OwnSubmission>, StoreError> {
        let rows = sqlx::query(&format!(
            "{OWN_SELECT} WHERE sub.id IN (SELECT id FROM submissions WHERE sender_member_id = $1 \
                              AND id < $2 ORDER BY id DESC LIMIT $3) \
             ORDER BY sub.id DESC, s.id"
        ))
        .bind(member_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(max as i64)
        .fetch_all(&self.pool)
        .await?;
        own_from_rows(&rows)
    }

    /// One of the member's own sends, within its submission (which then holds only this
    /// send); `None` for anybody else's.
    pub async fn own_send(
        &self,
        member_id: i64,
        send_id: i64,
    ) -> Result<Option<OwnSubmission>, StoreError> {
        let rows = sqlx::query(&format!(
            "{OWN_SELECT} WHERE s.id = $1 AND sub.sender_member_id = $2"
        ))
        .bind(send_id)
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(own_from_rows(&rows)?.pop())
    }

    /// One of the member's own submissions; `None` for anybody else's.
    pub async fn own_submission(
        &self,
        member_id: i64,
        submission_id: i64,
    ) -> Result<Option<OwnSubmission>, StoreError> {
        let rows = sqlx::query(&format!(
            "{OWN_SELECT} WHERE sub.id = $1 AND sub.sender_member_id = $2 ORDER BY s.id"
        ))
        .bind(submission_id)
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(own_from_rows(&rows)?.pop())
    }

    /// Delivery totals of each running or finished send of an own submission, in send order.
    pub async fn own_totals(
        &self,
        submission: &OwnSubmission,
    ) -> Result<Vec<DeliveryTotals>, StoreError> {
        let mut totals = Vec::with_capacity(submission.sends.len());
        for own in &submission.sends {
            totals.push(self.delivery_totals(own.send.id).await?);
        }
        Ok(totals)
    }

    /// Stops one of the actor's own sends. A held send is withdrawn (as `verteiler held
    /// withdraw` does: nobody is asked to approve it any more); a released one is cancelled,
    /// with the copies not yet handed over.
    pub async fn cancel_own_send(
        &self,
        actor: &Actor,
        submission_id: i64,
        send_id: i64,
    ) -> Result<CancelOutcome, StoreError> {
        let Some(submission) = self.own_submission(actor.member_id, submission_id).await? else {
            return Ok(CancelOutcome::NotFound);
        };
        let Some(own) = submission.sends.iter().find(|o| o.send.id == send_id) else {
            return Ok(CancelOutcome::NotFound);
        };
        if !own.cancellable() {
            return Ok(CancelOutcome::NotRunning {
                state: own.send.state,
            });
        }
        if own.send.state == SendState::Held {
            return Ok(match self.withdraw_send(send_id, actor).await? {
                StopOutcome::Stopped => CancelOutcome::Cancelled { copies: 0 },
                // Withdrawing names the state it found; it never reports the send gone.
                StopOutcome::NotHeld {
                    state: StateNow::Is(state),
                } => CancelOutcome::NotRunning { state },
                _ => CancelOutcome::NotFound,
            });
        }
        let copies = self
            .cancel_send(send_id, &actor.ingress.actor(actor.member_id))
            .await?;
        // The send may have finished between the look and the stop: say what it is now.
        match self.send_record(send_id).await?.map(|s| s.state) {
            Some(state) if state != SendState::Cancelled => Ok(CancelOutcome::NotRunning { state }),
            _ => Ok(CancelOutcome::Cancelled { copies }),
        }
    }
}

/// Groups joined rows (ordered by submission) into submissions with their sends.
fn own_from_rows(rows: &[sqlx::any::AnyRow]) -> Result<Vec<OwnSubmission>, StoreError> {
    let mut out: Vec<OwnSubmission> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("sub_id")?;
        let send = send_from_row(row)?;
        let own = OwnSend {
            reasons: serde_json::from_str(&send.reasons).unwrap_or_default(),
            audience: row.try_get("audience")?,
            send,
        };
        match out.last_mut() {
            Some(last) if last.id == id => last.sends.push(own),
            _ => out.push(OwnSubmission {
                id,
                subject: row.try_get("subject")?,
                created_at: row.try_get("sub_created")?,
                sends: vec![own],
            }),
        }
    }
    Ok(out)
}
