//! The member and unit CSV importer on the configured test database (SQLite, or PostgreSQL when
//! `VERTEILER_TEST_POSTGRES_URL` is set).
//!
//! The sample exports under `tests/fixtures/` are shaped like real ones: UTF-8 with a byte-order
//! mark, `;` separators, CRLF line ends. The member sample has 247 data rows, six of them faulty
//! (lines 122, 123, 124, 245, 246, 247), and one valid row (line 248) whose fields hold `;` and
//! quotes. Other files are written per test into a temporary directory.

use futures::TryStreamExt;
use sqlx::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use verteiler_policies::{AudienceKind, AudienceSlug, RoleFunction};
use verteiler_store::directory::import::{
    ImportError, ImportOptions, ImportReport, Refusal, UnitChange,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Audience, NewAudience, NewRole, Recipient, Store};

// ---------------------------------------------------------------------------------------------
// Files

const MEMBER_HEADER: &str =
    "external_id;first_name;last_name;unit_code;email;phone;street;postcode;city;roles";
const UNIT_HEADER: &str = "code;name;kind;parent_code";
const SAMPLE_MEMBERS: &str = "members-export-sample.csv";
const SAMPLE_UNITS: &str = "units-sample.csv";
/// The faulty rows of the member sample.
const SAMPLE_BAD_LINES: [u64; 6] = [122, 123, 124, 245, 246, 247];
/// Its valid rows: 247 data rows less the six faulty ones.
const SAMPLE_GOOD_ROWS: u64 = 241;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A file in its own temporary directory, removed with it.
struct TempCsv {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TempCsv {
    fn path(&self) -> &Path {
        &self.path
    }
}

fn write_file(bytes: &[u8]) -> TempCsv {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    std::fs::write(&path, bytes).unwrap();
    TempCsv { _dir: dir, path }
}

/// What a spreadsheet program writes: byte-order mark, the header, CRLF after every line.
fn export(header: &str, rows: &[String]) -> TempCsv {
    let mut text = String::from("\u{feff}");
    for line in std::iter::once(header).chain(rows.iter().map(String::as_str)) {
        text.push_str(line);
        text.push_str("\r\n");
    }
    write_file(text.as_bytes())
}

fn members_file(rows: &[String]) -> TempCsv {
    export(MEMBER_HEADER, rows)
}

fn units_file(rows: &[&str]) -> TempCsv {
    let rows: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    export(UNIT_HEADER, &rows)
}

/// The member sample without its six faulty rows, byte for byte otherwise.
fn valid_sample() -> TempCsv {
    let bytes = std::fs::read(fixture(SAMPLE_MEMBERS)).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let kept: Vec<&str> = text
        .split_inclusive("\r\n")
        .enumerate()
        .filter(|(i, _)| !SAMPLE_BAD_LINES.contains(&(*i as u64 + 1)))
        .map(|(_, line)| line)
        .collect();
    assert_eq!(kept.len() as u64, 1 + SAMPLE_GOOD_ROWS);
    write_file(kept.concat().as_bytes())
}

/// A plain generated member: `P007;Vorname7;Nachname7;UNIT;p7@example.org;;;;;`.
fn person(i: usize, unit: &str) -> String {
    format!("P{i:03};Vorname{i};Nachname{i};{unit};p{i}@example.org;;;;;")
}

fn people(range: std::ops::Range<usize>, unit: &str) -> Vec<String> {
    range.map(|i| person(i, unit)).collect()
}

// ---------------------------------------------------------------------------------------------
// Options

fn defaults() -> ImportOptions {
    ImportOptions::default()
}

fn skipping_invalid() -> ImportOptions {
    ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    }
}

fn full() -> ImportOptions {
    ImportOptions {
        full: true,
        ..ImportOptions::default()
    }
}

fn allowing_large_change() -> ImportOptions {
    ImportOptions {
        allow_large_change: true,
        ..ImportOptions::default()
    }
}

fn dry_run() -> ImportOptions {
    ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Store helpers

async fn import_sample_units(store: &Store) {
    let report = store
        .import_units(&fixture(SAMPLE_UNITS), &defaults())
        .await
        .unwrap();
    assert_eq!(
        (report.rows, report.created, report.errors.len()),
        (10, 10, 0)
    );
    assert!(report.written);
}

async fn import_members(store: &Store, file: &TempCsv, options: &ImportOptions) -> ImportReport {
    store.import_members(file.path(), options).await.unwrap()
}

/// (line, field) of every reported row error, in report order.
fn error_places(report: &ImportReport) -> Vec<(u64, Option<&'static str>)> {
    report.errors.iter().map(|e| (e.line, e.field)).collect()
}

/// A unit's planned change that stays within the sync-safety limit.
fn within_limit(code: &str, before: u64, added: u64, changed: u64, removed: u64) -> UnitChange {
    UnitChange {
        unit_code: code.into(),
        members_before: before,
        added,
        changed,
        removed,
        too_large: false,
    }
}

/// A unit's planned change above the sync-safety limit.
fn over_limit(code: &str, before: u64, added: u64, changed: u64, removed: u64) -> UnitChange {
    UnitChange {
        too_large: true,
        ..within_limit(code, before, added, changed, removed)
    }
}

async fn unit_id(store: &Store, code: &str) -> i64 {
    store
        .unit_by_code(code)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("unit {code} exists"))
        .id
}

fn slug(s: &str) -> AudienceSlug {
    AudienceSlug::parse(s).unwrap()
}

/// A structural audience over a unit (and its sub-units if asked).
async fn members_of(store: &Store, unit_code: &str, subunits: bool) -> Audience {
    let name = format!(
        "{}-{}",
        unit_code.to_lowercase(),
        if subunits { "all" } else { "only" }
    );
    let unit = unit_id(store, unit_code).await;
    store
        .create_audience(&NewAudience::structural(slug(&name), &name, unit, subunits))
        .await
        .unwrap();
    store.audience_by_slug(&slug(&name)).await.unwrap().unwrap()
}

