//! What members do for themselves in the portal: see which units and lists reach them, choose
//! channels, subscribe to topic lists (double opt-in) and leave them, keep their contact data
//! (new addresses and numbers are proved by a link or a code before they are used), and ask
//! for their data to be deleted.
//!
//! Every operation takes the signed-in member's id and touches only rows of that member: an id
//! from a URL or form is always checked with `AND member_id = $member`, so changing an id in a
//! request reaches nothing of anybody else's.

use crate::audit::{self, AuditEvent};
use crate::notices::{self, Outgoing};
use crate::portal_auth::{digest, new_secret};
use crate::sql::{get_bool, Placeholders};
use crate::unsubscribe::{leave, subscription_token, Recipient};
use crate::verification_limits::{VerificationRefusal, VerificationSend};
use crate::{now_ms, Backend, Store, StoreError};
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
    /// `pending`, `confirmed`, `unsubscribed`, or `None` (never subscribed).
    pub state: Option<String>,
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

    /// A contact value as the audit log holds it: its keyed hash (see [`crate::privacy`]).
    pub(crate) fn value_hash(&self, value: &str) -> String {
        self.privacy
            .contact_hash(value, crate::privacy::DEFAULT_REGION)
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

    /// The member's units and every audience that reaches them, for the portal's start page.
    pub async fn member_overview(
        &self,
        member_id: i64,
    ) -> Result<Option<MemberOverview>, StoreError> {
        let Some((first_name, last_name)) = sqlx::query_as::<_, (String, String)>(
            "SELECT first_name, last_name FROM members WHERE id = $1",
        )
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let units: Vec<UnitRef> = sqlx::query_as::<_, (i64, String, String)>(
            "SELECT u.id, u.name, u.kind FROM memberships ms JOIN units u ON u.id = ms.unit_id \
             WHERE ms.member_id = $1 AND u.active = $2 ORDER BY u.name",
        )
        .bind(member_id)
        .bind(true)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(id, name, kind)| UnitRef { id, name, kind })
        .collect();
        // Structural audiences of a unit reach its members, and those of units above it when
        // they include sub-units; functional audiences reach role holders the same way.
        let mut own = BTreeSet::new();
        let mut above = BTreeSet::new();
        for unit in &units {
            own.insert(unit.id);
            above.extend(self.unit_path(unit.id).await?);
        }
        let roles = self.role_grants(member_id).await?;
        let mut role_paths = Vec::new();
        for role in &roles {
            role_paths.push((
                role.function,
                role.unit_id,
                self.unit_path(role.unit_id).await?,
            ));
        }
        let candidates: BTreeSet<i64> = above
            .iter()
            .copied()
            .chain(role_paths.iter().flat_map(|(_, _, p)| p.iter().copied()))
            .collect();
        let mut audiences = Vec::new();
        if !candidates.is_empty() {
            let sql = format!(
                "SELECT id, slug, name, kind, category, unit_id, include_subunits, role_function \
                 FROM audiences WHERE active = $1 AND kind <> 'topic' AND unit_id IN ({}) ORDER BY name",
                {
                    let mut p = Placeholders::new(self.backend);
                    p.one();
                    p.list(candidates.len())
                }
            );
            let mut query = sqlx::query(&sql).bind(true);
            for unit in &candidates {
                query = query.bind(*unit);
            }
            for row in query.fetch_all(&self.pool).await? {
                let kind: AudienceKind = decode(row.try_get("kind")?)?;
                let unit_id: i64 = row.try_get("unit_id")?;
                let subunits = get_bool(&row, "include_subunits")?;
                let reaches = match kind {
                    AudienceKind::Structural => {
                        own.contains(&unit_id) || (subunits && above.contains(&unit_id))
                    }
                    AudienceKind::Functional => {
                        let function: Option<String> = row.try_get("role_function")?;
                        role_paths.iter().any(|(f, unit, path)| {
                            function.as_deref() == Some(f.as_str())
                                && (*unit == unit_id || (subunits && path.contains(&unit_id)))
                        })
                    }
                    AudienceKind::Topic => false,
                };
                if reaches {
                    audiences.push(Reach {
                        audience_id: row.try_get("id")?,
                        slug: row.try_get("slug")?,
                        name: row.try_get("name")?,
                        kind,
                        category: decode(row.try_get("category")?)?,
                        left: false,
                        pending: false,
                    });
                }
            }
        }
        let subscriptions = sqlx::query(
            "SELECT a.id, a.slug, a.name, a.kind, a.category, s.state FROM subscriptions s \
             JOIN audiences a ON a.id = s.audience_id WHERE s.member_id = $1 AND a.active = $2 \
             ORDER BY a.name",
        )
        .bind(member_id)
        .bind(true)
        .fetch_all(&self.pool)
        .await?;
        for row in subscriptions {
            let id: i64 = row.try_get("id")?;
            let state: String = row.try_get("state")?;
            if let Some(reach) = audiences.iter_mut().find(|a| a.audience_id == id) {
                reach.left = state == "unsubscribed";
                continue;
            }
            let kind: AudienceKind = decode(row.try_get("kind")?)?;
            if kind == AudienceKind::Topic && state != "unsubscribed" {
                audiences.push(Reach {
                    audience_id: id,
                    slug: row.try_get("slug")?,
                    name: row.try_get("name")?,
                    kind,
                    category: decode(row.try_get("category")?)?,
                    left: false,
                    pending: state == "pending",
                });
            }
        }
        Ok(Some(MemberOverview {
            first_name,
            last_name,
            units,
            audiences,
        }))
    }

    /// The member's channel per category; `None` where they have not chosen.
    pub async fn channel_preferences(
        &self,
        member_id: i64,
    ) -> Result<Vec<(Category, Option<ChannelPreference>)>, StoreError> {
        let chosen: Vec<(String, String)> = sqlx::query_as(
            "SELECT category, channel FROM channel_preferences WHERE member_id = $1",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for category in [
            Category::Statutory,
            Category::Announcement,
            Category::Discussion,
        ] {
            let channel = chosen
                .iter()
                .find(|(c, _)| *c == category.as_str())
                .map(|(_, ch)| decode::<ChannelPreference>(ch.clone()))
                .transpose()?;
            out.push((category, channel));
        }
        Ok(out)
    }

    /// Sets the member's channel for a category. Statutory mail cannot be switched off, only
    /// moved: `Ok(false)` for that request, which changes nothing.
    pub async fn set_channel_preference(
        &self,
        member_id: i64,
        category: Category,
        channel: ChannelPreference,
    ) -> Result<bool, StoreError> {
        if !channel.allowed_for(category) {
            return Ok(false);
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO channel_preferences (member_id, category, channel, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (member_id, category) DO UPDATE SET \
             channel = excluded.channel, updated_at = excluded.updated_at",
        )
        .bind(member_id)
        .bind(category.as_str())
        .bind(channel.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.commit_audited(
            tx,
            "member.channel_changed",
            member_id,
            serde_json::json!({ "category": category.as_str(), "channel": channel.as_str() }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(true)
    }

    /// Topic lists the member may join: those scoped to a unit the member belongs to (or one
    /// above it), and those open to the public.
    pub async fn topic_lists_for(&self, member_id: i64) -> Result<Vec<TopicList>, StoreError> {
        let scopes: BTreeSet<i64> = self
            .ancestors(member_id, "memberships")
            .await?
            .into_iter()
            .map(|(_, unit)| unit)
            .collect();
        let scope_list = {
            let mut p = Placeholders::new(self.backend);
            p.one();
            p.one();
            p.one();
            if scopes.is_empty() {
                "NULL".to_string()
            } else {
                p.list(scopes.len())
            }
        };
        let sql = format!(
            "SELECT a.id, a.slug, a.name, s.state FROM audiences a \
             LEFT JOIN subscriptions s ON s.audience_id = a.id AND s.member_id = $1 \
             WHERE a.kind = 'topic' AND a.active = $2 \
               AND (a.open_to_public = $3 OR a.scope_unit_id IN ({scope_list})) ORDER BY a.name"
        );
        let mut query = sqlx::query(&sql).bind(member_id).bind(true).bind(true);
        for unit in &scopes {
            query = query.bind(*unit);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(TopicList {
                    audience_id: row.try_get("id")?,
                    slug: row.try_get("slug")?,
                    name: row.try_get("name")?,
                    state: row.try_get("state")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Starts the double opt-in for a topic list: a pending subscription and a confirmation
    /// link to the member's primary verified address.
    pub async fn request_subscription(
        &self,
        member_id: i64,
        audience_id: i64,
        mail: &dyn PortalMail,
    ) -> Result<SubscribeOutcome, StoreError> {
        let Some(list) = self
            .topic_lists_for(member_id)
            .await?
            .into_iter()
            .find(|l| l.audience_id == audience_id)
        else {
            return Ok(SubscribeOutcome::NotAvailable);
        };
        if list.state.as_deref() == Some("confirmed") {
            return Ok(SubscribeOutcome::AlreadySubscribed);
        }
        let Some((to, lang)) = self.notice_address(member_id).await? else {
            return Ok(SubscribeOutcome::NoVerifiedEmail);
        };
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let subscription_id: i64 = sqlx::query_scalar(
            "INSERT INTO subscriptions (audience_id, member_id, state, token, created_at, updated_at) \
             VALUES ($1, $2, 'pending', $3, $4, $4) ON CONFLICT (audience_id, member_id) DO UPDATE \
             SET state = 'pending', updated_at = excluded.updated_at RETURNING id",
        )
        .bind(audience_id)
        .bind(member_id)
        .bind(subscription_token())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let token = new_verification(
            &mut tx,
            "subscription",
            Some(member_id),
            None,
            Some(subscription_id),
            CONFIRM_LINK_TTL_MS,
            now,
        )
        .await?;
        let (subject, body) = mail.confirm_subscription(&token, &list.name, lang.as_str());
        notices::queue(
            &mut tx,
            &Outgoing {
                member_id: Some(member_id),
                to: &to,
                kind: "portal.confirm_subscription",
                subject: &subject,
                body: &body,
                submission_id: None,
            },
            now,
        )
        .await?;
        self.commit_audited(
            tx,
            "subscription.requested",
            member_id,
            serde_json::json!({ "audience_id": audience_id }),
            now,
        )
        .await?;
        Ok(SubscribeOutcome::ConfirmationSent)
    }

    /// The double opt-in of a topic list open to the public, for anyone with an address. The
    /// caller answers the same whatever this returns, so the page tells nobody who is subscribed.
    pub async fn request_public_subscription(
        &self,
        slug: &str,
        email: &EmailAddress,
        lang: verteiler_policies::Lang,
        mail: &dyn PortalMail,
    ) -> Result<SubscribeOutcome, StoreError> {
        let Some(audience) = self.public_list(slug).await? else {
            return Ok(SubscribeOutcome::NotAvailable);
        };
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let existing: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, state FROM subscriptions WHERE audience_id = $1 AND LOWER(email) = $2",
        )
        .bind(audience.0)
        .bind(email.key())
        .fetch_optional(&mut *tx)
        .await?;
        let subscription_id = match existing {
            Some((_, state)) if state == "confirmed" => {
                return Ok(SubscribeOutcome::AlreadySubscribed);
            }
            Some((id, _)) => {
                sqlx::query(
                    "UPDATE subscriptions SET state = 'pending', updated_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO subscriptions (audience_id, email, state, token, created_at, updated_at) \
                     VALUES ($1, $2, 'pending', $3, $4, $4) RETURNING id",
                )
                .bind(audience.0)
                .bind(email.key())
                .bind(subscription_token())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let token = new_verification(
            &mut tx,
            "subscription",
            None,
            None,
            Some(subscription_id),
            CONFIRM_LINK_TTL_MS,
            now,
        )
        .await?;
        let (subject, body) = mail.confirm_subscription(&token, &audience.1, lang.as_str());
        notices::queue(
            &mut tx,
            &Outgoing {
                member_id: None,
                to: email.as_str(),
                kind: "portal.confirm_subscription",
                subject: &subject,
                body: &body,
                submission_id: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SubscribeOutcome::ConfirmationSent)
    }

    /// An active topic list open to the public, by slug: (id, name).
    pub async fn public_list(&self, slug: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name FROM audiences WHERE LOWER(slug) = $1 AND kind = 'topic' \
             AND open_to_public = $2 AND active = $2",
        )
        .bind(slug.to_ascii_lowercase())
        .bind(true)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// What a confirmation link would confirm; changes nothing (the page's button does).
    pub async fn confirmation_preview(
        &self,
        token: &str,
    ) -> Result<Option<Confirmable>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        confirmable(&mut conn, token, now_ms())
            .await
            .map(|c| c.map(|(_, what)| what))
    }

    /// Uses a confirmation link: confirms the subscription or verifies the address.
    pub async fn confirm(&self, token: &str) -> Result<ConfirmOutcome, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some((found, what)) = confirmable(&mut tx, token, now).await? else {
            return Ok(ConfirmOutcome::Invalid);
        };
        use_verification(&mut tx, found.id, now).await?;
        match &what {
            Confirmable::Subscription { .. } => {
                sqlx::query(
                    "UPDATE subscriptions SET state = 'confirmed', confirmed_at = $1, updated_at = $1 \
                     WHERE id = $2",
                )
                .bind(now)
                .bind(found.subscription_id)
                .execute(&mut *tx)
                .await?;
            }
            Confirmable::Email { .. } => {
                if let Some(contact_id) = found.contact_point_id {
                    mark_verified(&mut tx, contact_id, now).await?;
                }
            }
        }
        let (action, details) = match &what {
            Confirmable::Subscription { .. } => (
                "subscription.confirmed",
                serde_json::json!({ "subscription_id": found.subscription_id }),
            ),
            Confirmable::Email { address } => (
                "contact.verified",
                serde_json::json!({
                    "contact_point_id": found.contact_point_id,
                    "value_hash": self.value_hash(address),
                }),
            ),
        };
        let mut event = AuditEvent::new(action, self.actor.to_string()).details(details);
        if let Some(member) = found.member_id {
            event = event.by_member(member);
        }
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(ConfirmOutcome::Confirmed(what))
    }

    /// Leaves a list at once (topic lists and non-statutory structural or functional ones).
    /// `false`: not a list this member can leave.
    pub async fn leave_audience(
        &self,
        member_id: i64,
        audience_id: i64,
    ) -> Result<bool, StoreError> {
        let Some(audience) = self.audience_by_id(audience_id).await? else {
            return Ok(false);
        };
        if audience.category == Category::Statutory {
            return Ok(false);
        }
        let reaches = self
            .member_overview(member_id)
            .await?
            .is_some_and(|o| o.audiences.iter().any(|a| a.audience_id == audience_id));
        if !reaches {
            return Ok(false);
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let changed = leave(
            &mut tx,
            audience_id,
            audience.kind,
            Recipient::Member(member_id),
            now,
        )
        .await?;
        self.commit_audited(
            tx,
            "subscription.left",
            member_id,
            serde_json::json!({ "audience_id": audience_id }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(changed.is_some())
    }

    /// The member's email addresses, phone numbers and postal address.
    pub async fn member_contacts(&self, member_id: i64) -> Result<Vec<ContactPoint>, StoreError> {
        sqlx::query(
            "SELECT id, kind, value, verified, is_primary, source, street, postcode, city \
             FROM contact_points WHERE member_id = $1 ORDER BY kind, is_primary DESC, id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ContactPoint {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                value: row.try_get("value")?,
                verified: get_bool(row, "verified")?,
                primary: get_bool(row, "is_primary")?,
                from_import: row.try_get::<String, _>("source")? == "import",
                street: row.try_get("street")?,
                postcode: row.try_get("postcode")?,
                city: row.try_get("city")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
    }

    /// Adds an email address, unverified, and sends the link that verifies it to that address.
    pub async fn add_email(
        &self,
        member_id: i64,
        input: &str,
        mail: &dyn PortalMail,
    ) -> Result<ContactChange, StoreError> {
        let address = match EmailAddress::parse(input) {
            Ok(a) => a,
            Err(e) => return Ok(ContactChange::Invalid(e.reason)),
        };
        let lang = self.member_language(member_id).await?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some(contact_id) = insert_contact(
            &mut tx,
            member_id,
            "email",
            address.as_str(),
            &address.key(),
            now,
        )
        .await?
        else {
            return Ok(ContactChange::AlreadyThere);
        };
        let key = address.key();
        let send = VerificationSend::email(member_id, &key);
        if let Some(refused) = self.admit_verification(&mut tx, &send, now).await? {
            return Ok(ContactChange::Limited(refused));
        }
        let token = new_verification(
            &mut tx,
            "email",
            Some(member_id),
            Some(contact_id),
            None,
            CONFIRM_LINK_TTL_MS,
            now,
        )
        .await?;
        let (subject, body) = mail.verify_email(&token, &lang);
        notices::queue(
            &mut tx,
            &Outgoing {
                member_id: Some(member_id),
                to: address.as_str(),
                kind: "portal.verify_email",
                subject: &subject,
                body: &body,
                submission_id: None,
            },
            now,
        )
        .await?;
        self.commit_audited(
            tx,
            "contact.added",
            member_id,
            serde_json::json!({ "kind": "email", "value_hash": self.value_hash(address.as_str()) }),
            now,
        )
        .await?;
        Ok(ContactChange::Done)
    }

    /// Adds a phone number, unverified, and sends a 6-digit code to it by SMS.
    pub async fn add_phone(
        &self,
        member_id: i64,
        input: &str,
        default_region: &str,
        mail: &dyn PortalMail,
    ) -> Result<ContactChange, StoreError> {
        let number = match PhoneNumber::parse(input, default_region) {
            Ok(n) => n,
            Err(e) => return Ok(ContactChange::Invalid(e.reason)),
        };
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some(contact_id) = insert_contact(
            &mut tx,
            member_id,
            "phone",
            number.as_str(),
            number.as_str(),
            now,
        )
        .await?
        else {
            return Ok(ContactChange::AlreadyThere);
        };
        let sent = self.send_phone_code(&mut tx, member_id, contact_id, number.as_str(), mail, now);
        if let Some(refused) = sent.await? {
            return Ok(ContactChange::Limited(refused));
        }
        self.commit_audited(
            tx,
            "contact.added",
            member_id,
            serde_json::json!({ "kind": "phone", "value_hash": self.value_hash(number.as_str()) }),
            now,
        )
        .await?;
        Ok(ContactChange::Done)
    }

    /// Sends a new code for an unverified number of the member (the old one stops working).
    pub async fn resend_phone_code(
        &self,
        member_id: i64,
        contact_id: i64,
        mail: &dyn PortalMail,
    ) -> Result<ContactChange, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let number: Option<String> = sqlx::query_scalar(
            "SELECT value FROM contact_points WHERE id = $1 AND member_id = $2 AND kind = 'phone' \
             AND verified = $3",
        )
        .bind(contact_id)
        .bind(member_id)
        .bind(false)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(number) = number else {
            return Ok(ContactChange::NotFound);
        };
        let sent = self.send_phone_code(&mut tx, member_id, contact_id, &number, mail, now);
        if let Some(refused) = sent.await? {
            return Ok(ContactChange::Limited(refused));
        }
        tx.commit().await?;
        Ok(ContactChange::Done)
    }

    /// Checks a phone code for one of the member's numbers.
    pub async fn verify_phone(
        &self,
        member_id: i64,
        contact_id: i64,
        code: &str,
    ) -> Result<PhoneOutcome, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let pending: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT v.id, v.secret_hash, v.attempts, v.created_at FROM verifications v \
             JOIN contact_points c ON c.id = v.contact_point_id \
             WHERE v.contact_point_id = $1 AND c.member_id = $2 AND v.purpose = 'phone' \
               AND v.used_at IS NULL AND v.expires_at > $3 AND v.attempts < $4 \
             ORDER BY v.id DESC LIMIT 1",
        )
        .bind(contact_id)
        .bind(member_id)
        .bind(now)
        .bind(PHONE_CODE_ATTEMPTS)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, hash, attempts, created_at)) = pending else {
            return Ok(PhoneOutcome::NoCode);
        };
        let given = code.trim();
        if phone_code_hash(contact_id, created_at, given) != hash {
            sqlx::query("UPDATE verifications SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(PhoneOutcome::WrongCode {
                attempts_left: PHONE_CODE_ATTEMPTS - attempts - 1,
            });
        }
        use_verification(&mut tx, id, now).await?;
        mark_verified(&mut tx, contact_id, now).await?;
        self.commit_audited(
            tx,
            "contact.verified",
            member_id,
            serde_json::json!({ "contact_point_id": contact_id }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(PhoneOutcome::Verified)
    }

    /// Removes one of the member's own contact points.
    pub async fn remove_contact(
        &self,
        member_id: i64,
        contact_id: i64,
    ) -> Result<ContactChange, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let found: Option<(String, String, String)> = sqlx::query_as(
            "SELECT kind, value, source FROM contact_points WHERE id = $1 AND member_id = $2",
        )
        .bind(contact_id)
        .bind(member_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((kind, value, source)) = found else {
            return Ok(ContactChange::NotFound);
        };
        if source == "import" {
            return Ok(ContactChange::FromImport);
        }
        if kind == "email" {
            let others: i64 = sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM contact_points WHERE member_id = $1 \
                 AND kind = 'email' AND verified = $2 AND id <> $3",
            )
            .bind(member_id)
            .bind(true)
            .bind(contact_id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(ContactChange::LastVerifiedEmail);
            }
        }
        // Verifications point at the contact point; they go with it.
        sqlx::query("DELETE FROM verifications WHERE contact_point_id = $1")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM contact_points WHERE id = $1 AND member_id = $2")
            .bind(contact_id)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        self.commit_audited(
            tx,
            "contact.removed",
            member_id,
            serde_json::json!({ "kind": kind, "value_hash": self.value_hash(&value) }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(ContactChange::Done)
    }

    /// Sets the member's own postal address (one per member; an imported one stays beside it).
    pub async fn set_postal_address(
        &self,
        member_id: i64,
        street: &str,
        postcode: &str,
        city: &str,
    ) -> Result<ContactChange, StoreError> {
        let (street, postcode, city) = (street.trim(), postcode.trim(), city.trim());
        if street.is_empty() || postcode.is_empty() || city.is_empty() {
            return Ok(ContactChange::Invalid(
                "street, postcode and city are all needed".into(),
            ));
        }
        if [street, postcode, city]
            .iter()
            .any(|s| s.len() > 200 || s.chars().any(char::is_control))
        {
            return Ok(ContactChange::Invalid(
                "a field is too long or holds control characters".into(),
            ));
        }
        let value = format!("{street}, {postcode} {city}");
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM contact_points WHERE member_id = $1 AND kind = 'postal' AND source = 'member'",
        )
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO contact_points (member_id, kind, value, value_key, street, postcode, city, \
             is_primary, verified, source, created_at, updated_at) \
             VALUES ($1, 'postal', $2, $3, $4, $5, $6, $7, $7, 'member', $8, $8) \
             ON CONFLICT (member_id, kind, value_key) DO NOTHING",
        )
        .bind(member_id)
        .bind(&value)
        .bind(value.to_lowercase())
        .bind(street)
        .bind(postcode)
        .bind(city)
        .bind(true)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.commit_audited(
            tx,
            "contact.postal_set",
            member_id,
            serde_json::json!({ "kind": "postal", "value_hash": self.value_hash(&value) }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(ContactChange::Done)
    }

    /// Creates an app password for the member's email client; returns (id, the password),
    /// which is shown once and never stored in clear.
    pub async fn create_app_password(
        &self,
        member_id: i64,
        name: &str,
    ) -> Result<(i64, String), StoreError> {
        let (id, password) = self.new_app_password(member_id, name).await?;
        self.audit(&[
            AuditEvent::new("credential.created", self.actor.to_string())
                .by_member(member_id)
                .details(serde_json::json!({ "credential_id": id, "name": name })),
        ])
        .await?;
        Ok((id, password))
    }

    /// Records that the member asks for their data to be deleted; an admin completes it.
    /// `false`: a request is open already.
    pub async fn request_deletion(&self, member_id: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM deletion_requests WHERE member_id = $1 \
             AND completed_at IS NULL",
        )
        .bind(member_id)
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO deletion_requests (member_id, requested_at) VALUES ($1, $2)")
            .bind(member_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        self.commit_audited(
            tx,
            "member.deletion_requested",
            member_id,
            serde_json::json!({}),
            now,
        )
        .await?;
        Ok(true)
    }

    /// Open deletion requests, oldest first: (member id, name, requested at).
    pub async fn open_deletion_requests(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.member_id, m.first_name || ' ' || m.last_name, d.requested_at \
             FROM deletion_requests d JOIN members m ON m.id = d.member_id \
             WHERE d.completed_at IS NULL ORDER BY d.requested_at",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the member's open deletion request was made, if one is open.
    pub async fn open_deletion_request(&self, member_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT requested_at FROM deletion_requests WHERE member_id = $1 AND completed_at IS NULL",
        )
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Text messages waiting in the SMS outbox for a number, oldest first: (kind, body).
    pub async fn sms_outbox_for(&self, number: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT kind, body FROM sms_outbox WHERE to_number = $1 ORDER BY id")
                .bind(number)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

pub(crate) fn phone_code_hash(contact_id: i64, created_at: i64, code: &str) -> String {
    digest(&format!("phone:{contact_id}:{created_at}:{code}"))
}

async fn use_verification(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE verifications SET used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A contact point proved by its link or code: from now on it is used.
async fn mark_verified(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contact_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contact_points SET verified = $1, verified_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(true)
    .bind(now)
    .bind(contact_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a member's own contact point; `None` when the member has it already.
async fn insert_contact(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: i64,
    kind: &str,
    value: &str,
    key: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO contact_points (member_id, kind, value, value_key, is_primary, verified, source, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, 'member', $6, $6) \
         ON CONFLICT (member_id, kind, value_key) DO NOTHING RETURNING id",
    )
    .bind(member_id)
    .bind(kind)
    .bind(value)
    .bind(key)
    .bind(false)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Stores a new link secret; returns the secret for the link.
async fn new_verification(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    purpose: &str,
    member_id: Option<i64>,
    contact_point_id: Option<i64>,
    subscription_id: Option<i64>,
    ttl_ms: i64,
    now: i64,
) -> Result<String, StoreError> {
    let token = new_secret();
    sqlx::query(
        "INSERT INTO verifications (purpose, member_id, contact_point_id, subscription_id, secret_hash, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(purpose)
    .bind(member_id)
    .bind(contact_point_id)
    .bind(subscription_id)
    .bind(digest(&token))
    .bind(now)
    .bind(now + ttl_ms)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

struct Found {
    id: i64,
    member_id: Option<i64>,
    contact_point_id: Option<i64>,
    subscription_id: Option<i64>,
}

/// The unused, unexpired link verification a token names, with what it confirms.
async fn confirmable(
    conn: &mut sqlx::AnyConnection,
    token: &str,
    now: i64,
) -> Result<Option<(Found, Confirmable)>, StoreError> {
    let row = sqlx::query(
        "SELECT v.id, v.purpose, v.member_id, v.contact_point_id, v.subscription_id, \
                c.value AS address, a.name AS list \
         FROM verifications v \
         LEFT JOIN contact_points c ON c.id = v.contact_point_id \
         LEFT JOIN subscriptions s ON s.id = v.subscription_id \
         LEFT JOIN audiences a ON a.id = s.audience_id \
         WHERE v.secret_hash = $1 AND v.purpose IN ('email', 'subscription') \
           AND v.used_at IS NULL AND v.expires_at > $2",
    )
    .bind(digest(token))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let purpose: String = row.try_get("purpose")?;
    let what = match purpose.as_str() {
        "subscription" => match row.try_get::<Option<String>, _>("list")? {
            Some(list) => Confirmable::Subscription { list },
            None => return Ok(None),
        },
        _ => match row.try_get::<Option<String>, _>("address")? {
            Some(address) => Confirmable::Email { address },
            None => return Ok(None),
        },
    };
    Ok(Some((
        Found {
            id: row.try_get("id")?,
            member_id: row.try_get("member_id")?,
            contact_point_id: row.try_get("contact_point_id")?,
            subscription_id: row.try_get("subscription_id")?,
        },
        what,
    )))
}
