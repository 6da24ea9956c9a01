//! Intake is one operation: the same message brings the same refusals, decisions, throttling
//! and stored record whichever way in (SMTP, the portal, the command line, an API) hands it in.

mod common;

use common::decided::settings;
use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::intake::{
    Arrival, Intake, IntakeOutcome, IntakeRequest, Mode, Person, Refusal,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Origin, Store};

const LIST: &str = "oldenfelde@lists.example.org";
const NOWHERE: &str = "nirgends@lists.example.org";

/// A message from `from` (shown as `name`) with a `Date:` and a `Message-ID:`, so the stored
/// bytes do not depend on the moment it was taken.
fn message(name: &str, from: &str, to: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {name} <{from}>\r\nTo: {to}\r\nSubject: Sommerfest\r\n\
         Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <fest@example.org>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// How `origin` brings a message in; everything but the way in is the same.
fn request(origin: Origin, member_id: i64, raw: Vec<u8>, to: &str, mode: Mode) -> IntakeRequest {
    let smtp = origin == Origin::Smtp;
    IntakeRequest {
        arrival: Arrival {
            origin,
            client_ip: smtp.then(|| "192.0.2.7".into()),
            client_name: smtp.then(|| "laptop".into()),
            tls: true,
            envelope_from: smtp.then(|| "chair@example.org".into()),
        },
        person: Person {
            member_id,
            login: "chair@example.org".into(),
            credential_id: None,
        },
        raw,
        addresses: vec![to.into()],
        sms_text: Some("Sommerfest am Samstag".into()),
        mode,
    }
}

/// What the sender was told and what was stored, as text to compare.
async fn told(s: &Store, member: i64, outcome: IntakeOutcome) -> String {
    match outcome {
        IntakeOutcome::Refused(Refusal::Unfit(unfit)) => format!("unfit: {unfit}"),
        IntakeOutcome::Refused(refusal) => format!("refused: {refusal}"),
        IntakeOutcome::Throttled { limit } => format!("throttled at {limit}"),
        IntakeOutcome::Checked { decided } => {
            let decisions: Vec<_> = decided.iter().map(|d| &d.decision).collect();
            format!("checked: {decisions:?}")
        }
        IntakeOutcome::Stored(stored) => {
            let id = stored.submission_id;
            let raw = s.submission_raw(id).await.unwrap().unwrap();
            let own = s.own_submission(member, id).await.unwrap().unwrap();
            let sends: Vec<_> = own
                .sends
                .iter()
                .map(|o| (o.send.state, o.reasons.clone()))
                .collect();
            let who = s.who_sent(id).await.unwrap().unwrap();
            format!(
                "stored {id}: {:?} {:?}\nraw: {}\nsubject: {} sends: {sends:?}\n\
                 hash: {} kept: {} sms: {:?}",
                stored
                    .decided
                    .iter()
                    .map(|d| &d.decision)
                    .collect::<Vec<_>>(),
                stored.replaced_name,
                String::from_utf8_lossy(&raw),
                own.subject,
                who.content_hash,
                who.kept,
                s.submission_sms_text(id).await.unwrap(),
            )
        }
    }
}

/// Everything one sender does through `origin`, on a fresh database: a message under a name
/// not the directory's, one in somebody else's name, an unfit one, a check, and refused ones
/// until the refused-flood limit throttles them.
async fn story(origin: Origin) -> Vec<String> {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    structural(s, "oldenfelde", org.old, false).await;
    let mut approvals = settings();
    approvals.limits.sender_refused_per_hour = 1;
    let intake = Intake::start(s.clone(), approvals);
    let mut told_them = Vec::new();
    let me = "chair@example.org";
    for (raw, to, mode) in [
        (
            message("Pressestelle", me, LIST, "Hallo"),
            LIST,
            Mode::Submit,
        ),
        (
            message("Anna", "anna@example.org", LIST, "Hallo"),
            LIST,
            Mode::Submit,
        ),
        (message("Chair", me, LIST, "Hallo\0"), LIST, Mode::Submit),
        (message("Chair", me, LIST, "Nur prüfen"), LIST, Mode::Check),
        (
            message("Chair", me, NOWHERE, "Erstens"),
            NOWHERE,
            Mode::Submit,
        ),
        (
            message("Chair", me, NOWHERE, "Zweitens"),
            NOWHERE,
            Mode::Submit,
        ),
    ] {
        let answer = intake
            .take(request(origin, chair, raw, to, mode))
            .await
            .unwrap();
        told_them.push(told(s, chair, answer.outcome).await);
    }
    told_them
}

#[tokio::test]
async fn every_way_in_takes_the_same_steps_to_the_same_record() {
    let smtp = story(Origin::Smtp).await;
    assert!(smtp[0].starts_with("stored "), "{}", smtp[0]);
    assert!(
        smtp[0].contains("submitted: \"Pressestelle\""),
        "{}",
        smtp[0]
    );
    assert!(smtp[1].starts_with("refused: "), "{}", smtp[1]);
    assert!(smtp[2].starts_with("unfit: "), "{}", smtp[2]);
    assert!(smtp[3].starts_with("checked: "), "{}", smtp[3]);
    assert!(smtp[4].starts_with("stored "), "{}", smtp[4]);
    assert_eq!(smtp[5], "throttled at 1");
    for origin in [Origin::Portal, Origin::Cli, Origin::Api] {
        let other = story(origin).await;
        for (a, b) in smtp.iter().zip(&other) {
            assert_eq!(a, b, "{origin:?}");
        }
        assert_eq!(smtp.len(), other.len());
    }
}
