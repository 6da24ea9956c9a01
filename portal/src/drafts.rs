//! Drafts of `/compose` with attachments, as they wait on disk between checking and sending:
//! a folder per draft in the upload directory, named by the member and a random token the
//! form carries, with a manifest naming its files. Browsers cannot refill a file input, so
//! this is the only way a checked draft keeps its files.
//!
//! Each member may have `limits.drafts_per_member` of them waiting at once: without a cap,
//! every check of a form with files would leave up to the largest message size on disk for a
//! day, as often as somebody cares to post. Above the cap the new files are not kept and the
//! page says so; the member may discard all their waiting attachments at once.

use crate::page::{internal_error, respond, Frame};
use crate::session::{Member, MemberForm};
use crate::uploads;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use std::path::{Path, PathBuf};

/// One attachment of a draft, as it waits on disk.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Attachment {
    pub file_name: String,
    pub content_type: String,
    /// The file's name inside the draft's folder.
    pub stored_as: String,
    pub size: u64,
}

/// The attachments of a draft: a folder per draft, with a manifest naming its files.
pub(crate) struct Attachments {
    pub dir: PathBuf,
    pub token: String,
    pub list: Vec<Attachment>,
}

const MANIFEST: &str = "manifest.json";

pub(crate) fn drafts_dir(state: &AppState) -> PathBuf {
    state.settings.upload_dir.join("drafts")
}

pub(crate) fn draft_dir(state: &AppState, member: &Member, token: &str) -> Option<PathBuf> {
    uploads::is_token(token).then(|| drafts_dir(state).join(format!("{}-{token}", member.id())))
}

impl Attachments {
    pub(crate) fn none() -> Attachments {
        Attachments {
            dir: PathBuf::new(),
            token: String::new(),
            list: Vec::new(),
        }
    }

    /// The attachments waiting under `token` for this member (none for a foreign token).
    pub(crate) async fn load(state: &AppState, member: &Member, token: &str) -> Attachments {
        let Some(dir) = draft_dir(state, member, token) else {
            return Attachments::none();
        };
        let list = match tokio::fs::read(dir.join(MANIFEST)).await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => return Attachments::none(),
        };
        Attachments {
            dir,
            token: token.to_string(),
            list,
        }
    }

    pub(crate) async fn save(&self) -> std::io::Result<()> {
        let manifest = serde_json::to_vec(&self.list).map_err(std::io::Error::other)?;
        tokio::fs::write(self.dir.join(MANIFEST), manifest).await
    }

    pub(crate) async fn remove(&self) {
        if !self.token.is_empty() {
            let _ = tokio::fs::remove_dir_all(&self.dir).await;
        }
    }

    pub(crate) fn total_bytes(&self) -> u64 {
        self.list.iter().map(|a| a.size).sum()
    }

    pub(crate) async fn read(&self, attachment: &Attachment) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.dir.join(&attachment.stored_as)).await
    }
}

/// The drafts of one member waiting in the drafts folder (`{member}-{token}`).
async fn waiting(drafts: &Path, member_id: i64) -> usize {
    let prefix = format!("{member_id}-");
    let Ok(mut entries) = tokio::fs::read_dir(drafts).await else {
        return 0;
    };
    let mut n = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            n += 1;
        }
    }
    n
}

/// Whether the member has more drafts waiting than the cap allows (the one just made
/// included): then that one is to be dropped.
pub(crate) async fn over_cap(state: &AppState, member: &Member) -> bool {
    waiting(&drafts_dir(state), member.id()).await > state.settings.drafts_per_member as usize
}

/// Removes every draft of a member, with its files: what "discard all" does, and what an
/// erasure does to the drafts of the person erased. Returns how many there were.
pub async fn discard_drafts(upload_dir: &Path, member_id: i64) -> std::io::Result<usize> {
    let drafts = upload_dir.join("drafts");
    let prefix = format!("{member_id}-");
    let mut entries = match tokio::fs::read_dir(&drafts).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await? {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            tokio::fs::remove_dir_all(entry.path()).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The form that discards all of the member's waiting attachments.
pub(crate) fn discard_form(frame: &Frame<'_>) -> Markup {
    html! {
        form method="post" action="/compose/discard" {
            (frame.csrf_field())
            button type="submit" { (frame.t("compose_discard_all")) }
        }
    }
}

crate::csrf_form! {
    DiscardForm {}
}

/// `POST /compose/discard`: all of the member's waiting attachments go.
pub async fn discard(
    State(state): State<AppState>,
    MemberForm { member, form: _ }: MemberForm<DiscardForm>,
) -> Response {
    if let Err(e) = discard_drafts(&state.settings.upload_dir, member.id()).await {
        return internal_error(member.lang, &e);
    }
    let frame = member.frame();
    let body = html! {
        p role="status" { (frame.t("compose_discarded")) }
        p { a href="/compose" { (frame.t("compose_title")) } }
    };
    respond(
        StatusCode::OK,
        crate::page::layout(&frame, frame.t("compose_title"), body),
    )
}
