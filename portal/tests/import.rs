//! `/admin/import`: an admin uploads a member or unit export, reads the dry run (sync safety
//! first, then the bad rows) and confirms; nothing is written before the confirmation, and
//! only the admin who uploaded a file can confirm it or see its run. Both runs go in the
//! background: the browser is sent to the job's page, which reloads itself until the report
//! is there.

mod support;

use axum::http::StatusCode;
use support::staff::admin;
use support::{org, Browser, Org, Page};

/// Clara joins the other branch; Dirk's row names a unit that does not exist (line 3).
const ONE_BAD_ROW: &str = "\u{feff}external_id;first_name;last_name;unit_code;email\r\n\
    200001;Clara;Claussen;HH-VOL;clara@example.org\r\n\
    200002;Dirk;Dahl;HH-NOPE;dirk@example.org\r\n";

async fn members(org: &Org) -> u64 {
    org.store().directory_counts().await.unwrap().members_active
}

/// The upload token of a dry-run report's confirmation form.
fn upload_token(page: &str) -> String {
    let marker = "name=\"upload\" value=\"";
    let at = page.find(marker).expect("a confirmation form") + marker.len();
    page[at..at + 64].to_string()
}

/// Follows a started run to its end: the answer sends the browser to the job's page, which
/// reloads itself (and shows nothing else but how far the run is) until the report is there.
async fn finished(browser: &mut Browser, started: Page) -> Page {
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let job = started.location().expect("the job's page").to_string();
    assert!(job.starts_with("/admin/import/jobs/"), "{job}");
    until_done(browser, &job).await
}

/// Reloads a job's page, as the browser does, until it shows the result.
async fn until_done(browser: &mut Browser, job: &str) -> Page {
    for _ in 0..2_000 {
        let page = browser.get(job).await;
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page;
        }
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("role=\"status\""), "{}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the import of {job} did not finish");
}

fn staged_files(org: &Org) -> usize {
    std::fs::read_dir(org.uploads.path().join("imports")).map_or(0, |d| d.count())
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_bad_rows_are_named_with_their_line() {
    let org = org().await;
    let erik = admin(&org).await;
    let before = members(&org).await;
    let mut browser = org.signed_in("erik@example.org").await;
    let form = browser.get("/admin/import").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("enctype=\"multipart/form-data\""));

    let started = browser
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
    let report = finished(&mut browser, started).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let body = &report.body;
    // The sync-safety summary comes before the rows.
    let safety = body.find("Abgleichsicherheit").expect("safety summary");
    let rows = body.find("2 Zeilen gelesen: 1 neu").expect("row counts");
    assert!(safety < rows, "{body}");
    assert!(body.contains("Probelauf"), "{body}");
    assert!(body.contains("<td data-label=\"Zeile\">3</td>"), "{body}");
    assert!(body.contains("HH-NOPE"), "{body}");
    assert_eq!(members(&org).await, before, "a dry run writes nothing");
    assert_eq!(staged_files(&org), 1);

    // Confirming without saying what to do with the bad row writes nothing either.
    let token = upload_token(body);
    let started = browser
        .post("/admin/import/confirm", &[("upload", &token)])
        .await;
    let refused = finished(&mut browser, started).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Es wurde nichts geschrieben"));
    assert_eq!(members(&org).await, before);

    browser.get("/admin/import").await;
    let started = browser
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    let done = finished(&mut browser, started).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Importiert."), "{}", done.body);
    assert!(
        done.body
            .contains("1 fehlerhafte Zeile(n) wurden übersprungen"),
        "{}",
        done.body
    );
    assert_eq!(members(&org).await, before + 1, "Clara, not Dirk");
    assert_eq!(staged_files(&org), 0, "an imported upload is removed");

    let audit = browser
        .get(&format!("/admin/audit?person=portal:member:{erik}"))
        .await;
    assert!(audit.body.contains("import.members"), "{}", audit.body);

    // The same upload cannot be imported twice.
    browser.get("/admin/import").await;
    let again = browser
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_change_above_the_limit_needs_the_admins_word() {
    let org = org().await;
    admin(&org).await;
    let before = members(&org).await;
    // Seven new members in a branch of none: more than the five any unit may always see.
    let mut csv = String::from("external_id,first_name,last_name,unit_code\n");
    for i in 0..7 {
        csv.push_str(&format!("30000{i},Neu,Mitglied{i},HH-VOL\n"));
    }
    let mut browser = org.signed_in("erik@example.org").await;
    browser.get("/admin/import").await;
    let started = browser
        .post_multipart("/admin/import", &[], ("file", "export.csv", csv.as_bytes()))
        .await;
    let report = finished(&mut browser, started).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(report.body.contains("über der Grenze"), "{}", report.body);
    assert!(report.body.contains("name=\"allow_large_change\""));
    let token = upload_token(&report.body);

    let started = browser
        .post("/admin/import/confirm", &[("upload", &token)])
        .await;
    let refused = finished(&mut browser, started).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains("über der Grenze der Abgleichsicherheit"));
    assert_eq!(members(&org).await, before);

    browser.get("/admin/import").await;
    let started = browser
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("allow_large_change", "1")],
        )
        .await;
    let done = finished(&mut browser, started).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(members(&org).await, before + 7);
}

