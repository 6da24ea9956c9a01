//! Audience resolution: who an audience reaches, streamed in batches.
//!
//! Resolution never widens: a deactivated unit removes itself and its whole subtree, an unknown
//! or deactivated target yields nobody, and the policy engine refuses an empty audience. The
//! recipients of a structural or functional audience are read in member-id order with keyset
//! pagination, so no audience is ever held in memory and a fan-out can resume after the last
//! member it handled. A member reachable through two sub-units appears once, because the query
//! selects members (with an `EXISTS` test), not memberships.

use crate::db::statement::{Statement, Value};
use crate::{Audience, Backend, Store, StoreError};
use futures::{Stream, TryStreamExt};
use serde::Serialize;
use sqlx::Row;
use verteiler_policies::{AudienceKind, Category, ChannelPreference};

/// Rows read per query while streaming an audience: large enough that recomputing the
/// target subtree (~10 ms for 10,000 units) per batch stays small, small enough (a few MB)
/// that no audience is held in memory.
pub const RESOLVE_BATCH: usize = 20_000;

/// One person an audience reaches, with the contact data delivery needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Position in the audience's order: resume a resolution after it.
    pub cursor: i64,
    /// `None` for a non-member subscriber of a public topic list.
    pub member_id: Option<i64>,
    pub name: String,
    /// The primary verified, deliverable email address, if any.
    pub email: Option<String>,
    /// The primary verified, deliverable phone number (E.164), if any.
    pub phone: Option<String>,
    /// The member's own choice for this audience's category, if they made one.
    pub preference: Option<ChannelPreference>,
}

/// SQL text with its parameters, numbered in the order they are first used.
#[derive(Default)]
pub(super) struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl Sql {
    fn param(&mut self, value: impl Into<Value>) -> String {
        self.binds.push(value.into());
        format!("${}", self.binds.len())
    }

    /// The same query as a [`Statement`], for a direct SQLite connection.
    pub(super) fn statement(&self) -> Statement {
        Statement {
            sql: self.text.clone(),
            values: self.binds.clone(),
        }
    }
}

/// Which rows a resolution query should produce.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Select {
    Batch {
        after: i64,
        limit: usize,
    },
    /// Every recipient in cursor order, read as one stream.
    All,
    Count,
    CountOutsideScope,
}

/// `target`: the units an audience addresses; `scope`: the units it may never leave.
/// A deactivated unit silences itself and its whole subtree in the target, never in the scope:
/// deactivation may shrink an audience, but never the boundary it is checked against.
fn unit_sets(sql: &mut Sql, audience: &Audience, select: Select) {
    let mut ctes = Vec::new();
    if audience.kind != AudienceKind::Topic {
        let unit = sql.param(audience.unit_id);
        let subunits = sql.param(audience.include_subunits);
        // A unit is addressable only while it and every unit above it are active.
        ctes.push(format!(
            "above(id, parent_id, active) AS (SELECT id, parent_id, active FROM units WHERE id = {unit} \
             UNION SELECT u.id, u.parent_id, u.active FROM units u JOIN above a ON u.id = a.parent_id), \
             target(id) AS (SELECT id FROM units WHERE id = {unit} \
               AND NOT EXISTS (SELECT 1 FROM above WHERE NOT above.active) \
             UNION SELECT u.id FROM units u JOIN target t ON u.parent_id = t.id WHERE u.active AND {subunits})"
        ));
    }
    if select == Select::CountOutsideScope {
        let scope = sql.param(audience.scope_unit_id);
        ctes.push(format!(
            "scope(id) AS (SELECT id FROM units WHERE id = {scope} \
             UNION SELECT u.id FROM units u JOIN scope s ON u.parent_id = s.id)"
        ));
    }
    if !ctes.is_empty() {
        sql.text.push_str("WITH RECURSIVE ");
        sql.text.push_str(&ctes.join(", "));
        sql.text.push(' ');
    }
}

/// The member's primary verified, deliverable email and phone, and their channel choice.
fn contact_columns(sql: &mut Sql, audience: &Audience) -> [String; 3] {
    let contact = |kind: &str| {
        format!(
            "(SELECT c.value FROM contact_points c WHERE c.member_id = m.id AND c.kind = '{kind}' \
             AND c.verified AND NOT c.undeliverable ORDER BY c.is_primary DESC, c.id LIMIT 1)"
        )
    };
    let category = sql.param(audience.category.as_str());
    [
        contact("email"),
        contact("phone"),
        format!(
            "(SELECT p.channel FROM channel_preferences p WHERE p.member_id = m.id AND p.category = {category})"
        ),
    ]
}

