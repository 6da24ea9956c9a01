//! The held send as the approval operations read it (the send with the submission behind it),
//! and the small steps every way of deciding on it shares: taking it out of `held` under a
//! lock, the approvals recorded so far, and the audit entry about it. Kept apart so the
//! breaker holds, deciders and deciding again use the very same steps.

use super::Actor;
use crate::audit::log::AuditEvent;
use crate::clock::HOUR_MS;
use crate::{SendState, StateNow, Store, StoreError};
use sqlx::Row;
use verteiler_policies::{Approval, ContentHash, RoleGrant};

/// The held send with the submission behind it.
pub(crate) struct Pending {
    pub(crate) send_id: i64,
    pub(crate) submission_id: i64,
    pub(crate) audience_id: Option<i64>,
    pub(crate) address: String,
    pub(crate) state: SendState,
    pub(crate) recipients: u64,
    pub(crate) reasons: String,
    pub(crate) approvals_needed: u64,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) sender_member_id: i64,
    pub(crate) subject: String,
    pub(crate) content_hash: String,
    pub(crate) message_facts: Option<String>,
    pub(crate) preview: Option<String>,
    /// The admin who lifted the circuit breaker for this send, if one did.
    pub(crate) breaker_lifted_by: Option<i64>,
}

const PENDING: &str =
    "SELECT s.id, s.submission_id, s.audience_id, s.address, s.state, s.recipients, \
     s.reasons, s.approvals_needed, s.created_at, s.expires_at, sub.sender_member_id, sub.subject, \
     sub.content_hash, sub.message_facts, sub.preview, s.breaker_lifted_by \
     FROM sends s JOIN submissions sub ON sub.id = s.submission_id";

fn pending_from_row(r: &sqlx::any::AnyRow) -> Result<Pending, sqlx::Error> {
    Ok(Pending {
        send_id: r.try_get("id")?,
        submission_id: r.try_get("submission_id")?,
        audience_id: r.try_get("audience_id")?,
        address: r.try_get("address")?,
        state: crate::states::parse(r, "state")?,
        recipients: r.try_get::<i64, _>("recipients")?.max(0) as u64,
        reasons: r.try_get("reasons")?,
        approvals_needed: r.try_get::<i64, _>("approvals_needed")?.max(0) as u64,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        sender_member_id: r.try_get("sender_member_id")?,
        subject: r.try_get("subject")?,
        content_hash: r.try_get("content_hash")?,
        message_facts: r.try_get("message_facts")?,
        preview: r.try_get("preview")?,
        breaker_lifted_by: r.try_get("breaker_lifted_by")?,
    })
}

/// The approval window of a held send in whole hours (rounded: the expiry is computed a few
/// milliseconds before the send is stored).
pub(super) fn window_hours(pending: &Pending) -> u64 {
    pending.expires_at.map_or(0, |e| {
        ((e - pending.created_at).max(0) + HOUR_MS / 2) as u64 / HOUR_MS as u64
    })
}

impl Store {
    /// Begins the transaction that decides a send still held, with the send locked (see
    /// [`take_held`]); otherwise, with nothing changed, the state it is in now ([`StateNow::Gone`] when
    /// it no longer exists).
    pub(super) async fn lock_held(
        &self,
        send_id: i64,
        now: i64,
    ) -> Result<Result<sqlx::Transaction<'static, sqlx::Any>, StateNow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if take_held(&mut tx, send_id, SendState::Held, now).await? {
            return Ok(Ok(tx));
        }
        tx.rollback().await?;
        let state = self
            .pending(send_id)
            .await?
            .map_or(StateNow::Gone, |p| p.state.into());
        Ok(Err(state))
    }
}

/// Moves a held send to `state` (or only touches it, for `held`) in `tx`, which locks the row
/// on PostgreSQL and the database on SQLite. `false`: it is no longer held, nothing changed.
pub(crate) async fn take_held(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send_id: i64,
    state: SendState,
    now: i64,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE sends SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'held'",
    )
    .bind(state.as_str())
    .bind(now)
    .bind(send_id)
    .execute(&mut **tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// An audit entry about `pending` by `actor`, or by the system when `actor` is `None`.
pub(crate) fn about(action: &'static str, actor: Option<&Actor>, pending: &Pending) -> AuditEvent {
    let event = match actor {
        // By member id and way in; `label` may be an address or a name, which the log must
        // not keep (an erasure could not take it back).
        Some(a) => AuditEvent::new(action, a.ingress.actor(a.member_id)).by_member(a.member_id),
        None => AuditEvent::new(action, "system"),
    };
    event
        .submission(pending.submission_id)
        .send(pending.send_id)
}

impl Store {
    /// The details of an audit entry about `actor`'s decision, with the API token it was made
    /// with when it came through the API: the portal's caller makes this store act as
    /// `api:token:<id> <name>` ([`Store::acting_as`]), and the entry names the member by id
    /// only, so without this the log could not say which of their tokens approved.
    pub(crate) fn with_token(
        &self,
        actor: &Actor,
        mut details: serde_json::Value,
    ) -> serde_json::Value {
        if actor.ingress == crate::Origin::Api {
            if let Some(map) = details.as_object_mut() {
                map.insert("token".into(), serde_json::Value::from(&*self.actor));
            }
        }
        details
    }
}

/// Every approval recorded for a send, read in `tx` (which holds the send locked).
pub(crate) async fn recorded_approvals(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send_id: i64,
) -> Result<Vec<Approval>, StoreError> {
    let recorded: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT approver_member_id, approver_roles, content_hash FROM approvals \
         WHERE send_id = $1 AND verdict = 'approve' ORDER BY id",
    )
    .bind(send_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(recorded
        .into_iter()
        .filter_map(|(approver_id, roles, hash)| {
            Some(Approval {
                approver_id,
                approver_roles: parse_grants(&roles),
                content_hash: ContentHash::parse(&hash).ok()?,
            })
        })
        .collect())
}

pub(crate) fn parse_grants(json: &str) -> Vec<RoleGrant> {
    // Unreadable grants count as none: an approval that cannot be checked does not count.
    serde_json::from_str(json).unwrap_or_default()
}

impl Store {
    pub(crate) async fn pending(&self, send_id: i64) -> Result<Option<Pending>, StoreError> {
        let row = sqlx::query(&format!("{PENDING} WHERE s.id = $1"))
            .bind(send_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(pending_from_row).transpose()?)
    }
}
