//! `/api/v1/directory`: the membership database pushes its exports through the same importer
//! as the CLI (same checks, same sync safety) and reads back what members changed themselves.

mod support;

use axum::http::{Method, StatusCode};
use std::path::PathBuf;
use support::api::{self, Answer};
use support::staff::admin;
use support::{link_in, wait_for_mail, Org, BASE};
use verteiler_store::directory::import::ImportOptions;
use verteiler_store::{ApiScopes, NewApiToken};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../store/tests/fixtures")
        .join(name)
}

async fn put(org: &Org, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Answer {
    api::send(
        org,
        Method::PUT,
        path,
        Some(token),
        Some(content_type),
        body,
        &[],
    )
    .await
}

async fn put_csv(org: &Org, path: &str, token: &str, csv: &str) -> Answer {
    put(org, path, token, "text/csv", csv.as_bytes().to_vec()).await
}

/// The units fixture as `{"rows": [...]}`.
fn units_as_json() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("units-sample.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let rows: Vec<serde_json::Value> = lines
        .map(|line| {
            let row: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(line.split(';'))
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
                .collect();
            serde_json::Value::Object(row)
        })
        .collect();
    serde_json::json!({ "rows": rows })
}

/// What the store lists of the directory: every unit, the counts, every unit's office holders.
async fn directory(org: &Org) -> (Vec<String>, verteiler_store::DirectoryCounts, Vec<String>) {
    let store = org.store();
    let all = store.list_units().await.unwrap();
    let code_of = |id: Option<i64>| {
        id.and_then(|id| all.iter().find(|u| u.id == id))
            .map_or(String::new(), |u| u.code.clone())
    };
    let mut units = Vec::new();
    let mut roles = Vec::new();
    for u in &all {
        units.push(format!(
            "{} {} {} {} {}",
            u.code,
            u.name,
            u.kind.as_str(),
            code_of(u.parent_id),
            u.active
        ));
        for holder in store.roles_at(u.id).await.unwrap() {
            roles.push(format!(
                "{} {} {} {:?} {}",
                u.code,
                holder.name,
                holder.function.as_str(),
                holder.email,
                holder.source
            ));
        }
    }
    roles.sort();
    (units, store.directory_counts().await.unwrap(), roles)
}

fn staged_files(org: &Org) -> usize {
    std::fs::read_dir(org.uploads.path().join("imports")).map_or(0, |d| d.count())
}

/// The sample export (with its six bad rows skipped), imported as the CLI does.
async fn import_sample(org: &Org) {
    let options = ImportOptions {
        skip_invalid: true,
        allow_large_change: true,
        ..org.imports.options.clone()
    };
    let store = org.store();
    let units = store
        .import_units(&fixture("units-sample.csv"), &options)
        .await
        .unwrap();
    assert!(units.written, "{units:?}");
    let members = store
        .import_members(&fixture("members-export-sample.csv"), &options)
        .await
        .unwrap();
    assert!(members.written, "{members:?}");
}

#[tokio::test]
async fn a_put_of_the_sample_export_gives_the_same_directory_as_the_csv_import() {
    let by_api = support::org().await;
    let erik = admin(&by_api).await;
    // Admitting members to units that had none is above the limit: an admin decides it.
    let token = api::token(&by_api, erik, "directory:sync admin").await;
    let units = api::put_json(&by_api, "/api/v1/directory/units", &token, units_as_json()).await;
    assert_eq!(units.status, StatusCode::OK, "{}", units.text);
    assert_eq!(units.json["written"], true);
    assert_eq!(units.json["created"], 10);
    let export = std::fs::read(fixture("members-export-sample.csv")).unwrap();
    let members = put(
        &by_api,
        "/api/v1/directory/members?skip_invalid=true&allow_large_change=true",
        &token,
        "text/csv; charset=utf-8",
        export,
    )
    .await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.text);
    assert_eq!(members.json["written"], true);
    assert_eq!(members.json["bad_rows"], 6);
    assert_eq!(members.json["created"], 241);
    assert_eq!(members.json["errors"][0]["line"], 122, "{}", members.text);
    assert_eq!(staged_files(&by_api), 0, "the staged body is removed");

    let by_cli = support::org().await;
    admin(&by_cli).await;
    import_sample(&by_cli).await;
    let (api_units, api_counts, api_roles) = directory(&by_api).await;
    let (cli_units, cli_counts, cli_roles) = directory(&by_cli).await;
    assert_eq!(api_units, cli_units);
    assert_eq!(api_counts, cli_counts);
    assert_eq!(api_counts.members_active, 241 + 3);
    assert_eq!(api_roles, cli_roles);
    assert!(!api_roles.is_empty());
    // Every member as the export has them: the same file again changes nobody.
    let again = by_api
        .store()
        .import_members(
            &fixture("members-export-sample.csv"),
            &ImportOptions {
                dry_run: true,
                skip_invalid: true,
                ..by_api.imports.options.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 241));
}

