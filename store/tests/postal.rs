//! The postal list — names and home addresses — exists only for a released send once it has
//! been expanded, is that send's recipients as its expansion recorded them, goes only to its
//! sender while they may still send to the list, and every download is audited.

mod common;

use common::*;
use verteiler_policies::{Category, ChannelPreference, Decision, Reason, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    Actor, Expansion, NewSend, NewSubmission, Origin, PostalAccess, PostalList, SendState, Store,
    SubmissionRecord,
};

fn portal(member_id: i64) -> Actor {
    Actor {
        member_id,
        label: format!("portal:member:{member_id}"),
        ingress: Origin::Portal,
    }
}

async fn expand_all(s: &Store, send: i64) {
    loop {
        match s.expand_send(send, 100, &checks()).await.unwrap() {
            Expansion::Progress { .. } => continue,
            Expansion::Done { .. } => return,
            other => panic!("the send was not expanded: {other:?}"),
        }
    }
}

fn granted(access: PostalAccess) -> PostalList {
    match access {
        PostalAccess::Granted(list) => list,
        other => panic!("no list: {other:?}"),
    }
}

fn names(list: &PostalList) -> Vec<&str> {
    list.recipients.iter().map(|r| r.name.as_str()).collect()
}

/// A submission of `sender` to `audience_id` with `decision`; returns (submission, send).
async fn decided_send(s: &Store, sender: i64, audience_id: i64, decision: Decision) -> (i64, i64) {
    let stored = s
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some("decided@example.org".into()),
                sender_member_id: sender,
                credential_id: None,
                login: "someone@example.org".into(),
                ingress: Origin::Portal,
                client_ip: None,
                client_name: None,
                tls: true,
                envelope_from: "someone@example.org".into(),
                header_from: "someone@example.org".into(),
                subject: "Einladung".into(),
                content_hash: "04".repeat(32),
                raw: b"Subject: Einladung\r\n\r\nHallo".to_vec(),
                message_facts: None,
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: "alle-mitglieder@lists.example.org".into(),
                audience_id: Some(audience_id),
                decision,
                recipients: 3,
                release_at: None,
                expires_at: None,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    (stored.id, s.sends_of(stored.id).await.unwrap()[0].id)
}

/// A branch with a chair and two members who chose post for announcements (Anna with a postal
/// address), and the branch's list. Returns (org, chair, anna, list).
async fn branch(s: &Store) -> (Org, i64, i64, i64) {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    let anna = member(s, "Anna", org.old).await;
    let bert = member(s, "Bert", org.old).await;
    for m in [anna, bert] {
        s.set_channel_preference(m, Category::Announcement, ChannelPreference::Post)
            .await
            .unwrap();
    }
    s.set_postal_address(anna, "Waldweg 1", "22359", "Hamburg")
        .await
        .unwrap();
    let list = structural(s, "oldenfelde", org.old, false).await;
    (org, chair, anna, list.id)
}

#[tokio::test]
async fn a_refused_member_cannot_download_the_postal_list() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, _, _, _) = branch(s).await;
    // No office anywhere: the engine refuses their message to everybody.
    let nobody = member(s, "Nobody", org.old).await;
    let everybody = structural(s, "alle-mitglieder", org.hh, true).await;
    let refusal = Decision::Reject {
        reasons: vec![Reason::SenderNotAuthorised {
            audience: "alle-mitglieder".into(),
            allowed: vec![RoleFunction::Chair],
        }],
    };
    let (submission, send) = decided_send(s, nobody, everybody.id, refusal).await;

    let access = s
        .sender_postal_list(&portal(nobody), submission, send)
        .await
        .unwrap();
    assert!(
        matches!(&access, PostalAccess::NotReady { state } if *state == SendState::Rejected),
        "{access:?}"
    );
    let access = s.postal_list(send, "cli:test").await.unwrap();
    assert!(
        matches!(access, PostalAccess::NotReady { .. }),
        "not even the operator gets a list of a refused send: {access:?}"
    );
    let audit = s.audit_of_submission(submission).await.unwrap();
    assert!(audit.iter().all(|e| e.action != "postal_list.downloaded"));
}