/// A functional audience: holders of `function` in the unit's subtree (or the unit alone).
async fn holders_of(
    store: &Store,
    function: RoleFunction,
    unit_code: &str,
    subunits: bool,
) -> Audience {
    let name = format!("{}-{}", function.as_str(), unit_code.to_lowercase());
    let unit = unit_id(store, unit_code).await;
    let mut audience = NewAudience::structural(slug(&name), &name, unit, subunits);
    audience.kind = AudienceKind::Functional;
    audience.role_function = Some(function);
    store.create_audience(&audience).await.unwrap();
    store.audience_by_slug(&slug(&name)).await.unwrap().unwrap()
}

async fn recipients(store: &Store, audience: &Audience) -> Vec<Recipient> {
    let batches: Vec<Vec<Recipient>> = store.resolve(audience).try_collect().await.unwrap();
    batches.into_iter().flatten().collect()
}

async fn names(store: &Store, audience: &Audience) -> Vec<String> {
    let mut names: Vec<String> = recipients(store, audience)
        .await
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    names
}

/// Email per recipient name; the generated members' names are unique.
async fn emails(store: &Store, audience: &Audience) -> HashMap<String, Option<String>> {
    recipients(store, audience)
        .await
        .into_iter()
        .map(|r| (r.name, r.email))
        .collect()
}

/// The member id the import gave an external id. The store has no public look-up by external
/// id, so this asks the database directly.
async fn member_id(db: &TestDatabase, external_id: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let id = sqlx::query_scalar("SELECT id FROM members WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    id
}

/// The stored postal address of a member: (one-line value, street, postcode, city).
async fn postal_address(db: &TestDatabase, member_id: i64) -> (String, String, String, String) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row: (String, String, String, String) = sqlx::query_as(
        "SELECT value, street, postcode, city FROM contact_points \
         WHERE member_id = $1 AND kind = 'postal'",
    )
    .bind(member_id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    row
}

/// The one recipient of an audience that is this member.
async fn recipient(store: &Store, audience: &Audience, member_id: i64) -> Recipient {
    let found: Vec<Recipient> = recipients(store, audience)
        .await
        .into_iter()
        .filter(|r| r.member_id == Some(member_id))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "member {member_id} is resolved exactly once"
    );
    found.into_iter().next().unwrap()
}

async fn active_members(store: &Store) -> u64 {
    store.directory_counts().await.unwrap().members_active
}

// ---------------------------------------------------------------------------------------------
// The sample export

#[tokio::test]
async fn the_sample_export_is_refused_naming_each_of_its_six_faulty_rows() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;

    let report = s
        .import_members(&fixture(SAMPLE_MEMBERS), &defaults())
        .await
        .unwrap();

    assert_eq!(report.refusal, Some(Refusal::InvalidRows));
    assert!(!report.written);
    assert_eq!(report.rows, 247);
    assert_eq!(
        error_places(&report),
        [
            (122, Some("external_id")),
            (123, Some("unit_code")),
            (124, Some("email")),
            (245, Some("email")),
            (246, Some("phone")),
            (247, Some("external_id")),
        ]
    );
    // Each reason names the offending value, so the admin can find and fix it.
    let reasons: Vec<&str> = report.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons[0],
        "duplicate external id M100007 (first on line 8)"
    );
    assert_eq!(
        reasons[1],
        "unknown unit HH-XX-NIX (import the units first)"
    );
    assert!(
        reasons[2].contains("\"kaputt@@example.de\""),
        "{}",
        reasons[2]
    );
    assert!(reasons[3].contains("\"max.mustermann@\""), "{}", reasons[3]);
    assert!(reasons[4].contains("\"12345\""), "{}", reasons[4]);
    assert_eq!(reasons[5], "missing external id");
    assert_eq!(
        report.errors[0].to_string(),
        "line 122: external_id: duplicate external id M100007 (first on line 8)"
    );
    // The plan is still reported: what the good rows would have done.
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (SAMPLE_GOOD_ROWS, 0, 0)
    );
    let counts = s.directory_counts().await.unwrap();
    assert_eq!((counts.members_active, counts.members_left), (0, 0));
}

#[tokio::test]
async fn skipping_invalid_rows_imports_the_241_good_rows_of_the_sample() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;

    let report = s
        .import_members(&fixture(SAMPLE_MEMBERS), &skipping_invalid())
        .await
        .unwrap();

    assert!(report.written);
    assert_eq!(report.refusal, None);
    assert_eq!(report.rows, 247);
    let bad: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(bad, SAMPLE_BAD_LINES);
    assert_eq!(
        (
            report.created,
            report.updated,
            report.unchanged,
            report.marked_left
        ),
        (SAMPLE_GOOD_ROWS, 0, 0, 0)
    );
    assert!(report.first_import);
    assert_eq!(report.directory_before, 0);
    assert_eq!(
        report.changes,
        [
            within_limit("HH-AL-BLA", 0, 49, 0, 0),
            within_limit("HH-AL-OTT", 0, 48, 0, 0),
            within_limit("HH-WA-BRA", 0, 47, 0, 0),
            within_limit("HH-WA-OLD", 0, 45, 0, 0),
            within_limit("HH-WA-RAH", 0, 52, 0, 0),
        ]
    );
    assert_eq!(report.directory_changes, SAMPLE_GOOD_ROWS);
    assert_eq!(active_members(s).await, SAMPLE_GOOD_ROWS);

    let everyone = members_of(s, "HH", true).await;
    assert_eq!(s.count(&everyone).await.unwrap(), SAMPLE_GOOD_ROWS);
    let bramfeld = members_of(s, "HH-WA-BRA", false).await;
    assert_eq!(s.count(&bramfeld).await.unwrap(), 47);

    // The duplicate on line 122 did not overwrite the first M100007 (line 8).
    let kaethe = recipient(s, &everyone, member_id(&db, "M100007").await).await;
    assert_eq!(kaethe.name, "Käthe Hoffmann");
    assert_eq!(
        kaethe.email.as_deref(),
        Some("kaethe.hoffmann.7@mail.example")
    );
    // None of the faulty rows' members exists.
    let all = names(s, &everyone).await;
    for name in ["Doppelt Vergeben", "Ohne Gliederung", "Kaputte Adresse"] {
        assert!(!all.contains(&name.to_string()), "{name} was imported");
    }
    for name in ["Halbe Adresse", "Falsche Nummer", "Keine Nummer"] {
        assert!(!all.contains(&name.to_string()), "{name} was imported");
    }
}

