//! `/admin/import`: an admin uploads a member export, reads the dry run (sync safety first,
//! then the bad rows) and confirms; nothing is written before the confirmation, and only the
//! admin who uploaded a file can confirm it.

mod support;

use axum::http::StatusCode;
use support::staff::admin;
use support::{org, Org};

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

    let report = browser
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
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
    let refused = browser
        .post("/admin/import/confirm", &[("upload", &token)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Es wurde nichts geschrieben"));
    assert_eq!(members(&org).await, before);

    browser.get("/admin/import").await;
    let done = browser
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("skip_invalid", "1")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Importiert."), "{}", done.body);
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
    let report = browser
        .post_multipart("/admin/import", &[], ("file", "export.csv", csv.as_bytes()))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(report.body.contains("über der Grenze"), "{}", report.body);
    assert!(report.body.contains("name=\"allow_large_change\""));
    let token = upload_token(&report.body);

    let refused = browser
        .post("/admin/import/confirm", &[("upload", &token)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains("über der Grenze der Abgleichsicherheit"));
    assert_eq!(members(&org).await, before);

    browser.get("/admin/import").await;
    let done = browser
        .post(
            "/admin/import/confirm",
            &[("upload", &token), ("allow_large_change", "1")],
        )
        .await;
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
    let report = erik
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", ONE_BAD_ROW.as_bytes()),
        )
        .await;
    let token = upload_token(&report.body);

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
    let not_csv = erik
        .post_multipart(
            "/admin/import",
            &[],
            ("file", "export.csv", b"name;city\nAnna;Hamburg\n"),
        )
        .await;
    assert_eq!(not_csv.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_csv.body.contains("external_id"), "{}", not_csv.body);
    assert_eq!(members(&org).await, before);
    assert_eq!(staged_files(&org), 1, "only Erik's first upload waits");
}
