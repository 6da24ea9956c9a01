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

#[cfg(test)]
mod tests {
    use super::super::{ChangeKind, ChangesPage, ContactValue, CurrentValue, DirectoryChange};

    fn change(change: ChangeKind, value: Option<CurrentValue>) -> DirectoryChange {
        DirectoryChange {
            cursor: 7,
            at: 1_765_000_000_000,
            external_id: Some("M1".into()),
            change,
            value,
        }
    }

    fn phone(value: &str, verified: bool) -> ContactValue {
        ContactValue {
            value: value.into(),
            verified,
            primary: false,
            from_import: false,
        }
    }

    #[test]
    fn every_current_value_is_a_line_and_an_erased_member_only_a_mark() {
        let page = ChangesPage {
            changes: vec![
                change(
                    ChangeKind::PhoneAdded,
                    Some(CurrentValue::Phone {
                        numbers: vec![phone("+491511234567", false), phone("+4940123", true)],
                    }),
                ),
                change(
                    ChangeKind::PhoneRemoved,
                    Some(CurrentValue::Phone { numbers: vec![] }),
                ),
                change(ChangeKind::Erased, None),
            ],
            next_cursor: 7,
            more: false,
        };
        let csv = String::from_utf8(page.to_csv(false).unwrap()).unwrap();
        assert_eq!(
            csv,
            "7;2025-12-06T05:46:40Z;M1;phone_added;+491511234567;false;;;\n\
             7;2025-12-06T05:46:40Z;M1;phone_added;+4940123;true;;;\n\
             7;2025-12-06T05:46:40Z;M1;phone_removed;;;;;\n\
             7;2025-12-06T05:46:40Z;M1;erased;;;;;\n"
        );
        let with_header = String::from_utf8(page.to_csv(true).unwrap()).unwrap();
        assert!(with_header.starts_with("cursor;at;external_id;change;value;"));
    }
}
