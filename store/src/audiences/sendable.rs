//! The audiences a member may send to, for the chair pages: found by the engine's own rule
//! ([`verteiler_policies::may_send`]), never by a second opinion in SQL. The SQL only narrows
//! the candidates to audiences scoped where the member holds an office (or below one held over
//! the subtree) and discussion lists they subscribe to; the engine decides each.
//!
//! Counts are figures only: nothing here returns a recipient's address or name.

use crate::audiences::definitions::audience_from_row;
use crate::audiences::resolve::Recipient;
use crate::{Audience, Store, StoreError};
use futures::TryStreamExt;
use verteiler_policies::{may_send, Category, Channel, ChannelPreference, SenderFacts};

/// Candidates read per page at most: a state chair over the whole subtree may reach thousands
/// of audiences; the page lists the first ones by name.
pub const SENDABLE_MAX: usize = 500;

/// An audience the member may send to, with its current size.
#[derive(Debug, Clone)]
pub struct SendableAudience {
    pub audience: Audience,
    /// Recipients now (the same cached count a decision reads).
    pub recipients: u64,
}

pub use verteiler_policies::ChannelCounts;

/// The channel a recipient wants for mail of `category`: their own choice, email by default;
/// statutory notices reach everybody, whatever they chose. `None`: they chose none.
pub(crate) fn wanted_channel(r: &Recipient, category: Category) -> Option<Channel> {
    r.preference.map_or(Some(Channel::Email), |p| match p {
        ChannelPreference::Email => Some(Channel::Email),
        ChannelPreference::Sms => Some(Channel::Sms),
        ChannelPreference::Post => Some(Channel::Post),
        ChannelPreference::None if category == Category::Statutory => Some(Channel::Email),
        ChannelPreference::None => None,
    })
}

/// How a recipient is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach<'a> {
    Email(&'a str),
    Sms(&'a str),
    /// On the secretary's postal list.
    Post,
    /// Chose no channel for this kind of mail.
    Declined,
    /// No address or number for any channel, and the mail is not statutory.
    NoAddress,
}

/// The channel that reaches a recipient: the one they chose when they have an address for it,
/// else email, else SMS; a statutory notice nobody can be sent electronically goes by post.
/// One channel per recipient and send, never two.
pub(crate) fn reach(r: &Recipient, category: Category) -> Reach<'_> {
    let wanted = wanted_channel(r, category);
    match (wanted, r.email.as_deref(), r.phone.as_deref()) {
        (None, _, _) => Reach::Declined,
        (Some(Channel::Post), _, _) => Reach::Post,
        (Some(Channel::Sms), _, Some(phone)) => Reach::Sms(phone),
        (Some(_), Some(email), _) => Reach::Email(email),
        (Some(_), None, Some(phone)) => Reach::Sms(phone),
        (Some(_), None, None) if category == Category::Statutory => Reach::Post,
        (Some(_), None, None) => Reach::NoAddress,
    }
}

/// The second channel of a recipient of an "email and SMS" audience: a text for one reached
/// by email who has a number, the email for one reached by SMS who has an address.
pub(crate) fn also<'a>(r: &'a Recipient, reach: Reach<'_>) -> Option<Reach<'a>> {
    match (reach, r.email.as_deref(), r.phone.as_deref()) {
        (Reach::Email(_), _, Some(phone)) => Some(Reach::Sms(phone)),
        (Reach::Sms(_), Some(email), _) => Some(Reach::Email(email)),
        _ => None,
    }
}

/// Counts one recipient under the channel that would reach them.
fn count_recipient(counts: &mut ChannelCounts, r: &Recipient, audience: &crate::Audience) {
    let reached = reach(r, audience.category);
    match audience.email_and_sms.then(|| also(r, reached)).flatten() {
        Some(Reach::Sms(_)) => counts.also_sms += 1,
        Some(Reach::Email(_)) => counts.also_email += 1,
        _ => {}
    }
    match reached {
        Reach::Email(_) => counts.email += 1,
        Reach::Sms(_) => counts.sms += 1,
        Reach::Post => counts.post += 1,
        Reach::Declined => counts.declined += 1,
        Reach::NoAddress => counts.no_address += 1,
    }
}

