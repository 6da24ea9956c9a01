//! What exports look like when they really come: Windows-1252 from German Excel, blank lines,
//! CRLF and lone CR line ends, line breaks inside quoted fields; and the progress an import
//! reports on the way. Runs on SQLite, or PostgreSQL when `VERTEILER_TEST_POSTGRES_URL` is set.
//!
//! `tests/fixtures/members-export-windows-1252.csv` is the member sample's rows that
//! Windows-1252 can hold (its header, 172 good rows and the six faulty ones, at lines 83, 84,
//! 85, 176, 177 and 178), converted with `iconv -f UTF-8 -t WINDOWS-1252`, without a
//! byte-order mark and without a line end after the last row, as Excel saves it.

use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use verteiler_store::directory::import::{Encoding, ImportError, ImportOptions, Refusal};
use verteiler_store::progress::{phase, Progress, Step};
use verteiler_store::testing::TestDatabase;
use verteiler_store::Store;

const HEADER: &str =
    "external_id;first_name;last_name;unit_code;email;phone;street;postcode;city;roles";
const WINDOWS_1252: &str = "members-export-windows-1252.csv";
const WINDOWS_1252_BAD_LINES: [u64; 6] = [83, 84, 85, 176, 177, 178];
const WINDOWS_1252_GOOD_ROWS: u64 = 172;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct TempCsv {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn write_file(bytes: &[u8]) -> TempCsv {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    std::fs::write(&path, bytes).unwrap();
    TempCsv { _dir: dir, path }
}

fn windows_1252() -> ImportOptions {
    ImportOptions {
        encoding: Encoding::Windows1252,
        skip_invalid: true,
        ..ImportOptions::default()
    }
}

fn skipping_invalid() -> ImportOptions {
    ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    }
}

async fn import_sample_units(store: &Store) {
    let report = store
        .import_units(&fixture("units-sample.csv"), &ImportOptions::default())
        .await
        .unwrap();
    assert!(report.written);
}

/// (first name, last name) of the member with this external id, straight from the table.
async fn name_of(db: &TestDatabase, external_id: &str) -> (String, String) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row = sqlx::query_as("SELECT first_name, last_name FROM members WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    row
}

/// (one-line value, street, city) of the member's postal address.
async fn postal_of(db: &TestDatabase, external_id: &str) -> (String, String, String) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row = sqlx::query_as(
        "SELECT c.value, c.street, c.city FROM contact_points c JOIN members m ON m.id = c.member_id \
         WHERE m.external_id = $1 AND c.kind = 'postal'",
    )
    .bind(external_id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    row
}

