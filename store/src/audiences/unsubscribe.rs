//! Leaving a list from the link every delivered copy carries (RFC 8058 one-click).
//!
//! The link names a delivery by its random token, never by address or member, so a forwarded
//! or guessed link reveals nothing and only reaches the one recipient of that copy. What
//! "leaving" means depends on the audience:
//! - statutory mail cannot be left by a click (the statutes require that members receive it);
//!   the member chooses the channel in the portal instead, so nothing changes here;
//! - a topic list is opt-in: the subscription is set to `unsubscribed`;
//! - a structural or functional audience has no subscription to end, so an `unsubscribed` row
//!   records the opt-out and resolution leaves the member out (see `resolve.rs`).
//!
//! Mail scanners and link previewers fetch URLs, so only the POST changes anything; the
//! preview for the confirmation page only reads.

use crate::{now_ms, Backend, Store, StoreError};
use rand::RngCore;
use sqlx::Row;
use verteiler_policies::{AudienceKind, Category, SubscriptionState};

/// What a click on an unsubscribe link did. Every variant is an answer to show the person:
/// the portal maps `UnknownToken` to 404 and `Statutory` to 409.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsubscribeOutcome {
    /// No delivery has this token (mistyped, or a send we cannot name an audience for).
    UnknownToken,
    /// Statutory mail: nothing changed; the member may choose another channel instead.
    Statutory {
        audience_name: String,
    },
    Unsubscribed {
        audience_name: String,
    },
    /// Nothing changed: a second click, or a scanner's and the person's click both arrived.
    AlreadyUnsubscribed {
        audience_name: String,
    },
}

/// What the confirmation page shows before anything changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribePreview {
    pub audience_name: String,
    /// The link cannot unsubscribe; the page points to the channel preferences instead.
    pub statutory: bool,
    /// The recipient no longer receives this audience's mail.
    pub already_unsubscribed: bool,
}

/// The audience and recipient a delivery token names.
struct Target {
    audience_id: i64,
    audience_name: String,
    kind: AudienceKind,
    category: Category,
    member_id: Option<i64>,
    /// Lower-case, as stored on the delivery.
    address: String,
}

pub(crate) fn subscription_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn decode<T: std::str::FromStr>(text: String) -> Result<T, sqlx::Error>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// `None` for an unknown token, and for a delivery whose send names no audience (expansion
/// never queues such a send, so there is nothing to leave).
async fn target_of(
    conn: &mut sqlx::AnyConnection,
    token: &str,
) -> Result<Option<Target>, StoreError> {
    let row = sqlx::query(
        "SELECT a.id, a.name, a.kind, a.category, d.member_id, d.address \
         FROM deliveries d JOIN sends s ON s.id = d.send_id JOIN audiences a ON a.id = s.audience_id \
         WHERE d.token = $1",
    )
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Target {
        audience_id: row.try_get("id")?,
        audience_name: row.try_get("name")?,
        kind: decode(row.try_get("kind")?)?,
        category: decode(row.try_get("category")?)?,
        member_id: row.try_get("member_id")?,
        address: row.try_get("address")?,
    }))
}

