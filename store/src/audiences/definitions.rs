//! Audiences (`slug@lists.<domain>`) and their policies.

use crate::audit::log::AuditEvent;
use crate::{now_ms, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use verteiler_policies::{
    AudienceKind, AudienceSlug, Category, Channel, ReplyMode, RoleFunction, VisibleRecipientsMode,
};

/// When a send to this audience needs a second person's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", content = "threshold", rename_all = "kebab-case")]
pub enum ApprovalSetting {
    Never,
    AboveRecipients(u64),
    Always,
}

/// An audience with its policy, as stored. Resolution and the policy engine start from this.
///
/// Its definition and policy are a [`NewAudience`], reached through `Deref` (`audience.slug`);
/// beside it what only a stored list has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audience {
    pub id: i64,
    #[serde(flatten)]
    pub definition: NewAudience,
    pub active: bool,
    pub usual_size: Option<u64>,
    /// The list template that made this list for its unit; `None` for a list made by hand.
    pub template_id: Option<String>,
    /// Who switched the list off and when, while it is inactive.
    pub deactivation: Option<Deactivation>,
}

impl std::ops::Deref for Audience {
    type Target = NewAudience;

    fn deref(&self) -> &NewAudience {
        &self.definition
    }
}

/// Who switched a list or unit off, when, and whether a person or an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deactivation {
    pub at: i64,
    /// The audit actor (`cli:USER`, `portal:member:ID`, `import`).
    pub by: String,
    /// Switched off by an import (its unit left the export): an import that brings the unit
    /// back switches it on again. A person's deactivation only a person undoes.
    pub by_import: bool,
}

impl Deactivation {
    /// Reads the three deactivation columns; `None` when they are empty.
    pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Option<Deactivation>, sqlx::Error> {
        let at: Option<i64> = row.try_get("deactivated_at")?;
        let by: Option<String> = row.try_get("deactivated_by")?;
        let source: Option<String> = row.try_get("deactivation_source")?;
        Ok(at.map(|at| Deactivation {
            at,
            by: by.unwrap_or_default(),
            by_import: source.as_deref() == Some("import"),
        }))
    }
}

/// What `audience list` shows: definition only, never recipients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudienceSummary {
    pub slug: String,
    pub name: String,
    pub kind: AudienceKind,
    pub unit_code: String,
    pub category: Category,
    pub active: bool,
}

/// The definition and policy of an audience, new or stored; policy fields not named take the
/// schema's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAudience {
    pub slug: AudienceSlug,
    pub name: String,
    pub kind: AudienceKind,
    /// Structural: whose members; functional: in whose subtree the role holders are.
    pub unit_id: i64,
    pub include_subunits: bool,
    pub role_function: Option<RoleFunction>,
    /// The unit this audience may never reach outside of.
    pub scope_unit_id: i64,
    pub category: Category,
    pub allowed_sender_functions: Vec<RoleFunction>,
    pub subscribers_may_post: bool,
    pub open_to_public: bool,
    pub channels: Vec<Channel>,
    pub approval: ApprovalSetting,
    pub approver_functions: Vec<RoleFunction>,
    pub approvals_needed: u32,
    pub max_recipients: Option<u64>,
    pub max_message_bytes: Option<u64>,
    pub sends_per_sender_per_day: Option<u32>,
    pub reply_mode: ReplyMode,
    pub visible_recipients_mode: VisibleRecipientsMode,
    /// An official From: address members who may send to this audience may use (lower-case).
    pub sender_address: Option<String>,
    /// "Email and SMS": members with both get both.
    pub email_and_sms: bool,
}

impl NewAudience {
    /// A branch's ordinary list: its members, sent to by its chair, no approval.
    pub fn structural(
        slug: AudienceSlug,
        name: &str,
        unit_id: i64,
        include_subunits: bool,
    ) -> Self {
        NewAudience {
            slug,
            name: name.to_string(),
            kind: AudienceKind::Structural,
            unit_id,
            include_subunits,
            role_function: None,
            scope_unit_id: unit_id,
            category: Category::Announcement,
            allowed_sender_functions: vec![RoleFunction::Chair],
            subscribers_may_post: false,
            open_to_public: false,
            channels: vec![Channel::Email],
            approval: ApprovalSetting::Never,
            approver_functions: vec![RoleFunction::PressOffice],
            approvals_needed: 1,
            max_recipients: None,
            max_message_bytes: None,
            sends_per_sender_per_day: None,
            reply_mode: ReplyMode::Sender,
            visible_recipients_mode: VisibleRecipientsMode::Reject,
            sender_address: None,
            email_and_sms: false,
        }
    }
}

