//! `verteiler directory changes`: members' own changes as CSV for a membership database
//! without an API client, read on from the cursor the last run printed.

mod support;

use support::*;
use verteiler_policies::{EmailAddress, UnitKind};
use verteiler_store::{NewMember, NewUnit};

/// The cursor the run printed on stderr.
fn next_cursor(out: &std::process::Output) -> String {
    let err = stderr(out);
    err.rsplit("next cursor: ")
        .next()
        .expect("a cursor on stderr")
        .trim()
        .to_string()
}

#[tokio::test]
async fn changes_are_written_as_csv_with_current_values_and_read_on_from_the_cursor() {
    let env = Env::new().await;
    let store = &env.db.store;
    let unit = store
        .create_unit(&NewUnit {
            code: "HH-OLD".into(),
            name: "Oldenfelde".into(),
            kind: UnitKind::Branch,
            parent_code: None,
        })
        .await
        .unwrap();
    let member = |id: &str, email: &str| NewMember {
        external_id: Some(id.into()),
        first_name: "Anna".into(),
        last_name: "Albers".into(),
        unit_id: unit,
        email: Some(EmailAddress::parse(email).unwrap()),
    };
    let anna = store
        .create_member(&member("100231", "anna@example.org"))
        .await
        .unwrap();
    let ben = store
        .create_member(&member("100232", "ben@example.org"))
        .await
        .unwrap();
    let as_anna = store.acting_as(format!("portal:member:{anna}"));
    as_anna
        .set_postal_address(anna, "=Alte Landstraße 1", "22359", "Hamburg")
        .await
        .unwrap();
    // Ben's address set by somebody else is not Ben's own change.
    as_anna
        .set_postal_address(ben, "Bergstraße 2", "22359", "Hamburg")
        .await
        .unwrap();

    let file = env.path("changes.csv");
    let out = env.run(&[
        "directory",
        "changes",
        "--since",
        "0",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "cursor;at;external_id;change;value;verified;street;postcode;city"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    let cells: Vec<&str> = lines[1].split(';').collect();
    assert_eq!(cells[2..4], ["100231", "postal_address_set"]);
    assert!(
        cells[1].ends_with('Z') && cells[1].contains('T'),
        "RFC 3339: {}",
        cells[1]
    );
    // Typed by a member: never a formula in a spreadsheet.
    assert_eq!(cells[6], "'=Alte Landstraße 1");
    assert_eq!(cells[7..9], ["22359", "Hamburg"]);
    let cursor = next_cursor(&out);
    assert_eq!(cursor, cells[0]);
    assert!(stderr(&out).contains("1 change(s)"));

    // Read on from the cursor: only what came after, with the value as it is now.
    as_anna
        .set_postal_address(anna, "Neue Straße 3", "22359", "Hamburg")
        .await
        .unwrap();
    let out = env.run(&["directory", "changes", "--since", &cursor]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains(";Neue Straße 3;"), "{text}");
    let later = next_cursor(&out);
    assert!(later.parse::<i64>().unwrap() > cursor.parse::<i64>().unwrap());

    let out = env.run(&["directory", "changes", "--since", &later]);
    assert_eq!(stdout(&out).lines().count(), 1, "only the header");
    assert_eq!(next_cursor(&out), later, "nothing new: the same cursor");
}
