//! `verteiler import` on the sample export: every faulty row named with its line, and nothing
//! written until the admin decides.

mod support;

use support::*;

#[tokio::test]
async fn the_sample_export_is_refused_with_every_bad_line_then_imported_with_skip_invalid() {
    let env = Env::new().await;
    let units = fixture("units-sample.csv");
    let members = fixture("members-export-sample.csv");
    let out = env.run(&["import", "units", units.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let out = env.run(&["import", "members", members.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(!out.status.success(), "bad rows refuse the import:\n{text}");
    for expected in [
        "line 122: external_id: duplicate external id M100007 (first on line 8)",
        "line 123: unit_code: unknown unit HH-XX-NIX",
        "line 124: email: invalid email address \"kaputt@@example.de\"",
        "line 245: email: invalid email address \"max.mustermann@\"",
        "line 246: phone: invalid phone number \"12345\"",
        "line 247: external_id: missing external id",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.contains("nothing was written"), "{text}");
    let counts = env.db.store.directory_counts().await.unwrap();
    assert_eq!(counts.members_active, 0, "a refused import writes nothing");

    let out = env.run(&[
        "import",
        "members",
        members.to_str().unwrap(),
        "--skip-invalid",
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        env.db
            .store
            .directory_counts()
            .await
            .unwrap()
            .members_active,
        241
    );

    let out = env.run(&[
        "import",
        "members",
        members.to_str().unwrap(),
        "--skip-invalid",
    ]);
    assert!(
        stdout(&out).contains("0 new, 0 changed, 241 unchanged, 6 bad"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn help_documents_the_member_columns() {
    let env = Env::new().await;
    let out = env.run(&["import", "members", "--help"]);
    let text = stdout(&out);
    for column in [
        "external_id",
        "unit_code",
        "phone",
        "roles",
        "function@unit_code",
        "--allow-large-change",
        "--dry-run",
    ] {
        assert!(
            text.contains(column),
            "{column} missing from --help:\n{text}"
        );
    }
}