#[tokio::test]
async fn a_row_with_separators_and_quotes_in_its_fields_is_stored_verbatim() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    s.import_members(&fixture(SAMPLE_MEMBERS), &skipping_invalid())
        .await
        .unwrap();

    let bramfeld = members_of(s, "HH-WA-BRA", false).await;
    let id = member_id(&db, "M900005").await;
    let semi = recipient(s, &bramfeld, id).await;
    assert_eq!(semi.name, "Semi;kolon Im \"Namen\"");
    assert_eq!(semi.email.as_deref(), Some("semi@example.de"));
    assert_eq!(semi.phone, None);
    assert_eq!(
        postal_address(&db, id).await,
        (
            "Straße; Hinterhaus, 22179 Hamburg".to_string(),
            "Straße; Hinterhaus".to_string(),
            "22179".to_string(),
            "Hamburg".to_string()
        )
    );
}

#[tokio::test]
async fn phone_numbers_in_every_local_notation_are_stored_in_e164() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    s.import_members(&valid_sample().path, &defaults())
        .await
        .unwrap();
    let everyone = members_of(s, "HH", true).await;

    for (external_id, name, email, phone) in [
        // `+49 (0)40 1015838`, no email
        ("M100002", "Łukasz Müller", None, Some("+49401015838")),
        // `0151-1031676`
        (
            "M100004",
            "Sören Petersen",
            Some("soeren.petersen.4@mail.example"),
            Some("+491511031676"),
        ),
        // `040/1047514`
        ("M100006", "Ayşe Schröder", None, Some("+49401047514")),
        // `+49 176 1055433`
        (
            "M100007",
            "Käthe Hoffmann",
            Some("kaethe.hoffmann.7@mail.example"),
            Some("+491761055433"),
        ),
        // `0176 2900560`
        (
            "M100240",
            "Karl-Heinz Schröder",
            Some("karl.schroeder240@example.de"),
            Some("+491762900560"),
        ),
        // neither phone nor email
        ("M100001", "Ole Thorben Çelik", None, None),
    ] {
        let r = recipient(s, &everyone, member_id(&db, external_id).await).await;
        assert_eq!(r.name, name, "{external_id}");
        assert_eq!(r.email.as_deref(), email, "{external_id}");
        assert_eq!(r.phone.as_deref(), phone, "{external_id}");
    }
}

#[tokio::test]
async fn roles_in_the_export_make_their_holders_reachable_by_function() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    s.import_members(&valid_sample().path, &defaults())
        .await
        .unwrap();

    // `chair@HH-WA-OLD` on line 2.
    let old_chairs = holders_of(s, RoleFunction::Chair, "HH-WA-OLD", false).await;
    assert_eq!(names(s, &old_chairs).await, ["Ole Thorben Çelik"]);
    assert_eq!(
        recipients(s, &old_chairs).await[0].member_id,
        Some(member_id(&db, "M100001").await)
    );
    // `chair@HH-WA-RAH|board@HH-WA` on line 5: a member of Blankenese holding two roles.
    let wandsbek_chairs = holders_of(s, RoleFunction::Chair, "HH-WA", true).await;
    assert_eq!(
        names(s, &wandsbek_chairs).await,
        ["Ole Thorben Çelik", "Sören Petersen"]
    );
    let wandsbek_board = holders_of(s, RoleFunction::Board, "HH-WA", false).await;
    assert_eq!(names(s, &wandsbek_board).await, ["Sören Petersen"]);
    // `press-office@HH-PRESSE` on lines 3 and 4.
    let press = holders_of(s, RoleFunction::PressOffice, "HH-PRESSE", false).await;
    assert_eq!(names(s, &press).await, ["Renée Hoffmann", "Łukasz Müller"]);
    // Nobody else holds a role.
    let all_chairs = holders_of(s, RoleFunction::Chair, "HH", true).await;
    assert_eq!(s.count(&all_chairs).await.unwrap(), 2);
}

// ---------------------------------------------------------------------------------------------
// Re-imports

#[tokio::test]
async fn reimporting_the_same_file_changes_nothing() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let file = valid_sample();
    let first = import_members(s, &file, &defaults()).await;
    assert_eq!(
        (first.created, first.updated, first.unchanged),
        (SAMPLE_GOOD_ROWS, 0, 0)
    );
    let everyone = members_of(s, "HH", true).await;
    let before = recipients(s, &everyone).await;
    assert_eq!(before.len() as u64, SAMPLE_GOOD_ROWS);

    for options in [defaults(), full()] {
        let again = import_members(s, &file, &options).await;
        assert!(again.written);
        assert_eq!(again.refusal, None);
        assert!(again.errors.is_empty());
        assert!(!again.first_import);
        assert_eq!(
            (
                again.created,
                again.updated,
                again.unchanged,
                again.marked_left
            ),
            (0, 0, SAMPLE_GOOD_ROWS, 0)
        );
        assert_eq!(again.directory_before, SAMPLE_GOOD_ROWS);
        assert_eq!(again.directory_changes, 0);
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert_eq!(recipients(s, &everyone).await, before);
    }
    let counts = s.directory_counts().await.unwrap();
    assert_eq!(
        (counts.members_active, counts.members_left),
        (SAMPLE_GOOD_ROWS, 0)
    );
}

