//! Further addresses of a list. A renamed unit's list keeps its old address as an alias, so
//! mail written to it still reaches the same list (never another one: an address is a list's
//! own or one alias, never both, and never two lists').

use super::definition::{ListError, RESERVED_SLUGS};
use super::manage::slug_owner;
use crate::audit::log::{self as audit, AuditEvent};
use crate::{now_ms, Store};
use verteiler_policies::AudienceSlug;

/// Records `slug` as an alias of list `id` (no check: the callers have made sure it is free).
pub(crate) async fn insert_alias(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    slug: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audience_aliases (slug, audience_id, created_at) VALUES ($1, $2, $3)")
        .bind(slug)
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// List `id` changes its address from `old` to `new`: `new` stops being one of its aliases
/// (if it was), `old` becomes one, so mail to the old address still reaches it.
pub(crate) async fn move_address(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    old: &str,
    new: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM audience_aliases WHERE slug = $1 AND audience_id = $2")
        .bind(new)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    insert_alias(tx, id, old, now).await
}

impl Store {
    /// Gives list `id` the further address `alias`.
    pub async fn add_alias(&self, id: i64, alias: &AudienceSlug) -> Result<(), ListError> {
        if RESERVED_SLUGS.contains(&alias.as_str()) {
            return Err(ListError::SlugReserved(alias.to_string()));
        }
        let mut tx = self.begin_write().await?;
        super::manage::lock_addresses(&mut tx, self.backend).await?;
        let list = super::manage::locked_list(&mut tx, self.backend, id).await?;
        if let Some((_, owner)) = slug_owner(&mut tx, alias.as_str()).await? {
            return Err(ListError::SlugTaken {
                slug: alias.to_string(),
                owner,
            });
        }
        let now = now_ms();
        insert_alias(&mut tx, id, alias.as_str(), now).await?;
        let event = AuditEvent::new("audience.alias_added", self.actor.to_string())
            .details(serde_json::json!({ "audience_id": id, "slug": list.slug, "alias": alias }));
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(())
    }

    /// Takes the further address `alias` away from its list; mail to it is then refused as
    /// addressed to no list.
    pub async fn remove_alias(&self, alias: &AudienceSlug) -> Result<(), ListError> {
        let mut tx = self.begin_write().await?;
        let owner = slug_owner(&mut tx, alias.as_str()).await?;
        let Some((id, slug)) = owner else {
            return Err(ListError::UnknownList(alias.to_string()));
        };
        if slug == alias.as_str() {
            return Err(ListError::NotAnAlias(alias.to_string()));
        }
        sqlx::query("DELETE FROM audience_aliases WHERE slug = $1")
            .bind(alias.as_str())
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new("audience.alias_removed", self.actor.to_string())
            .details(serde_json::json!({ "audience_id": id, "slug": slug, "alias": alias }));
        audit::append(&mut tx, self.backend, &[event], now_ms()).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(())
    }

    /// The further addresses of list `id`, alphabetically.
    pub async fn aliases_of(&self, id: i64) -> Result<Vec<String>, crate::StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT slug FROM audience_aliases WHERE audience_id = $1 ORDER BY slug",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}
