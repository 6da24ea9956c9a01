//! Admins: who is one, an audience's policy changed with before → after in the audit log, and
//! the audit log searched by message id, person and date.

mod common;

use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, ApprovalSetting, AudiencePolicyChange, AuditQuery};

#[tokio::test]
async fn only_an_admin_of_a_top_unit_is_an_admin() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let top = member(s, "Top", org.hh).await;
    role(s, top, org.hh, RoleFunction::Admin).await;
    let district = member(s, "District", org.wa).await;
    role(s, district, org.wa, RoleFunction::Admin).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    assert!(s.is_admin(top).await.unwrap());
    assert!(
        !s.is_admin(district).await.unwrap(),
        "an admin below the top is not"
    );
    assert!(!s.is_admin(chair).await.unwrap());
}

#[tokio::test]
async fn a_policy_change_is_audited_before_and_after_and_found_by_search() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let change = AudiencePolicyChange {
        approval: ApprovalSetting::AboveRecipients(150),
        approvals_needed: 2,
        max_recipients: Some(300),
        max_message_bytes: Some(5_000_000),
        sends_per_sender_per_day: Some(4),
        email_and_sms: true,
    };
    let started = now_ms();
    let admin = s.acting_as("aylin@example.org");
    let before = admin
        .set_audience_policy(list.id, &change)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.approval, ApprovalSetting::Never);
    assert!(s
        .set_audience_policy(999_999, &change)
        .await
        .unwrap()
        .is_none());
    let after = s.audience_by_id(list.id).await.unwrap().unwrap();
    assert_eq!(
        (
            after.approval,
            after.approvals_needed,
            after.max_recipients,
            after.sends_per_sender_per_day,
            after.email_and_sms
        ),
        (
            ApprovalSetting::AboveRecipients(150),
            2,
            Some(300),
            Some(4),
            true
        )
    );

    let found = s
        .audit_search(
            &AuditQuery {
                person: Some("AYLIN@example.org".into()),
                from: Some(started),
                ..AuditQuery::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let details = found[0].details_json();
    assert_eq!(found[0].action, "audience.changed");
    assert_eq!(details["before"]["approval"], "never");
    assert_eq!(details["after"]["approval_threshold"], 150);
    assert_eq!(details["after"]["approvals_needed"], 2);
    assert_eq!(
        (
            &details["before"]["email_and_sms"],
            &details["after"]["email_and_sms"]
        ),
        (&serde_json::json!(false), &serde_json::json!(true))
    );
    assert!(s
        .audit_search(
            &AuditQuery {
                to: Some(started),
                person: Some("aylin@example.org".into()),
                ..AuditQuery::default()
            },
            10
        )
        .await
        .unwrap()
        .is_empty());

    // By message id: the entries of that submission, and nothing for an unknown one.
    let send = released_send(s, chair, list.id, 1).await;
    s.cancel_send(send, "chair@example.org").await.unwrap();
    let by_id = s
        .audit_search(
            &AuditQuery {
                message_id: Some("<released@example.org>".into()),
                ..AuditQuery::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        by_id.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["send.cancelled", "submission.decided"]
    );
    assert!(s
        .audit_search(
            &AuditQuery {
                message_id: Some("nothing@example.org".into()),
                ..AuditQuery::default()
            },
            10
        )
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn roles_are_listed_per_unit_and_revoked_with_an_audit_entry() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    let held = s.roles_at(org.old).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].member_id,
            held[0].function,
            held[0].email.as_deref(),
            held[0].source.as_str()
        ),
        (
            chair,
            RoleFunction::Chair,
            Some("chair@example.org"),
            "admin"
        )
    );
    assert!(s.roles_at(org.ott).await.unwrap().is_empty());

    let admin = s.acting_as("aylin@example.org");
    assert!(!admin
        .revoke_role(chair, org.old, RoleFunction::PressOffice)
        .await
        .unwrap());
    assert!(admin
        .revoke_role(chair, org.old, RoleFunction::Chair)
        .await
        .unwrap());
    assert!(s.roles_at(org.old).await.unwrap().is_empty());
    let revoked = s.last_audit_details("role.revoked").await.unwrap().unwrap();
    assert_eq!(revoked["function"], "chair");
    assert_eq!(revoked["member_id"], chair);
}