/// The sample export without 14 of the 45 (valid) members of HH-WA-OLD: 31 %.
fn export_without_part_of_oldenfelde() -> String {
    let bytes = std::fs::read(fixture("members-export-sample.csv")).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut dropped = 0;
    text.split_inclusive('\n')
        .filter(|line| {
            let drop = dropped < 14 && line.split(';').nth(3) == Some("HH-WA-OLD");
            dropped += usize::from(drop);
            !drop
        })
        .collect()
}

#[tokio::test]
async fn a_full_sync_removing_30_percent_of_a_unit_is_refused_with_the_summary_per_unit() {
    let org = support::org().await;
    let erik = admin(&org).await;
    import_sample(&org).await;
    let before = directory(&org).await;
    let token = api::token(&org, erik, "directory:sync").await;
    let export = export_without_part_of_oldenfelde();

    let refused = put_csv(
        &org,
        "/api/v1/directory/members?mode=full&skip_invalid=true",
        &token,
        &export,
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.problem_code(), "directory_large_change");
    let changes = refused.json["extra"]["changes"].as_array().unwrap();
    let oldenfelde = changes
        .iter()
        .find(|c| c["unit_code"] == "HH-WA-OLD")
        .expect("the unit's summary");
    assert_eq!(oldenfelde["members_before"], 45);
    assert_eq!(oldenfelde["removed"], 14);
    assert_eq!(oldenfelde["too_large"], true);
    assert!(changes
        .iter()
        .filter(|c| c["unit_code"] != "HH-WA-OLD")
        .all(|c| c["too_large"] == false));
    assert_eq!(directory(&org).await, before, "nothing changed");

    // The dry run shows the same plan, as a report, and writes nothing either.
    let plan = put_csv(
        &org,
        "/api/v1/directory/members?mode=full&skip_invalid=true&dry_run=true",
        &token,
        &export,
    )
    .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    assert_eq!(plan.json["written"], false);
    assert_eq!(plan.json["dry_run"], true);
    assert_eq!(plan.json["refusal"], "large_change");
    assert_eq!(plan.json["marked_left"], 14 + 3);
    assert_eq!(directory(&org).await, before);

    // A sync token cannot wave it through; only a token with admin can.
    let waved = put_csv(
        &org,
        "/api/v1/directory/members?mode=full&skip_invalid=true&allow_large_change=true",
        &token,
        &export,
    )
    .await;
    assert_eq!(waved.status, StatusCode::FORBIDDEN);
    assert_eq!(waved.problem_code(), "directory_large_change_admin_only");
    assert_eq!(directory(&org).await, before);
    assert_eq!(staged_files(&org), 0);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_the_plan() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let token = api::token(&org, erik, "directory:sync").await;
    let before = directory(&org).await;
    let body = serde_json::json!({ "rows": [
        { "external_id": "200001", "first_name": "Clara", "last_name": "Claussen",
          "unit_code": "HH-VOL", "email": "clara@example.org" },
    ]});
    let plan = api::put_json(
        &org,
        "/api/v1/directory/members?dry_run=true",
        &token,
        body.clone(),
    )
    .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    assert_eq!(plan.json["created"], 1);
    assert_eq!(plan.json["written"], false);
    assert_eq!(directory(&org).await, before);

    let done = api::put_json(&org, "/api/v1/directory/members", &token, body).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["written"], true);
    assert_eq!(
        org.store().directory_counts().await.unwrap().members_active,
        before.1.members_active + 1
    );
}

