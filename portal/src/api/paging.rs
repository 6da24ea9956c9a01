//! Cursor pagination for every list of the API: `?limit=` (1–200, default 50) and `?cursor=`
//! from the previous page's `next_cursor`. The cursor is opaque to clients; here it is the
//! last item's id (lists run newest first, so the next page holds ids below it).

use super::problem::Problem;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the page before; absent for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
    }

    /// The id the page starts below, if a cursor was given; a cursor we did not give out is
    /// a 400.
    pub fn before_id(&self, lang: crate::i18n::Lang) -> Result<Option<i64>, Problem> {
        match self.cursor.as_deref() {
            None | Some("") => Ok(None),
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(Some)
                .ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, "bad_cursor", lang)),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// A page of at most `limit` items from `items` (fetched with one more than `limit`, so a
    /// next page is known to exist); `id` gives an item's id for the cursor.
    pub fn of(mut items: Vec<T>, limit: usize, id: impl Fn(&T) -> i64) -> Page<T> {
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = more
            .then(|| items.last().map(|last| id(last).to_string()))
            .flatten();
        Page { items, next_cursor }
    }
}