#[tokio::test]
async fn a_send_has_a_postal_list_only_once_released_and_expanded() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, chair, _, list) = branch(s).await;
    let send = released_send(s, chair, list, 4).await;
    let submission = s.send_record(send).await.unwrap().unwrap().submission_id;
    // Scheduled, not expanded yet: nobody knows the recipients yet.
    let access = s
        .sender_postal_list(&portal(chair), submission, send)
        .await
        .unwrap();
    assert!(
        matches!(&access, PostalAccess::NotReady { state } if *state == SendState::Scheduled),
        "{access:?}"
    );

    // Held for approval: no list either.
    let (held_submission, held) = decided_send(
        s,
        chair,
        list,
        Decision::Hold {
            reasons: Vec::new(),
            approvals_needed: 1,
            approver_roles: vec![RoleFunction::Chair],
        },
    )
    .await;
    let access = s
        .sender_postal_list(&portal(chair), held_submission, held)
        .await
        .unwrap();
    assert!(
        matches!(access, PostalAccess::NotReady { .. }),
        "{access:?}"
    );

    // Cancelled while it ran: stopped sends have none.
    let cancelled = released_send(s, chair, list, 4).await;
    s.cancel_send(cancelled, "cli:test").await.unwrap();
    let access = s.postal_list(cancelled, "cli:test").await.unwrap();
    assert!(
        matches!(access, PostalAccess::NotReady { .. }),
        "{access:?}"
    );

    expand_all(s, send).await;
    let list = granted(
        s.sender_postal_list(&portal(chair), submission, send)
            .await
            .unwrap(),
    );
    assert_eq!(names(&list), ["Anna Test", "Bert Test"]);
    assert_eq!(
        list.recipients[0].address.as_deref(),
        Some("Waldweg 1, 22359 Hamburg")
    );
}

#[tokio::test]
async fn only_the_sender_gets_the_postal_list_and_only_while_they_may_send_to_the_list() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, chair, anna, list) = branch(s).await;
    let send = released_send(s, chair, list, 4).await;
    let submission = s.send_record(send).await.unwrap().unwrap().submission_id;
    expand_all(s, send).await;
    // Another chair of the same branch did not send it.
    let other_chair = member(s, "Other", org.old).await;
    role(s, other_chair, org.old, RoleFunction::Chair).await;
    for (who, sub) in [
        (anna, submission),
        (other_chair, submission),
        (chair, submission + 1),
    ] {
        let access = s.sender_postal_list(&portal(who), sub, send).await.unwrap();
        assert!(matches!(access, PostalAccess::NotFound), "{access:?}");
    }
    granted(
        s.sender_postal_list(&portal(chair), submission, send)
            .await
            .unwrap(),
    );

    // Office given up: the list goes with it.
    s.revoke_role(chair, org.old, RoleFunction::Chair)
        .await
        .unwrap();
    let access = s
        .sender_postal_list(&portal(chair), submission, send)
        .await
        .unwrap();
    assert!(matches!(access, PostalAccess::NotPermitted), "{access:?}");

    // In office again, but the list is switched off: no list either.
    role(s, chair, org.old, RoleFunction::Chair).await;
    granted(
        s.sender_postal_list(&portal(chair), submission, send)
            .await
            .unwrap(),
    );
    s.set_audience_active(list, false).await.unwrap();
    let access = s
        .sender_postal_list(&portal(chair), submission, send)
        .await
        .unwrap();
    assert!(matches!(access, PostalAccess::NotPermitted), "{access:?}");
}

#[tokio::test]
async fn the_postal_list_is_the_sends_recipients_not_todays_directory() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, chair, anna, list) = branch(s).await;
    let send = released_send(s, chair, list, 4).await;
    let submission = s.send_record(send).await.unwrap().unwrap().submission_id;
    expand_all(s, send).await;
    // After the send: a new member who chose post, and one on the list who now wants email.
    let late = member(s, "Late", org.old).await;
    s.set_channel_preference(late, Category::Announcement, ChannelPreference::Post)
        .await
        .unwrap();
    s.set_channel_preference(anna, Category::Announcement, ChannelPreference::Email)
        .await
        .unwrap();
    // A corrected address reaches the letter.
    s.set_postal_address(anna, "Ahornweg 2", "22359", "Hamburg")
        .await
        .unwrap();

    let list = granted(
        s.sender_postal_list(&portal(chair), submission, send)
            .await
            .unwrap(),
    );
    assert_eq!(
        names(&list),
        ["Anna Test", "Bert Test"],
        "whom the send reached by post, nobody added since"
    );
    assert_eq!(
        list.recipients[0].address.as_deref(),
        Some("Ahornweg 2, 22359 Hamburg")
    );
}

