//! Four eyes: held sends become approval requests, and approving, rejecting, withdrawing and
//! expiring them are operations here, so SMTP, the portal, the API and the CLI all go through
//! the same rules (the policy engine's) and the same transactions (with their audit entries).
//!
//! An approval never releases anything by itself: the send is decided again by the engine
//! with every approval recorded, and only a fresh `Release` lets it go, through the same undo
//! window as any send.

use crate::audit::{self, AuditEvent};
use crate::clock::HOUR_MS;
use crate::notices::{self, HeldSummary};
use crate::submissions::Ingress;
use crate::{now_ms, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use std::collections::hash_map::{Entry, HashMap};
use verteiler_policies::{
    approval_validity, decide, effective_limits, Approval, ApprovalRefusal, ContentHash, Decision,
    Lang, OrgLimits, Reason, RoleGrant,
};

/// What the approval operations take from the configuration.
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    pub list_domain: String,
    pub limits: OrgLimits,
    /// A released send waits this long before the first copy goes out.
    pub undo_window_secs: u64,
    /// A held send waits this long for approvals, then expires.
    pub approval_window_secs: u64,
    /// Base of the links in notices (`https://portal.example.org`).
    pub portal_base_url: String,
}

impl ApprovalSettings {
    pub(crate) fn link(&self, send_id: i64) -> String {
        format!(
            "{}/held/{send_id}",
            self.portal_base_url.trim_end_matches('/')
        )
    }
}

/// The person deciding, and through which way in.
#[derive(Debug, Clone)]
pub struct Actor {
    pub member_id: i64,
    /// How messages and command output name them (a login, an address, a name). The audit
    /// log does not: it names them by `ingress` and `member_id` (see [`Ingress::actor`]).
    pub label: String,
    pub ingress: Ingress,
}

/// Approvers by (audience, sender), for one pass over held sends.
type ApproversKnown = HashMap<(i64, i64), Vec<Approver>>;

/// Held sends whose approvers are asked in one transaction by the sweep.
const REQUESTS_PER_TRANSACTION: usize = 16;

/// Somebody who may approve a held send, to be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub member_id: i64,
    pub name: String,
    pub email: String,
    pub language: String,
}

/// A held send as an approver sees it.
#[derive(Debug, Clone, Serialize)]
pub struct HeldSend {
    pub send_id: i64,
    pub submission_id: i64,
    pub audience_id: Option<i64>,
    /// `held` while it waits; what became of it otherwise.
    pub state: String,
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
        state: String,
    },
    NotFound,
    /// The submission carries no figures to decide again with; only a new submission can go.
    Undecidable,
}

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
        state: String,
    },
    NotFound,
}

/// The held send with the submission behind it.
pub(crate) struct Pending {
    pub(crate) send_id: i64,
    pub(crate) submission_id: i64,
    pub(crate) audience_id: Option<i64>,
    pub(crate) address: String,
    pub(crate) state: String,
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
        state: r.try_get("state")?,
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
fn window_hours(pending: &Pending) -> u64 {
    pending.expires_at.map_or(0, |e| {
        ((e - pending.created_at).max(0) + HOUR_MS / 2) as u64 / HOUR_MS as u64
    })
}

/// Moves a held send to `state` (or only touches it, for `held`) in `tx`, which locks the row
/// on PostgreSQL and the database on SQLite. `false`: it is no longer held, nothing changed.
pub(crate) async fn take_held(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send_id: i64,
    state: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE sends SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'held'",
    )
    .bind(state)
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

    /// "First Last <address>" of a member, for people reading notices and the audit trail.
    pub async fn member_label(&self, member_id: i64) -> Result<String, StoreError> {
        let name: Option<(String, String)> =
            sqlx::query_as("SELECT first_name, last_name FROM members WHERE id = $1")
                .bind(member_id)
                .fetch_optional(&self.pool)
                .await?;
        let email = self.member_emails(member_id).await?.into_iter().next();
        Ok(match (name, email) {
            (Some((first, last)), _) if first.is_empty() && last.is_empty() => {
                format!("member {member_id} (erased)")
            }
            (Some((first, last)), Some((email, _))) => format!("{first} {last} <{email}>"),
            (Some((first, last)), None) => format!("{first} {last}"),
            (None, _) => format!("member {member_id}"),
        })
    }