#[tokio::test]
async fn only_the_admin_who_uploaded_a_file_imports_it_and_only_with_the_token() {
    let org = org().await;
    admin(&org).await;
    let before = members(&org).await;
    let mut erik = org.signed_in("erik@example.org").await;
    erik.get("/admin/import").await;
    let started = erik
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
    let job = started.location().unwrap().to_string();
    let report = finished(&mut erik, started).await;
    let token = upload_token(&report.body);
    assert!(job.ends_with(&token), "{job}");

    // A member without the admin office gets the page for nothing there, upload or not.
    let mut anna = org.signed_in("anna@example.org").await;
    assert_eq!(
        anna.get("/admin/import").await.status,
        StatusCode::NOT_FOUND
    );
    anna.get("/me").await;
    let upload = anna
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
    assert_eq!(upload.status, StatusCode::NOT_FOUND);
    let confirm = anna
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::NOT_FOUND);
    assert_eq!(anna.get(&job).await.status, StatusCode::NOT_FOUND);

    // A second admin cannot confirm Erik's upload: the file is found by uploader and token.
    org.store()
        .grant_role(verteiler_store::NewRole {
            member_id: org.ben,
            unit_id: org.branch,
            function: verteiler_policies::RoleFunction::Admin,
            covers_subtree: true,
        })
        .await
        .unwrap();
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/admin/import").await;
    let other = ben
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let seen = ben.get(&job).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND, "only Erik sees his run");
    assert!(!seen.body.contains("HH-NOPE"));

    // An upload without the session's token is refused before the file is read.
    let forged = erik
        .post_multipart_raw(
            "/admin/import",
            &[("csrf", "forged")],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let empty = erik
        .post_multipart("/admin/import", &[], ("file", "export.csv", b""))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let started = erik
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", b"name;city\nAnna;Hamburg\n"),
        )
        .await;
    let not_csv = finished(&mut erik, started).await;
    assert_eq!(not_csv.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_csv.body.contains("external_id"), "{}", not_csv.body);
    assert_eq!(members(&org).await, before);
    assert_eq!(staged_files(&org), 1, "only Erik's first upload waits");
}

#[tokio::test]
async fn a_run_waits_its_turn_on_a_page_that_reloads_itself_and_only_its_admin_sees_it() {
    let org = org().await;
    admin(&org).await;
    let before = members(&org).await;
    let mut erik = org.signed_in("erik@example.org").await;
    erik.get("/admin/import").await;
    // Another import holds the turn (here: the test).
    let turn = org.imports.hold().await;
    let started = erik
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let job = started.location().unwrap().to_string();

    let waiting = erik.get(&job).await;
    assert_eq!(waiting.status, StatusCode::OK);
    let body = &waiting.body;
    assert!(
        body.contains("<meta http-equiv=\"refresh\" content=\"2\">"),
        "{body}"
    );
    assert!(body.contains("Die Datei wird geprüft"), "{body}");
    assert!(
        body.contains("wartet, bis ein anderer Import fertig ist"),
        "{body}"
    );
    assert!(!body.contains("<script"), "no script: {body}");
    assert!(!body.contains("HH-NOPE"), "no report yet");
    // The page is the admin's own: a second admin gets nothing, not even that it runs.
    org.store()
        .grant_role(verteiler_store::NewRole {
            member_id: org.ben,
            unit_id: org.branch,
            function: verteiler_policies::RoleFunction::Admin,
            covers_subtree: true,
        })
        .await
        .unwrap();
    let mut ben = org.signed_in("ben@example.org").await;
    assert_eq!(ben.get(&job).await.status, StatusCode::NOT_FOUND);

    drop(turn);
    let report = until_done(&mut erik, &job).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        report.body.contains("<td data-label=\"Zeile\">3</td>"),
        "{}",
        report.body
    );
    assert!(!report.body.contains("http-equiv=\"refresh\""));
    assert_eq!(members(&org).await, before, "a dry run writes nothing");

    // Confirmed, the import itself waits its turn the same way, then writes.
    let token = upload_token(&report.body);
    let turn = org.imports.hold().await;
    let started = erik
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    assert_eq!(started.location(), Some(job.as_str()));
    let waiting = erik.get(&job).await;
    assert!(
        waiting.body.contains("Der Import läuft."),
        "{}",
        waiting.body
    );
    assert_eq!(members(&org).await, before, "nothing before its turn");
    // A second click while it waits starts nothing more.
    let again = erik
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    assert_eq!(again.location(), Some(job.as_str()));
    drop(turn);
    let done = finished(&mut erik, again).await;
    assert!(done.body.contains("Importiert."), "{}", done.body);
    assert_eq!(members(&org).await, before + 1);
}