#[tokio::test]
async fn a_windows_1252_export_is_refused_as_a_whole_naming_the_first_byte_that_is_not_utf8() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let path = fixture(WINDOWS_1252);

    let err = s
        .import_members(&path, &skipping_invalid())
        .await
        .expect_err("not UTF-8");

    // Line 2 is the first member, Ole Thorben Çelik: 0xC7 is "Ç" in Windows-1252.
    match &err {
        ImportError::NotUtf8 {
            line, offset, byte, ..
        } => assert_eq!((*line, *offset, *byte), (2, 103, 0xC7)),
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    for part in [
        path.display().to_string().as_str(),
        "line 2",
        "0xC7",
        "--encoding windows-1252",
        "Nothing was written",
    ] {
        assert!(message.contains(part), "{part:?} missing in {message}");
    }
    assert_eq!(s.directory_counts().await.unwrap().members_active, 0);
    // The unit import reads its file the same way.
    let units = write_file(b"code;name;kind;parent_code\r\nHH-NEU;Gr\xFCnau;branch;HH\r\n");
    match s.import_units(&units.path, &ImportOptions::default()).await {
        Err(ImportError::NotUtf8 {
            line: 2,
            byte: 0xFC,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_windows_1252_export_read_as_such_gives_what_the_utf8_export_gives() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let utf8 = s
        .import_members(&fixture("members-export-sample.csv"), &skipping_invalid())
        .await
        .unwrap();
    assert!(utf8.written);

    let report = s
        .import_members(&fixture(WINDOWS_1252), &windows_1252())
        .await
        .unwrap();

    // Every row it shares with the UTF-8 export has the same fingerprint: every name,
    // address and role came out the same, umlauts included.
    assert_eq!(
        (
            report.rows,
            report.created,
            report.updated,
            report.unchanged
        ),
        (178, 0, 0, WINDOWS_1252_GOOD_ROWS)
    );
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, WINDOWS_1252_BAD_LINES);
    assert!(report.errors[2].reason.contains("\"kaputt@@example.de\""));

    // Into an empty directory, the names are stored as written.
    let fresh = TestDatabase::new().await;
    import_sample_units(&fresh.store).await;
    let report = fresh
        .store
        .import_members(&fixture(WINDOWS_1252), &windows_1252())
        .await
        .unwrap();
    assert_eq!(report.created, WINDOWS_1252_GOOD_ROWS);
    assert_eq!(
        name_of(&fresh, "M100001").await,
        ("Ole Thorben".into(), "Çelik".into())
    );
    assert_eq!(
        name_of(&fresh, "M100011").await,
        ("Björn".into(), "Meißner".into())
    );
    assert_eq!(
        name_of(&fresh, "M900005").await,
        ("Semi;kolon".into(), "Im \"Namen\"".into())
    );
}

#[tokio::test]
async fn a_utf8_export_is_not_read_as_windows_1252() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let err = s
        .import_members(&fixture("members-export-sample.csv"), &windows_1252())
        .await
        .expect_err("UTF-8 read as Windows-1252 would garble every umlaut");
    assert!(matches!(err, ImportError::IsUtf8 { .. }), "{err:?}");
    assert!(err.to_string().contains("--encoding utf-8"), "{err}");
    assert_eq!(s.directory_counts().await.unwrap().members_active, 0);
}

/// Lines as an editor numbers them: blank lines, CRLF, LF and lone CR line ends, and a quoted
/// street over two lines (5 and 6). Bad rows are on lines 4, 9, 12 and 13.
const AWKWARD: &str =
    "external_id;first_name;last_name;unit_code;email;phone;street;postcode;city;roles\r\n\
    A1;Anna;Arndt;HH-WA-OLD;;;;;;\r\n\
    \r\n\
    A2;Bernd;Brück;HH-NIRGENDS;;;;;;\r\n\
    A3;Clara;Cordes;HH-WA-OLD;;;\"Am Markt\r\n5\";22041;Hamburg;\r\n\
    \r\n\
    \r\n\
    A4;Dörte;Dahl;HH-WA-OLD;dörte@@example.org;;;;;\n\
    \n\
    \n\
    A5;Emil;Eggers;HH-WA-OLD;;12345;;;;\r\
    A6;Frida;Fink;HH-NIRGENDS;;;;;;";

#[tokio::test]
async fn every_bad_row_is_named_with_the_line_an_editor_shows_in_either_encoding() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let (latin, _, unmappable) = encoding_rs::WINDOWS_1252.encode(AWKWARD);
    assert!(!unmappable);
    for (bytes, encoding) in [
        (AWKWARD.as_bytes(), Encoding::Utf8),
        (&latin[..], Encoding::Windows1252),
    ] {
        let file = write_file(bytes);
        let options = ImportOptions {
            encoding,
            dry_run: true,
            ..ImportOptions::default()
        };
        let report = s.import_members(&file.path, &options).await.unwrap();
        let places: Vec<(u64, Option<&str>)> =
            report.errors.iter().map(|e| (e.line, e.field)).collect();
        assert_eq!(
            places,
            [
                (4, Some("unit_code")),
                (9, Some("email")),
                (12, Some("phone")),
                (13, Some("unit_code")),
            ],
            "{encoding}"
        );
        assert_eq!((report.rows, report.created), (6, 2), "{encoding}");
        assert_eq!(report.refusal, Some(Refusal::InvalidRows));
    }
}

