//! Sends held by the organisation's circuit breaker (`org.circuit_breaker`: the organisation
//! would have reached more than `limits.org_recipients_per_hour` recipients in an hour), and
//! the way out for them.
//!
//! The breaker is the organisation's state, not a property of one message, so approvers never
//! lift it and resuming sending after the kill switch does not either: an organisation admin
//! looks at each held send and releases it (or all of them at once), or refuses it. Releasing
//! lifts the breaker for that send alone — it is decided again by the engine with the breaker
//! overridden, so any other reason still holds it (its approvers are asked as usual) or
//! refuses it, and only a fresh release lets it go, through the undo window. The move from
//! `held` happens under the send's lock, so a send released twice (two admins, one by one and
//! all at once) is scheduled once and goes out once.

use crate::approvals::{about, recorded_approvals, Pending};
use crate::audit::log as audit;
use crate::{notices, Actor, ApprovalSettings, SendState, StateNow, Store, StoreError};
use serde::Serialize;
use verteiler_policies::{decide, Decision, Reason};

/// A send the circuit breaker holds, with its figures.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerHold {
    pub send_id: i64,
    pub submission_id: i64,
    /// The list's name (its address when the list is gone).
    pub audience: String,
    pub sender: String,
    pub subject: String,
    pub recipients: u64,
    /// What the organisation would have reached in the hour with this send, and the limit.
    pub breaker_recipients: u64,
    pub breaker_limit: u64,
    /// Every other reason it is held for: those stay when the breaker is lifted.
    pub other_reasons: Vec<Reason>,
    /// When it was held, and when the hold expires unanswered.
    pub held_at: i64,
    pub expires_at: Option<i64>,
}

/// What became of an admin's release of a circuit-breaker hold.
#[derive(Debug, Clone, PartialEq)]
pub enum BreakerRelease {
    /// Decided again without the breaker and released: delivery starts at `release_at`.
    Released {
        release_at: i64,
        recipients: u64,
    },
    /// The breaker is lifted, but other reasons hold it: it waits for `approvals_needed`
    /// approvals, and its approvers are asked.
    StillHeld {
        approvals_needed: u32,
        reasons: Vec<Reason>,
    },
    /// Decided again, the engine refuses it now (the list was switched off meanwhile, …):
    /// nothing goes out, and the sender is told.
    Rejected {
        reasons: Vec<Reason>,
    },
    /// Only an organisation admin releases what the breaker holds; nothing was changed.
    NotAdmin,
    /// Held, but not by the circuit breaker: it waits for approvers, not for an admin.
    NotBreakerHold,
    NotHeld {
        state: StateNow,
    },
    NotFound,
    /// The submission carries no figures to decide again with; only a new submission can go.
    Undecidable,
}

/// What resuming sending after the kill switch leaves waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resumed {
    /// Sends the circuit breaker still holds: resuming does not release them.
    pub breaker_holds_waiting: u64,
}

/// The breaker's figures among `reasons`, if it holds the send.
fn breaker_of(reasons: &[Reason]) -> Option<(u64, u64)> {
    reasons.iter().find_map(|r| match r {
        Reason::CircuitBreaker { recipients, limit } => Some((*recipients, *limit)),
        _ => None,
    })
}

fn reasons_of(pending: &Pending) -> Vec<Reason> {
    // Unreadable reasons name no breaker: such a send is not released as one (fail closed).
    serde_json::from_str(&pending.reasons).unwrap_or_default()
}

/// Held sends whose stored reasons mention the breaker; each is confirmed by parsing them.
const CANDIDATES: &str =
    "SELECT id FROM sends WHERE state = 'held' AND reasons LIKE '%org.circuit_breaker%' ORDER BY id";

