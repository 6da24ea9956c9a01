//! The facts about a sender that are read fresh for every submission: their recent volume
//! (from the hourly counters the group commit keeps), the organisation's, their audience's,
//! the unit's SMS spending, and whether they are a confirmed subscriber of the audience.

use crate::clock::HOUR_MS;
use crate::{Store, StoreError};
use sqlx::Row;
use verteiler_policies::VolumeFacts;

/// One statement over hourly counters: this runs for every submission. "Today" is the current
/// hour and the 24 before it, "the last hour" the current and the previous one: never less than
/// the period, so a limit may bite early but never late. Parameters: $1 the sender, $2 the
/// first hour of "today", $3 the first of "the last hour", $4 the audience, $5 the month.
const SENDER_STANDING: &str = "SELECT \
       (SELECT CAST(COALESCE(SUM(sends), 0) AS BIGINT) FROM sender_volume_hourly \
        WHERE member_id = $1 AND hour >= $2) AS day, \
       (SELECT CAST(COALESCE(SUM(sends), 0) AS BIGINT) FROM sender_volume_hourly \
        WHERE member_id = $1 AND hour >= $3) AS hour, \
       (SELECT CAST(COALESCE(SUM(recipients), 0) AS BIGINT) FROM sender_volume_hourly \
        WHERE member_id = $1 AND hour >= $2) AS recipients, \
       (SELECT CAST(COALESCE(SUM(sends), 0) AS BIGINT) FROM audience_volume_hourly \
        WHERE audience_id = $4 AND hour >= $2) AS audience_day, \
       (SELECT CAST(COALESCE(SUM(recipients), 0) AS BIGINT) FROM org_volume_hourly \
        WHERE hour >= $3) AS org_hour, \
       (SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions \
        WHERE audience_id = $4 AND member_id = $1 AND state = 'confirmed') AS subscribed, \
       (SELECT CAST(COALESCE(SUM(m.segments), 0) AS BIGINT) FROM unit_sms_monthly m \
        JOIN audiences a ON a.scope_unit_id = m.unit_id \
        WHERE a.id = $4 AND m.month = $5) AS unit_sms, \
       (SELECT b.monthly_cents FROM unit_sms_budgets b \
        JOIN audiences a ON a.scope_unit_id = b.unit_id WHERE a.id = $4) AS unit_budget";

/// The parameters of [`SENDER_STANDING`].
struct StandingParams {
    member: i64,
    day_from: i64,
    hour_from: i64,
    audience: Option<i64>,
    month: i64,
}

/// The columns of [`SENDER_STANDING`], as read.
struct Standing {
    day: i64,
    hour: i64,
    recipients: i64,
    audience_day: i64,
    org_hour: i64,
    subscribed: i64,
    unit_sms: i64,
    unit_budget: Option<i64>,
}

impl StandingParams {
    fn new(member: i64, audience: Option<i64>, now: i64) -> StandingParams {
        let hour = now / HOUR_MS;
        StandingParams {
            member,
            day_from: hour - 24,
            hour_from: hour - 1,
            audience,
            month: crate::clock::month_of(now),
        }
    }

    async fn read_pooled(&self, pool: &sqlx::AnyPool) -> Result<Standing, sqlx::Error> {
        let row = sqlx::query(SENDER_STANDING)
            .bind(self.member)
            .bind(self.day_from)
            .bind(self.hour_from)
            .bind(self.audience)
            .bind(self.month)
            .fetch_one(pool)
            .await?;
        Standing::from_columns(
            |column| row.try_get::<i64, _>(column),
            || row.try_get("unit_budget"),
        )
    }

    fn read_directly(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Standing> {
        conn.prepare_cached(SENDER_STANDING)?.query_row(
            rusqlite::named_params! {
                "$1": self.member,
                "$2": self.day_from,
                "$3": self.hour_from,
                "$4": self.audience,
                "$5": self.month,
            },
            |row| Standing::from_columns(|column| row.get(column), || row.get("unit_budget")),
        )
    }
}

impl Standing {
    /// The row of [`SENDER_STANDING`] from either driver: `count` reads a counter column by
    /// name, `unit_budget` the one column that may be NULL.
    fn from_columns<E>(
        count: impl Fn(&str) -> Result<i64, E>,
        unit_budget: impl FnOnce() -> Result<Option<i64>, E>,
    ) -> Result<Standing, E> {
        Ok(Standing {
            day: count("day")?,
            hour: count("hour")?,
            recipients: count("recipients")?,
            audience_day: count("audience_day")?,
            org_hour: count("org_hour")?,
            subscribed: count("subscribed")?,
            unit_sms: count("unit_sms")?,
            unit_budget: unit_budget()?,
        })
    }

    fn facts(&self) -> (VolumeFacts, bool) {
        let count = |v: i64| v.max(0) as u64;
        let volume = VolumeFacts {
            sender_sends_last_hour: count(self.hour),
            sender_sends_today: count(self.day),
            sender_recipients_today: count(self.recipients),
            audience_sends_today: count(self.audience_day),
            org_recipients_last_hour: count(self.org_hour),
            unit_sms_segments_this_month: count(self.unit_sms),
            unit_sms_budget_cents: self.unit_budget.map(count),
        };
        (volume, self.subscribed > 0)
    }
}

impl Store {
    /// Recent volume for the policy engine, counted over sends that were not refused.
    pub async fn volume_facts(
        &self,
        sender_member_id: i64,
        audience_id: Option<i64>,
        now: i64,
    ) -> Result<VolumeFacts, StoreError> {
        Ok(self
            .sender_standing(sender_member_id, audience_id, now)
            .await?
            .0)
    }

