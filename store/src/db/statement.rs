//! Statements as data: SQL text with its values, built once and run either through sqlx (both
//! backends) or on the direct SQLite connection of the submission writer. Writing the group
//! commit's statements this way keeps one definition of what a submission stores.

use crate::StoreError;

/// A value bound to a statement parameter.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Vec<u8>),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(Some(v.clone()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        Value::Text(v.clone())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// One statement and the values of its parameters, in order.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: String,
    pub values: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            values: Vec::new(),
        }
    }

    pub fn bind(mut self, value: impl Into<Value>) -> Statement {
        self.values.push(value.into());
        self
    }

    /// Adds a value in place (for statements built in a loop).
    pub fn push(&mut self, value: impl Into<Value>) {
        self.values.push(value.into());
    }

    /// Runs the statement inside `tx` through sqlx.
    pub async fn execute(
        self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<(), StoreError> {
        let mut query = sqlx::query(&self.sql);
        for value in self.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Blob(v) => query.bind(v),
                Value::Bool(v) => query.bind(v),
            };
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }

    /// Runs the statement on a direct SQLite connection (inside its open transaction).
    ///
    /// SQLite numbers `$N` parameters by first appearance, not by N; sqlx binds them by N. So
    /// does this: `SET last_error = $2, updated_at = $1` takes the values as sqlx would.
    pub fn execute_direct(&self, conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
        let mut statement = conn.prepare_cached(&self.sql)?;
        self.bind_direct(&mut statement)?;
        statement.raw_execute()?;
        Ok(())
    }

    /// Runs a query on a direct SQLite connection and hands its rows to `each` in order, until
    /// `each` returns `false` or the rows end.
    pub fn query_direct(
        &self,
        conn: &rusqlite::Connection,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<bool, rusqlite::Error>,
    ) -> Result<(), rusqlite::Error> {
        let mut statement = conn.prepare_cached(&self.sql)?;
        self.bind_direct(&mut statement)?;
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            if !each(row)? {
                break;
            }
        }
        Ok(())
    }

    /// Binds the values by the number in each `$N`, as sqlx does (see [`Self::execute_direct`]).
    fn bind_direct(&self, statement: &mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<()> {
        for index in 1..=statement.parameter_count() {
            let position = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix(['$', '?']))
                .and_then(|number| number.parse::<usize>().ok())
                .unwrap_or(index);
            let value = self.values.get(position - 1).ok_or_else(|| {
                rusqlite::Error::InvalidParameterName(format!("parameter {position} has no value"))
            })?;
            statement.raw_bind_parameter(index, value)?;
        }
        Ok(())
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Int(Some(v)) => ToSqlOutput::from(*v),
            Value::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            // sqlx stores a boolean as the integer 0 or 1 in SQLite; so does this.
            Value::Bool(v) => ToSqlOutput::from(i64::from(*v)),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_bind_by_their_number_on_a_direct_connection() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER)")
            .unwrap();
        Statement::new("INSERT INTO t (b, a, c) VALUES ($2, $1, $1)")
            .bind(7)
            .bind("seven")
            .execute_direct(&conn)
            .unwrap();
        Statement::new("INSERT INTO t (a, b, c) VALUES (?, ?, ?)")
            .bind(1)
            .bind("one")
            .bind(Some(2))
            .execute_direct(&conn)
            .unwrap();
        let rows: Vec<(i64, String, i64)> = conn
            .prepare("SELECT a, b, c FROM t ORDER BY a")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [(1, "one".into(), 2), (7, "seven".into(), 7)]);
    }
}