    /// An audit actor as a person reads it: `portal:member:4` becomes the member's name and
    /// address with the actor after it; `cli:USER` and the like stay as they are.
    pub async fn actor_name(&self, actor: &str) -> Result<String, StoreError> {
        // `portal:member:4`, `smtp:member:4`, `cli:member:4`: a member by id, whatever the way in.
        match actor
            .split_once(":member:")
            .and_then(|(_, id)| id.parse::<i64>().ok())
        {
            Some(id) => Ok(format!("{} ({actor})", self.member_label(id).await?)),
            None => Ok(actor.to_string()),
        }
    }

    /// Where notices to a member go: their first verified address, and their language.
    pub(crate) async fn notice_address(
        &self,
        member_id: i64,
    ) -> Result<Option<(String, Lang)>, StoreError> {
        let email = self
            .member_emails(member_id)
            .await?
            .into_iter()
            .find(|(_, verified)| *verified)
            .map(|(e, _)| e);
        let lang = Lang::from_tag(&self.member_language(member_id).await?);
        Ok(email.map(|e| (e, lang)))
    }

    /// The people to ask about a held send to `audience_id`: holders of an approver function
    /// covering the audience, nearest scope first (a district's press office before the
    /// state's): only the nearest level that has anybody is asked. Never the sender.
    pub async fn approvers_for(
        &self,
        audience_id: i64,
        sender_member_id: i64,
        limits: &OrgLimits,
    ) -> Result<Vec<Approver>, StoreError> {
        let Some(audience) = self.audience_by_id(audience_id).await? else {
            return Ok(Vec::new());
        };
        let facts = self.audience_facts(&audience).await?;
        let functions = effective_limits(Some(&facts), limits).approver_functions;
        // Only roles held on the path from the root to the audience's scope can cover it.
        let mut p = crate::sql::Placeholders::new(self.backend);
        let sender = p.one();
        let units = p.list(facts.scope_path.len().max(1));
        let sql = format!(
            "SELECT r.member_id, r.function, r.unit_id, \
             CAST(CASE WHEN r.covers_subtree THEN 1 ELSE 0 END AS BIGINT) \
             FROM roles r JOIN members m ON m.id = r.member_id \
             WHERE m.status = 'active' AND r.member_id <> {sender} AND r.unit_id IN ({units}) \
             ORDER BY r.member_id"
        );
        let mut query = sqlx::query_as(&sql).bind(sender_member_id);
        if facts.scope_path.is_empty() {
            query = query.bind(facts.scope_unit_id);
        }
        for unit in &facts.scope_path {
            query = query.bind(*unit);
        }
        let rows: Vec<(i64, String, i64, i64)> = query.fetch_all(&self.pool).await?;
        // Distance from the audience's scope up the tree: 0 at the scope unit itself.
        let distance = |unit: i64| {
            facts
                .scope_path
                .iter()
                .rev()
                .position(|u| *u == unit)
                .unwrap_or(usize::MAX)
        };
        let mut found: Vec<(usize, i64)> = Vec::new();
        for (member_id, function, unit_id, subtree) in rows {
            let Ok(function) = function.parse() else {
                continue;
            };
            let grant = RoleGrant {
                function,
                unit_id,
                covers_subtree: subtree != 0,
            };
            if functions.contains(&grant.function) && grant.covers(&facts) {
                found.push((distance(unit_id), member_id));
            }
        }
        let Some(nearest) = found.iter().map(|(d, _)| *d).min() else {
            return Ok(Vec::new());
        };
        let mut members: Vec<i64> = found
            .into_iter()
            .filter(|(d, _)| *d == nearest)
            .map(|(_, m)| m)
            .collect();
        members.dedup();
        let mut approvers = Vec::new();
        for member_id in members {
            if let Some((email, _)) = self.notice_address(member_id).await? {
                let name = self.member_label(member_id).await?;
                approvers.push(Approver {
                    member_id,
                    name,
                    email,
                    language: self.member_language(member_id).await?,
                });
            }
        }
        Ok(approvers)
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

    /// [`Store::approvers_for`], remembered in `known` for one pass over many held sends:
    /// a busy sender's held sends to one list all ask the same people.
    async fn approvers_known<'k>(
        &self,
        known: &'k mut ApproversKnown,
        audience_id: i64,
        sender_member_id: i64,
        limits: &OrgLimits,
    ) -> Result<&'k [Approver], StoreError> {
        Ok(match known.entry((audience_id, sender_member_id)) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                self.approvers_for(audience_id, sender_member_id, limits)
                    .await?,
            ),
        })
    }

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
    async fn held_from(&self, p: &Pending) -> Result<HeldSend, StoreError> {
        let send_id = p.send_id;
        let audience = match p.audience_id {
            Some(id) => self.audience_by_id(id).await?,
            None => None,
        };
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
            state: p.state.clone(),
            audience: audience
                .as_ref()
                .map_or_else(|| p.address.clone(), |a| a.name.clone()),
            address: p.address.clone(),
            sender_member_id: p.sender_member_id,
            sender: self.member_label(p.sender_member_id).await?,
            subject: p.subject.clone(),
            recipients: p.recipients,
            usual_size: audience.as_ref().and_then(|a| a.usual_size),
            approvals_needed: if p.state == "held" {
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
        let Some(pending) = self.pending(send_id).await? else {
            return Ok(ApprovalOutcome::NotFound);
        };
        if !self.may_decide(&pending, actor, &settings.limits).await? {
            return Ok(ApprovalOutcome::NotFound);
        }
        if pending.state != "held" {
            return Ok(ApprovalOutcome::NotHeld {
                state: pending.state,
            });
        }
        let Some(mut facts) = self.facts_again(&pending, settings, now).await? else {
            return Ok(ApprovalOutcome::Undecidable);
        };
        let content_hash = match ContentHash::parse(seen_hash.unwrap_or(&pending.content_hash)) {
            Ok(h) => h,
            Err(_) => {
                return Ok(ApprovalOutcome::Refused(ApprovalRefusal::ContentChanged {}));
            }
        };
        let approval = Approval {
            approver_id: actor.member_id,
            approver_roles: self.role_grants(actor.member_id).await?,
            content_hash,
        };

        let mut tx = self.pool.begin().await?;
        // Lock the send first (the row on PostgreSQL, the database on SQLite): two approvals
        // arriving together are then counted one after the other, never both without the other.
        if !take_held(&mut tx, send_id, "held", now).await? {
            tx.rollback().await?;
            let state = self
                .pending(send_id)
                .await?
                .map_or_else(|| "gone".to_string(), |p| p.state);
            return Ok(ApprovalOutcome::NotHeld { state });
        }
        facts.approvals = recorded_approvals(&mut tx, send_id).await?;
        if let Err(refusal) = approval_validity(&facts, &settings.limits, &approval) {
            tx.rollback().await?;
            self.audit_refusal(actor, &pending, &approval, &refusal)
                .await?;
            return Ok(ApprovalOutcome::Refused(refusal));
        }
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
        .execute(&mut *tx)
        .await?;
        facts.approvals.push(approval.clone());
        let decision = decide(&facts, &settings.limits);
        let mut events =
            vec![
                about("approval.given", Some(actor), &pending).details(serde_json::json!({
                    "content_hash": approval.content_hash.to_string(),
                    "comment": comment,
                    "ingress": actor.ingress.as_str(),
                    "roles": approval.approver_roles,
                })),
            ];
        let outcome = match &decision {
            Decision::Release { headers } => {
                // The approvers confirmed today's count: expansion compares growth against it.
                let recipients = facts.resolution.recipients;
                let release_at = self
                    .schedule_released(&mut tx, send_id, *headers, recipients, now, settings)
                    .await?;
                let approvers: Vec<String> = {
                    let mut ids: Vec<i64> = facts.approvals.iter().map(|a| a.approver_id).collect();
                    ids.dedup();
                    let mut names = Vec::new();
                    for id in ids {
                        names.push(self.member_label(id).await?);
                    }
                    names
                };
                events.push(about("send.released", Some(actor), &pending).details(
                    serde_json::json!({
                        "release_at": release_at,
                        "recipients": recipients,
                        "recipients_when_held": pending.recipients,
                        "approved_by": approvers,
                    }),
                ));
                self.notify_sender(
                    &mut tx,
                    &pending,
                    "submission.released",
                    now,
                    |audience, lang| {
                        notices::released_after_approval(
                            audience,
                            &pending.subject,
                            &approvers.join(", "),
                            send_id,
                            settings.undo_window_secs,
                            &settings.link(send_id),
                            lang,
                        )
                    },
                )
                .await?;
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
                sqlx::query("UPDATE sends SET approvals_needed = $1, reasons = $2 WHERE id = $3")
                    .bind(i64::from(*approvals_needed))
                    .bind(serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into()))
                    .bind(send_id)
                    .execute(&mut *tx)
                    .await?;
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
        if pending.state != "held" {
            return Ok(StopOutcome::NotHeld {
                state: pending.state,
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
        let mut tx = self.pool.begin().await?;
        if !take_held(&mut tx, send_id, "rejected", now).await? {
            tx.rollback().await?;
            return Ok(StopOutcome::NotHeld {
                state: "decided meanwhile".into(),
            });
        }
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
        audit::append(
            &mut tx,
            self.backend,
            &[
                about("approval.rejected", Some(actor), &pending).details(serde_json::json!({
                    "comment": comment,
                    "content_hash": pending.content_hash,
                    "ingress": actor.ingress.as_str(),
                    "as_admin_of_circuit_breaker_hold": admin_on_breaker,
                })),
            ],
            now,
        )
        .await?;
        tx.commit().await?;
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
        let mut tx = self.pool.begin().await?;
        if !take_held(&mut tx, send_id, "withdrawn", now).await? {
            tx.rollback().await?;
            return Ok(StopOutcome::NotHeld {
                state: pending.state,
            });
        }
        audit::append(
            &mut tx,
            self.backend,
            &[about("send.withdrawn", Some(actor), &pending)
                .details(serde_json::json!({ "ingress": actor.ingress.as_str() }))],
            now,
        )
        .await?;
        tx.commit().await?;
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
            let mut tx = self.pool.begin().await?;
            if !take_held(&mut tx, send_id, "expired", now).await? {
                tx.rollback().await?;
                continue;
            }
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
            audit::append(
                &mut tx,
                self.backend,
                &[about("send.expired", None, &pending).details(
                    serde_json::json!({ "expires_at": pending.expires_at, "window_hours": hours }),
                )],
                now,
            )
            .await?;
            tx.commit().await?;
            expired.push(send_id);
        }
        Ok(expired)
    }

    /// Writes a notice to the sender of `pending` in `tx`, in their language.
    pub(crate) async fn notify_sender(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        pending: &Pending,
        kind: &'static str,
        now: i64,
        notice: impl Fn(&str, Lang) -> notices::Notice,
    ) -> Result<(), StoreError> {
        let Some((to, lang)) = self.notice_address(pending.sender_member_id).await? else {
            tracing::warn!(
                event = "approval.sender_unreachable",
                send = pending.send_id
            );
            return Ok(());
        };
        let audience = match pending.audience_id {
            Some(id) => self.audience_by_id(id).await?.map(|a| a.name),
            None => None,
        }
        .unwrap_or_else(|| pending.address.clone());
        let (subject, body) = notice(&audience, lang);
        notices::queue(
            tx,
            &notices::Outgoing {
                member_id: Some(pending.sender_member_id),
                to: &to,
                kind,
                subject: &subject,
                body: &body,
                submission_id: Some(pending.submission_id),
            },
            now,
        )
        .await
    }
}
