//! The postal list of a send: who gets the message on paper. Members who chose post for the
//! list's kind of mail are on it; for statutory mail (invitations to a general meeting) so is
//! everybody the send reaches neither by email nor by SMS, because statutory notice must reach
//! every member. The unit's secretary prints and posts it.
//!
//! The list is the send's own recipients: expansion records the member of every letter
//! (`postal_recipients`, ids only) in the transaction of its batch, and the list is read from
//! those rows, never from the audience resolved again — an audience that changed since must not
//! add names and home addresses to a send decided for others. Names and addresses are read
//! when the list is handed out, so a corrected address reaches the letter; members who have
//! left (or were erased) since are not written to. Who may have the list, and the audit entry
//! of every download, are in [`crate::postal::access`].

use crate::db::sql::Placeholders;
use crate::StoreError;
use sqlx::Row;
use std::borrow::Cow;
use std::collections::HashMap;

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

/// The letters of a send as its expansion recorded them, in the audience's order, with each
/// member's name and postal address as they are now. Read in `conn`, so the count an audit
/// entry states is the count handed out.
pub(crate) async fn recorded_letters(
    conn: &mut sqlx::AnyConnection,
    backend: crate::Backend,
    send_id: i64,
) -> Result<Vec<PostalRecipient>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.member_id, m.first_name, m.last_name FROM postal_recipients p \
         JOIN members m ON m.id = p.member_id \
         WHERE p.send_id = $1 AND m.status = 'active' ORDER BY p.position, p.member_id",
    )
    .bind(send_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut letters = Vec::with_capacity(rows.len());
    for row in &rows {
        let first: String = row.try_get("first_name")?;
        let last: String = row.try_get("last_name")?;
        letters.push(PostalRecipient {
            member_id: row.try_get("member_id")?,
            name: format!("{first} {last}"),
            address: None,
        });
    }
    let ids: Vec<i64> = letters.iter().map(|r| r.member_id).collect();
    let addresses = postal_addresses(conn, backend, &ids).await?;
    for letter in &mut letters {
        letter.address = addresses.get(&letter.member_id).cloned();
    }
    Ok(letters)
}

/// Each member's postal address: their own if they gave one, else the imported one.
async fn postal_addresses(
    conn: &mut sqlx::AnyConnection,
    backend: crate::Backend,
    ids: &[i64],
) -> Result<HashMap<i64, String>, StoreError> {
    let mut found: HashMap<i64, (bool, String)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT member_id, value, source FROM contact_points \
             WHERE kind = 'postal' AND member_id IN ({})",
            Placeholders::new(backend).list(chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
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

/// A cell as a spreadsheet program must show it: text that begins like a formula (`=`, `+`,
/// `-`, `@`) or with a tab or carriage return (which some programs skip before reading a
/// formula) gets a leading apostrophe, so the cell is text and never runs. Names, addresses
/// and subjects are typed by members and senders, so any of them may try.
pub fn spreadsheet_cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

impl PostalList {
    /// The list as CSV for a spreadsheet program: `;`-separated, with a header line, every
    /// cell neutralised ([`spreadsheet_cell`]).
    pub fn to_csv(&self) -> std::io::Result<Vec<u8>> {
        let mut out = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::new());
        out.write_record(["name", "postal_address", "subject", "list"])?;
        for r in &self.recipients {
            out.write_record([
                spreadsheet_cell(&r.name).as_ref(),
                spreadsheet_cell(r.address.as_deref().unwrap_or("")).as_ref(),
                spreadsheet_cell(&self.subject).as_ref(),
                spreadsheet_cell(&self.audience).as_ref(),
            ])?;
        }
        out.into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_text() {
        for formula in [
            "=HYPERLINK(\"http://evil.example\")",
            "+49 151",
            "-2+3",
            "@SUM(A1)",
            "\t=1+1",
            "\r=1+1",
        ] {
            assert_eq!(spreadsheet_cell(formula), format!("'{formula}"));
        }
        for plain in ["Anna Albers", "Waldweg 1, 22359 Hamburg", "", "a=b", " =1"] {
            assert_eq!(spreadsheet_cell(plain), plain);
        }
    }

    #[test]
    fn the_csv_carries_neutralised_cells() {
        let list = PostalList {
            send_id: 1,
            submission_id: 1,
            subject: "=cmd|' /C calc'!A0".into(),
            audience: "Ortsverband".into(),
            recipients: vec![PostalRecipient {
                member_id: 1,
                name: "@Anna".into(),
                address: Some("-Weg 1".into()),
            }],
        };
        let csv = String::from_utf8(list.to_csv().unwrap()).unwrap();
        assert_eq!(
            csv.lines().nth(1),
            Some("'@Anna;'-Weg 1;'=cmd|' /C calc'!A0;Ortsverband")
        );
    }
}