/// A member is in scope when they belong to, or hold a role in, a unit of the scope.
///
/// The unary `+` in `+x.unit_id IN (…)` (here and in the target tests) keeps SQLite from
/// driving the correlated test by the unit list, which probed every unit of a 10,000-unit
/// subtree once per member; with it, SQLite probes the member's few rows against an
/// ephemeral index of the units. PostgreSQL reads `+` as the identity.
const MEMBER_IN_SCOPE: &str = "(EXISTS (SELECT 1 FROM memberships sm WHERE sm.member_id = m.id \
       AND +sm.unit_id IN (SELECT id FROM scope)) \
     OR EXISTS (SELECT 1 FROM roles sr WHERE sr.member_id = m.id AND +sr.unit_id IN (SELECT id FROM scope)))";

/// Members who left a structural or functional audience by its unsubscribe link (an
/// `unsubscribed` subscription row), applied in every select so that the count the policy
/// engine and the widening check see is the number expansion queues.
///
/// Statutory audiences ignore such rows: the statutes require that every member receives
/// them, so a stray row must never silence one (the store also refuses to write one).
/// `NOT EXISTS` rather than `NOT IN`: rows of external addresses have a NULL `member_id`, and
/// one NULL in a `NOT IN` list would exclude every member. The test is one probe of the
/// `(audience_id, member_id)` unique index per candidate member.
fn opted_out(sql: &mut Sql, audience: &Audience) -> String {
    if audience.category == Category::Statutory {
        return String::new();
    }
    let id = sql.param(audience.id);
    format!(
        " AND NOT EXISTS (SELECT 1 FROM subscriptions x WHERE x.audience_id = {id} \
         AND x.member_id = m.id AND x.state = 'unsubscribed')"
    )
}

pub(super) fn build_query(audience: &Audience, select: Select, backend: Backend) -> Sql {
    let mut sql = Sql::default();
    unit_sets(&mut sql, audience, select);
    let (from, cursor_column, columns) = match audience.kind {
        AudienceKind::Structural | AudienceKind::Functional => {
            let reach = match audience.kind {
                AudienceKind::Functional => {
                    // The schema refuses a functional audience without a role function; an
                    // empty text would match no role, so even then it could not widen.
                    let function = sql.param(
                        audience
                            .role_function
                            .map(|f| f.as_str())
                            .unwrap_or(""),
                    );
                    format!(
                        "EXISTS (SELECT 1 FROM roles r WHERE r.member_id = m.id AND r.function = {function} \
                         AND +r.unit_id IN (SELECT id FROM target))"
                    )
                }
                // Streaming walks members in id order and tests each (linear over the whole
                // resolution); counting starts from the target's memberships instead, so a
                // branch of 200 is counted without visiting 400,000 members.
                _ if matches!(select, Select::Batch { .. } | Select::All) => {
                    match backend {
                        Backend::Sqlite => "EXISTS (SELECT 1 FROM memberships ms WHERE ms.member_id = m.id \
                              AND +ms.unit_id IN (SELECT id FROM target))",
                        // PostgreSQL turns both tests into joins: the EXISTS into a merge join
                        // that read and sorted every membership for each batch of 1,000
                        // (150 ms per expansion batch, 100,000 members), and the IN, once the
                        // EXISTS is a per-member test, into a join that rebuilt the target's
                        // hash for every member (490 ms). An OFFSET keeps the EXISTS a
                        // per-member test, and `OR false` keeps the IN a hashed test of the
                        // target, built once per statement: 19 ms per batch.
                        Backend::Postgres => "EXISTS (SELECT 1 FROM memberships ms WHERE ms.member_id = m.id \
                              AND (ms.unit_id IN (SELECT id FROM target) OR false) LIMIT 1 OFFSET 0)",
                    }
                    .to_string()
                }
                _ => "m.id IN (SELECT ms.member_id FROM memberships ms WHERE ms.unit_id IN (SELECT id FROM target))"
                    .to_string(),
            };
            let outside = match select {
                Select::CountOutsideScope => format!(" AND NOT {MEMBER_IN_SCOPE}"),
                _ => String::new(),
            };
            let opted_out = opted_out(&mut sql, audience);
            // Nearly every member is active, so on SQLite the `members_status` index selects
            // nothing and costs a table look-up per member when streaming (0.6 s of 2.6 s for
            // 400,000 members under ops/bench/directory.sh); `+` makes it scan the table in id
            // order instead. PostgreSQL has no unary plus for text and plans this itself.
            let status = match (backend, select) {
                (Backend::Sqlite, Select::Batch { .. } | Select::All) => "+m.status",
                _ => "m.status",
            };
            let from =
                format!("FROM members m WHERE {status} = 'active' AND {reach}{opted_out}{outside}");
            let columns = match select {
                Select::Batch { .. } | Select::All => {
                    let [email, phone, pref] = contact_columns(&mut sql, audience);
                    format!(
                        "m.id AS cursor, m.id AS member_id, m.first_name || ' ' || m.last_name AS name, \
                         {email} AS email, {phone} AS phone, {pref} AS preference"
                    )
                }
                _ => String::new(),
            };
            (from, "m.id", columns)
        }
        AudienceKind::Topic => {
            let id = sql.param(audience.id);
            let outside = match select {
                Select::CountOutsideScope => {
                    let public = sql.param(audience.open_to_public);
                    format!(" AND CASE WHEN s.member_id IS NULL THEN NOT {public} ELSE NOT {MEMBER_IN_SCOPE} END")
                }
                _ => String::new(),
            };
            let from = format!(
                "FROM subscriptions s LEFT JOIN members m ON m.id = s.member_id \
                 WHERE s.audience_id = {id} AND s.state = 'confirmed' \
                 AND (s.member_id IS NULL OR m.status = 'active'){outside}"
            );
            let columns = match select {
                Select::Batch { .. } | Select::All => {
                    let [email, phone, pref] = contact_columns(&mut sql, audience);
                    format!(
                        "s.id AS cursor, s.member_id AS member_id, \
                         COALESCE(m.first_name || ' ' || m.last_name, '') AS name, \
                         COALESCE({email}, s.email) AS email, {phone} AS phone, {pref} AS preference"
                    )
                }
                _ => String::new(),
            };
            (from, "s.id", columns)
        }
    };
    match select {
        Select::Batch { after, limit } => {
            let after = sql.param(after);
            let limit = sql.param(limit as i64);
            sql.text.push_str(&format!(
                "SELECT {columns} {from} AND {cursor_column} > {after} ORDER BY {cursor_column} LIMIT {limit}"
            ));
        }
        Select::All => {
            sql.text
                .push_str(&format!("SELECT {columns} {from} ORDER BY {cursor_column}"));
        }
        Select::Count | Select::CountOutsideScope => {
            sql.text.push_str(&format!("SELECT COUNT(*) {from}"));
        }
    }
    sql
}