#[tokio::test]
async fn bad_rows_are_refused_with_their_line_and_field() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let token = api::token(&org, erik, "directory:sync").await;
    let csv = "external_id;first_name;last_name;unit_code;email\r\n\
               200001;Clara;Claussen;HH-VOL;clara@example.org\r\n\
               200002;Dirk;Dahl;HH-NOPE;dirk@example.org\r\n";
    let refused = put_csv(&org, "/api/v1/directory/members", &token, csv).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.problem_code(), "directory_invalid_rows");
    let errors = &refused.json["extra"]["errors"];
    assert_eq!(errors[0]["line"], 3);
    assert_eq!(errors[0]["field"], "unit_code");
    assert!(errors[0]["reason"].as_str().unwrap().contains("HH-NOPE"));
    assert_eq!(errors.as_array().unwrap().len(), 1);
    let members = org.store().directory_counts().await.unwrap().members_active;
    assert_eq!(members, 3, "nothing written, not even Clara");

    // As JSON rows, each error also names its row.
    let json = serde_json::json!({ "rows": [
        { "external_id": "200001", "first_name": "Clara", "last_name": "Claussen", "unit_code": "HH-VOL" },
        { "external_id": "", "first_name": "Dirk", "last_name": "Dahl", "unit_code": "HH-VOL" },
    ]});
    let refused = api::put_json(&org, "/api/v1/directory/members", &token, json).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.json["extra"]["errors"][0]["row"], 1);
    assert_eq!(refused.json["extra"]["errors"][0]["field"], "external_id");

    // A file that is no export at all.
    let unreadable = put_csv(&org, "/api/v1/directory/members", &token, "name\r\nx\r\n").await;
    assert_eq!(unreadable.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unreadable.problem_code(), "directory_unreadable");
    assert!(!unreadable.text.contains("api-"), "{}", unreadable.text);
    let other = put(
        &org,
        "/api/v1/directory/members",
        &token,
        "application/xml",
        b"<x/>".to_vec(),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn only_a_current_admins_sync_token_gets_in() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let csv = "code;name;kind;parent_code\r\nHH-NEU;Neustadt;branch;\r\n";

    let reader = api::token(&org, erik, "sends:read").await;
    let wrong = put_csv(&org, "/api/v1/directory/units", &reader, csv).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.problem_code(), "scope_missing");
    let wrong = api::get(&org, "/api/v1/directory/changes", &reader).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    let token = api::token(&org, erik, "directory:sync").await;
    let expiring = org
        .store()
        .create_api_token(&NewApiToken {
            member_id: erik,
            name: "short".into(),
            scopes: ApiScopes::parse("directory:sync").unwrap(),
            expires_at: Some(verteiler_store::now_ms() + 300),
        })
        .await
        .unwrap()
        .unwrap();
    let me = api::get(&org, "/api/v1/me", &token).await;
    let id = me.json["token_id"].as_i64().unwrap();
    assert!(org.store().revoke_api_token(id, Some(erik)).await.unwrap());
    let revoked = put_csv(&org, "/api/v1/directory/units", &token, csv).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.problem_code(), "token_invalid");
    // Waiting for the clock to pass the expiry, not for another task.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let expired = put_csv(&org, "/api/v1/directory/units", &expiring.1, csv).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);

    // The token outlives the owner's office: the office is checked on every request.
    let token = api::token(&org, erik, "directory:sync").await;
    assert!(org
        .store()
        .revoke_role(erik, org.branch, verteiler_policies::RoleFunction::Admin)
        .await
        .unwrap());
    let no_admin = put_csv(&org, "/api/v1/directory/units", &token, csv).await;
    assert_eq!(no_admin.status, StatusCode::FORBIDDEN);
    assert_eq!(no_admin.problem_code(), "directory_not_admin");
    let no_admin = api::get(&org, "/api/v1/directory/changes", &token).await;
    assert_eq!(no_admin.problem_code(), "directory_not_admin");
    assert!(org.store().unit_by_code("HH-NEU").await.unwrap().is_none());
}

