//! What members do for themselves in the portal: see which units and lists reach them, choose
//! channels, subscribe to topic lists (double opt-in) and leave them, keep their contact data
//! (new addresses and numbers are proved by a link or a code before they are used), and ask
//! for their data to be deleted.
//!
//! Every operation takes the signed-in member's id and touches only rows of that member: an id
//! from a URL or form is always checked with `AND member_id = $member`, so changing an id in a
//! request reaches nothing of anybody else's.

mod account;
mod contacts;
pub(crate) mod erasure;
pub(crate) mod export;
mod overview;
mod subscriptions;
mod verification;

pub(crate) use verification::phone_code_hash;
use verification::{mark_verified, use_verification, LinkMail};

use crate::access::sessions::{digest, new_secret};
use crate::access::verification_limits::{VerificationRefusal, VerificationSend};
use crate::audiences::unsubscribe::{leave, subscription_token, Recipient};
use crate::audit::log::{self as audit, AuditEvent};
use crate::db::sql::{get_bool, Placeholders};
use crate::notices::{self, Outgoing};
use crate::{now_ms, Backend, Store, StoreError, SubscriptionState};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeSet;
use verteiler_policies::{AudienceKind, Category, ChannelPreference, EmailAddress, PhoneNumber};

/// A link proving an address or confirming a subscription is valid this long.
pub const CONFIRM_LINK_TTL_MS: i64 = 48 * 3_600 * 1000;
/// A phone code is valid this long …
pub const PHONE_CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// … and for this many wrong guesses (of a million possible codes).
pub const PHONE_CODE_ATTEMPTS: i64 = 5;

/// The messages the portal sends, written by the portal from its translation files; the store
/// only fills in the secrets and queues them. `lang` is the member's language (`de`, `en`).
pub trait PortalMail: Send + Sync {
    /// A one-time sign-in link's mail: (subject, body).
    fn sign_in(&self, token: &str, lang: &str) -> (String, String);
    /// The double opt-in mail of a topic list.
    fn confirm_subscription(&self, token: &str, list: &str, lang: &str) -> (String, String);
    /// The mail proving a newly added address.
    fn verify_email(&self, token: &str, lang: &str) -> (String, String);
    /// The text message carrying a phone code.
    fn phone_code(&self, code: &str, lang: &str) -> String;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRef {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

/// An audience that reaches the member, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    pub audience_id: i64,
    pub slug: String,
    pub name: String,
    pub kind: AudienceKind,
    pub category: Category,
    /// The member opted out (or, on a topic list, has not confirmed yet: see `pending`).
    pub left: bool,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberOverview {
    pub first_name: String,
    pub last_name: String,
    pub units: Vec<UnitRef>,
    pub audiences: Vec<Reach>,
}

/// A topic list the member may join, with their subscription's state, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicList {
    pub audience_id: i64,
    pub slug: String,
    pub name: String,
    /// `None`: never subscribed.
    pub state: Option<SubscriptionState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactPoint {
    pub id: i64,
    /// `email`, `phone` or `postal`.
    pub kind: String,
    pub value: String,
    pub verified: bool,
    pub primary: bool,
    /// From the membership database: changed there, not here.
    pub from_import: bool,
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeOutcome {
    ConfirmationSent,
    AlreadySubscribed,
    /// No such topic list, or not one this person may join.
    NotAvailable,
    /// The member has no verified address to confirm from.
    NoVerifiedEmail,
}

/// What a confirmation link is for, shown before the person confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmable {
    Subscription { list: String },
    Email { address: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed(Confirmable),
    /// Unknown, used or expired.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    Done,
    /// The input is not an address or number; the text says why.
    Invalid(String),
    AlreadyThere,
    NotFound,
    /// Removing it would leave the member without a verified address to sign in with.
    LastVerifiedEmail,
    /// It comes from the membership database; the next import would bring it back.
    FromImport,
    /// Sending the code or link would pass a limit on verifications; nothing was changed.
    Limited(VerificationRefusal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneOutcome {
    Verified,
    WrongCode {
        attempts_left: i64,
    },
    /// No code is waiting (none sent, used up, or expired): ask for a new one.
    NoCode,
}

fn decode<T: std::str::FromStr>(text: String) -> Result<T, sqlx::Error>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Every unit at or above the units a member belongs to (`memberships`) or holds an office in
/// (`roles`), paired with the unit it was reached from; one recursive query instead of one per
/// unit. Inactive units count: this answers what a member sees, resolution decides who gets mail.
const ANCESTORS: &str = "WITH RECURSIVE up(seed, id, parent_id, depth) AS ( \
       SELECT s.unit_id, u.id, u.parent_id, 0 FROM {seeds} s JOIN units u ON u.id = s.unit_id \
       WHERE s.member_id = $1 \
       UNION ALL SELECT up.seed, u.id, u.parent_id, up.depth + 1 FROM units u \
       JOIN up ON u.id = up.parent_id WHERE up.depth < 64) \
     SELECT DISTINCT seed, id FROM up";

impl Store {
    /// (unit the member is in or holds an office in, that unit or one above it).
    async fn ancestors(&self, member_id: i64, seeds: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(&ANCESTORS.replace("{seeds}", seeds))
            .bind(member_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        // SQLite: take the write lock before reading, so a concurrent writer cannot make this
        // transaction's snapshot stale between its read and its write.
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A contact value as the audit log holds it: its keyed hash (see [`crate::privacy::key`]).
    pub(crate) fn value_hash(&self, value: &str) -> String {
        self.privacy
            .contact_hash(value, crate::privacy::key::DEFAULT_REGION)
    }

    /// Records what the member changed in the audit log and commits: every change of this
    /// module ends here, so none is stored without its entry.
    async fn commit_audited(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Any>,
        action: &'static str,
        member_id: i64,
        details: serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        audit::append(
            &mut tx,
            self.backend,
            &[AuditEvent::new(action, self.actor.to_string())
                .by_member(member_id)
                .details(details)],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
