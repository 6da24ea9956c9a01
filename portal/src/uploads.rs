//! Forms with files (`multipart/form-data`): the member export on `/admin/import` and the
//! attachments of `/compose`. The CSRF token must be the first part, so nothing of a forged
//! form is read, let alone written to disk; files are streamed into the upload directory,
//! each capped, and what waits there for a second request is removed after a day.

use crate::session::{same_secret, Member};
use axum::extract::multipart::{Field, Multipart};
use axum::http::StatusCode;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// An upload nobody came back for within a day is removed with the next upload.
const UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(86_400);

/// One file of a form, on disk.
#[derive(Debug, Clone)]
pub struct ReceivedFile {
    /// The name the browser gave (the user's file name, without its folders).
    pub file_name: String,
    pub content_type: String,
    pub path: PathBuf,
    pub size: u64,
}

/// The text fields and files of a form.
#[derive(Debug, Default)]
pub struct ReceivedForm {
    pub fields: HashMap<String, String>,
    pub files: Vec<ReceivedFile>,
}

impl ReceivedForm {
    pub fn field(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }
}

/// Why a form with files was not taken.
#[derive(Debug)]
pub enum UploadError {
    Csrf,
    TooLarge,
    Unreadable,
    Io(std::io::Error),
}

/// Text fields are form fields, not documents.
const MAX_FIELD_BYTES: usize = 1024 * 1024;

/// Reads a member's form: the CSRF token first, then every part. A file part (one with a file
/// name and content) is written to `place(index, file name)`; all files together may have at
/// most `max_bytes`. On any error the files written so far are removed.
pub async fn receive(
    member: &Member,
    mut multipart: Multipart,
    max_bytes: u64,
    place: impl Fn(usize, &str) -> PathBuf,
) -> Result<ReceivedForm, UploadError> {
    let mut form = ReceivedForm::default();
    let result = async {
        let mut checked = false;
        let mut total = 0_u64;
        while let Some(field) = multipart.next_field().await.map_err(read_error)? {
            let name = field.name().unwrap_or_default().to_string();
            if !checked {
                let token = if name == "csrf" {
                    field.text().await.map_err(read_error)?
                } else {
                    String::new()
                };
                if !same_secret(&token, &member.session.csrf_token) {
                    return Err(UploadError::Csrf);
                }
                checked = true;
                continue;
            }
            match field.file_name().map(base_name) {
                // A file input left empty still sends a part, without a name.
                Some(file_name) if !file_name.is_empty() => {
                    let content_type = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_string();
                    let path = place(form.files.len(), &file_name);
                    let written = write_file(field, &path, max_bytes - total.min(max_bytes));
                    let size = match written.await {
                        Ok(size) => size,
                        Err(e) => {
                            let _ = tokio::fs::remove_file(&path).await;
                            return Err(e);
                        }
                    };
                    total += size;
                    form.files.push(ReceivedFile {
                        file_name,
                        content_type,
                        path,
                        size,
                    });
                }
                Some(_) => {}
                None => {
                    let bytes = field.bytes().await.map_err(read_error)?;
                    if bytes.len() > MAX_FIELD_BYTES {
                        return Err(UploadError::TooLarge);
                    }
                    let text =
                        String::from_utf8(bytes.to_vec()).map_err(|_| UploadError::Unreadable)?;
                    form.fields.insert(name, text);
                }
            }
        }
        if checked {
            Ok(())
        } else {
            Err(UploadError::Csrf)
        }
    }
    .await;
    match result {
        Ok(()) => Ok(form),
        Err(e) => {
            for file in &form.files {
                let _ = tokio::fs::remove_file(&file.path).await;
            }
            Err(e)
        }
    }
}

fn read_error(e: axum::extract::multipart::MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge
    } else {
        UploadError::Unreadable
    }
}

/// `C:\Users\x\Bericht.pdf` and `../Bericht.pdf` are `Bericht.pdf`: a file name, never a path.
fn base_name(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or("");
    name.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string()
}

/// Writes a file part to `path`, durable before it is used; returns its size.
async fn write_file(mut field: Field<'_>, path: &Path, max_bytes: u64) -> Result<u64, UploadError> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(UploadError::Io)?;
    }
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(UploadError::Io)?;
    let mut size = 0_u64;
    while let Some(chunk) = field.chunk().await.map_err(read_error)? {
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(UploadError::TooLarge);
        }
        file.write_all(&chunk).await.map_err(UploadError::Io)?;
    }
    file.sync_all().await.map_err(UploadError::Io)?;
    Ok(size)
}

/// A random token naming an upload that waits for a second request.
pub fn new_token() -> String {
    verteiler_store::new_secret()
}

/// Whether `token` is one of ours (and so safe in a file name).
pub fn is_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes what waited in `dir` for longer than a day (files and draft folders).
pub async fn remove_stale(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > UPLOAD_TTL);
        if stale {
            let _ = if meta.is_dir() {
                tokio::fs::remove_dir_all(entry.path()).await
            } else {
                tokio::fs::remove_file(entry.path()).await
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_never_a_path() {
        assert_eq!(base_name("C:\\Users\\x\\Bericht.pdf"), "Bericht.pdf");
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name("..."), "");
        assert_eq!(base_name(".htaccess"), "htaccess");
        assert_eq!(base_name("Ein\nBericht.pdf"), "EinBericht.pdf");
    }

    #[test]
    fn only_our_tokens_name_files() {
        assert!(is_token(&new_token()));
        assert!(!is_token("../x"));
        assert!(!is_token(&"g".repeat(64)));
    }
}