#[tokio::test]
async fn the_changes_feed_shows_members_own_changes_with_current_values_page_by_page() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let token = api::token(&org, erik, "directory:sync").await;
    let start = api::get(&org, "/api/v1/directory/changes", &token).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let since = start.json["next_cursor"].as_str().unwrap().to_string();

    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    let postal = anna
        .post(
            "/me/contact/postal",
            &[
                ("street", "Alte Landstraße 1"),
                ("postcode", "22359"),
                ("city", "Hamburg"),
            ],
        )
        .await;
    assert_eq!(postal.status, StatusCode::SEE_OTHER, "{}", postal.body);
    anna.get("/me/contact").await;
    let phone = anna
        .post("/me/contact/phone", &[("phone", "0151 1234567")])
        .await;
    assert_eq!(phone.status, StatusCode::SEE_OTHER, "{}", phone.body);
    // An admin's change of a member's data is not the member's: the database has it already.
    org.store()
        .acting_as(format!("portal:member:{erik}"))
        .set_postal_address(org.ben, "Bergstraße 2", "22359", "Hamburg")
        .await
        .unwrap();
    // Anna moves again: the feed shows the address as it is now.
    anna.get("/me/contact").await;
    anna.post(
        "/me/contact/postal",
        &[
            ("street", "Neue Straße 3"),
            ("postcode", "22359"),
            ("city", "Hamburg"),
        ],
    )
    .await;

    let page = api::get(
        &org,
        &format!("/api/v1/directory/changes?since={since}&limit=2"),
        &token,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let items = page.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", page.text);
    assert_eq!(page.json["more"], true);
    assert_eq!(items[0]["external_id"], "100231");
    assert_eq!(items[0]["change"], "postal_address_set");
    assert_eq!(
        items[0]["value"],
        serde_json::json!({ "field": "postal", "address":
            { "street": "Neue Straße 3", "postcode": "22359", "city": "Hamburg" } })
    );
    assert_eq!(items[1]["change"], "phone_added");
    assert_eq!(items[1]["value"]["field"], "phone");
    assert_eq!(items[1]["value"]["numbers"][0]["value"], "+491511234567");
    assert_eq!(items[1]["value"]["numbers"][0]["verified"], false);
    assert!(items[0]["at"].as_i64().unwrap() > 0);

    let next = page.json["next_cursor"].as_str().unwrap();
    assert_eq!(next, items[1]["cursor"].as_str().unwrap());
    let rest = api::get(
        &org,
        &format!("/api/v1/directory/changes?since={next}"),
        &token,
    )
    .await;
    let rest_items = rest.json["items"].as_array().unwrap();
    assert_eq!(
        rest_items.len(),
        1,
        "Ben's address set by the admin is not in: {}",
        rest.text
    );
    assert_eq!(rest_items[0]["change"], "postal_address_set");
    assert_eq!(rest_items[0]["external_id"], "100231");
    assert_eq!(rest.json["more"], false);
    let last = rest.json["next_cursor"].as_str().unwrap();
    let empty = api::get(
        &org,
        &format!("/api/v1/directory/changes?since={last}"),
        &token,
    )
    .await;
    assert_eq!(empty.json["items"], serde_json::json!([]));
    assert_eq!(empty.json["next_cursor"], last, "polling keeps its place");

    let bad = api::get(&org, "/api/v1/directory/changes?since=abc", &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem_code(), "bad_cursor");
}