fn query<'q>(
    sql: &'q str,
    binds: &'q [Value],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Value::Int(v) => q.bind(*v),
            Value::Text(v) => q.bind(v.as_deref()),
            Value::Bool(v) => q.bind(*v),
            Value::Blob(v) => q.bind(v.as_slice()),
        };
    }
    q
}

pub(super) fn recipient_from_row(row: &sqlx::any::AnyRow) -> Result<Recipient, sqlx::Error> {
    let preference: Option<String> = row.try_get("preference")?;
    Ok(Recipient {
        cursor: row.try_get("cursor")?,
        member_id: row.try_get("member_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        preference: preference
            .map(|p| p.parse().map_err(|e| sqlx::Error::Decode(Box::new(e))))
            .transpose()?,
    })
}

/// Where a resolution's batches go: at most two wait for the caller.
pub(super) type BatchSender = tokio::sync::mpsc::Sender<Result<Vec<Recipient>, StoreError>>;

/// Streams the query's recipients through the pool into `tx`, in batches of [`RESOLVE_BATCH`].
async fn stream_pooled(store: &Store, sql: &Sql, tx: &BatchSender) {
    let mut rows = query(&sql.text, &sql.binds).fetch(&store.pool);
    let mut batch = Vec::with_capacity(RESOLVE_BATCH);
    loop {
        let item = match rows.try_next().await {
            Ok(Some(row)) => match recipient_from_row(&row) {
                Ok(recipient) => {
                    batch.push(recipient);
                    if batch.len() < RESOLVE_BATCH {
                        continue;
                    }
                    Ok(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(RESOLVE_BATCH),
                    ))
                }
                Err(e) => Err(StoreError::from(e)),
            },
            Ok(None) if batch.is_empty() => return,
            Ok(None) => Ok(std::mem::take(&mut batch)),
            Err(e) => Err(StoreError::from(e)),
        };
        let last = !matches!(item, Ok(ref b) if b.len() == RESOLVE_BATCH);
        // A closed channel means the caller dropped the stream: stop reading.
        if tx.send(item).await.is_err() || last {
            return;
        }
    }
}

