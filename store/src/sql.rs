//! Small helpers for SQL text shared by both backends.

/// `($1,$2,$3),($4,$5,$6)` for a multi-row `VALUES` list. sqlx's `QueryBuilder` writes `?`
/// placeholders under the `Any` driver, which PostgreSQL does not accept; `$n` works in both.
pub(crate) fn values_list(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push(',');
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push(',');
            }
            out.push('$');
            out.push_str(&(r * columns + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// `$from,$from+1,…` for an `IN (…)` list of `n` parameters.
pub(crate) fn in_list(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
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
    #[test]
    fn placeholders_are_numbered_row_by_row() {
        assert_eq!(super::values_list(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(super::in_list(3, 2), "$3,$4");
    }
}
