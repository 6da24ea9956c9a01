//! Every list at a glance, for the admin pages: definition, state and origin in one query, so
//! the overview of ~20,000 lists is one round trip rather than one per list.

use crate::audiences::definitions::audience_from_row;
use crate::{Audience, Store, StoreError};
use sqlx::Row;

/// One list with the code of its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOverview {
    pub list: Audience,
    pub unit_code: String,
}

impl Store {
    /// Every list with its unit's code, by address.
    pub async fn lists_overview(&self) -> Result<Vec<ListOverview>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.*, u.code AS unit_code FROM audiences a JOIN units u ON u.id = a.unit_id \
             ORDER BY a.slug",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ListOverview {
                    list: audience_from_row(r)?,
                    unit_code: r.try_get("unit_code")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