impl Store {
    /// Audiences `member_id` may send to (active ones, by name; at most [`SENDABLE_MAX`]).
    pub async fn sendable_audiences(
        &self,
        member_id: i64,
    ) -> Result<Vec<SendableAudience>, StoreError> {
        let rows = sqlx::query(
            "WITH RECURSIVE below(id, depth) AS ( \
               SELECT unit_id, 0 FROM roles WHERE member_id = $1 AND covers_subtree \
               UNION ALL SELECT u.id, b.depth + 1 FROM units u JOIN below b ON u.parent_id = b.id \
               WHERE b.depth < 64) \
             SELECT * FROM audiences a WHERE a.active AND ( \
               a.scope_unit_id IN (SELECT unit_id FROM roles WHERE member_id = $1) \
               OR a.scope_unit_id IN (SELECT id FROM below) \
               OR (a.subscribers_may_post AND a.id IN ( \
                   SELECT audience_id FROM subscriptions WHERE member_id = $1 AND state = 'confirmed'))) \
             ORDER BY a.name, a.id LIMIT $2",
        )
        .bind(member_id)
        .bind(SENDABLE_MAX as i64)
        .fetch_all(&self.pool)
        .await?;
        let profile = self.sender_profile(member_id).await?;
        let mut out = Vec::new();
        for row in &rows {
            let audience = audience_from_row(row)?;
            if self
                .may_send_to(member_id, &profile.roles, &audience)
                .await?
            {
                let recipients = self.resolution_summary(&audience).await.recipients;
                out.push(SendableAudience {
                    audience,
                    recipients,
                });
            }
        }
        Ok(out)
    }

    /// The audience with this slug, if `member_id` may send to it; `None` otherwise (an
    /// audience the member may not use is not shown to them at all).
    pub async fn sendable_audience(
        &self,
        member_id: i64,
        slug: &verteiler_policies::AudienceSlug,
    ) -> Result<Option<Audience>, StoreError> {
        let Some(audience) = self.audience_by_slug(slug).await? else {
            return Ok(None);
        };
        let profile = self.sender_profile(member_id).await?;
        let allowed = audience.active
            && self
                .may_send_to(member_id, &profile.roles, &audience)
                .await?;
        Ok(allowed.then_some(audience))
    }

    /// Whether `member_id` may send to `audience` now, by the same rule as
    /// [`Store::sendable_audience`]: an office given up or a list switched off ends it.
    pub(crate) async fn may_still_send_to(
        &self,
        member_id: i64,
        audience: &Audience,
    ) -> Result<bool, StoreError> {
        if !audience.active {
            return Ok(false);
        }
        let profile = self.sender_profile(member_id).await?;
        self.may_send_to(member_id, &profile.roles, audience).await
    }

    async fn may_send_to(
        &self,
        member_id: i64,
        roles: &[verteiler_policies::RoleGrant],
        audience: &Audience,
    ) -> Result<bool, StoreError> {
        let confirmed_subscriber = self
            .sender_standing(member_id, Some(audience.id), crate::now_ms())
            .await?
            .1;
        let sender = SenderFacts {
            member_id,
            roles: roles.to_vec(),
            confirmed_subscriber,
        };
        Ok(may_send(&sender, &self.audience_facts(audience).await?))
    }

    /// How the audience's recipients would be reached now, by channel: reads the whole audience
    /// as delivery would (in batches), keeping only the figures.
    pub async fn channel_counts(&self, audience: &Audience) -> Result<ChannelCounts, StoreError> {
        let mut counts = ChannelCounts::default();
        let mut batches = std::pin::pin!(self.resolve(audience));
        while let Some(batch) = batches.try_next().await? {
            for r in &batch {
                count_recipient(&mut counts, r, audience);
            }
        }
        Ok(counts)
    }
}