#[tokio::test]
async fn a_changed_row_updates_only_that_member() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    import_members(s, &members_file(&people(0..20, "HH-WA-OLD")), &defaults()).await;
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    let before = recipients(s, &oldenfelde).await;

    let mut rows = people(0..20, "HH-WA-OLD");
    rows[7] = "P007;Vorname7;Neuname;HH-WA-OLD;neu7@example.org;040 7654321;;;;".into();
    let report = import_members(s, &members_file(&rows), &defaults()).await;

    assert!(report.written);
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 19)
    );
    assert_eq!(report.changes, [within_limit("HH-WA-OLD", 20, 0, 1, 0)]);
    let after = recipients(s, &oldenfelde).await;
    assert_eq!(after.len(), 20);
    let id = member_id(&db, "P007").await;
    let changed = after.iter().find(|r| r.member_id == Some(id)).unwrap();
    assert_eq!(changed.name, "Vorname7 Neuname");
    assert_eq!(changed.email.as_deref(), Some("neu7@example.org"));
    assert_eq!(changed.phone.as_deref(), Some("+49407654321"));
    // The others are exactly as they were.
    let others = |list: &[Recipient]| -> Vec<Recipient> {
        list.iter()
            .filter(|r| r.member_id != Some(id))
            .cloned()
            .collect()
    };
    assert_eq!(others(&after), others(&before));
    // The old address is gone, not kept beside the new one.
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 20);
    assert!(!emails(s, &oldenfelde)
        .await
        .values()
        .any(|e| e.as_deref() == Some("p7@example.org")));
}

#[tokio::test]
async fn a_member_moving_to_another_unit_leaves_the_old_units_audience() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let mut rows = people(0..10, "HH-WA-OLD");
    rows.extend(people(10..20, "HH-WA-RAH"));
    import_members(s, &members_file(&rows), &defaults()).await;

    rows[3] = person(3, "HH-WA-RAH");
    let report = import_members(s, &members_file(&rows), &defaults()).await;

    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 19)
    );
    assert_eq!(
        report.changes,
        [
            within_limit("HH-WA-OLD", 10, 0, 0, 1),
            within_limit("HH-WA-RAH", 10, 1, 0, 0),
        ]
    );
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    let rahlstedt = members_of(s, "HH-WA-RAH", false).await;
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 9);
    assert_eq!(s.count(&rahlstedt).await.unwrap(), 11);
    assert!(names(s, &rahlstedt)
        .await
        .contains(&"Vorname3 Nachname3".to_string()));
}

#[tokio::test]
async fn a_role_dropped_from_the_export_is_withdrawn_but_one_granted_by_an_admin_stays() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let mut rows = people(0..10, "HH-WA-OLD");
    rows[0] = "P000;Vorname0;Nachname0;HH-WA-OLD;p0@example.org;;;;;chair@HH-WA-OLD".into();
    import_members(s, &members_file(&rows), &defaults()).await;
    let chairs = holders_of(s, RoleFunction::Chair, "HH-WA-OLD", false).await;
    let board = holders_of(s, RoleFunction::Board, "HH-WA-OLD", false).await;
    assert_eq!(names(s, &chairs).await, ["Vorname0 Nachname0"]);

    // An admin makes P000 a board member by hand; the next export no longer has the chair.
    s.grant_role(NewRole {
        member_id: member_id(&db, "P000").await,
        unit_id: unit_id(s, "HH-WA-OLD").await,
        function: RoleFunction::Board,
        covers_subtree: false,
    })
    .await
    .unwrap();
    rows[0] = person(0, "HH-WA-OLD");
    let report = import_members(s, &members_file(&rows), &defaults()).await;

    assert_eq!((report.updated, report.unchanged), (1, 9));
    assert!(names(s, &chairs).await.is_empty());
    assert_eq!(names(s, &board).await, ["Vorname0 Nachname0"]);
}

#[tokio::test]
async fn members_missing_from_the_file_are_marked_left_only_by_a_full_import() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    import_members(s, &members_file(&people(0..10, "HH-WA-OLD")), &defaults()).await;
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;

    // P009 is missing from the next export.
    let shorter = members_file(&people(0..9, "HH-WA-OLD"));
    let partial = import_members(s, &shorter, &defaults()).await;
    assert!(partial.written);
    assert_eq!(
        (partial.unchanged, partial.marked_left),
        (9, 0),
        "without full, a missing member is not touched"
    );
    assert!(partial.changes.is_empty());
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 10);

    let whole = import_members(s, &shorter, &full()).await;
    assert!(whole.written);
    assert_eq!(
        (
            whole.created,
            whole.updated,
            whole.unchanged,
            whole.marked_left
        ),
        (0, 0, 9, 1)
    );
    assert_eq!(whole.changes, [within_limit("HH-WA-OLD", 10, 0, 0, 1)]);
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 9);
    assert!(!names(s, &oldenfelde)
        .await
        .contains(&"Vorname9 Nachname9".to_string()));
    let counts = s.directory_counts().await.unwrap();
    assert_eq!((counts.members_active, counts.members_left), (9, 1));

    // Back in the export, the member is active again.
    let back = import_members(s, &members_file(&people(0..10, "HH-WA-OLD")), &full()).await;
    assert_eq!(
        (back.created, back.updated, back.unchanged, back.marked_left),
        (0, 1, 9, 0)
    );
    assert_eq!(back.changes, [within_limit("HH-WA-OLD", 9, 1, 0, 0)]);
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 10);
    let counts = s.directory_counts().await.unwrap();
    assert_eq!((counts.members_active, counts.members_left), (10, 0));
}

