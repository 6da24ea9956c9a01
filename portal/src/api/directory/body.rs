//! The body of a directory PUT as the file the importer reads: the export itself (`text/csv`),
//! or `{"rows": [{column: value, …}]}` written as that export, so there is one importer with
//! one set of checks. The file goes under the portal's upload folder and is removed after.

use crate::api::problem::Problem;
use crate::i18n::Lang;
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use utoipa::ToSchema;

/// The rows of an export as JSON: each row maps the export's column names to values.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExportRows {
    /// E.g. `{"external_id": "M100001", "first_name": "Ole", "last_name": "Çelik",
    /// "unit_code": "HH-WA-OLD", "email": "ole@example.org"}`; numbers and booleans are taken
    /// as their text, `null` as empty.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<BTreeMap<String, serde_json::Value>>,
}

/// The body's kind, from its `Content-Type`.
pub enum BodyKind {
    Csv,
    Json,
}

impl BodyKind {
    pub fn of(content_type: Option<&str>, lang: Lang) -> Result<BodyKind, Problem> {
        let essence = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("text/csv") => Ok(BodyKind::Csv),
            Some("application/json") => Ok(BodyKind::Json),
            _ => Err(Problem::with_args(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                lang,
                &[("expected", "text/csv or application/json")],
            )),
        }
    }
}

/// JSON rows written as an export: the file, and the line each row starts on (a value may
/// hold a line break), so that the importer's line numbers lead back to rows.
#[derive(Debug)]
pub struct RowsFile {
    pub csv: Vec<u8>,
    pub starts: Vec<u64>,
}

impl RowsFile {
    /// The index of the JSON row the importer's `line` is in.
    pub fn row_of(&self, line: u64) -> Option<u64> {
        let at = self.starts.partition_point(|start| *start <= line);
        at.checked_sub(1).map(|i| i as u64)
    }
}

/// JSON rows as the `;`-separated export with `columns` as its header line. A column the
/// export does not have is refused (the importer would drop it silently).
pub fn rows_as_csv(body: &[u8], columns: &[&str], lang: Lang) -> Result<RowsFile, Problem> {
    let rows: ExportRows = serde_json::from_slice(body).map_err(|e| {
        Problem::with_args(
            StatusCode::BAD_REQUEST,
            "bad_request",
            lang,
            &[("reason", &e.to_string())],
        )
    })?;
    let mut out = Vec::new();
    let mut starts = Vec::with_capacity(rows.rows.len());
    push_line(&mut out, columns.iter().map(|c| c.to_string()));
    let mut line = 2;
    for (index, row) in rows.rows.iter().enumerate() {
        if let Some(unknown) = row.keys().find(|k| !columns.contains(&k.as_str())) {
            return Err(Problem::with_args(
                StatusCode::UNPROCESSABLE_ENTITY,
                "directory_unknown_column",
                lang,
                &[
                    ("row", &index.to_string()),
                    ("column", unknown),
                    ("columns", &columns.join(", ")),
                ],
            ));
        }
        starts.push(line);
        let before = out.len();
        push_line(
            &mut out,
            columns.iter().map(|c| match row.get(*c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            }),
        );
        line += out[before..].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok(RowsFile { csv: out, starts })
}

/// One line, every field quoted (a value may hold `;`, quotes or line breaks).
fn push_line(out: &mut Vec<u8>, fields: impl Iterator<Item = String>) {
    let quoted: Vec<String> = fields
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    out.extend_from_slice(quoted.join(";").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A staged body: removed when dropped, whatever the import did.
pub struct Staged(pub PathBuf);

impl Staged {
    pub async fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<Staged> {
        tokio::fs::create_dir_all(dir).await?;
        let path = dir.join(format!("api-{}.csv", crate::uploads::new_token()));
        tokio::fs::write(&path, bytes).await?;
        Ok(Staged(path))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_become_the_export_with_every_field_quoted() {
        let body = br#"{"rows": [{"code": "HH", "name": "Hamburg \"Nord\"; Mitte", "kind": "state", "parent_code": null}]}"#;
        let file = rows_as_csv(body, &["code", "name", "kind", "parent_code"], Lang::En).unwrap();
        assert_eq!(
            String::from_utf8(file.csv).unwrap(),
            "\"code\";\"name\";\"kind\";\"parent_code\"\r\n\
             \"HH\";\"Hamburg \"\"Nord\"\"; Mitte\";\"state\";\"\"\r\n"
        );
    }

    #[test]
    fn a_line_of_the_file_leads_back_to_its_row_across_line_breaks_in_values() {
        let body = br#"{"rows": [{"code": "A"}, {"code": "B\nzwei\ndrei"}, {"code": "C"}]}"#;
        let file = rows_as_csv(body, &["code"], Lang::En).unwrap();
        assert_eq!(file.starts, [2, 3, 6]);
        assert_eq!(
            [2, 3, 5, 6].map(|line| file.row_of(line)),
            [Some(0), Some(1), Some(1), Some(2)]
        );
        assert_eq!(file.row_of(1), None);
    }

    #[test]
    fn a_column_the_export_lacks_is_refused() {
        let body = br#"{"rows": [{"code": "HH", "colour": "red"}]}"#;
        let problem = rows_as_csv(body, &["code", "name"], Lang::En).unwrap_err();
        assert_eq!(problem.code, "directory_unknown_column");
    }
}