#[tokio::test]
async fn an_erased_member_appears_only_as_erased() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let token = api::token(&org, erik, "directory:sync").await;
    let ben = org.store().acting_as(format!("portal:member:{}", org.ben));
    ben.set_postal_address(org.ben, "Bergstraße 2", "22359", "Hamburg")
        .await
        .unwrap();
    assert!(ben.request_deletion(org.ben).await.unwrap());
    assert!(org
        .store()
        .acting_as(format!("portal:member:{erik}"))
        .complete_deletion(org.ben)
        .await
        .unwrap());
    let feed = api::get(&org, "/api/v1/directory/changes", &token).await;
    let items = feed.json["items"].as_array().unwrap();
    let bens: Vec<_> = items
        .iter()
        .filter(|i| i["external_id"] == "100232")
        .collect();
    assert_eq!(bens.len(), 3, "{}", feed.text);
    for item in bens {
        assert_eq!(item["change"], "erased");
        assert_eq!(item["value"], serde_json::Value::Null);
    }
    assert!(!feed.text.contains("Bergstraße"));
}

#[tokio::test]
async fn the_document_describes_the_directory_routes() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let doc = api::get(&org, "/api/v1/openapi.json", &token).await;
    let paths = &doc.json["paths"];
    for (path, method) in [
        ("/api/v1/directory/units", "put"),
        ("/api/v1/directory/members", "put"),
        ("/api/v1/directory/changes", "get"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{path} {method} missing");
        assert!(
            op["responses"]["403"]["content"]["application/problem+json"].is_object(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_address_proved_by_its_link_shows_as_verified() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let token = api::token(&org, erik, "directory:sync").await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    anna.post("/me/contact/email", &[("email", "anna.work@example.com")])
        .await;
    let mail = wait_for_mail(
        org.store(),
        "anna.work@example.com",
        "portal.verify_email",
        0,
    )
    .await;
    let path = link_in(&mail, "/confirm/")
        .strip_prefix(BASE)
        .unwrap()
        .to_string();
    anna.get(&path).await;
    assert_eq!(anna.post(&path, &[]).await.status, StatusCode::OK);

    let feed = api::get(&org, "/api/v1/directory/changes", &token).await;
    let items = feed.json["items"].as_array().unwrap();
    let changes: Vec<&str> = items
        .iter()
        .filter(|i| i["external_id"] == "100231")
        .map(|i| i["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["email_added", "email_verified"], "{}", feed.text);
    let work = items[1]["value"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["value"] == "anna.work@example.com")
        .expect("the new address");
    assert_eq!(work["verified"], true);
}

#[tokio::test]
async fn an_excel_export_needs_its_encoding_named() {
    let org = support::org().await;
    let erik = admin(&org).await;
    let token = api::token(&org, erik, "directory:sync admin").await;
    let units = std::fs::read_to_string(fixture("units-sample.csv")).unwrap();
    let done = put_csv(&org, "/api/v1/directory/units", &token, &units).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let export = std::fs::read(fixture("members-export-windows-1252.csv")).unwrap();
    let path = "/api/v1/directory/members?skip_invalid=true&allow_large_change=true";
    let refused = put(&org, path, &token, "text/csv", export.clone()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.problem_code(), "directory_not_utf8");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("line 2 holds the byte 0xC7 (at byte offset 103)"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("encoding=windows-1252"),
        "{}",
        refused.text
    );
    let read = put(
        &org,
        &format!("{path}&encoding=windows-1252"),
        &token,
        "text/csv",
        export,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.json["written"], true);
    assert!(read.json["created"].as_u64().unwrap() > 0);
    assert_eq!(staged_files(&org), 0);
}
