//! The staff pages' authorisation matrix: a member without office, the chair of branch A (who
//! sent the held message), the chair of branch B, A's press office and an admin, each against
//! each page and action. Whatever is not theirs answers 404 (pages) or is refused (actions),
//! and nothing changes.

mod support;

use axum::http::StatusCode;
use support::lists::{oldenfelde_form, with};
use support::staff::{held_send, offices, state_of};
use support::{mails, org};
use verteiler_policies::{AudienceSlug, EmailAddress, RoleFunction};
use verteiler_store::{NewAudience, NewMember, NewRole, SendState};

const OK: StatusCode = StatusCode::OK;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;

#[tokio::test]
async fn every_role_against_every_staff_page_and_action() {
    let org = org().await;
    let store = org.store();
    offices(&org).await; // Anna: press office; Ben: chair and press office; Clara: no office.
    let volksdorf_unit = store
        .audience_by_id(org.elsewhere)
        .await
        .unwrap()
        .unwrap()
        .unit_id;
    let person = |id: &str, first: &str, email: &str, unit_id: i64| NewMember {
        external_id: Some(id.into()),
        first_name: first.into(),
        last_name: "Test".into(),
        unit_id,
        email: Some(EmailAddress::parse(email).unwrap()),
    };
    let dora = store
        .create_member(&person(
            "100301",
            "Dora",
            "dora@example.org",
            volksdorf_unit,
        ))
        .await
        .unwrap();
    let erik = store
        .create_member(&person("100302", "Erik", "erik@example.org", org.branch))
        .await
        .unwrap();
    for (member_id, unit_id, function) in [
        (dora, volksdorf_unit, RoleFunction::Chair),
        (erik, org.branch, RoleFunction::Admin),
    ] {
        store
            .grant_role(NewRole {
                member_id,
                unit_id,
                function,
                covers_subtree: false,
            })
            .await
            .unwrap();
    }
    store
        .create_audience(&NewAudience::structural(
            AudienceSlug::parse("volksdorf").unwrap(),
            "Ortsverband Volksdorf",
            volksdorf_unit,
            false,
        ))
        .await
        .unwrap();
    let held = held_send(&org, "Haushalt").await;
    let submission = store
        .send_record(held)
        .await
        .unwrap()
        .unwrap()
        .submission_id;

    let people = [
        "clara@example.org", // member
        "ben@example.org",   // chair of A, the sender
        "dora@example.org",  // chair of B
        "anna@example.org",  // press office of A
        "erik@example.org",  // admin
    ];
    let admin_only = [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK];
    let pages: [(String, [StatusCode; 5]); 19] = [
        ("/audiences".into(), [OK; 5]),
        (
            "/audiences/oldenfelde".into(),
            [NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        (
            "/audiences/volksdorf".into(),
            [NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND],
        ),
        ("/held".into(), [OK; 5]),
        (
            format!("/held/{held}"),
            [NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND],
        ),
        ("/submissions".into(), [OK; 5]),
        (
            format!("/submissions/{submission}"),
            [NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        ("/held/999999".into(), [NOT_FOUND; 5]),
        (
            "/admin".into(),
            [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK],
        ),
        (
            "/admin/audit".into(),
            [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK],
        ),
        (
            "/admin/audiences/oldenfelde".into(),
            [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK],
        ),
        (
            "/admin/units".into(),
            [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK],
        ),
        (
            "/admin/import".into(),
            [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK],
        ),
        ("/admin/audiences".into(), admin_only),
        ("/admin/new-audience".into(), admin_only),
        ("/admin/templates".into(), admin_only),
        ("/admin/units/HH-OLD".into(), admin_only),
        ("/admin/audiences/volksdorf".into(), admin_only),
        ("/compose".into(), [OK; 5]),
    ];
    for (i, email) in people.iter().enumerate() {
        let mut browser = org.signed_in(email).await;
        for (path, expected) in &pages {
            assert_eq!(
                browser.get(path).await.status,
                expected[i],
                "{email} GET {path}"
            );
        }
        // The queue names the held send to its approver only.
        let queue = browser.get("/held").await;
        assert_eq!(
            queue.body.contains(&format!("/held/{held}")),
            *email == "anna@example.org",
            "{email} /held"
        );
        // Actions forced by everybody but the one they belong to.
        if *email != "anna@example.org" {
            let approve = browser
                .post(
                    &format!("/held/{held}/approve"),
                    &[("content_hash", &"ab".repeat(32)), ("comment", "")],
                )
                .await;
            // The sender is told why not; to anybody else not asked there is no such send.
            let expected = if *email == "ben@example.org" {
                FORBIDDEN
            } else {
                NOT_FOUND
            };
            assert_eq!(approve.status, expected, "{email} approves");
        }
        if *email != "ben@example.org" {
            browser.get("/submissions").await;
            let cancel = browser
                .post(
                    &format!("/submissions/{submission}/sends/{held}/cancel"),
                    &[],
                )
                .await;
            assert_eq!(cancel.status, NOT_FOUND, "{email} stops Ben's send");
        }
        assert_eq!(state_of(&org, held).await, SendState::Held, "after {email}");
        if *email != "erik@example.org" {
            forced_admin_actions(&org, &mut browser, email).await;
        }
    }
}

/// Every list and unit action of the admin pages, forced by a non-admin: each answers 404 and
/// nothing changes.
async fn forced_admin_actions(org: &support::Org, browser: &mut support::Browser, email: &str) {
    let store = org.store();
    let before = store.audience_by_id(org.oldenfelde).await.unwrap();
    let volksdorf = AudienceSlug::parse("volksdorf").unwrap();
    let renamed = with(oldenfelde_form(), "name", "Übernommen");
    let created = with(oldenfelde_form(), "slug", "uebernommen");
    let actions: [(&str, Vec<(&str, &str)>); 9] = [
        ("/admin/new-audience", created),
        ("/admin/audiences/oldenfelde", renamed),
        (
            "/admin/audiences/oldenfelde/active",
            vec![("active", "false")],
        ),
        (
            "/admin/audiences/oldenfelde/aliases",
            vec![("alias", "fremd")],
        ),
        (
            "/admin/audiences/oldenfelde/aliases/remove",
            vec![("alias", "fremd")],
        ),
        ("/admin/audiences/volksdorf/delete", vec![("confirm", "1")]),
        ("/admin/units/HH-OLD/active", vec![("active", "false")]),
        ("/admin/units/HH-OLD/invite", vec![("function", "chair")]),
        ("/admin/invite", vec![("function", "chair")]),
    ];
    for (path, form) in &actions {
        browser.get("/me").await;
        let forced = browser.post(path, form).await;
        assert_eq!(forced.status, NOT_FOUND, "{email} POST {path}");
    }
    assert_eq!(
        store.audience_by_id(org.oldenfelde).await.unwrap(),
        before,
        "{email}"
    );
    assert!(store.aliases_of(org.oldenfelde).await.unwrap().is_empty());
    let taken = AudienceSlug::parse("uebernommen").unwrap();
    assert!(store.audience_by_slug(&taken).await.unwrap().is_none());
    assert!(store.audience_by_slug(&volksdorf).await.unwrap().is_some());
    assert!(store.unit_by_id(org.branch).await.unwrap().unwrap().active);
    for chair in ["ben@example.org", "dora@example.org"] {
        assert!(
            mails(store, chair, "portal.invitation").await.is_empty(),
            "{email}"
        );
    }
}