impl Store {
    /// Sends the circuit breaker holds, oldest first.
    pub async fn breaker_holds(&self) -> Result<Vec<BreakerHold>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(CANDIDATES).fetch_all(&self.pool).await?;
        let mut holds = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(p) = self.pending(id).await? else {
                continue;
            };
            let reasons = reasons_of(&p);
            let Some((breaker_recipients, breaker_limit)) = breaker_of(&reasons) else {
                continue;
            };
            let audience = self
                .send_audience(p.audience_id)
                .await?
                .map(|a| a.definition.name);
            holds.push(BreakerHold {
                send_id: p.send_id,
                submission_id: p.submission_id,
                audience: audience.unwrap_or_else(|| p.address.clone()),
                sender: self.member_label(p.sender_member_id).await?,
                subject: p.subject.clone(),
                recipients: p.recipients,
                breaker_recipients,
                breaker_limit,
                other_reasons: reasons
                    .into_iter()
                    .filter(|r| !matches!(r, Reason::CircuitBreaker { .. }))
                    .collect(),
                held_at: p.created_at,
                expires_at: p.expires_at,
            });
        }
        Ok(holds)
    }

    /// How many sends the circuit breaker holds.
    pub async fn breaker_holds_waiting(&self) -> Result<u64, StoreError> {
        Ok(self.breaker_holds().await?.len() as u64)
    }

    /// Whether `member_id` may refuse `pending` as an organisation admin: the breaker holds it.
    pub(crate) async fn admin_stops_breaker_hold(
        &self,
        member_id: i64,
        pending: &Pending,
    ) -> Result<bool, StoreError> {
        Ok(breaker_of(&reasons_of(pending)).is_some() && self.is_admin(member_id).await?)
    }

    /// An organisation admin releases one send the circuit breaker holds: it is decided again
    /// with the breaker lifted for it alone (recorded on the send, so later decisions keep it
    /// lifted) and every approval recorded so far, and goes out only if that decision
    /// releases it.
    pub async fn release_breaker_hold(
        &self,
        send_id: i64,
        admin: &Actor,
        settings: &ApprovalSettings,
    ) -> Result<BreakerRelease, StoreError> {
        if !self.is_admin(admin.member_id).await? {
            return Ok(BreakerRelease::NotAdmin);
        }
        let now = crate::now_ms();
        let Some(pending) = self.pending(send_id).await? else {
            return Ok(BreakerRelease::NotFound);
        };
        if pending.state != SendState::Held {
            return Ok(BreakerRelease::NotHeld {
                state: pending.state.into(),
            });
        }
        let Some((tripped_at, limit)) = breaker_of(&reasons_of(&pending)) else {
            return Ok(BreakerRelease::NotBreakerHold);
        };
        let Some(mut facts) = self.facts_again(&pending, settings, now).await? else {
            return Ok(BreakerRelease::Undecidable);
        };
        // The send's lock first: a second release waits here and then finds it no longer held.
        let mut tx = match self.lock_held(send_id, now).await? {
            Ok(tx) => tx,
            Err(state) => return Ok(BreakerRelease::NotHeld { state }),
        };
        facts.approvals = recorded_approvals(&mut tx, send_id).await?;
        facts.circuit_breaker_lifted_by = Some(admin.member_id);
        let decision = decide(&facts, &settings.limits);
        sqlx::query("UPDATE sends SET breaker_lifted_by = $1 WHERE id = $2")
            .bind(admin.member_id)
            .bind(send_id)
            .execute(&mut *tx)
            .await?;
        let breaker = serde_json::json!({ "recipients": tripped_at, "limit": limit });
        let mut events = Vec::new();
        let outcome = match decision {
            Decision::Release { headers } => {
                let recipients = facts.resolution.recipients;
                let release_at = self
                    .schedule_released(&mut tx, send_id, headers, recipients, now, settings)
                    .await?;
                events.push(about("send.released", Some(admin), &pending).details(
                    serde_json::json!({
                        "release_at": release_at,
                        "recipients": recipients,
                        "recipients_when_held": pending.recipients,
                        "circuit_breaker_lifted": breaker,
                    }),
                ));
                self.tell_released(&mut tx, &pending, admin, now, settings)
                    .await?;
                BreakerRelease::Released {
                    release_at,
                    recipients,
                }
            }
            Decision::Hold {
                approvals_needed,
                reasons,
                ..
            } => {
                sqlx::query("UPDATE sends SET approvals_needed = $1, reasons = $2 WHERE id = $3")
                    .bind(i64::from(approvals_needed))
                    .bind(serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into()))
                    .bind(send_id)
                    .execute(&mut *tx)
                    .await?;
                events.push(about("send.breaker_lifted", Some(admin), &pending).details(
                    serde_json::json!({
                        "circuit_breaker_lifted": breaker,
                        "still_held_for": reasons,
                        "approvals_needed": approvals_needed,
                    }),
                ));
                BreakerRelease::StillHeld {
                    approvals_needed,
                    reasons,
                }
            }
            Decision::Reject { reasons } => {
                events.push(about("send.breaker_lifted", Some(admin), &pending).details(
                    serde_json::json!({ "circuit_breaker_lifted": breaker, "refused_for": reasons }),
                ));
                let when = "decided again when an admin lifted the circuit breaker";
                let refused = self
                    .refuse_held(&mut tx, &pending, &reasons, when, now, settings)
                    .await?;
                events.push(refused);
                BreakerRelease::Rejected { reasons }
            }
        };
        audit::append(&mut tx, self.backend, &events, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Releases every send the circuit breaker holds, oldest first, as
    /// [`Store::release_breaker_hold`] does one by one (so for anybody but an admin each is
    /// [`BreakerRelease::NotAdmin`]); returns each send with its outcome.
    pub async fn release_all_breaker_holds(
        &self,
        admin: &Actor,
        settings: &ApprovalSettings,
    ) -> Result<Vec<(i64, BreakerRelease)>, StoreError> {
        let mut outcomes = Vec::new();
        for hold in self.breaker_holds().await? {
            let outcome = self
                .release_breaker_hold(hold.send_id, admin, settings)
                .await?;
            outcomes.push((hold.send_id, outcome));
        }
        Ok(outcomes)
    }

    /// Tells the sender that an admin released their send held by the breaker.
    async fn tell_released(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        pending: &Pending,
        admin: &Actor,
        now: i64,
        settings: &ApprovalSettings,
    ) -> Result<(), StoreError> {
        let admin_label = self.member_label(admin.member_id).await?;
        let link = settings.link(pending.send_id);
        self.notify_sender(tx, pending, "submission.released", now, |audience, lang| {
            notices::released_by_admin(
                audience,
                &pending.subject,
                &admin_label,
                pending.send_id,
                settings.undo_window_secs,
                &link,
                lang,
            )
        })
        .await
    }
}