#[tokio::test]
async fn a_full_import_does_not_mark_a_member_left_whose_row_is_faulty() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    import_members(s, &members_file(&people(0..10, "HH-WA-OLD")), &defaults()).await;

    // P004 is still in the export, with a typo in the address: skipped, but not gone.
    let mut rows = people(0..10, "HH-WA-OLD");
    rows[4] = "P004;Vorname4;Nachname4;HH-WA-OLD;p4@@example.org;;;;;".into();
    let options = ImportOptions {
        full: true,
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let report = import_members(s, &members_file(&rows), &options).await;

    assert!(report.written);
    assert_eq!(error_places(&report), [(6, Some("email"))]);
    assert_eq!(
        (report.unchanged, report.marked_left),
        (9, 0),
        "a member whose row is faulty has not left"
    );
    assert!(report.changes.is_empty());
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    let id = member_id(&db, "P004").await;
    assert_eq!(
        recipient(s, &oldenfelde, id).await.email.as_deref(),
        Some("p4@example.org"),
        "the stored row is kept as it was"
    );
    let counts = s.directory_counts().await.unwrap();
    assert_eq!((counts.members_active, counts.members_left), (10, 0));
}

// ---------------------------------------------------------------------------------------------
// Sync safety

#[tokio::test]
async fn the_first_import_into_an_empty_directory_is_never_too_large() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;

    let report = import_members(s, &members_file(&people(0..100, "HH-WA-OLD")), &defaults()).await;

    assert!(report.first_import);
    assert_eq!(report.refusal, None);
    assert!(report.written);
    assert_eq!(report.created, 100);
    assert_eq!(report.changes, [within_limit("HH-WA-OLD", 0, 100, 0, 0)]);
    assert!(!report.changes[0].too_large);
    assert_eq!(
        (report.directory_before, report.directory_changes),
        (0, 100)
    );
    assert_eq!(active_members(s).await, 100);
}

/// 100 members in Oldenfelde, then the same export with the first `n` emails changed.
async fn hundred_then_changed(s: &Store, n: usize) -> TempCsv {
    import_members(s, &members_file(&people(0..100, "HH-WA-OLD")), &defaults()).await;
    let mut rows = people(0..100, "HH-WA-OLD");
    for (i, row) in rows.iter_mut().enumerate().take(n) {
        *row = format!("P{i:03};Vorname{i};Nachname{i};HH-WA-OLD;p{i}@neu.example.org;;;;;");
    }
    members_file(&rows)
}

/// How many of Oldenfelde's members have their new (`@neu.example.org`) address.
async fn new_addresses(s: &Store, oldenfelde: &Audience) -> usize {
    emails(s, oldenfelde)
        .await
        .values()
        .filter(|e| {
            e.as_deref()
                .is_some_and(|e| e.ends_with("@neu.example.org"))
        })
        .count()
}

#[tokio::test]
async fn changing_more_than_a_tenth_of_a_unit_is_refused_and_writes_nothing() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let changed = hundred_then_changed(s, 11).await;

    let report = import_members(s, &changed, &defaults()).await;

    assert_eq!(report.refusal, Some(Refusal::LargeChange));
    assert!(!report.written);
    assert!(!report.first_import);
    assert!(report.errors.is_empty());
    assert_eq!(
        report.changes,
        [UnitChange {
            unit_code: "HH-WA-OLD".into(),
            members_before: 100,
            added: 0,
            changed: 11,
            removed: 0,
            too_large: true,
        }]
    );
    assert_eq!(report.changes[0].total(), 11);
    assert_eq!(
        (report.directory_before, report.directory_changes),
        (100, 11)
    );
    assert_eq!((report.updated, report.unchanged), (11, 89));
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    assert_eq!(new_addresses(s, &oldenfelde).await, 0);
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 100);
}

#[tokio::test]
async fn a_large_change_is_written_when_explicitly_allowed() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let changed = hundred_then_changed(s, 11).await;

    let report = import_members(s, &changed, &allowing_large_change()).await;

    assert_eq!(report.refusal, None);
    assert!(report.written);
    assert_eq!((report.updated, report.unchanged), (11, 89));
    assert_eq!(report.changes, [over_limit("HH-WA-OLD", 100, 0, 11, 0)]);
    assert!(
        report.changes[0].too_large,
        "the summary still says it was large"
    );
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    assert_eq!(new_addresses(s, &oldenfelde).await, 11);
}

#[tokio::test]
async fn a_dry_run_reports_the_same_summary_and_writes_nothing() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let changed = hundred_then_changed(s, 11).await;
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;

    let refused = import_members(s, &changed, &defaults()).await;
    let dry = import_members(s, &changed, &dry_run()).await;
    assert_eq!(dry.refusal, Some(Refusal::LargeChange));
    assert!(!dry.written);
    assert_eq!(dry.changes, refused.changes);
    assert_eq!(
        (dry.created, dry.updated, dry.unchanged),
        (refused.created, refused.updated, refused.unchanged)
    );
    assert_eq!(
        (dry.directory_before, dry.directory_changes),
        (refused.directory_before, refused.directory_changes)
    );

    // Even when the large change is allowed, a dry run only reports it.
    let allowed_dry = ImportOptions {
        dry_run: true,
        allow_large_change: true,
        ..ImportOptions::default()
    };
    let dry = import_members(s, &changed, &allowed_dry).await;
    assert_eq!(dry.refusal, None);
    assert!(!dry.written);
    assert_eq!(dry.changes, refused.changes);
    assert_eq!((dry.updated, dry.unchanged), (11, 89));
    assert_eq!(new_addresses(s, &oldenfelde).await, 0);

    // A dry run of a first import writes nothing either.
    let empty = TestDatabase::new().await;
    import_sample_units(&empty.store).await;
    let dry = import_members(&empty.store, &changed, &dry_run()).await;
    assert_eq!((dry.created, dry.refusal, dry.written), (100, None, false));
    assert_eq!(active_members(&empty.store).await, 0);
}