impl Store {
    /// Up to `limit` recipients after `after` (a [`Recipient::cursor`]; 0 to start).
    pub async fn resolve_batch(
        &self,
        audience: &Audience,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Recipient>, StoreError> {
        let sql = build_query(audience, Select::Batch { after, limit }, self.backend);
        if let Some(reads) = &self.direct_sqlite_reads {
            match super::resolve_direct::batch(reads, sql.statement(), limit).await {
                Ok(batch) => return Ok(batch),
                // The pool reads the same state; it only takes longer.
                Err(e) => tracing::warn!(event = "store.direct_sqlite_read_failed", error = %e),
            }
        }
        let rows = query(&sql.text, &sql.binds).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(recipient_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Every recipient of an audience, in batches of at most [`RESOLVE_BATCH`]. One query reads
    /// the audience as a stream (the target subtree is computed once); a task turns rows into
    /// batches while the caller works on the previous one, and at most two batches wait, so
    /// memory stays bounded whatever the audience's size. Dropping the stream stops the query.
    pub fn resolve(
        &self,
        audience: &Audience,
    ) -> impl Stream<Item = Result<Vec<Recipient>, StoreError>> + 'static {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let (store, audience) = (self.clone(), audience.clone());
        tokio::spawn(async move {
            let sql = build_query(&audience, Select::All, store.backend);
            if let Some(reads) = &store.direct_sqlite_reads {
                match super::resolve_direct::stream(reads, sql.statement(), &tx).await {
                    Ok(()) => return,
                    Err(failure) if failure.sent_any => {
                        let _ = tx.send(Err(failure.error)).await;
                        return;
                    }
                    // Nothing reached the caller yet: the pool reads the same state.
                    Err(failure) => tracing::warn!(
                        event = "store.direct_sqlite_read_failed",
                        error = %failure.error
                    ),
                }
            }
            stream_pooled(&store, &sql, &tx).await;
        });
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }

    /// How many recipients the audience resolves to now.
    pub async fn count(&self, audience: &Audience) -> Result<u64, StoreError> {
        let sql = build_query(audience, Select::Count, self.backend);
        let n: i64 = query(&sql.text, &sql.binds)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    /// How many of those recipients lie outside the audience's declared scope: anything but
    /// zero means the definition is broken and a send must be refused.
    pub async fn count_outside_scope(&self, audience: &Audience) -> Result<u64, StoreError> {
        let sql = build_query(audience, Select::CountOutsideScope, self.backend);
        let n: i64 = query(&sql.text, &sql.binds)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDatabase;
    use crate::{NewAudience, NewMember, NewUnit, Store};
    use verteiler_policies::{AudienceSlug, Category, EmailAddress, UnitKind};

    /// A branch of two and a list of `category` for it, on which Anna has an `unsubscribed`
    /// row, written directly: the store's own operation refuses to write one for statutory
    /// audiences, but resolution must not depend on that.
    async fn list_with_opt_out(store: &Store, category: Category) -> crate::Audience {
        let unit = store
            .create_unit(&NewUnit {
                code: "B".into(),
                name: "Branch".into(),
                kind: UnitKind::Branch,
                parent_code: None,
            })
            .await
            .unwrap();
        let mut ids = Vec::new();
        for name in ["Anna", "Ben"] {
            ids.push(
                store
                    .create_member(&NewMember {
                        external_id: None,
                        first_name: name.into(),
                        last_name: "Test".into(),
                        unit_id: unit,
                        email: Some(EmailAddress::parse(&format!("{name}@example.org")).unwrap()),
                    })
                    .await
                    .unwrap(),
            );
        }
        let anna = ids[0];
        let slug = AudienceSlug::parse("branch").unwrap();
        let mut new = NewAudience::structural(slug.clone(), "Branch", unit, false);
        new.category = category;
        let id = store.create_audience(&new).await.unwrap();
        sqlx::query(
            "INSERT INTO subscriptions (audience_id, member_id, state, token, created_at, updated_at) \
             VALUES ($1, $2, 'unsubscribed', 'opt-out', 0, 0)",
        )
        .bind(id)
        .bind(anna)
        .execute(&store.pool)
        .await
        .unwrap();
        store.audience_by_slug(&slug).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn an_opt_out_counts_for_announcements_but_never_for_statutory_mail() {
        for (category, reached) in [(Category::Announcement, 1), (Category::Statutory, 2)] {
            let db = TestDatabase::new().await;
            let list = list_with_opt_out(&db.store, category).await;
            assert_eq!(db.store.count(&list).await.unwrap(), reached, "{category}");
            assert_eq!(
                db.store.resolve_batch(&list, 0, 10).await.unwrap().len() as u64,
                reached,
                "{category}"
            );
        }
    }
}