#[tokio::test]
async fn a_units_export_is_checked_and_imported_through_the_same_pages() {
    let org = org().await;
    admin(&org).await;
    let units = "code;name;kind;parent_code\r\n\
        HH-NEU;Neugraben;branch;\r\n\
        HH-NEU-AG;AG Neugraben;working-group;HH-NEU\r\n\
        HH-KAPUTT;Kaputt;planet;\r\n";
    let mut erik = org.signed_in("erik@example.org").await;
    let form = erik.get("/admin/import").await;
    assert!(
        form.body.contains("<option value=\"units\">"),
        "{}",
        form.body
    );
    let started = erik
        .post_multipart(
            "/admin/import",
            &[("kind", "units")],
            ("file", "units.csv", units.as_bytes()),
        )
        .await;
    let report = finished(&mut erik, started).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let body = &report.body;
    assert!(body.contains("3 Zeilen gelesen: 2 neu"), "{body}");
    assert!(body.contains("<td data-label=\"Zeile\">4</td>"), "{body}");
    assert!(body.contains("planet"), "{body}");
    assert!(
        !body.contains("Abgleichsicherheit"),
        "no member summary: {body}"
    );
    assert!(body.contains("name=\"kind\" value=\"units\""), "{body}");
    let codes = |org: &Org| {
        let store = org.store().clone();
        async move {
            store
                .list_units()
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.code)
                .collect::<Vec<_>>()
        }
    };
    assert!(!codes(&org).await.contains(&"HH-NEU".to_string()));

    let token = upload_token(body);
    let started = erik
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("kind", "units"), ("skip_invalid", "1")],
        )
        .await;
    let done = finished(&mut erik, started).await;
    assert!(done.body.contains("Importiert."), "{}", done.body);
    let now = codes(&org).await;
    assert!(now.contains(&"HH-NEU".to_string()) && now.contains(&"HH-NEU-AG".to_string()));
    assert!(!now.contains(&"HH-KAPUTT".to_string()));
}

#[tokio::test]
async fn a_windows_1252_upload_is_refused_naming_line_and_byte_until_its_encoding_is_chosen() {
    let org = org().await;
    admin(&org).await;
    let before = members(&org).await;
    // "Jürgen Böhm" as German Excel saves it.
    let export = b"external_id;first_name;last_name;unit_code;email\r\n\
        200001;J\xFCrgen;B\xF6hm;HH-VOL;juergen@example.org\r\n";
    let mut erik = org.signed_in("erik@example.org").await;
    erik.get("/admin/import").await;
    let started = erik
        .post_multipart("/admin/import", &[], ("file", "export.csv", export))
        .await;
    let refused = finished(&mut erik, started).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &refused.body;
    assert!(
        body.contains("nicht in UTF-8 gespeichert: Zeile 2"),
        "{body}"
    );
    assert!(body.contains("0xFC"), "{body}");
    assert!(
        body.contains("<option value=\"windows-1252\" selected>"),
        "the form offers the encoding it found: {body}"
    );
    assert_eq!(
        staged_files(&org),
        0,
        "a file that cannot be read is not kept"
    );

    erik.get("/admin/import").await;
    let started = erik
        .post_multipart(
            "/admin/import",
            &[("encoding", "windows-1252")],
            ("file", "export.csv", export),
        )
        .await;
    let report = finished(&mut erik, started).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(report
        .body
        .contains("name=\"encoding\" value=\"windows-1252\""));
    let token = upload_token(&report.body);
    let started = erik
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("encoding", "windows-1252")],
        )
        .await;
    let done = finished(&mut erik, started).await;
    assert!(done.body.contains("Importiert."), "{}", done.body);
    assert_eq!(members(&org).await, before + 1);
    let email = verteiler_policies::EmailAddress::parse("juergen@example.org").unwrap();
    let id = org
        .store()
        .member_id_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        org.store().member_label(id).await.unwrap(),
        "Jürgen Böhm <juergen@example.org>"
    );
}
