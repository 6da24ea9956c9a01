//! Official sender addresses (`From: presse@example.org`): what a `From:` that is not the
//! sender's own verified address is to a submission.
//!
//! An official address is a property of the lists that carry it (`audiences.sender_address`):
//! their senders by role may use it there, and only there. On any other list of the same
//! submission the engine refuses it, naming the list it belongs to, so a chair whose list has
//! an official address cannot lend it to another list they write to.
//!
//! An address that is a member's own (an email contact point of anybody, verified or not) is
//! never official, whatever a list says: only that member writes as it, once verified as
//! theirs. A list's sender address set to a person's mailbox thus never lets the list's
//! senders write in that person's name.

use crate::{Audience, SenderProfile, Store, StoreError};
use verteiler_policies::{FromAddress, SenderFacts};

impl Store {
    /// What `from` is to the sender with `profile`, for a submission to `audience` (`None`:
    /// the address names no list).
    pub(crate) async fn weigh_from_address(
        &self,
        profile: &SenderProfile,
        from: &str,
        audience: Option<&Audience>,
    ) -> Result<FromAddress, StoreError> {
        if profile.owns_verified(from) {
            return Ok(FromAddress::Own);
        }
        let foreign = || FromAddress::Foreign {
            address: from.to_string(),
        };
        if self.is_members_address(from).await? {
            return Ok(foreign());
        }
        let carried_here = audience.filter(|a| {
            a.sender_address
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(from.trim()))
        });
        let mut lists: Vec<String> = self
            .audiences_with_sender_address(from.trim())
            .await?
            .into_iter()
            .map(|a| a.definition.name)
            .collect();
        if let Some(here) = carried_here {
            // A switched-off list is not among the active ones; it is still the one named.
            if !lists.contains(&here.name) {
                lists.push(here.name.clone());
            }
        }
        if lists.is_empty() {
            return Ok(foreign());
        }
        Ok(FromAddress::Official {
            address: from.to_string(),
            this_list: carried_here.is_some(),
            lists,
        })
    }

    /// Whether `address` is an email address of any member (whatever their state): then it is
    /// that person's, never a list's.
    async fn is_members_address(&self, address: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT member_id FROM contact_points WHERE kind = 'email' AND value_key = $1 LIMIT 1",
        )
        .bind(address.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Whether a member may use `from` as an official sender address at all: an active list
    /// carries it, they may send to that list by role (never as a mere subscriber), and it is
    /// no member's own address. Where it may be used is decided list by list
    /// ([`verteiler_policies::FromAddress`]); this answers whether a submission from it is
    /// looked at, or refused whole like somebody else's `From:`.
    pub async fn may_send_as(&self, member_id: i64, from: &str) -> Result<bool, StoreError> {
        let lists = self.audiences_with_sender_address(from.trim()).await?;
        if lists.is_empty() || self.is_members_address(from).await? {
            return Ok(false);
        }
        let sender = SenderFacts {
            member_id,
            roles: self.sender_profile(member_id).await?.roles.clone(),
            confirmed_subscriber: false,
        };
        for audience in &lists {
            let facts = self.audience_facts(audience).await?;
            if verteiler_policies::may_send_by_role(&sender, &facts) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
