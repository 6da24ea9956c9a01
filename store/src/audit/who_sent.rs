//! The answer to "who sent this?" for one submission, from the audit log and the directory:
//! who handed it in and how, what was decided for each list, who approved, released or
//! stopped it, and how far delivery got. `verteiler audit who` prints it, the admin audit page
//! shows it; both read this one structure.

use crate::{AuditEntry, DeliveryTotals, RawState, SendRecord, Store, StoreError};
use serde::Serialize;
use verteiler_policies::{RoleFunction, RoleGrant};

/// One submission as the audit log and the directory tell it.
#[derive(Debug, Clone, Serialize)]
pub struct SentBy {
    pub submission_id: i64,
    /// When it was decided (ms since the epoch).
    pub at: i64,
    pub member_id: Option<i64>,
    /// The person as the directory names them now (`member 12 (erased)` after an erasure).
    pub person: String,
    /// The audit entry's actor (`smtp:member:12`; older entries: the login).
    pub actor: String,
    /// `app password 3 "Thunderbird"`, or `None` for a way in without one.
    pub credential: Option<String>,
    pub ingress: String,
    pub client_ip: Option<String>,
    pub client_name: Option<String>,
    pub tls: bool,
    /// The message's `From:` and envelope sender, while its row still holds them.
    pub header_from: Option<String>,
    pub envelope_from: Option<String>,
    /// What the store still holds of the message.
    pub kept: RawState,
    pub subject: String,
    pub content_hash: String,
    pub message_id: Option<String>,
    pub sends: Vec<SendStory>,
}

/// One send of the submission and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct SendStory {
    pub send: SendRecord,
    pub events: Vec<Happened>,
    pub totals: DeliveryTotals,
}

/// One audit entry about a send, with its actor as a person reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Happened {
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub who: String,
    pub details: serde_json::Value,
}

/// Who may ask "who sent this?", and about what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhoAsker {
    /// An organisation admin: any submission.
    Admin,
    /// A press officer: submissions with a send to a list in their area (scoped at the unit
    /// of the office, or below it when the office covers the subtree).
    PressOffice(Vec<RoleGrant>),
}

impl Store {
    /// Whether (and how far) the member may ask "who sent this?"; `None`: not at all.
    pub async fn who_asker(&self, member_id: i64) -> Result<Option<WhoAsker>, StoreError> {
        if self.is_admin(member_id).await? {
            return Ok(Some(WhoAsker::Admin));
        }
        let offices: Vec<RoleGrant> = self
            .role_grants(member_id)
            .await?
            .into_iter()
            .filter(|g| g.function == RoleFunction::PressOffice)
            .collect();
        Ok((!offices.is_empty()).then_some(WhoAsker::PressOffice(offices)))
    }

    /// Whether `asker` may see who sent the submission: a press officer only when one of its
    /// sends went to a list in their area (a send to an address naming no list: never).
    pub async fn may_see_who_sent(
        &self,
        asker: &WhoAsker,
        submission_id: i64,
    ) -> Result<bool, StoreError> {
        let WhoAsker::PressOffice(offices) = asker else {
            return Ok(true);
        };
        let scopes: Vec<i64> = sqlx::query_scalar(
            "SELECT a.scope_unit_id FROM sends s JOIN audiences a ON a.id = s.audience_id \
             WHERE s.submission_id = $1",
        )
        .bind(submission_id)
        .fetch_all(&self.pool)
        .await?;
        for scope in scopes {
            let path = self.unit_path(scope).await?;
            if offices
                .iter()
                .any(|g| g.unit_id == scope || (g.covers_subtree && path.contains(&g.unit_id)))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The story of one submission; `None` when the audit log has no decision for it (an id
    /// that names none, or one stored before the audit log existed).
    pub async fn who_sent(&self, submission_id: i64) -> Result<Option<SentBy>, StoreError> {
        let entries = self.audit_of_submission(submission_id).await?;
        let Some(decided) = entries.iter().find(|e| e.action == "submission.decided") else {
            return Ok(None);
        };
        let d = decided.details_json();
        let text = |key: &str| d[key].as_str().map(str::to_string);
        let person = match decided.actor_member_id {
            Some(id) => self.member_label(id).await?,
            None => decided.actor.clone(),
        };
        let credential = match d["credential_id"].as_i64() {
            Some(id) => Some(
                match self.credential_name(id).await?.filter(|n| !n.is_empty()) {
                    Some(name) => format!("app password {id} \"{name}\""),
                    None => format!("app password {id}"),
                },
            ),
            None => None,
        };
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT header_from, envelope_from, raw_state FROM submissions WHERE id = $1",
        )
        .bind(submission_id)
        .fetch_optional(&self.pool)
        .await?;
        let (header_from, envelope_from, kept) = match row {
            Some((h, e, kept)) => (
                Some(h),
                Some(e),
                crate::states::text_as(&kept, "raw_state")?,
            ),
            None => (None, None, RawState::Erased),
        };
        let present = |v: Option<String>| v.filter(|v| !v.is_empty());
        let mut sends = Vec::new();
        for send in self.sends_of(submission_id).await? {
            let mut events = Vec::new();
            for e in entries.iter().filter(|e| e.send_id == Some(send.id)) {
                events.push(self.happened(e).await?);
            }
            let totals = self.delivery_totals(send.id).await?;
            sends.push(SendStory {
                send,
                events,
                totals,
            });
        }
        Ok(Some(SentBy {
            submission_id,
            at: decided.at,
            member_id: decided.actor_member_id,
            person,
            actor: decided.actor.clone(),
            credential,
            ingress: text("ingress").unwrap_or_default(),
            client_ip: text("client_ip"),
            client_name: text("client_name"),
            tls: d["tls"].as_bool().unwrap_or(false),
            header_from: present(header_from),
            envelope_from: present(envelope_from),
            kept,
            subject: text("subject").unwrap_or_default(),
            content_hash: text("content_hash").unwrap_or_default(),
            message_id: text("message_id"),
            sends,
        }))
    }

    async fn happened(&self, e: &AuditEntry) -> Result<Happened, StoreError> {
        let who = match e.actor_member_id {
            Some(id) => self.member_label(id).await?,
            None => e.actor.clone(),
        };
        let mut details = e.details_json();
        // Older entries name the approvers asked; newer ones their ids, named here.
        if let Some(asked) = details["asked"].as_array().cloned() {
            let mut named = Vec::with_capacity(asked.len());
            for a in asked {
                named.push(match a.as_i64() {
                    Some(id) => serde_json::Value::String(self.member_label(id).await?),
                    None => a,
                });
            }
            details["asked"] = serde_json::Value::Array(named);
        }
        Ok(Happened {
            seq: e.seq,
            at: e.at,
            action: e.action.clone(),
            who,
            details,
        })
    }
}