#[tokio::test]
async fn every_postal_list_download_is_audited_with_who_and_how_many() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, chair, _, list) = branch(s).await;
    let send = released_send(s, chair, list, 4).await;
    let submission = s.send_record(send).await.unwrap().unwrap().submission_id;
    expand_all(s, send).await;
    granted(
        s.sender_postal_list(&portal(chair), submission, send)
            .await
            .unwrap(),
    );
    granted(s.postal_list(send, "cli:operator").await.unwrap());

    let downloads: Vec<_> = s
        .audit_of_submission(submission)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "postal_list.downloaded")
        .collect();
    assert_eq!(downloads.len(), 2);
    assert_eq!(downloads[0].actor_member_id, Some(chair));
    assert_eq!(downloads[0].send_id, Some(send));
    assert_eq!(downloads[1].actor, "cli:operator");
    for entry in &downloads {
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert_eq!(details, serde_json::json!({ "rows": 2 }));
        assert!(!entry.actor.contains("Anna") && !entry.details.contains("Waldweg"));
    }
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn a_statutory_send_puts_everybody_it_cannot_reach_otherwise_on_the_postal_list() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    // Greta: email only. Hans: nothing but a postal address. Ida: SMS. Jan: chose post.
    // Kai: no address at all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("members.csv");
    std::fs::write(
        &path,
        "external_id;first_name;last_name;unit_code;email;phone;street;postcode;city;preferred_channel\n\
         1;Greta;Grün;HH-WA-OLD;greta@example.org;;;;;\n\
         2;Hans;Haller;HH-WA-OLD;;;Waldweg 1;22359;Hamburg;\n\
         3;Ida;Iske;HH-WA-OLD;;0151 33333333;Ahornweg 2;22359;Hamburg;sms\n\
         4;Jan;Janssen;HH-WA-OLD;jan@example.org;;Birkenweg 3;22359;Hamburg;post\n\
         5;Kai;Kranz;HH-WA-OLD;;;;;;\n",
    )
    .unwrap();
    let options = verteiler_store::directory::import::ImportOptions {
        allow_large_change: true,
        ..Default::default()
    };
    let report = s.import_members(&path, &options).await.unwrap();
    assert!(report.written, "{:?}", report.errors);
    let mut statutory = verteiler_store::NewAudience::structural(
        slug("mitgliederversammlung"),
        "Mitgliederversammlung Oldenfelde",
        org.old,
        false,
    );
    statutory.category = Category::Statutory;
    let statutory = s.create_audience(&statutory).await.unwrap();
    let send = released_send(s, chair, statutory, 6).await;
    expand_all(s, send).await;

    let list = granted(s.postal_list(send, "cli:test").await.unwrap());
    let letters: Vec<(&str, Option<&str>)> = list
        .recipients
        .iter()
        .map(|r| (r.name.as_str(), r.address.as_deref()))
        .collect();
    assert_eq!(
        letters,
        [
            ("Hans Haller", Some("Waldweg 1, 22359 Hamburg")),
            ("Jan Janssen", Some("Birkenweg 3, 22359 Hamburg")),
            ("Kai Kranz", None),
        ],
        "not Greta (email), not Ida (SMS), not the chair (email)"
    );
    assert_eq!(list.subject, "Einladung");
    let csv = String::from_utf8(list.to_csv().unwrap()).unwrap();
    assert_eq!(csv.lines().next(), Some("name;postal_address;subject;list"));
    assert!(csv.contains(
        "Hans Haller;Waldweg 1, 22359 Hamburg;Einladung;Mitgliederversammlung Oldenfelde"
    ));

    // An announcement reaches by post only those who chose it.
    let announcement = structural(s, "oldenfelde", org.old, false).await;
    let send = released_send(s, chair, announcement.id, 6).await;
    expand_all(s, send).await;
    let list = granted(s.postal_list(send, "cli:test").await.unwrap());
    assert_eq!(names(&list), ["Jan Janssen"]);
    assert!(matches!(
        s.postal_list(999_999, "cli:test").await.unwrap(),
        PostalAccess::NotFound
    ));
}
