//! The changes as CSV, for organisations whose membership database reads files, not an API:
//! `;`-separated with a header line like the exports it reads, one line per current value
//! (a member with two phone numbers gives two lines of the same change).

use super::{ChangeKind, ChangesPage, ContactValue, CurrentValue, DirectoryChange};
use crate::postal::list::spreadsheet_cell;
use time::format_description::well_known::Rfc3339;

pub const CHANGE_COLUMNS: &[&str] = &[
    "cursor",
    "at",
    "external_id",
    "change",
    "value",
    "verified",
    "street",
    "postcode",
    "city",
];

/// One line's cells after `cursor`, `at`, `external_id` and `change`.
#[derive(Default)]
struct Cells {
    value: String,
    verified: &'static str,
    street: String,
    postcode: String,
    city: String,
}

impl ChangesPage {
    /// The changes (see the module's text), after the header line when `header` (a file
    /// written page by page has it once).
    pub fn to_csv(&self, header: bool) -> std::io::Result<Vec<u8>> {
        let mut out = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::new());
        if header {
            out.write_record(CHANGE_COLUMNS)?;
        }
        write_changes(&mut out, &self.changes)?;
        out.into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

fn write_changes<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    changes: &[DirectoryChange],
) -> std::io::Result<()> {
    for change in changes {
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(change.at) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
        let external_id = change.external_id.as_deref().unwrap_or("");
        for cells in lines(change) {
            // Members type addresses and names: a cell must never run as a formula. A phone
            // number is checked and normalised (`+49…`) and must stay as it is.
            let value = if matches!(change.value, Some(CurrentValue::Phone { .. })) {
                cells.value.clone()
            } else {
                spreadsheet_cell(&cells.value).into_owned()
            };
            out.write_record([
                change.cursor.to_string().as_str(),
                &at,
                &spreadsheet_cell(external_id),
                change.change.as_str(),
                &value,
                cells.verified,
                &spreadsheet_cell(&cells.street),
                &spreadsheet_cell(&cells.postcode),
                &spreadsheet_cell(&cells.city),
            ])?;
        }
    }
    Ok(())
}

fn lines(change: &DirectoryChange) -> Vec<Cells> {
    let contacts = |values: &[ContactValue]| -> Vec<Cells> {
        values
            .iter()
            .map(|c| Cells {
                value: c.value.clone(),
                verified: if c.verified { "true" } else { "false" },
                ..Cells::default()
            })
            .collect()
    };
    let lines = match &change.value {
        None => Vec::new(),
        Some(CurrentValue::Email { addresses }) => contacts(addresses),
        Some(CurrentValue::Phone { numbers }) => contacts(numbers),
        Some(CurrentValue::Postal { address }) => address
            .iter()
            .map(|a| Cells {
                value: format!("{}, {} {}", a.street, a.postcode, a.city),
                street: a.street.clone(),
                postcode: a.postcode.clone(),
                city: a.city.clone(),
                ..Cells::default()
            })
            .collect(),
        Some(CurrentValue::Channels { choices }) => choices
            .iter()
            .map(|c| Cells {
                value: format!("{}={}", c.category, c.channel),
                ..Cells::default()
            })
            .collect(),
        Some(CurrentValue::Deletion { .. }) => Vec::new(),
    };
    // A change whose field is empty now (the last phone number removed) is still a line.
    if lines.is_empty() || change.change == ChangeKind::Erased {
        vec![Cells::default()]
    } else {
        lines
    }
}
