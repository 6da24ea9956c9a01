//! Who may have a send's postal list — names and home addresses — and the audit entry of every
//! download.
//!
//! A list exists only for a send that was released and has been expanded (the list is what
//! its expansion recorded, [`crate::postal::list`]): a refused, held, withdrawn or cancelled send, or
//! one still in its undo window, has none. Through the portal only the send's own sender gets
//! it, and only while they may still send to that list by the engine's own rule (an office
//! given up, a list switched off or deleted: no list). Every list handed out is an audit entry
//! naming who (a member id or the operator), the send and how many rows; never a name or an
//! address.

use crate::approvals::Actor;
use crate::postal::list::{recorded_letters, PostalList};
use crate::{now_ms, AuditEvent, SendState, Store, StoreError};
use sqlx::Row;

/// What a request for a postal list gets.
#[derive(Debug, Clone)]
pub enum PostalAccess {
    Granted(PostalList),
    /// No such send in that submission, or not the member's own.
    NotFound,
    /// The send has no list (yet): not released, stopped, still waiting, or expanded before
    /// lists were recorded. `state` is the send's.
    NotReady {
        state: SendState,
    },
    /// The member may no longer send to the list, or the list is gone or switched off.
    NotPermitted,
}

/// What a postal list's checks read about its send.
struct SendFacts {
    submission_id: i64,
    sender: i64,
    audience_id: Option<i64>,
    address: String,
    state: SendState,
    decision: String,
    recorded: bool,
    subject: String,
}

impl SendFacts {
    /// Released and expanded in full, with its letters recorded.
    fn ready(&self) -> bool {
        self.decision == "release"
            && matches!(self.state, SendState::Sending | SendState::Complete)
            && self.recorded
    }
}

/// Who a list is handed to, for the audit entry.
enum Recipient<'a> {
    Sender(&'a Actor),
    Operator(&'a str),
}

impl Store {
    /// The postal list of the member's own send `send_id` of submission `submission_id`, if
    /// they may have it (see the module); audited when handed out.
    pub async fn sender_postal_list(
        &self,
        actor: &Actor,
        submission_id: i64,
        send_id: i64,
    ) -> Result<PostalAccess, StoreError> {
        let Some(facts) = self.postal_send_facts(send_id).await? else {
            return Ok(PostalAccess::NotFound);
        };
        if facts.submission_id != submission_id || facts.sender != actor.member_id {
            return Ok(PostalAccess::NotFound);
        }
        if !facts.ready() {
            return Ok(PostalAccess::NotReady { state: facts.state });
        }
        let audience = self.send_audience(facts.audience_id).await?;
        let Some(audience) = audience else {
            return Ok(PostalAccess::NotPermitted);
        };
        if !self.may_still_send_to(actor.member_id, &audience).await? {
            return Ok(PostalAccess::NotPermitted);
        }
        let list = self
            .hand_out(
                send_id,
                &facts,
                audience.definition.name,
                Recipient::Sender(actor),
            )
            .await?;
        Ok(PostalAccess::Granted(list))
    }

    /// The postal list of send `send_id` for the operator named `operator` (`cli:USER`): the
    /// operator is trusted with the data, but the list still exists only once the send was
    /// released and expanded; audited like a sender's download.
    pub async fn postal_list(
        &self,
        send_id: i64,
        operator: &str,
    ) -> Result<PostalAccess, StoreError> {
        let Some(facts) = self.postal_send_facts(send_id).await? else {
            return Ok(PostalAccess::NotFound);
        };
        if !facts.ready() {
            return Ok(PostalAccess::NotReady { state: facts.state });
        }
        let audience = self.send_audience(facts.audience_id).await?;
        let name = audience.map_or_else(|| facts.address.clone(), |a| a.definition.name);
        let list = self
            .hand_out(send_id, &facts, name, Recipient::Operator(operator))
            .await?;
        Ok(PostalAccess::Granted(list))
    }

    async fn postal_send_facts(&self, send_id: i64) -> Result<Option<SendFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT s.submission_id, s.audience_id, s.address, s.state, s.decision, \
             s.postal_recorded, sub.sender_member_id, sub.subject FROM sends s \
             JOIN submissions sub ON sub.id = s.submission_id WHERE s.id = $1",
        )
        .bind(send_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SendFacts {
            submission_id: row.try_get("submission_id")?,
            sender: row.try_get("sender_member_id")?,
            audience_id: row.try_get("audience_id")?,
            address: row.try_get("address")?,
            state: crate::states::parse(&row, "state")?,
            decision: row.try_get("decision")?,
            recorded: crate::db::sql::get_bool(&row, "postal_recorded")?,
            subject: row.try_get("subject")?,
        }))
    }

    /// Reads the letters and appends the download's audit entry in one transaction, so the
    /// entry states exactly the rows handed out.
    async fn hand_out(
        &self,
        send_id: i64,
        facts: &SendFacts,
        audience: String,
        to: Recipient<'_>,
    ) -> Result<PostalList, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let recipients = recorded_letters(&mut tx, self.backend, send_id).await?;
        let event = match to {
            Recipient::Sender(actor) => {
                AuditEvent::new("postal_list.downloaded", actor.label.clone())
                    .by_member(actor.member_id)
            }
            Recipient::Operator(operator) => AuditEvent::new("postal_list.downloaded", operator),
        };
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[event
                .submission(facts.submission_id)
                .send(send_id)
                .details(serde_json::json!({ "rows": recipients.len() }))],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(PostalList {
            send_id,
            submission_id: facts.submission_id,
            subject: facts.subject.clone(),
            audience,
            recipients,
        })
    }
}
