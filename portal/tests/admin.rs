//! `/admin`: only admins of the organisation; the kill switch, a policy change within the caps
//! with before → after in the audit log, and the audit search.

mod support;

use axum::http::StatusCode;
use support::lists::{oldenfelde_form, with};
use support::org;
use support::staff::{admin, held_send, offices};
use verteiler_policies::RoleFunction;
use verteiler_store::ApprovalSetting;

/// The list's complete form with the old policy form's fields changed.
fn policy(max_recipients: &str) -> Vec<(&str, &str)> {
    let form = oldenfelde_form();
    let form = with(form, "approval", "above");
    let form = with(form, "threshold", "150");
    let form = with(form, "approvals_needed", "2");
    let form = with(form, "max_recipients", max_recipients);
    with(form, "sends_per_day", "4")
}

#[tokio::test]
async fn nobody_but_an_admin_reaches_the_admin_pages() {
    let org = org().await;
    admin(&org).await;
    for email in ["anna@example.org", "ben@example.org"] {
        let mut browser = org.signed_in(email).await;
        let me = browser.get("/me").await;
        assert!(!me.body.contains("href=\"/admin\""), "{email}");
        assert!(
            !me.body.contains("href=\"/held\""),
            "{email} holds no office"
        );
        for path in [
            "/admin",
            "/admin/audit",
            "/admin/audiences",
            "/admin/audiences/oldenfelde",
        ] {
            assert_eq!(
                browser.get(path).await.status,
                StatusCode::NOT_FOUND,
                "{email} {path}"
            );
        }
        browser.get("/me").await;
        let paused = browser.post("/admin/pause", &[("reason", "test")]).await;
        assert_eq!(paused.status, StatusCode::NOT_FOUND, "{email}");
        let changed = browser
            .post("/admin/audiences/oldenfelde", &policy("300"))
            .await;
        assert_eq!(changed.status, StatusCode::NOT_FOUND, "{email}");
    }
    assert!(org.store().delivery_pause().await.unwrap().is_none());
    let list = org
        .store()
        .audience_by_id(org.oldenfelde)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.approval, ApprovalSetting::Never, "nothing changed");
}

#[tokio::test]
async fn an_admin_pauses_changes_a_policy_and_finds_it_in_the_audit_log() {
    let org = org().await;
    let erik = admin(&org).await;
    let store = org.store();
    let mut browser = org.signed_in("erik@example.org").await;
    let me = browser.get("/me").await;
    assert!(
        me.body.contains("href=\"/admin\""),
        "an admin finds the admin pages"
    );
    assert!(me.body.contains("href=\"/held\""), "and the approval queue");
    let overview = browser.get("/admin").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("Der Versand läuft."));
    assert!(
        overview
            .body
            .contains("In der letzten Stunde erreicht: 0 Empfänger"),
        "{}",
        overview.body
    );
    assert!(
        overview.body.contains("Die Kette ist unversehrt"),
        "{}",
        overview.body
    );

    let bare = browser.post("/admin/pause", &[("reason", " ")]).await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(store.delivery_pause().await.unwrap().is_none());
    browser.get("/admin").await;
    let paused = browser
        .post("/admin/pause", &[("reason", "Spamwelle")])
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER);
    let pause = store.delivery_pause().await.unwrap().expect("paused");
    assert_eq!(
        (pause.reason.as_str(), pause.by.clone()),
        ("Spamwelle", format!("portal:member:{erik}"))
    );
    assert!(browser.get("/admin").await.body.contains("Spamwelle"));
    browser.post("/admin/resume", &[]).await;
    assert!(store.delivery_pause().await.unwrap().is_none());

    // Above the organisation's cap: refused, named, unchanged.
    browser.get("/admin/audiences/oldenfelde").await;
    let over = browser
        .post("/admin/audiences/oldenfelde", &policy("99999999"))
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        over.body.contains("<strong>Höchstens Empfänger</strong>: 99.999.999 liegt über der Obergrenze der Organisation"),
        "{}",
        over.body
    );
    assert!(
        over.body.contains("value=\"99999999\""),
        "the form keeps what was entered"
    );
    assert_eq!(
        store
            .audience_by_id(org.oldenfelde)
            .await
            .unwrap()
            .unwrap()
            .approval,
        ApprovalSetting::Never
    );
    let saved = browser
        .post("/admin/audiences/oldenfelde", &policy("300"))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(
        saved
            .body
            .contains("Freigabe: nicht nötig → ab 150 Empfängern"),
        "{}",
        saved.body
    );
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    assert_eq!(
        (
            list.approval,
            list.approvals_needed,
            list.max_recipients,
            list.sends_per_sender_per_day
        ),
        (ApprovalSetting::AboveRecipients(150), 2, Some(300), Some(4))
    );
    let audit = browser
        .get(&format!("/admin/audit?person=portal:member:{erik}"))
        .await;
    assert!(audit.body.contains("audience.changed"), "{}", audit.body);
    assert!(
        audit.body.contains("delivery.paused") && audit.body.contains("delivery.resumed"),
        "{}",
        audit.body
    );

    // By message id: the entries of that submission only.
    offices(&org).await;
    held_send(&org, "Haushalt").await;
    let found = browser
        .get("/admin/audit?message_id=%3CHaushalt%40example.org%3E")
        .await;
    assert!(found.body.contains("submission.decided"), "{}", found.body);
    assert!(!found.body.contains("audience.changed"));
    let none = browser
        .get("/admin/audit?message_id=nope%40example.org")
        .await;
    assert!(none.body.contains("Keine Einträge gefunden."));
}