#[tokio::test]
async fn line_breaks_and_tabs_inside_fields_become_single_spaces_in_every_stored_value() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import_sample_units(s).await;
    let file = write_file(
        format!(
            "{HEADER}\r\n\
             B1;\"Anna\tLena\";\"von\r\nArndt\";HH-WA-OLD;;;\"Am Markt\r\n5\r\n\";\"22041\";\"Ham\nburg\";\r\n\
             B2;Ben;Brandt;HH-WA-OLD;;;\"Hof\t\tHaus  B\";22041;Hamburg;\r\n"
        )
        .as_bytes(),
    );

    let report = s
        .import_members(&file.path, &skipping_invalid())
        .await
        .unwrap();

    assert!(report.written && report.errors.is_empty(), "{report:?}");
    assert_eq!(
        name_of(&db, "B1").await,
        ("Anna Lena".into(), "von Arndt".into())
    );
    assert_eq!(
        postal_of(&db, "B1").await,
        (
            "Am Markt 5, 22041 Ham burg".into(),
            "Am Markt 5".into(),
            "Ham burg".into()
        )
    );
    // Within a line that had a tab, every run of blanks is one space.
    assert_eq!(postal_of(&db, "B2").await.1, "Hof Haus B");
    // Read again, the same file changes nothing: the cleaned values are what it stands for.
    let again = s
        .import_members(&file.path, &skipping_invalid())
        .await
        .unwrap();
    assert_eq!((again.unchanged, again.updated), (2, 0));
}

fn recording() -> (Progress, Arc<Mutex<Vec<Step>>>) {
    let steps = Arc::new(Mutex::new(Vec::new()));
    let sink = steps.clone();
    (
        Progress::new(move |step| sink.lock().unwrap().push(step)),
        steps,
    )
}

#[tokio::test]
async fn an_import_reports_each_phase_from_nothing_to_every_row() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (progress, steps) = recording();
    let options = ImportOptions {
        progress: progress.clone(),
        ..ImportOptions::default()
    };
    s.import_units(&fixture("units-sample.csv"), &options)
        .await
        .unwrap();
    let units: Vec<Step> = std::mem::take(&mut *steps.lock().unwrap());
    assert_eq!(
        units.first().map(|s| (s.phase, s.done)),
        Some((phase::CHECK_ROWS, 0))
    );
    assert_eq!(
        units.first().unwrap().total,
        Some(10),
        "counted before reading"
    );
    assert_eq!(
        units.last().map(|s| (s.phase, s.done, s.total)),
        Some((phase::CHECK_ROWS, 10, Some(10)))
    );

    let options = ImportOptions {
        skip_invalid: true,
        ..options
    };
    s.import_members(&fixture("members-export-sample.csv"), &options)
        .await
        .unwrap();
    let steps = steps.lock().unwrap();
    let phases: Vec<&str> = steps.iter().map(|s| s.phase).fold(Vec::new(), |mut v, p| {
        if v.last() != Some(&p) {
            v.push(p);
        }
        v
    });
    assert_eq!(
        phases,
        [phase::LOAD_MEMBERS, phase::CHECK_ROWS, phase::WRITE_ROWS]
    );
    for phase in [phase::CHECK_ROWS, phase::WRITE_ROWS] {
        let of_phase: Vec<&Step> = steps.iter().filter(|s| s.phase == phase).collect();
        assert!(of_phase.len() > 10, "{phase}: {}", of_phase.len());
        assert!(
            of_phase.windows(2).all(|w| w[0].done <= w[1].done),
            "{phase} never goes back"
        );
        assert!(of_phase.iter().all(|s| s.total == Some(247)), "{phase}");
        assert_eq!(of_phase.last().unwrap().percent(), Some(100), "{phase}");
    }
}