impl Audience {
    /// A short fingerprint of the definition: a form carries it, and an edit made from an
    /// older one is refused ([`Store::edit_list_seen`]).
    pub fn definition_tag(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_string(&self.definition()).unwrap_or_default();
        hex::encode(&Sha256::digest(json.as_bytes())[..8])
    }

    /// The list's definition and policy, as a new list with them would be made.
    pub fn definition(&self) -> NewAudience {
        self.definition.clone()
    }
}

pub(crate) fn join<T: Copy + Into<&'static str>>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| (*v).into())
        .collect::<Vec<&str>>()
        .join(",")
}

fn split<T: std::str::FromStr>(text: &str) -> Result<Vec<T>, sqlx::Error>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .collect()
}

fn decode<T: std::str::FromStr>(text: String) -> Result<T, sqlx::Error>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl ApprovalSetting {
    /// The stored rule and threshold.
    pub(crate) fn columns(self) -> (&'static str, Option<i64>) {
        match self {
            ApprovalSetting::Never => ("never", None),
            ApprovalSetting::AboveRecipients(n) => ("above", Some(n.min(i64::MAX as u64) as i64)),
            ApprovalSetting::Always => ("always", None),
        }
    }
}

pub(crate) async fn insert_audience(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    a: &NewAudience,
    template_id: Option<&str>,
) -> Result<i64, StoreError> {
    let (rule, threshold) = a.approval.columns();
    let now = now_ms();
    let id = sqlx::query_scalar(
            "INSERT INTO audiences (slug, name, kind, unit_id, include_subunits, role_function, \
             scope_unit_id, category, allowed_sender_functions, subscribers_may_post, open_to_public, \
             channels, approval_rule, approval_threshold, approver_functions, approvals_needed, \
             max_recipients, reply_mode, sender_address, max_message_bytes, sends_per_sender_per_day, \
             visible_recipients_mode, email_and_sms, template_id, active, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$20,$21,$22,$23,$24,$25,\
             TRUE,$19,$19) RETURNING id",
        )
        .bind(a.slug.as_str())
        .bind(&a.name)
        .bind(a.kind.as_str())
        .bind(a.unit_id)
        .bind(a.include_subunits)
        .bind(a.role_function.map(RoleFunction::as_str))
        .bind(a.scope_unit_id)
        .bind(a.category.as_str())
        .bind(join(&a.allowed_sender_functions))
        .bind(a.subscribers_may_post)
        .bind(a.open_to_public)
        .bind(join(&a.channels))
        .bind(rule)
        .bind(threshold)
        .bind(join(&a.approver_functions))
        .bind(a.approvals_needed as i64)
        .bind(a.max_recipients.map(|v| v as i64))
        .bind(a.reply_mode.as_str())
        .bind(now)
        .bind(a.sender_address.as_ref().map(|s| s.to_lowercase()))
        .bind(a.max_message_bytes.map(|v| v as i64))
        .bind(a.sends_per_sender_per_day.map(i64::from))
        .bind(a.visible_recipients_mode.as_str())
        .bind(a.email_and_sms)
        .bind(template_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(id)
}

pub(crate) fn audience_from_row(row: &sqlx::any::AnyRow) -> Result<Audience, sqlx::Error> {
    let approval = match row.try_get::<String, _>("approval_rule")?.as_str() {
        "always" => ApprovalSetting::Always,
        "above" => ApprovalSetting::AboveRecipients(
            row.try_get::<i64, _>("approval_threshold")?.max(0) as u64,
        ),
        // 'never' is the only other value the schema's CHECK admits
        _ => ApprovalSetting::Never,
    };
    let slug: String = row.try_get("slug")?;
    let definition = NewAudience {
        slug: AudienceSlug::parse(&slug).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        name: row.try_get("name")?,
        kind: decode(row.try_get("kind")?)?,
        unit_id: row.try_get("unit_id")?,
        include_subunits: crate::db::sql::get_bool(row, "include_subunits")?,
        role_function: row
            .try_get::<Option<String>, _>("role_function")?
            .map(decode)
            .transpose()?,
        scope_unit_id: row.try_get("scope_unit_id")?,
        category: decode(row.try_get("category")?)?,
        allowed_sender_functions: split(&row.try_get::<String, _>("allowed_sender_functions")?)?,
        subscribers_may_post: crate::db::sql::get_bool(row, "subscribers_may_post")?,
        open_to_public: crate::db::sql::get_bool(row, "open_to_public")?,
        channels: split(&row.try_get::<String, _>("channels")?)?,
        approval,
        approver_functions: split(&row.try_get::<String, _>("approver_functions")?)?,
        approvals_needed: row
            .try_get::<i64, _>("approvals_needed")?
            .clamp(1, u32::MAX as i64) as u32,
        max_recipients: row
            .try_get::<Option<i64>, _>("max_recipients")?
            .map(|v| v.max(0) as u64),
        max_message_bytes: row
            .try_get::<Option<i64>, _>("max_message_bytes")?
            .map(|v| v.max(0) as u64),
        sends_per_sender_per_day: row
            .try_get::<Option<i64>, _>("sends_per_sender_per_day")?
            .map(|v| v.clamp(0, u32::MAX as i64) as u32),
        reply_mode: decode(row.try_get("reply_mode")?)?,
        visible_recipients_mode: decode(row.try_get("visible_recipients_mode")?)?,
        sender_address: row.try_get("sender_address")?,
        email_and_sms: crate::db::sql::get_bool(row, "email_and_sms")?,
    };
    Ok(Audience {
        id: row.try_get("id")?,
        definition,
        active: crate::db::sql::get_bool(row, "active")?,
        usual_size: row
            .try_get::<Option<i64>, _>("usual_size")?
            .map(|v| v.max(0) as u64),
        template_id: row.try_get("template_id")?,
        deactivation: Deactivation::from_row(row)?,
    })
}

impl Store {
    pub async fn create_audience(&self, a: &NewAudience) -> Result<i64, StoreError> {
        Ok(self.create_audiences(std::slice::from_ref(a)).await?[0])
    }

    /// Creates many audiences in one transaction (a new organisation's branch lists).
    pub async fn create_audiences(
        &self,
        audiences: &[NewAudience],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(audiences.len());
        let mut events = Vec::with_capacity(audiences.len());
        for a in audiences {
            let id = insert_audience(&mut tx, a, None).await?;
            ids.push(id);
            events.push(
                AuditEvent::new("audience.created", self.actor.to_string())
                    .details(serde_json::json!({ "audience_id": id, "before": null, "after": a })),
            );
        }
        crate::audit::log::append(&mut tx, self.backend, &events, now_ms()).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(ids)
    }

    /// The list with this address, its own or an alias.
    pub async fn audience_by_slug(
        &self,
        slug: &AudienceSlug,
    ) -> Result<Option<Audience>, StoreError> {
        // A list's own address before any alias (the store never lets one be both).
        let row = sqlx::query(
            "SELECT a.*, 0 AS address_rank FROM audiences a WHERE a.slug = $1 UNION ALL \
             SELECT a.*, 1 AS address_rank FROM audience_aliases al \
             JOIN audiences a ON a.id = al.audience_id WHERE al.slug = $1 \
             ORDER BY address_rank LIMIT 1",
        )
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(audience_from_row).transpose()?)
    }

    pub async fn audience_by_id(&self, id: i64) -> Result<Option<Audience>, StoreError> {
        let row = sqlx::query("SELECT * FROM audiences WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(audience_from_row).transpose()?)
    }

    /// The list a send went to, by the `audience_id` its row keeps; `None` when the send names
    /// none (its address was never a list) or the list is gone.
    pub async fn send_audience(
        &self,
        audience_id: Option<i64>,
    ) -> Result<Option<Audience>, StoreError> {
        match audience_id {
            Some(id) => self.audience_by_id(id).await,
            None => Ok(None),
        }
    }

    /// Active audiences whose official sender address this is.
    pub async fn audiences_with_sender_address(
        &self,
        address: &str,
    ) -> Result<Vec<Audience>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audiences WHERE sender_address = $1 ORDER BY id")
            .bind(address.to_lowercase())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(audience_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map(|all| all.into_iter().filter(|a| a.active).collect())
            .map_err(StoreError::from)
    }

    pub async fn list_audiences(&self) -> Result<Vec<AudienceSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.slug, a.name, a.kind, u.code, a.category, a.active \
             FROM audiences a JOIN units u ON u.id = a.unit_id ORDER BY a.slug",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AudienceSummary {
                    slug: r.try_get("slug")?,
                    name: r.try_get("name")?,
                    kind: decode(r.try_get("kind")?)?,
                    unit_code: r.try_get("code")?,
                    category: decode(r.try_get("category")?)?,
                    active: crate::db::sql::get_bool(r, "active")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Records an `audience.changed` entry (before → after in `details`) in `tx`.
    async fn audit_audience_change(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        let event = AuditEvent::new("audience.changed", self.actor.to_string()).details(details);
        crate::audit::log::append(tx, self.backend, &[event], now_ms()).await
    }

    /// Switches a list off or on as a person's decision; see [`Store::set_list_active`].
    pub async fn set_audience_active(
        &self,
        audience_id: i64,
        active: bool,
    ) -> Result<(), StoreError> {
        match self.set_list_active(audience_id, active).await {
            Ok(_) | Err(crate::lists::ListError::UnknownList(_)) => Ok(()),
            Err(crate::lists::ListError::Store(e)) => Err(e),
            Err(other) => Err(StoreError::Database(sqlx::Error::Protocol(
                other.to_string(),
            ))),
        }
    }

    /// Changes whom an audience addresses (an admin's act). The declared scope stays: a target
    /// outside it makes every send refused until the definition is fixed.
    pub async fn set_audience_target(
        &self,
        audience_id: i64,
        unit_id: i64,
        include_subunits: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::audit::log::lock_head_first(&mut tx).await?;
        let before: Option<(i64, bool)> =
            sqlx::query("SELECT unit_id, include_subunits FROM audiences WHERE id = $1")
                .bind(audience_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| {
                    Ok::<_, sqlx::Error>((
                        r.try_get("unit_id")?,
                        crate::db::sql::get_bool(&r, "include_subunits")?,
                    ))
                })
                .transpose()?;
        // When whom the list reaches changes, a send decided before must not go to the new
        // definition (expansion compares `definition_changed_at` with the send's decision).
        sqlx::query(
            "UPDATE audiences SET definition_changed_at = CASE \
               WHEN unit_id <> $1 OR include_subunits <> $2 THEN $3 ELSE definition_changed_at END, \
             unit_id = $1, include_subunits = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(unit_id)
        .bind(include_subunits)
        .bind(now_ms())
        .bind(audience_id)
        .execute(&mut *tx)
        .await?;
        if let Some((was_unit, was_subunits)) = before {
            self.audit_audience_change(
                &mut tx,
                serde_json::json!({
                    "audience_id": audience_id,
                    "before": { "unit_id": was_unit, "include_subunits": was_subunits },
                    "after": { "unit_id": unit_id, "include_subunits": include_subunits },
                }),
            )
            .await?;
        }
        tx.commit().await?;
        self.facts_changed();
        Ok(())
    }

    /// Adds a confirmed subscription (tests and demo; the portal adds double opt-in).
    pub async fn subscribe_confirmed(
        &self,
        audience_id: i64,
        member_id: i64,
        token: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO subscriptions (audience_id, member_id, state, token, created_at, confirmed_at, updated_at) \
             VALUES ($1, $2, 'confirmed', $3, $4, $4, $4) \
             ON CONFLICT (audience_id, member_id) DO UPDATE SET state = 'confirmed', confirmed_at = excluded.confirmed_at",
        )
        .bind(audience_id)
        .bind(member_id)
        .bind(token)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.facts_changed();
        Ok(())
    }
}