#[tokio::test]
async fn changing_exactly_a_tenth_of_a_unit_is_accepted() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let changed = hundred_then_changed(s, 10).await;

    let report = import_members(s, &changed, &defaults()).await;

    assert_eq!(report.refusal, None);
    assert!(report.written);
    assert_eq!(report.changes, [within_limit("HH-WA-OLD", 100, 0, 10, 0)]);
    assert!(!report.changes[0].too_large);
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    assert_eq!(new_addresses(s, &oldenfelde).await, 10);
}

#[tokio::test]
async fn removing_more_than_a_tenth_of_a_unit_by_a_full_import_is_refused() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    import_members(s, &members_file(&people(0..100, "HH-WA-OLD")), &defaults()).await;
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;

    // A truncated export: the last eleven rows are missing.
    let truncated = members_file(&people(0..89, "HH-WA-OLD"));
    let report = import_members(s, &truncated, &full()).await;
    assert_eq!(report.refusal, Some(Refusal::LargeChange));
    assert!(!report.written);
    assert_eq!(report.marked_left, 11);
    assert_eq!(report.changes, [over_limit("HH-WA-OLD", 100, 0, 0, 11)]);
    assert!(report.changes[0].too_large);
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 100);
    assert_eq!(s.directory_counts().await.unwrap().members_left, 0);

    // Ten missing rows are within the limit.
    let report = import_members(s, &members_file(&people(0..90, "HH-WA-OLD")), &full()).await;
    assert_eq!(report.refusal, None);
    assert!(report.written);
    assert_eq!(report.marked_left, 10);
    assert_eq!(s.count(&oldenfelde).await.unwrap(), 90);
    assert_eq!(s.directory_counts().await.unwrap().members_left, 10);
}

#[tokio::test]
async fn a_small_unit_may_always_see_five_changes_but_not_six() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    // 100 in Oldenfelde keep the directory-wide limit at 10; Rahlstedt has 8 members.
    let mut rows = people(0..100, "HH-WA-OLD");
    rows.extend(people(100..108, "HH-WA-RAH"));
    import_members(s, &members_file(&rows), &defaults()).await;
    let rahlstedt = members_of(s, "HH-WA-RAH", false).await;

    let mut six_more = rows.clone();
    six_more.extend(people(108..114, "HH-WA-RAH"));
    let report = import_members(s, &members_file(&six_more), &defaults()).await;
    assert_eq!(report.refusal, Some(Refusal::LargeChange));
    assert_eq!(
        report.changes,
        [UnitChange {
            unit_code: "HH-WA-RAH".into(),
            members_before: 8,
            added: 6,
            changed: 0,
            removed: 0,
            too_large: true,
        }]
    );
    assert_eq!(
        (report.directory_before, report.directory_changes),
        (108, 6)
    );
    assert_eq!(s.count(&rahlstedt).await.unwrap(), 8);

    let mut five_more = rows.clone();
    five_more.extend(people(108..113, "HH-WA-RAH"));
    let report = import_members(s, &members_file(&five_more), &defaults()).await;
    assert_eq!(report.refusal, None);
    assert!(report.written);
    assert_eq!(report.changes, [within_limit("HH-WA-RAH", 8, 5, 0, 0)]);
    assert_eq!(s.count(&rahlstedt).await.unwrap(), 13);
}

#[tokio::test]
async fn small_changes_that_together_exceed_a_tenth_of_the_directory_are_refused() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let branches = [
        "HH-AL-BLA",
        "HH-AL-OTT",
        "HH-WA-BRA",
        "HH-WA-OLD",
        "HH-WA-RAH",
    ];
    let mut rows = Vec::new();
    for (b, unit) in branches.iter().enumerate() {
        rows.extend(people(b * 20..b * 20 + 10, unit));
    }
    import_members(s, &members_file(&rows), &defaults()).await;

    // Five new members per branch: within each branch's slack, but 25 of 50 overall.
    for (b, unit) in branches.iter().enumerate() {
        rows.extend(people(b * 20 + 10..b * 20 + 15, unit));
    }
    let report = import_members(s, &members_file(&rows), &defaults()).await;

    assert_eq!(report.refusal, Some(Refusal::LargeChange));
    assert!(!report.written);
    let expected: Vec<UnitChange> = branches
        .iter()
        .map(|unit| within_limit(unit, 10, 5, 0, 0))
        .collect();
    assert_eq!(report.changes, expected);
    assert!(report.changes.iter().all(|c| !c.too_large));
    assert_eq!(
        (report.directory_before, report.directory_changes),
        (50, 25)
    );
    assert_eq!(active_members(s).await, 50);
}

// ---------------------------------------------------------------------------------------------
// Units

