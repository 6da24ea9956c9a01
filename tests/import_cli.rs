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
    assert_eq!(
        out.status.code(),
        Some(3),
        "bad rows refuse the import:\n{text}"
    );
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
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert_eq!(
        last_line(&out),
        "members imported, but 6 of 247 rows were skipped as bad (listed above) and not written."
    );
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
async fn help_documents_every_column_the_importer_reads_the_encoding_and_the_exit_codes() {
    let env = Env::new().await;
    for (what, columns) in [
        (
            "members",
            verteiler_store::directory::import::MEMBER_COLUMNS,
        ),
        ("units", verteiler_store::directory::import::UNIT_COLUMNS),
    ] {
        let out = env.run(&["import", what, "--help"]);
        let text = stdout(&out);
        for expected in columns.iter().copied().chain([
            "--dry-run",
            "--skip-invalid",
            "--encoding",
            "windows-1252",
            "Exit codes:",
            "4  written, but bad rows were skipped",
        ]) {
            assert!(
                text.contains(expected),
                "{expected} missing from import {what} --help:\n{text}"
            );
        }
    }
    let text = stdout(&env.run(&["import", "members", "--help"]));
    for expected in [
        "function@unit_code",
        "--allow-large-change",
        "email, sms or post",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
}

/// The last non-empty line a command printed on standard output.
fn last_line(out: &std::process::Output) -> String {
    stdout(out)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn exit_codes_tell_written_refused_and_skipped_apart() {
    let env = Env::new().await;
    let units = fixture("units-sample.csv");
    let out = env.run(&["import", "units", units.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(last_line(&out), "units imported.");

    // Every row bad: with --skip-invalid nothing is refused, but the run must not look clean.
    let all_bad = env.path("all-bad.csv");
    std::fs::write(
        &all_bad,
        "external_id;first_name;last_name;unit_code\nX1;Anna;Arndt;HH-NOPE\nX2;Ben;Brandt;HH-NOPE\n",
    )
    .unwrap();
    let out = env.run(&[
        "import",
        "members",
        all_bad.to_str().unwrap(),
        "--skip-invalid",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert_eq!(
        last_line(&out),
        "members imported, but 2 of 2 rows were skipped as bad (listed above) and not written."
    );
    let out = env.run(&["import", "members", all_bad.to_str().unwrap(), "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a dry run exits as the import would"
    );

    // A missing file cannot be read at all; a wrong option is clap's usage error.
    let out = env.run(&[
        "import",
        "members",
        env.path("missing.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = env.run(&[
        "import",
        "members",
        all_bad.to_str().unwrap(),
        "--encoding",
        "ebcdic",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("use utf-8 or windows-1252"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.db
            .store
            .directory_counts()
            .await
            .unwrap()
            .members_active,
        0
    );
}

#[tokio::test]
async fn a_windows_1252_export_is_refused_with_one_message_until_its_encoding_is_named() {
    let env = Env::new().await;
    let units = fixture("units-sample.csv");
    let members = fixture("members-export-windows-1252.csv");
    env.run(&["import", "units", units.to_str().unwrap()]);

    let out = env.run(&[
        "import",
        "members",
        members.to_str().unwrap(),
        "--skip-invalid",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let message = stderr(&out);
    for part in [
        members.to_str().unwrap(),
        "line 2",
        "0xC7",
        "--encoding windows-1252",
    ] {
        assert!(message.contains(part), "{part:?} missing in:\n{message}");
    }
    assert!(
        !stdout(&out).contains("bad row"),
        "one message, not one per row"
    );
    assert_eq!(
        env.db
            .store
            .directory_counts()
            .await
            .unwrap()
            .members_active,
        0
    );

    for encoding in ["windows-1252", "cp1252", "latin1"] {
        let out = env.run(&[
            "import",
            "members",
            members.to_str().unwrap(),
            "--skip-invalid",
            "--encoding",
            encoding,
        ]);
        assert_eq!(out.status.code(), Some(4), "{encoding}: {}", stdout(&out));
        let expected = if encoding == "windows-1252" {
            "172 new, 0 changed, 0 unchanged, 6 bad"
        } else {
            "0 new, 0 changed, 172 unchanged, 6 bad"
        };
        assert!(
            stdout(&out).contains(expected),
            "{encoding}: {}",
            stdout(&out)
        );
    }
    assert_eq!(
        env.db
            .store
            .directory_counts()
            .await
            .unwrap()
            .members_active,
        172
    );
    let kaethe = verteiler_policies::EmailAddress::parse("kaethe.kowalski@example.org").unwrap();
    let id = env
        .db
        .store
        .member_id_by_email(&kaethe)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        env.db.store.member_label(id).await.unwrap(),
        "Käthe Kowalski <kaethe.kowalski@example.org>"
    );
}

/// Plain progress lines: one per tenth of each phase, each with its figures.
fn progress_lines(text: &str, prefix: &str) -> Vec<(u64, u64, u64)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| {
            let (done, rest) = rest.split_once(" of ")?;
            let (total, rest) = rest.split_once(' ')?;
            let percent = rest.split_once('(')?.1.split_once(" %)")?.0;
            let n = |s: &str| s.replace(',', "").parse::<u64>().ok();
            Some((n(done)?, n(total)?, n(percent)?))
        })
        .collect()
}

#[tokio::test]
async fn long_imports_print_progress_lines_on_stderr_when_it_is_not_a_terminal() {
    let env = Env::new().await;
    let dir = env.path("export");
    let out = env.run(&[
        "demo",
        "--members",
        "5000",
        "--write-csv",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["import", "units", dir.join("units.csv").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = env.run(&[
        "import",
        "members",
        dir.join("members.csv").to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        !err.contains('\r') && !err.contains('\u{1b}'),
        "no terminal codes:\n{err:?}"
    );
    assert!(
        !stdout(&out).contains("checking"),
        "progress stays off stdout"
    );
    for phase in ["checking", "writing"] {
        let lines = progress_lines(&err, &format!("import members: {phase} "));
        let percents: Vec<u64> = lines.iter().map(|l| l.2).collect();
        for tenth in (10..=100).step_by(10) {
            assert!(
                percents.contains(&tenth),
                "{phase} {tenth} % missing:\n{err}"
            );
        }
        assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{phase}:\n{err}");
        let last = lines.last().unwrap();
        assert_eq!((last.0, last.1, last.2), (5000, 5000, 100), "{err}");
        assert!(
            lines.iter().all(|l| l.1 == 5000 && l.0 * 100 / 5000 == l.2),
            "{err}"
        );
    }
    // Again: now the stored members are read first, and every row is unchanged.
    let out = env.run(&[
        "import",
        "members",
        dir.join("members.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 new, 0 changed, 5000 unchanged, 0 bad"));
    let err = stderr(&out);
    assert!(
        err.contains("import members: reading 5,000 of 5,000 stored members (100 %)"),
        "{err}"
    );
}

#[tokio::test]
async fn demo_creation_and_resolving_a_list_show_progress_too() {
    let env = Env::new().await;
    let out = env.run(&["demo", "--members", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let rows = progress_lines(&err, "demo: writing ");
    assert!(rows.iter().any(|l| l == &(1000, 1000, 100)), "{err}");
    assert!(stdout(&out).contains("Demo logins"));

    let out = env.run(&["audience", "resolve", "alle-mitglieder"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let lines = progress_lines(&err, "audience resolve: resolving ");
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress:\n{err}"));
    assert_eq!((last.0, last.2), (last.1, 100));
    assert!(
        stdout(&out).contains(&format!(": {} recipients (", last.0)),
        "{}",
        stdout(&out)
    );
}
