//! The postal list of a send: who gets the message on paper. Members who chose post for the
//! list's kind of mail are on it; for statutory mail (invitations to a general meeting) so is
//! everybody the send reaches neither by email nor by SMS, because statutory notice must reach
//! every member. The unit's secretary prints and posts it.

use crate::resolve::Recipient;
use crate::sql::Placeholders;
use crate::{Store, StoreError};
use futures::TryStreamExt;
use sqlx::Row;
use std::collections::HashMap;
use verteiler_policies::Category;

/// One letter to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalRecipient {
    pub member_id: i64,
    pub name: String,
    /// "street, postcode city"; `None` when the member has no postal address either.
    pub address: Option<String>,
}

/// A send's postal list, with what the letter is about.
#[derive(Debug, Clone)]
pub struct PostalList {
    pub send_id: i64,
    pub submission_id: i64,
    pub subject: String,
    pub audience: String,
    pub recipients: Vec<PostalRecipient>,
}

/// Whether a recipient of mail of `category` is one for the postal list.
fn by_post(r: &Recipient, category: Category) -> bool {
    crate::sendable::reach(r, category) == crate::sendable::Reach::Post
}

impl Store {
    /// The postal list of a send (resolved now, in the audience's order); `None` for an unknown
    /// send or one without a list.
    pub async fn postal_list(&self, send_id: i64) -> Result<Option<PostalList>, StoreError> {
        let row = sqlx::query(
            "SELECT s.submission_id, s.audience_id, sub.subject FROM sends s \
             JOIN submissions sub ON sub.id = s.submission_id WHERE s.id = $1",
        )
        .bind(send_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let audience_id: Option<i64> = row.try_get("audience_id")?;
        let Some(audience) = (match audience_id {
            Some(id) => self.audience_by_id(id).await?,
            None => None,
        }) else {
            return Ok(None);
        };
        let mut recipients = Vec::new();
        let mut batches = std::pin::pin!(self.resolve(&audience));
        while let Some(batch) = batches.try_next().await? {
            for r in batch.iter().filter(|r| by_post(r, audience.category)) {
                if let Some(member_id) = r.member_id {
                    recipients.push(PostalRecipient {
                        member_id,
                        name: r.name.clone(),
                        address: None,
                    });
                }
            }
        }
        let ids: Vec<i64> = recipients.iter().map(|r| r.member_id).collect();
        let addresses = self.postal_addresses(&ids).await?;
        for r in &mut recipients {
            r.address = addresses.get(&r.member_id).cloned();
        }
        Ok(Some(PostalList {
            send_id,
            submission_id: row.try_get("submission_id")?,
            subject: row.try_get("subject")?,
            audience: audience.name,
            recipients,
        }))
    }

    /// Each member's postal address: their own if they gave one, else the imported one.
    async fn postal_addresses(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        let mut found: HashMap<i64, (bool, String)> = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT member_id, value, source FROM contact_points \
                 WHERE kind = 'postal' AND member_id IN ({})",
                Placeholders::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let own = row.try_get::<String, _>("source")? == "member";
                let value: String = row.try_get("value")?;
                let entry = found
                    .entry(row.try_get("member_id")?)
                    .or_insert((own, value.clone()));
                if own && !entry.0 {
                    *entry = (own, value);
                }
            }
        }
        Ok(found
            .into_iter()
            .map(|(id, (_, value))| (id, value))
            .collect())
    }
}

impl PostalList {
    /// The list as CSV for a spreadsheet program: `;`-separated, with a header line.
    pub fn to_csv(&self) -> std::io::Result<Vec<u8>> {
        let mut out = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::new());
        out.write_record(["name", "postal_address", "subject", "list"])?;
        for r in &self.recipients {
            out.write_record([
                r.name.as_str(),
                r.address.as_deref().unwrap_or(""),
                self.subject.as_str(),
                self.audience.as_str(),
            ])?;
        }
        out.into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}