#[tokio::test]
async fn units_may_name_parents_defined_later_in_the_file() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let file = units_file(&[
        "HH-WA-OLD;Distrikt Oldenfelde;branch;HH-WA",
        "HH-WA;Kreis Wandsbek;district;HH",
        "HH;Landesorganisation Hamburg;state;",
    ]);

    let report = s.import_units(file.path(), &defaults()).await.unwrap();

    assert!(report.written);
    assert!(report.errors.is_empty());
    assert_eq!((report.rows, report.created), (3, 3));
    let old = s.unit_by_code("HH-WA-OLD").await.unwrap().unwrap();
    assert_eq!(old.name, "Distrikt Oldenfelde");
    assert_eq!(old.kind.as_str(), "branch");
    assert!(old.active);
    let path = s.unit_path(old.id).await.unwrap();
    assert_eq!(
        path,
        [
            unit_id(s, "HH").await,
            unit_id(s, "HH-WA").await,
            unit_id(s, "HH-WA-OLD").await
        ]
    );

    // Again: nothing new, nothing changed.
    let again = s.import_units(file.path(), &defaults()).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(s.directory_counts().await.unwrap().units, 3);
}

/// Good rows on lines 2 and 3, then one of every fault.
fn faulty_units() -> TempCsv {
    units_file(&[
        "HH;Hamburg;state;",
        "HH-WA;Kreis Wandsbek;district;HH",
        "HH-WA;Kreis Wandsbek doppelt;district;HH",
        "HH-XY;Kreis X;galaxy;HH",
        "HH-NO;Kreis Nirgendwo;district;HH-ZZ",
        "HH-A;Kreis A;district;HH-B",
        "HH-B;Kreis B;district;HH-A",
    ])
}

#[tokio::test]
async fn each_faulty_unit_row_is_reported_with_its_line_and_nothing_is_written() {
    let db = TestDatabase::new().await;
    let s = &db.store;

    let report = s
        .import_units(faulty_units().path(), &defaults())
        .await
        .unwrap();

    assert_eq!(report.refusal, Some(Refusal::InvalidRows));
    assert!(!report.written);
    assert_eq!(report.rows, 7);
    assert_eq!(
        error_places(&report),
        [
            (4, Some("code")),
            (5, Some("kind")),
            (6, Some("parent_code")),
            (7, Some("parent_code")),
            (8, Some("parent_code")),
        ]
    );
    let reasons: Vec<&str> = report.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons[0], "duplicate unit code HH-WA (first on line 3)");
    assert!(reasons[1].contains("\"galaxy\""), "{}", reasons[1]);
    assert_eq!(reasons[2], "unknown parent unit HH-ZZ");
    assert_eq!(reasons[3], "unit HH-A would be its own ancestor");
    assert_eq!(reasons[4], "unit HH-B would be its own ancestor");
    assert_eq!(s.directory_counts().await.unwrap().units, 0);
}

#[tokio::test]
async fn skipping_invalid_unit_rows_writes_the_good_ones() {
    let db = TestDatabase::new().await;
    let s = &db.store;

    let report = s
        .import_units(faulty_units().path(), &skipping_invalid())
        .await
        .unwrap();

    assert!(report.written);
    assert_eq!(report.errors.len(), 5);
    assert_eq!(report.created, 2);
    let units: Vec<String> = s
        .list_units()
        .await
        .unwrap()
        .into_iter()
        .map(|u| format!("{} {}", u.code, u.name))
        .collect();
    assert_eq!(units, ["HH Hamburg", "HH-WA Kreis Wandsbek"]);
}

#[tokio::test]
async fn a_unit_below_a_faulty_unit_is_reported_too() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let file = units_file(&[
        "HH;Hamburg;state;",
        "HH-NO-1;Distrikt Eins;branch;HH-NO",
        "HH-NO;Kreis Nirgendwo;district;HH-ZZ",
        "HH-NO-1-A;AG Eins;working-group;HH-NO-1",
        "HH-A;Kreis A;district;HH-B",
        "HH-B;Kreis B;district;HH-A",
        "HH-B-1;Distrikt B1;branch;HH-B",
    ]);

    let refused = s.import_units(file.path(), &defaults()).await.unwrap();
    assert_eq!(refused.refusal, Some(Refusal::InvalidRows));
    let expected = [
        (3, Some("parent_code")),
        (4, Some("parent_code")),
        (5, Some("parent_code")),
        (6, Some("parent_code")),
        (7, Some("parent_code")),
        (8, Some("parent_code")),
    ];
    assert_eq!(error_places(&refused), expected);
    let reasons: Vec<&str> = refused.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons[0], "parent unit HH-NO is faulty (line 4)");
    assert_eq!(reasons[1], "unknown parent unit HH-ZZ");
    assert_eq!(reasons[2], "parent unit HH-NO-1 is faulty (line 3)");
    assert_eq!(reasons[5], "parent unit HH-B is faulty (line 7)");

    // Skipping them writes the good root instead of failing on the orphans.
    let report = s
        .import_units(file.path(), &skipping_invalid())
        .await
        .unwrap();
    assert!(report.written);
    assert_eq!(error_places(&report), expected);
    assert_eq!(report.created, 1);
    assert_eq!(s.directory_counts().await.unwrap().units, 1);
}

#[tokio::test]
async fn a_unit_that_would_close_a_cycle_through_stored_units_is_reported() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;

    // The district below its own branch: HH-WA-OLD is stored below HH-WA.
    let file = units_file(&["HH-WA;Kreis Wandsbek;district;HH-WA-OLD"]);
    let report = s.import_units(file.path(), &defaults()).await.unwrap();

    assert_eq!(report.refusal, Some(Refusal::InvalidRows));
    assert_eq!(error_places(&report), [(2, Some("parent_code"))]);
    assert_eq!(
        report.errors[0].reason,
        "unit HH-WA would be its own ancestor"
    );
    let old = unit_id(s, "HH-WA-OLD").await;
    assert_eq!(
        s.unit_path(old).await.unwrap(),
        [unit_id(s, "HH").await, unit_id(s, "HH-WA").await, old],
        "the stored tree is untouched"
    );
}