#[tokio::test]
async fn an_admin_grants_and_revokes_an_office_and_nobody_else_can() {
    let org = org().await;
    admin(&org).await;
    let store = org.store();
    // Ben may not touch offices.
    let mut ben = org.signed_in("ben@example.org").await;
    assert_eq!(ben.get("/admin/units").await.status, StatusCode::NOT_FOUND);
    ben.get("/me").await;
    let forced = ben
        .post(
            "/admin/units/HH-OLD/grant",
            &[("email", "ben@example.org"), ("function", "chair")],
        )
        .await;
    assert_eq!(forced.status, StatusCode::NOT_FOUND);
    assert!(store
        .roles_at(org.branch)
        .await
        .unwrap()
        .iter()
        .all(|h| h.member_id != org.ben));

    let mut erik = org.signed_in("erik@example.org").await;
    let tree = erik.get("/admin/units").await;
    assert_eq!(tree.status, StatusCode::OK);
    assert!(
        tree.body.contains("href=\"/admin/units/HH-OLD\""),
        "{}",
        tree.body
    );
    erik.get("/admin/units/HH-OLD").await;
    let unknown = erik
        .post(
            "/admin/units/HH-OLD/grant",
            &[("email", "nobody@example.org"), ("function", "chair")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("kein aktives Mitglied"));
    let granted = erik
        .post(
            "/admin/units/HH-OLD/grant",
            &[
                ("email", "ben@example.org"),
                ("function", "chair"),
                ("subtree", "yes"),
            ],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER);
    let ben_chair = |holders: &[verteiler_store::RoleHolder]| {
        holders.iter().any(|h| {
            h.member_id == org.ben && h.function == RoleFunction::Chair && h.covers_subtree
        })
    };
    assert!(ben_chair(&store.roles_at(org.branch).await.unwrap()));
    let page = erik.get("/admin/units/HH-OLD").await;
    assert!(page.body.contains("Ben Brandt") && page.body.contains("Vorsitz"));
    let revoked = erik
        .post(
            "/admin/units/HH-OLD/revoke",
            &[("member_id", &org.ben.to_string()), ("function", "chair")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(!ben_chair(&store.roles_at(org.branch).await.unwrap()));
    let audit = erik.get("/admin/audit?person=portal:member").await;
    assert!(audit.body.contains("role.granted") && audit.body.contains("role.revoked"));
}

#[tokio::test]
async fn an_office_granted_to_an_unverified_address_reaches_nobody() {
    let org = org().await;
    admin(&org).await;
    let store = org.store();
    // Ben adds the branch chair's address to his contact data; he cannot verify it.
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/me/contact").await;
    let added = ben
        .post(
            "/me/contact/email",
            &[("email", "vorsitz-oldenfelde@example.org")],
        )
        .await;
    assert!(added.status.is_redirection() || added.status.is_success());
    assert!(store
        .member_contacts(org.ben)
        .await
        .unwrap()
        .iter()
        .any(|c| c.value == "vorsitz-oldenfelde@example.org" && !c.verified));

    let mut erik = org.signed_in("erik@example.org").await;
    erik.get("/admin/units/HH-OLD").await;
    let refused = erik
        .post(
            "/admin/units/HH-OLD/grant",
            &[
                ("email", "vorsitz-oldenfelde@example.org"),
                ("function", "chair"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("kein aktives Mitglied"));
    assert!(store
        .roles_at(org.branch)
        .await
        .unwrap()
        .iter()
        .all(|h| h.member_id != org.ben));
}
