//! What members changed themselves in the portal, for the membership database to take over:
//! contact data, channel choices, deletion requests, and erasures.
//!
//! The audit log is the source: every such change is an entry in the same transaction as the
//! change, and its `seq` is a cursor that only grows (appending locks the chain's head until
//! the commit, so no entry with a smaller `seq` can appear after a larger one was read). The
//! entries hold contact values only as keyed hashes, so each change carries the field's value
//! as it is now, read from the member tables; a member erased since shows as `erased` only.

mod csv_out;

pub use csv_out::CHANGE_COLUMNS;

use crate::{Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// The audit actions that are a member's own change of their data.
const OWN_ACTIONS: &[&str] = &[
    "contact.added",
    "contact.removed",
    "contact.verified",
    "contact.postal_set",
    "member.channel_changed",
    "member.deletion_requested",
];

/// Changes read per call at most.
pub const CHANGES_MAX: usize = 1000;

/// What kind of change an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    EmailAdded,
    EmailRemoved,
    EmailVerified,
    PhoneAdded,
    PhoneRemoved,
    PhoneVerified,
    /// A verified contact point that is gone since (its removal is a later change).
    ContactVerified,
    PostalAddressSet,
    ChannelChanged,
    DeletionRequested,
    /// The member's data is erased: the membership database deletes it too.
    Erased,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::EmailAdded => "email_added",
            ChangeKind::EmailRemoved => "email_removed",
            ChangeKind::EmailVerified => "email_verified",
            ChangeKind::PhoneAdded => "phone_added",
            ChangeKind::PhoneRemoved => "phone_removed",
            ChangeKind::PhoneVerified => "phone_verified",
            ChangeKind::ContactVerified => "contact_verified",
            ChangeKind::PostalAddressSet => "postal_address_set",
            ChangeKind::ChannelChanged => "channel_changed",
            ChangeKind::DeletionRequested => "deletion_requested",
            ChangeKind::Erased => "erased",
        }
    }
}

/// One email address or phone number of the member, as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactValue {
    pub value: String,
    pub verified: bool,
    pub primary: bool,
    /// From the membership database's last import, not entered by the member.
    pub from_import: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostalValue {
    pub street: String,
    pub postcode: String,
    pub city: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelChoice {
    pub category: String,
    pub channel: String,
}

/// The changed field as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum CurrentValue {
    /// Every email address of the member now.
    Email { addresses: Vec<ContactValue> },
    /// Every phone number of the member now.
    Phone { numbers: Vec<ContactValue> },
    /// The postal address the member entered; `None` when there is none any more.
    Postal { address: Option<PostalValue> },
    /// The channel the member chose per category.
    Channels { choices: Vec<ChannelChoice> },
    /// When the member asked for their data to be deleted, while the request is open.
    Deletion { requested_at: Option<i64> },
}

/// One change a member made themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryChange {
    /// The audit entry's `seq`: pass the last one as `since` to read on.
    pub cursor: i64,
    /// Milliseconds since 1970 (UTC).
    pub at: i64,
    /// The membership database's id; `None` for a member it does not know (invited only).
    pub external_id: Option<String>,
    pub change: ChangeKind,
    /// `None` for an erased member, and for a contact point verified and since removed.
    pub value: Option<CurrentValue>,
}

/// A page of changes in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangesPage {
    pub changes: Vec<DirectoryChange>,
    /// The cursor to read on from: the last change's, or `since` when there was none.
    pub next_cursor: i64,
    /// More changes are waiting after `next_cursor`.
    pub more: bool,
}

struct Entry {
    seq: i64,
    at: i64,
    action: String,
    member_id: i64,
    details: serde_json::Value,
}

/// What is known about a member now.
struct MemberNow {
    external_id: Option<String>,
    erased: bool,
    contacts: Vec<crate::ContactPoint>,
    channels: Vec<ChannelChoice>,
    deletion_requested_at: Option<i64>,
}