    /// The sender's recent volume and whether they are a confirmed subscriber of the audience:
    /// the facts of a submission that are read fresh every time.
    pub(crate) async fn sender_standing(
        &self,
        sender_member_id: i64,
        audience_id: Option<i64>,
        now: i64,
    ) -> Result<(VolumeFacts, bool), StoreError> {
        let params = StandingParams::new(sender_member_id, audience_id, now);
        if let Some(reads) = &self.direct_sqlite_reads {
            match reads.with(|conn| params.read_directly(conn)) {
                Ok(standing) => return Ok(standing.facts()),
                // The pool reads the same state; it only takes longer.
                Err(e) => tracing::warn!(event = "store.direct_sqlite_read_failed", error = %e),
            }
        }
        Ok(params.read_pooled(&self.pool).await?.facts())
    }
}

impl Store {
    /// Whether the member's refused submissions in the last hour (the current and the previous
    /// one, as every hourly rate here) reached `limit`: then a further refused one is not
    /// stored and its sender is asked to try later. `limit = 0` throttles nothing.
    pub async fn refusals_throttled(
        &self,
        member_id: i64,
        limit: u64,
        now: i64,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let refused: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(refused), 0) AS BIGINT) FROM sender_volume_hourly \
             WHERE member_id = $1 AND hour >= $2",
        )
        .bind(member_id)
        .bind(now / HOUR_MS - 1)
        .fetch_one(&self.pool)
        .await?;
        Ok(refused.max(0) as u64 >= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::now_ms;
    use crate::testing::TestDatabase;
    use sqlx::{Connection as _, Executor as _};

    /// Counters inside and just outside each period, a confirmed subscription and an SMS
    /// budget: the statement must count exactly the rows in the period, on either path.
    const COUNTERS: &str = "PRAGMA foreign_keys = OFF; \
        INSERT INTO audiences (id, slug, name, kind, unit_id, scope_unit_id, category, \
            created_at, updated_at) VALUES (4, 'a', 'A', 'structural', 9, 9, 'announcement', 0, 0); \
        INSERT INTO sender_volume_hourly (member_id, hour, sends, recipients) VALUES \
            (7, {h}, 3, 30), (7, {h} - 1, 2, 20), (7, {h} - 10, 5, 50), (7, {h} - 25, 100, 1000), \
            (8, {h}, 70, 700); \
        INSERT INTO audience_volume_hourly (audience_id, hour, sends) VALUES \
            (4, {h}, 4), (4, {h} - 20, 6), (4, {h} - 26, 50), (5, {h}, 80); \
        INSERT INTO org_volume_hourly (hour, recipients, updated_at) VALUES \
            ({h}, 300, 0), ({h} - 1, 200, 0), ({h} - 2, 999, 0); \
        INSERT INTO subscriptions (audience_id, member_id, state, token, created_at, updated_at) \
            VALUES (4, 7, 'confirmed', 't', 0, 0); \
        INSERT INTO unit_sms_monthly (unit_id, month, segments) VALUES (9, {m}, 12), (9, {m} - 1, 40); \
        INSERT INTO unit_sms_budgets (unit_id, monthly_cents, set_at) VALUES (9, 500, 0);";

    /// [`Store::sender_standing`] through the pool, whatever the backend.
    async fn through_pool(
        store: &Store,
        member: i64,
        audience: Option<i64>,
        now: i64,
    ) -> (VolumeFacts, bool) {
        let params = StandingParams::new(member, audience, now);
        params.read_pooled(&store.pool).await.unwrap().facts()
    }

    #[tokio::test]
    async fn the_sender_standing_reads_the_same_on_its_own_connections_as_through_the_pool() {
        let db = TestDatabase::new().await;
        let store = &db.store;
        let now = now_ms();
        let sql = COUNTERS
            .replace("{h}", &(now / HOUR_MS).to_string())
            .replace("{m}", &crate::clock::month_of(now).to_string());
        if store.backend != crate::Backend::Sqlite {
            eprintln!("skipped: the direct SQLite reads exist on SQLite only");
            return;
        }
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        conn.execute(sql.as_str()).await.unwrap();
        let expected = VolumeFacts {
            sender_sends_last_hour: 5,
            sender_sends_today: 10,
            sender_recipients_today: 100,
            audience_sends_today: 10,
            org_recipients_last_hour: 500,
            unit_sms_segments_this_month: 12,
            unit_sms_budget_cents: Some(500),
        };
        let pooled = through_pool(store, 7, Some(4), now).await;
        let standing = store.sender_standing(7, Some(4), now).await.unwrap();
        assert!(
            store.direct_sqlite_reads.is_some(),
            "a SQLite file reads directly"
        );
        assert_eq!(pooled, (expected, true));
        assert_eq!(standing, pooled);
        // No audience: only the sender's and the organisation's counters.
        let without = store.sender_standing(7, None, now).await.unwrap();
        assert_eq!(without, through_pool(store, 7, None, now).await);
        assert_eq!(without.0.audience_sends_today, 0);
        assert!(!without.1);
    }
}