#[tokio::test]
async fn moving_a_unit_to_another_parent_counts_as_an_update() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;

    let file = units_file(&["HH-WA-OLD;Distrikt Oldenfelde;branch;HH-AL"]);
    let report = s.import_units(file.path(), &defaults()).await.unwrap();

    assert!(report.written);
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 0)
    );
    let old = unit_id(s, "HH-WA-OLD").await;
    assert_eq!(
        s.unit_path(old).await.unwrap(),
        [unit_id(s, "HH").await, unit_id(s, "HH-AL").await, old]
    );
    let again = s.import_units(file.path(), &defaults()).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 1));
}

#[tokio::test]
async fn a_unit_file_without_the_kind_column_is_rejected_naming_it() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let file = write_file(b"code;name;parent_code\r\nHH;Hamburg;\r\n");

    let err = s.import_units(file.path(), &defaults()).await.unwrap_err();

    match &err {
        ImportError::MissingColumns { missing, found, .. } => {
            assert_eq!(missing, "kind");
            assert_eq!(found, "code, name, parent_code");
        }
        other => panic!("expected MissingColumns, got {other:?}"),
    }
    assert!(
        err.to_string().contains("lacks the column(s) kind"),
        "{err}"
    );
    assert_eq!(s.directory_counts().await.unwrap().units, 0);
}

#[tokio::test]
async fn a_member_file_without_required_columns_is_rejected_naming_them() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let file = write_file(b"\xEF\xBB\xBFexternal_id;first_name;email\r\nM1;Anna;a@example.org\r\n");

    let err = s
        .import_members(file.path(), &defaults())
        .await
        .unwrap_err();

    match &err {
        ImportError::MissingColumns { missing, .. } => {
            assert_eq!(missing, "last_name, unit_code")
        }
        other => panic!("expected MissingColumns, got {other:?}"),
    }
    assert_eq!(active_members(s).await, 0);
}

// ---------------------------------------------------------------------------------------------
// File formats

#[tokio::test]
async fn a_file_with_a_row_that_is_not_utf8_is_refused_whole_even_when_skipping_bad_rows() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let mut bytes =
        format!("\u{feff}{MEMBER_HEADER}\r\n{}\r\n", person(1, "HH-WA-OLD")).into_bytes();
    // Line 3 was saved as Windows-1252: `ü` is the single byte 0xFC. The other rows are
    // plain ASCII, so the whole file is most likely Windows-1252 and every umlaut counts.
    bytes.extend_from_slice(b"P002;J\xFCrgen;M\xFCller;HH-WA-OLD;;;;;;\r\n");
    bytes.extend_from_slice(format!("{}\r\n", person(3, "HH-WA-OLD")).as_bytes());
    let file = write_file(&bytes);

    for options in [defaults(), skipping_invalid()] {
        match s.import_members(file.path(), &options).await {
            Err(ImportError::NotUtf8 {
                line: 3,
                byte: 0xFC,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(active_members(s).await, 0);
}

#[tokio::test]
async fn a_comma_separated_file_without_bom_and_with_lf_line_ends_is_read() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let file = write_file(
        "external_id,first_name,last_name,unit_code,email,phone,street,postcode,city,roles\n\
         C1,Anna,Schmidt,HH-WA-OLD,anna@Example.ORG,040 1234567,\"Hauptstraße 1, Hinterhaus\",22143,Hamburg,chair@HH-WA-OLD\n\
         C2,Bernd,\"Meier, jun.\",HH-WA-OLD,,+49 (0)40 7654321,,,,\n\
         C3,Carla,Kaya,HH-WA-OLD,carla@@example.org,,,,,\n"
            .as_bytes(),
    );

    let refused = import_members(s, &file, &defaults()).await;
    assert_eq!(error_places(&refused), [(4, Some("email"))]);

    let report = import_members(s, &file, &skipping_invalid()).await;
    assert!(report.written);
    assert_eq!((report.rows, report.created), (3, 2));
    let oldenfelde = members_of(s, "HH-WA-OLD", false).await;
    let anna = recipient(s, &oldenfelde, member_id(&db, "C1").await).await;
    assert_eq!(anna.name, "Anna Schmidt");
    assert_eq!(anna.email.as_deref(), Some("anna@example.org"));
    assert_eq!(anna.phone.as_deref(), Some("+49401234567"));
    assert_eq!(
        postal_address(&db, member_id(&db, "C1").await).await.1,
        "Hauptstraße 1, Hinterhaus"
    );
    let bernd = recipient(s, &oldenfelde, member_id(&db, "C2").await).await;
    assert_eq!(bernd.name, "Bernd Meier, jun.");
    assert_eq!(bernd.email, None);
    assert_eq!(bernd.phone.as_deref(), Some("+49407654321"));
    let chairs = holders_of(s, RoleFunction::Chair, "HH-WA-OLD", false).await;
    assert_eq!(names(s, &chairs).await, ["Anna Schmidt"]);
}

#[tokio::test]
async fn columns_are_found_by_name_in_any_order_and_case() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let file = write_file(
        "\u{feff}Unit_Code; EMAIL ;Last_Name;First_Name;External_ID\r\n\
         HH-WA-RAH;dora@example.org;Jensen;Dora;R1\r\n"
            .as_bytes(),
    );

    let report = import_members(s, &file, &defaults()).await;

    assert!(report.written);
    assert_eq!(report.created, 1);
    let rahlstedt = members_of(s, "HH-WA-RAH", false).await;
    let dora = recipient(s, &rahlstedt, member_id(&db, "R1").await).await;
    assert_eq!(dora.name, "Dora Jensen");
    assert_eq!(dora.email.as_deref(), Some("dora@example.org"));
}
