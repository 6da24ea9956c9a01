//! Small helpers for SQL text shared by both backends.

use crate::Backend;

/// Placeholders for statements with many parameters (multi-row `VALUES`, long `IN` lists).
///
/// PostgreSQL needs `$n`. SQLite takes `$n` too, but sqlx looks each one up by name, and that
/// look-up is a linear scan in SQLite: a 7,000-parameter insert then costs quadratic time. So
/// on SQLite these are anonymous `?`, numbered by position. Every parameter of a statement
/// built with this must come from the same `Placeholders`, in bind order.
pub(crate) struct Placeholders {
    backend: Backend,
    next: usize,
}

impl Placeholders {
    pub fn new(backend: Backend) -> Self {
        Placeholders { backend, next: 1 }
    }

    /// The next single placeholder.
    pub fn one(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        match self.backend {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// `(…),(…)` for a multi-row `VALUES` list.
    pub fn values(&mut self, rows: usize, columns: usize) -> String {
        let mut out = String::with_capacity(rows * (columns * 6 + 3));
        for r in 0..rows {
            if r > 0 {
                out.push(',');
            }
            out.push('(');
            out.push_str(&self.list(columns));
            out.push(')');
        }
        out
    }

    /// `…,…` for an `IN (…)` list of `n` parameters.
    pub fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.one()).collect::<Vec<_>>().join(",")
    }
}

/// Reads a boolean column: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite (the Any driver
/// decodes neither as the other).
pub(crate) fn get_bool(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    match row.try_get::<bool, _>(column) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholders;
    use crate::Backend;

    #[test]
    fn postgres_placeholders_are_numbered_in_bind_order() {
        let mut p = Placeholders::new(Backend::Postgres);
        assert_eq!(p.one(), "$1");
        assert_eq!(p.values(2, 2), "($2,$3),($4,$5)");
        assert_eq!(p.list(2), "$6,$7");
    }

    #[test]
    fn sqlite_placeholders_are_positional() {
        let mut p = Placeholders::new(Backend::Sqlite);
        assert_eq!(p.values(2, 2), "(?,?),(?,?)");
        assert_eq!(p.list(1), "?");
    }
}
