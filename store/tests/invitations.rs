//! Bringing officers on board (SQLite, or PostgreSQL when `VERTEILER_TEST_POSTGRES_URL` is
//! set): each chair gets a sign-in link with how to set up their mail client; those with an app
//! password or a valid invitation are skipped; those without an address are named.

mod common;

use common::{build_org, member, role};
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, Invitation, InvitationMail, MailClientSetup, NewMember};

/// Writes what the store hands it, so the test sees link, login and server.
struct PlainMail;

impl InvitationMail for PlainMail {
    fn invitation(&self, token: &str, i: &Invitation<'_>, lang: &str) -> (String, String) {
        (
            format!("invitation ({lang})"),
            format!(
                "{} of {}: /signin/link/{token} as {} via {}:{} for {} days",
                i.name, i.unit, i.login, i.smtp_host, i.smtp_port, i.days
            ),
        )
    }
}

fn setup() -> MailClientSetup {
    MailClientSetup {
        smtp_host: "smtp.example.org".into(),
        smtp_port: 587,
    }
}

#[tokio::test]
async fn chairs_are_invited_once_and_those_without_an_address_are_named() {
    let db = TestDatabase::new().await;
    let s = db.store.acting_as("cli:aylin");
    let org = build_org(&s).await;
    let ole = member(&s, "Ole", org.old).await;
    let bjoern = member(&s, "Bjoern", org.rah).await;
    let nomail = s
        .create_member(&NewMember {
            external_id: Some("X-nomail".into()),
            first_name: "Wiebke".into(),
            last_name: "Ohnemail".into(),
            unit_id: org.ott,
            email: None,
        })
        .await
        .unwrap();
    let board = member(&s, "Bea", org.old).await;
    for (who, unit) in [(ole, org.old), (bjoern, org.rah), (nomail, org.ott)] {
        role(&s, who, unit, RoleFunction::Chair).await;
    }
    role(&s, board, org.old, RoleFunction::Board).await;
    s.add_app_password(bjoern, "laptop", "ein-langes-passwort")
        .await
        .unwrap();

    let report = s
        .invite_officers(RoleFunction::Chair, None, &setup(), &PlainMail)
        .await
        .unwrap();

    let names =
        |v: &[verteiler_store::Officer]| v.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&report.invited), ["Ole Test"]);
    assert_eq!(names(&report.skipped), ["Bjoern Test"]);
    assert_eq!(names(&report.without_email), ["Wiebke Ohnemail"]);
    assert_eq!(report.without_email[0].unit_code, "HH-AL-OTT");
    let notices = s.claim_notifications(now_ms(), 60_000, 10).await.unwrap();
    assert_eq!(notices.len(), 1, "only Ole is mailed");
    assert_eq!(notices[0].to_address, "ole@example.org");
    assert!(
        notices[0].body.contains("Ole Test of Unit HH-WA-OLD")
            && notices[0]
                .body
                .contains("as ole@example.org via smtp.example.org:587 for 7 days"),
        "{}",
        notices[0].body
    );
    // The link signs Ole in.
    let token = notices[0]
        .body
        .split("/signin/link/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();

    // Again: Ole's link is still valid and unused, so nobody is mailed twice.
    let again = s
        .invite_officers(RoleFunction::Chair, None, &setup(), &PlainMail)
        .await
        .unwrap();
    assert!(again.invited.is_empty());
    assert_eq!(names(&again.pending), ["Ole Test"]);
    assert_eq!(s.redeem_sign_in(token).await.unwrap(), Some(ole));

    // Within a unit's subtree only; board members are another function.
    let wa = s
        .invite_officers(RoleFunction::Board, Some(org.wa), &setup(), &PlainMail)
        .await
        .unwrap();
    assert_eq!(names(&wa.invited), ["Bea Test"]);
    let al = s
        .invite_officers(RoleFunction::Board, Some(org.al), &setup(), &PlainMail)
        .await
        .unwrap();
    assert!(al.invited.is_empty() && al.without_email.is_empty());
}
