//! Topic lists a member joins (double opt-in, with or without an account) and any list they
//! leave; the confirmation links of subscriptions and new addresses.

use super::*;

impl Store {
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
                    state: crate::states::parse_optional(row, "state")?,
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
        if list.state == Some(SubscriptionState::Confirmed) {
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
        let link = LinkMail {
            purpose: "subscription",
            member_id: Some(member_id),
            contact_point_id: None,
            subscription_id: Some(subscription_id),
            to: &to,
            kind: "portal.confirm_subscription",
        };
        self.commit_with_link(
            tx,
            &link,
            |token| mail.confirm_subscription(token, &list.name, lang.as_str()),
            Some((
                "subscription.requested",
                serde_json::json!({ "audience_id": audience_id }),
            )),
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
            Some((_, state))
                if crate::states::text_as::<SubscriptionState>(&state, "state")?
                    == SubscriptionState::Confirmed =>
            {
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
        let link = LinkMail {
            purpose: "subscription",
            member_id: None,
            contact_point_id: None,
            subscription_id: Some(subscription_id),
            to: email.as_str(),
            kind: "portal.confirm_subscription",
        };
        let render = |token: &str| mail.confirm_subscription(token, &audience.1, lang.as_str());
        self.commit_with_link(tx, &link, render, None, now).await?;
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

struct Found {
    id: i64,
    member_id: Option<i64>,
    contact_point_id: Option<i64>,
    subscription_id: Option<i64>,
}
