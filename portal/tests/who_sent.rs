//! `/admin/who`: an admin or a press officer pastes the headers of a copy they received and
//! learns who sent it; a press officer only for their area, anybody else not at all.

mod support;

use axum::http::StatusCode;
use support::org;
use support::staff::{admin, held_send, offices};
use verteiler_policies::{RoleFunction, UnitKind};
use verteiler_store::{NewMember, NewRole, NewUnit};

#[tokio::test]
async fn admins_and_press_officers_learn_who_sent_a_copy_and_nobody_else_does() {
    let org = org().await;
    let store = org.store();
    let clara = offices(&org).await;
    let erik = admin(&org).await;
    let send = held_send(&org, "Haushalt").await;
    let submission = store
        .send_record(send)
        .await
        .unwrap()
        .unwrap()
        .submission_id;
    // The headers of a copy as a mail client shows them: its own Message-ID (no delivery
    // exists yet for a held send), the send it belongs to, the original in References.
    let copy = format!(
        "Message-ID: <d999999.abcdefgh@lists.example.org>\r\n\
         Subject: Haushalt\r\n\
         References: <Haushalt@example.org>\r\n\
         X-Verteiler-Send: <s{send}.{submission}@lists.example.org>\r\n"
    );

    let mut admin = org.signed_in("erik@example.org").await;
    assert!(admin.get("/admin").await.body.contains("/admin/who"));
    let form = admin.get("/admin/who").await;
    assert_eq!(form.status, StatusCode::OK);
    let answer = admin.post("/admin/who", &[("headers", &copy)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    for part in [
        format!("Einreichung {submission}"),
        "Ben Brandt".to_string(),
        "Haushalt".to_string(),
        format!("smtp:member:{}", org.ben),
        "held".to_string(),
    ] {
        assert!(
            answer.body.contains(&part),
            "{part:?} missing: {}",
            answer.body
        );
    }
    // One id alone does too: the original's Message-ID, or the send's.
    for id in [
        "<Haushalt@example.org>".to_string(),
        format!("s{send}.{submission}@lists.example.org"),
    ] {
        let page = admin.post("/admin/who", &[("headers", &id)]).await;
        assert!(
            page.body.contains(&format!("Einreichung {submission}")),
            "{id}"
        );
    }
    let nothing = admin
        .post("/admin/who", &[("headers", "Subject: nichts\r\n")])
        .await;
    assert!(nothing
        .body
        .contains("Keine über verteiler verschickte Nachricht"));
    assert_ne!(erik, org.ben);

    // Anna is the branch's press office: the list is in her area.
    let mut anna = org.signed_in("anna@example.org").await;
    assert!(anna.get("/held").await.body.contains("/admin/who"));
    anna.get("/admin/who").await;
    let hers = anna.post("/admin/who", &[("headers", &copy)]).await;
    assert_eq!(hers.status, StatusCode::OK);
    assert!(hers.body.contains(&format!("Einreichung {submission}")));

    // A press officer elsewhere learns nothing about it.
    let elsewhere = store
        .create_unit(&NewUnit {
            code: "HH-NEU".into(),
            name: "Neustadt".into(),
            kind: UnitKind::Branch,
            parent_code: None,
        })
        .await
        .unwrap();
    let paula = store
        .create_member(&NewMember {
            external_id: Some("100400".into()),
            first_name: "Paula".into(),
            last_name: "Presse".into(),
            unit_id: elsewhere,
            email: Some(verteiler_policies::EmailAddress::parse("paula@example.org").unwrap()),
        })
        .await
        .unwrap();
    store
        .grant_role(NewRole {
            member_id: paula,
            unit_id: elsewhere,
            function: RoleFunction::PressOffice,
            covers_subtree: true,
        })
        .await
        .unwrap();
    let mut paula = org.signed_in("paula@example.org").await;
    paula.get("/admin/who").await;
    let not_hers = paula.post("/admin/who", &[("headers", &copy)]).await;
    assert_eq!(not_hers.status, StatusCode::OK);
    assert!(!not_hers.body.contains("Ben Brandt"), "{}", not_hers.body);
    assert!(not_hers
        .body
        .contains("Keine über verteiler verschickte Nachricht"));

    // Clara holds no office: the page does not exist for her, asked either way.
    let mut clara_browser = org.signed_in("clara@example.org").await;
    assert_ne!(clara, org.ben);
    assert_eq!(
        clara_browser.get("/admin/who").await.status,
        StatusCode::NOT_FOUND
    );
    clara_browser.get("/me").await;
    let forced = clara_browser
        .post("/admin/who", &[("headers", &copy)])
        .await;
    assert_eq!(forced.status, StatusCode::NOT_FOUND);
    assert!(!forced.body.contains("Ben Brandt"));
}
