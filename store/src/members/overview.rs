//! The member's own view: which units and lists reach them, and the channel they chose per
//! category.

use super::*;

impl Store {
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
        self.mark_subscriptions(member_id, &mut audiences).await?;
        Ok(Some(MemberOverview {
            first_name,
            last_name,
            units,
            audiences,
        }))
    }

    /// Marks the lists the member left among those that reach them, and adds the topic lists
    /// they joined or are joining.
    async fn mark_subscriptions(
        &self,
        member_id: i64,
        audiences: &mut Vec<Reach>,
    ) -> Result<(), StoreError> {
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
            let state: SubscriptionState = crate::states::parse(&row, "state")?;
            if let Some(reach) = audiences.iter_mut().find(|a| a.audience_id == id) {
                reach.left = state == SubscriptionState::Unsubscribed;
                continue;
            }
            let kind: AudienceKind = decode(row.try_get("kind")?)?;
            if kind == AudienceKind::Topic && state != SubscriptionState::Unsubscribed {
                audiences.push(Reach {
                    audience_id: id,
                    slug: row.try_get("slug")?,
                    name: row.try_get("name")?,
                    kind,
                    category: decode(row.try_get("category")?)?,
                    left: false,
                    pending: state == SubscriptionState::Pending,
                });
            }
        }
        Ok(())
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
}
