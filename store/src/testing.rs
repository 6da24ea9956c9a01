//! A fresh database per test: a SQLite file in a temporary directory, or, when
//! `VERTEILER_TEST_POSTGRES_URL` is set, a newly created PostgreSQL database that is dropped
//! when the test ends. Every store test runs through this, so one variable switches the whole
//! suite to PostgreSQL.

use crate::{Store, StoreError};
use sqlx::{Connection, Executor};

pub const POSTGRES_URL_VAR: &str = "VERTEILER_TEST_POSTGRES_URL";

/// Owns the test database; dropping it removes the database.
pub struct TestDatabase {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        Self::try_new().await.expect("creating the test database")
    }

    pub async fn try_new() -> Result<TestDatabase, StoreError> {
        sqlx::any::install_default_drivers();
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(admin_url) if !admin_url.is_empty() => Self::on_postgres(&admin_url).await,
            _ => {
                let dir = tempfile::tempdir().map_err(|e| StoreError::CreateDir {
                    path: "temporary directory".into(),
                    source: e,
                })?;
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let store = Store::open(&url, 4).await?;
                Ok(TestDatabase {
                    store,
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                })
            }
        }
    }
}

impl TestDatabase {
    /// A new database on the PostgreSQL server `admin_url` names (whatever
    /// [`POSTGRES_URL_VAR`] says): for tests only PostgreSQL can carry, such as several
    /// server processes on one database.
    pub async fn on_postgres(admin_url: &str) -> Result<TestDatabase, StoreError> {
        sqlx::any::install_default_drivers();
        let name = format!("verteiler_test_{}", uuid_like());
        let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await?;
        let url = replace_database(admin_url, &name);
        let store = Store::open(&url, 4).await?;
        Ok(TestDatabase {
            store,
            url,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_string(),
                name,
            },
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop cannot await, and the pool belongs to the test's runtime, which this thread
            // blocks: a thread with a runtime of its own drops the database, and FORCE ends the
            // pool's connections from the server side.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async move {
                    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                    admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await
                        .ok()?;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// Stand-in for a four-eyes approval (a later issue): releases a held send now, as an
/// approver's release would, so tests can fan out to audiences that always need approval.
pub async fn release_held_send(store: &Store, send_id: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE sends SET state = 'scheduled', decision = 'release', release_at = $1 \
         WHERE id = $2 AND state = 'held'",
    )
    .bind(crate::now_ms())
    .bind(send_id)
    .execute(&store.pool)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::from(sqlx::Error::RowNotFound));
    }
    Ok(())
}

/// Moves every recorded verification send `ms` into the past, as if that much time had gone
/// by (the limits on verification texts and mails count from `sent_at`).
pub async fn age_verification_sends(store: &Store, ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE verification_sends SET sent_at = sent_at - $1")
        .bind(ms)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Every recorded verification send: (member, destination hash, channel), oldest first.
pub async fn verification_sends(store: &Store) -> Result<Vec<(i64, String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT member_id, destination_hash, channel FROM verification_sends ORDER BY sent_at, id",
    )
    .fetch_all(&store.pool)
    .await?)
}

fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

/// The same server URL with another database name.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Lets every sign-in link, confirmation link and phone code run out, as if their time had
/// passed: tests of expiry must not sleep for minutes.
pub async fn expire_portal_secrets(store: &Store) -> Result<(), StoreError> {
    sqlx::query("UPDATE sign_in_links SET expires_at = 0")
        .execute(&store.pool)
        .await?;
    sqlx::query("UPDATE verifications SET expires_at = 0")
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Moves an audience's last change of definition `ms` into the past, as if that much time had
/// passed since: a test of a submission made after the change must not sleep past the facts
/// cache's lifetime, within which a change still counts as after the submission.
pub async fn age_definition_change(
    store: &Store,
    audience_id: i64,
    ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE audiences SET definition_changed_at = definition_changed_at - $1 WHERE id = $2",
    )
    .bind(ms)
    .bind(audience_id)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Moves a submission and its sends `ms` into the past, as if that much time had passed since
/// they were made and ended: a test of the retention period must not wait for days.
pub async fn age_submission(store: &Store, submission_id: i64, ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE submissions SET created_at = created_at - $1 WHERE id = $2")
        .bind(ms)
        .bind(submission_id)
        .execute(&store.pool)
        .await?;
    sqlx::query(
        "UPDATE sends SET created_at = created_at - $1, updated_at = updated_at - $1, \
         completed_at = completed_at - $1 WHERE submission_id = $2",
    )
    .bind(ms)
    .bind(submission_id)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Queues one list text of `body` to each of `numbers` (E.164), as fan-out would, in batches:
/// the SMPP benchmark's load.
pub async fn queue_texts(store: &Store, numbers: &[String], body: &str) -> Result<(), StoreError> {
    let now = crate::now_ms();
    for chunk in numbers.chunks(1_000) {
        let mut tx = store.pool.begin().await?;
        for number in chunk {
            sqlx::query(
                "INSERT INTO sms_outbox (to_number, kind, body, created_at) VALUES ($1, 'list', $2, $3)",
            )
            .bind(number)
            .bind(body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Texts of the SMS outbox handed to the provider, and those with a delivery receipt.
pub async fn texts_sent_and_receipted(store: &Store) -> Result<(u64, u64), StoreError> {
    let (sent, receipted): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(sent_at) AS BIGINT), CAST(COUNT(receipt) AS BIGINT) FROM sms_outbox",
    )
    .fetch_one(&store.pool)
    .await?;
    Ok((sent.max(0) as u64, receipted.max(0) as u64))
}

/// Lets an API token run out, as if its expiry had passed: a test of expiry must not sleep.
pub async fn expire_api_token(store: &Store, token_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = $1")
        .bind(token_id)
        .execute(&store.pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            super::replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            super::replace_database("postgres://h", "t1"),
            "postgres://h/t1"
        );
    }
}
