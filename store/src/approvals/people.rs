//! The people around a held send as others read them: a member's name and address for
//! notices and the audit trail, where a member's notices go, and the notice to a send's sender
//! (released, rejected, expired). One place, so every notice reaches the same address.

use super::Pending;
use crate::notices;
use crate::{Store, StoreError};
use verteiler_policies::Lang;

impl Store {
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
        let audience = self
            .send_audience(pending.audience_id)
            .await?
            .map_or_else(|| pending.address.clone(), |a| a.definition.name);
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