/// The recipient's subscription state for the target's audience, if they have a row.
async fn subscription_state(
    conn: &mut sqlx::AnyConnection,
    target: &Target,
) -> Result<Option<SubscriptionState>, StoreError> {
    let state: Option<String> = match target.member_id {
        Some(member_id) => {
            sqlx::query_scalar(
                "SELECT state FROM subscriptions WHERE audience_id = $1 AND member_id = $2",
            )
            .bind(target.audience_id)
            .bind(member_id)
            .fetch_optional(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT state FROM subscriptions WHERE audience_id = $1 AND LOWER(email) = $2",
            )
            .bind(target.audience_id)
            .bind(&target.address)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    Ok(state
        .map(|s| crate::states::text_as(&s, "state"))
        .transpose()?)
}

impl Store {
    /// Reads what the unsubscribe page shows for a token; changes nothing. `None`: unknown.
    pub async fn unsubscribe_preview(
        &self,
        token: &str,
    ) -> Result<Option<UnsubscribePreview>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(target) = target_of(&mut conn, token).await? else {
            return Ok(None);
        };
        let statutory = target.category == Category::Statutory;
        let state = subscription_state(&mut conn, &target).await?;
        let already_unsubscribed = !statutory
            && match target.kind {
                // Opt-in: without a live subscription nothing reaches them any more.
                AudienceKind::Topic => !matches!(
                    state,
                    Some(SubscriptionState::Confirmed | SubscriptionState::Pending)
                ),
                AudienceKind::Structural | AudienceKind::Functional => {
                    state == Some(SubscriptionState::Unsubscribed)
                }
            };
        Ok(Some(UnsubscribePreview {
            audience_name: target.audience_name,
            statutory,
            already_unsubscribed,
        }))
    }

    /// Takes the recipient of the delivery `token` names off its audience, in one transaction.
    /// Idempotent: a repeated click changes nothing and says so. Statutory audiences are never
    /// left this way (see the module comment).
    pub async fn unsubscribe_by_token(
        &self,
        token: &str,
    ) -> Result<UnsubscribeOutcome, StoreError> {
        let now = now_ms();
        // SQLite would refuse a deferred transaction that read before a concurrent click wrote
        // (its snapshot is stale by then); taking the write lock first makes that click wait.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let Some(target) = target_of(&mut tx, token).await? else {
            return Ok(UnsubscribeOutcome::UnknownToken);
        };
        let audience_name = target.audience_name.clone();
        if target.category == Category::Statutory {
            return Ok(UnsubscribeOutcome::Statutory { audience_name });
        }
        let Some(changed) = leave(
            &mut tx,
            target.audience_id,
            target.kind,
            Recipient::of(target.member_id, &target.address),
            now,
        )
        .await?
        else {
            return Ok(UnsubscribeOutcome::UnknownToken);
        };
        tx.commit().await?;
        if changed == 0 {
            return Ok(UnsubscribeOutcome::AlreadyUnsubscribed { audience_name });
        }
        // Counts and the sender's subscription status are decision facts.
        self.facts_changed();
        tracing::info!(
            event = "subscription.unsubscribed",
            audience = target.audience_id,
            member = ?target.member_id,
        );
        Ok(UnsubscribeOutcome::Unsubscribed { audience_name })
    }
}

/// Who leaves an audience: a member, or an outside subscriber of a public topic list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Recipient<'a> {
    Member(i64),
    /// The lower-case address of a subscriber without a member record.
    Address(&'a str),
}

impl<'a> Recipient<'a> {
    fn of(member_id: Option<i64>, address: &'a str) -> Recipient<'a> {
        member_id.map_or(Recipient::Address(address), Recipient::Member)
    }
}

/// Takes a recipient off a non-statutory audience in `tx`: a topic subscription ends, a
/// structural or functional audience gets an opt-out row. Returns the rows changed (0: they
/// had left already), or `None` when there is nothing to leave (a structural audience reaches
/// members only). The caller checks the category first.
pub(crate) async fn leave(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    audience_id: i64,
    kind: AudienceKind,
    who: Recipient<'_>,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    Ok(Some(match (kind, who) {
        (AudienceKind::Topic, Recipient::Member(member_id)) => {
            sqlx::query(
                "UPDATE subscriptions SET state = 'unsubscribed', unsubscribed_at = $1, updated_at = $1 \
                 WHERE audience_id = $2 AND member_id = $3 AND state <> 'unsubscribed'",
            )
            .bind(now)
            .bind(audience_id)
            .bind(member_id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
        }
        (AudienceKind::Topic, Recipient::Address(address)) => {
            sqlx::query(
                "UPDATE subscriptions SET state = 'unsubscribed', unsubscribed_at = $1, updated_at = $1 \
                 WHERE audience_id = $2 AND LOWER(email) = $3 AND state <> 'unsubscribed'",
            )
            .bind(now)
            .bind(audience_id)
            .bind(address)
            .execute(&mut **tx)
            .await?
            .rows_affected()
        }
        (AudienceKind::Structural | AudienceKind::Functional, Recipient::Member(member_id)) => {
            // One statement, so two clicks at once (a scanner's POST and the person's)
            // cannot both insert; the WHERE leaves an existing opt-out and its time alone.
            sqlx::query(
                "INSERT INTO subscriptions (audience_id, member_id, state, token, created_at, \
                 unsubscribed_at, updated_at) VALUES ($1, $2, 'unsubscribed', $3, $4, $4, $4) \
                 ON CONFLICT (audience_id, member_id) DO UPDATE SET state = 'unsubscribed', \
                 unsubscribed_at = excluded.unsubscribed_at, updated_at = excluded.updated_at \
                 WHERE subscriptions.state <> 'unsubscribed'",
            )
            .bind(audience_id)
            .bind(member_id)
            .bind(subscription_token())
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected()
        }
        // Structural and functional audiences reach members only, so expansion never
        // queues a copy without one. Claiming success would tell someone who still
        // receives the list that they do not; say the link names nothing instead.
        (AudienceKind::Structural | AudienceKind::Functional, Recipient::Address(_)) => {
            tracing::warn!(
                event = "subscription.unsubscribe_without_member",
                audience = audience_id,
            );
            return Ok(None);
        }
    }))
}