impl Store {
    /// The changes after `since` (0 for all), at most `limit` (up to [`CHANGES_MAX`]).
    pub async fn directory_changes(
        &self,
        since: i64,
        limit: usize,
    ) -> Result<ChangesPage, StoreError> {
        let limit = limit.clamp(1, CHANGES_MAX);
        let mut entries = self.own_change_entries(since, limit + 1).await?;
        let more = entries.len() > limit;
        entries.truncate(limit);
        let mut members: HashMap<i64, MemberNow> = HashMap::new();
        let mut changes = Vec::with_capacity(entries.len());
        for entry in entries {
            let member = match members.entry(entry.member_id) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(new) => {
                    new.insert(self.member_now(entry.member_id).await?)
                }
            };
            changes.push(change_of(&entry, member));
        }
        let next_cursor = changes.last().map_or(since, |c| c.cursor);
        Ok(ChangesPage {
            changes,
            next_cursor,
            more,
        })
    }

    async fn own_change_entries(&self, since: i64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let actions: Vec<String> = OWN_ACTIONS.iter().map(|a| format!("'{a}'")).collect();
        // Only what the member did themselves in the portal: an admin's change of someone's
        // data names the admin as actor. An address is proved by following the link mailed to
        // it, without a session (the `system` actor, about the member). Erasures are done by
        // an admin, about the member.
        let sql = format!(
            "SELECT seq, at, action, actor_member_id, details FROM audit_log WHERE seq > $1 AND \
             ((action IN ({}) AND actor_member_id IS NOT NULL \
               AND (actor = 'portal:member:' || CAST(actor_member_id AS TEXT) \
                    OR (action = 'contact.verified' AND actor = 'system'))) \
              OR action = 'member.erased') \
             ORDER BY seq LIMIT $2",
            actions.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(since)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let details: String = row.try_get("details")?;
            let details: serde_json::Value =
                serde_json::from_str(&details).unwrap_or(serde_json::Value::Null);
            let action: String = row.try_get("action")?;
            let member_id = match row.try_get::<Option<i64>, _>("actor_member_id")? {
                Some(id) if action != "member.erased" => Some(id),
                _ => details["member_id"].as_i64(),
            };
            // An erasure entry without its member names nobody the database could delete.
            let Some(member_id) = member_id else { continue };
            entries.push(Entry {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                action,
                member_id,
                details,
            });
        }
        Ok(entries)
    }

    async fn member_now(&self, member_id: i64) -> Result<MemberNow, StoreError> {
        let row = sqlx::query(
            "SELECT m.external_id, \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM deletion_requests d WHERE d.member_id = m.id \
              AND d.completed_at IS NOT NULL) AS erased, \
             (SELECT MIN(d.requested_at) FROM deletion_requests d WHERE d.member_id = m.id \
              AND d.completed_at IS NULL) AS requested_at \
             FROM members m WHERE m.id = $1",
        )
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(MemberNow::gone(None));
        };
        let external_id: Option<String> = row.try_get("external_id")?;
        if row.try_get::<i64, _>("erased")? > 0 {
            return Ok(MemberNow::gone(external_id));
        }
        let channels = self
            .channel_preferences(member_id)
            .await?
            .into_iter()
            .filter_map(|(category, channel)| {
                channel.map(|c| ChannelChoice {
                    category: category.as_str().to_string(),
                    channel: c.as_str().to_string(),
                })
            })
            .collect();
        Ok(MemberNow {
            external_id,
            erased: false,
            contacts: self.member_contacts(member_id).await?,
            channels,
            deletion_requested_at: row.try_get("requested_at")?,
        })
    }
}

impl MemberNow {
    fn gone(external_id: Option<String>) -> MemberNow {
        MemberNow {
            external_id,
            erased: true,
            contacts: Vec::new(),
            channels: Vec::new(),
            deletion_requested_at: None,
        }
    }

    fn contacts_of(&self, kind: &str) -> Vec<ContactValue> {
        self.contacts
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| ContactValue {
                value: c.value.clone(),
                verified: c.verified,
                primary: c.primary,
                from_import: c.from_import,
            })
            .collect()
    }

    fn value(&self, field: &str) -> CurrentValue {
        match field {
            "email" => CurrentValue::Email {
                addresses: self.contacts_of("email"),
            },
            "phone" => CurrentValue::Phone {
                numbers: self.contacts_of("phone"),
            },
            "postal" => CurrentValue::Postal {
                address: self
                    .contacts
                    .iter()
                    .find(|c| c.kind == "postal" && !c.from_import)
                    .map(|c| PostalValue {
                        street: c.street.clone().unwrap_or_default(),
                        postcode: c.postcode.clone().unwrap_or_default(),
                        city: c.city.clone().unwrap_or_default(),
                    }),
            },
            "channels" => CurrentValue::Channels {
                choices: self.channels.clone(),
            },
            _ => CurrentValue::Deletion {
                requested_at: self.deletion_requested_at,
            },
        }
    }
}

fn change_of(entry: &Entry, member: &MemberNow) -> DirectoryChange {
    let erased = DirectoryChange {
        cursor: entry.seq,
        at: entry.at,
        external_id: member.external_id.clone(),
        change: ChangeKind::Erased,
        value: None,
    };
    if member.erased {
        return erased;
    }
    let kind = entry.details["kind"].as_str().unwrap_or("");
    let (change, field) = match (entry.action.as_str(), kind) {
        ("contact.added", "phone") => (ChangeKind::PhoneAdded, Some("phone")),
        ("contact.added", _) => (ChangeKind::EmailAdded, Some("email")),
        ("contact.removed", "phone") => (ChangeKind::PhoneRemoved, Some("phone")),
        ("contact.removed", "postal") => (ChangeKind::PostalAddressSet, Some("postal")),
        ("contact.removed", _) => (ChangeKind::EmailRemoved, Some("email")),
        ("contact.verified", _) => {
            let id = entry.details["contact_point_id"].as_i64();
            match member.contacts.iter().find(|c| Some(c.id) == id) {
                Some(c) if c.kind == "phone" => (ChangeKind::PhoneVerified, Some("phone")),
                Some(_) => (ChangeKind::EmailVerified, Some("email")),
                None => (ChangeKind::ContactVerified, None),
            }
        }
        ("contact.postal_set", _) => (ChangeKind::PostalAddressSet, Some("postal")),
        ("member.channel_changed", _) => (ChangeKind::ChannelChanged, Some("channels")),
        ("member.deletion_requested", _) => (ChangeKind::DeletionRequested, Some("deletion")),
        _ => return erased,
    };
    DirectoryChange {
        change,
        value: field.map(|f| member.value(f)),
        ..erased
    }
}
