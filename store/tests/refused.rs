//! Refused mail and the question "who sent this?": a refused message keeps only what explains
//! the refusal and counts on a rate of its own; a copy's Message-ID, its X-Verteiler-Send id,
//! its headers or the original's Message-ID all lead to the submission, and a press officer
//! gets the answer only for their own area.

mod common;

use common::decided::{decided, submitted};
use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, AuditQuery, RawState, SendState, Store, WhoAsker};

/// A message with a large body: what a refusal must not keep.
fn big_message() -> Vec<u8> {
    let mut raw = b"From: chair@example.org\r\nTo: nirgends@lists.example.org\r\n\
        Subject: Viel Text\r\nMessage-ID: <big@example.org>\r\n\r\n"
        .to_vec();
    raw.extend(std::iter::repeat_n(b'x', 200_000));
    raw
}

async fn chair_of_oldenfelde(s: &Store) -> (Org, i64) {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    structural(s, "oldenfelde", org.old, false).await;
    (org, chair)
}

#[tokio::test]
async fn a_refused_submission_keeps_only_its_headers_size_and_hash() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, chair) = chair_of_oldenfelde(s).await;
    let raw = big_message();
    let to = "nirgends@lists.example.org";
    let me = "chair@example.org";
    let (id, _) = submitted(s, chair, me, to, "big@example.org", &raw).await;

    let kept = s.submission_raw(id).await.unwrap().unwrap();
    let headers_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        kept,
        &raw[..headers_end],
        "the header block, nothing of the body"
    );
    assert_eq!(s.submission_sms_text(id).await.unwrap(), None);
    let story = s.who_sent(id).await.unwrap().unwrap();
    assert_eq!(story.kept, RawState::Headers);
    assert_eq!(story.content_hash, "07".repeat(32));
    let decided = s.audit_of_submission(id).await.unwrap().remove(0);
    assert_eq!(decided.details_json()["size_bytes"], raw.len());
    // The sender's own page still shows it, with why it was refused.
    let own = s.own_submission(chair, id).await.unwrap().unwrap();
    assert_eq!(own.subject, "Einladung");
    assert!(!own.sends[0].reasons.is_empty());
    assert_eq!(own.sends[0].send.state, SendState::Rejected);

    // A message some list takes is kept whole.
    let list = "oldenfelde@lists.example.org";
    let (taken, _) = submitted(s, chair, me, list, "ok@example.org", &raw).await;
    assert_eq!(s.submission_raw(taken).await.unwrap().unwrap(), raw);
}

#[tokio::test]
async fn refused_submissions_count_on_a_rate_of_their_own() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, chair) = chair_of_oldenfelde(s).await;
    let other = member(s, "Other", org.old).await;
    let me = "chair@example.org";
    let raw = b"Subject: x\r\n\r\nbody";
    let now = now_ms();
    // Taken ones do not count.
    let list = "oldenfelde@lists.example.org";
    for n in 0..3 {
        submitted(s, chair, me, list, &format!("ok{n}@example.org"), raw).await;
    }
    assert!(!s.refusals_throttled(chair, 3, now).await.unwrap());
    // A group of refused ones, stored together as the group writer does.
    let mut records = Vec::new();
    for n in 0..3 {
        let to = "nirgends@lists.example.org";
        records.push(decided(s, chair, me, to, &format!("no{n}@example.org"), raw).await);
    }
    let refs: Vec<_> = records.iter().collect();
    s.record_submissions(&refs).await.unwrap();
    assert!(s.refusals_throttled(chair, 3, now).await.unwrap());
    assert!(!s.refusals_throttled(chair, 4, now).await.unwrap());
    assert!(
        !s.refusals_throttled(chair, 0, now).await.unwrap(),
        "0: no limit"
    );
    assert!(
        !s.refusals_throttled(other, 1, now).await.unwrap(),
        "per sender"
    );
    // They do not use up the sender's sends.
    let standing = s.volume_facts(chair, None, now).await.unwrap();
    assert_eq!(standing.sender_sends_last_hour, 3);
}

#[tokio::test]
async fn who_sent_is_found_from_a_copy_its_send_id_its_headers_or_the_original_id() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, chair) = chair_of_oldenfelde(s).await;
    let raw = b"From: chair@example.org\r\nSubject: Einladung\r\n\r\nHallo";
    let list = "oldenfelde@lists.example.org";
    let me = "chair@example.org";
    let (sub, send) = submitted(s, chair, me, list, "original@example.org", raw).await;
    s.expand_send(send, 100, &checks()).await.unwrap();
    let copy = s
        .claim_deliveries(now_ms(), 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    let copy_id = format!("<d{}.{}@lists.example.org>", copy.id, &copy.token[..8]);
    let send_ref = format!("<s{send}.{sub}@lists.example.org>");

    for reference in [
        copy_id.as_str(),
        copy_id.trim_matches(['<', '>']),
        send_ref.as_str(),
        "<original@example.org>",
        "original@example.org",
    ] {
        assert_eq!(
            s.submissions_named_by(reference).await.unwrap(),
            [sub],
            "{reference}"
        );
    }
    for wrong in [
        format!("<d{}.zzzzzzzz@lists.example.org>", copy.id),
        format!("<s{send}.{}@lists.example.org>", sub + 1),
        "<nothing@example.org>".to_string(),
        "  ".to_string(),
    ] {
        assert!(
            s.submissions_named_by(&wrong).await.unwrap().is_empty(),
            "{wrong}"
        );
    }
    // A copy as received, or its headers as pasted from a mail client.
    let received = format!(
        "Message-ID: {copy_id}\r\nTo: \"oldenfelde\" <{list}>\r\nSubject: Einladung\r\n\
         References: <original@example.org>\r\nX-Verteiler-Send: {send_ref}\r\n\r\nHallo"
    );
    assert_eq!(
        s.submissions_named_by_copy(received.as_bytes())
            .await
            .unwrap(),
        [sub]
    );
    let forwarded_headers = "\n  Subject: Fwd: Einladung\nReferences: <original@example.org>\n";
    assert_eq!(
        s.submissions_named_by_copy(forwarded_headers.as_bytes())
            .await
            .unwrap(),
        [sub]
    );
    assert!(s
        .submissions_named_by_copy(b"Subject: nothing\r\n")
        .await
        .unwrap()
        .is_empty());
    // The audit search takes a copy's id too.
    let query = AuditQuery {
        message_id: Some(copy_id),
        ..AuditQuery::default()
    };
    let found = s.audit_search(&query, 10).await.unwrap();
    assert!(
        found.iter().any(|e| e.action == "submission.decided"),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_press_officer_learns_who_sent_only_in_their_area() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, chair) = chair_of_oldenfelde(s).await;
    let raw = b"Subject: x\r\n\r\nbody";
    let me = "chair@example.org";
    let list = "oldenfelde@lists.example.org";
    let (ours, _) = submitted(s, chair, me, list, "ours@example.org", raw).await;
    let ott_chair = member(s, "Otto", org.ott).await;
    role(s, ott_chair, org.ott, RoleFunction::Chair).await;
    structural(s, "ottensen", org.ott, false).await;
    let to = "ottensen@lists.example.org";
    let (theirs, _) = submitted(s, ott_chair, "otto@example.org", to, "t@example.org", raw).await;

    let press = member(s, "Presse", org.old).await;
    role(s, press, org.old, RoleFunction::PressOffice).await;
    let asker = s
        .who_asker(press)
        .await
        .unwrap()
        .expect("a press officer may ask");
    assert!(s.may_see_who_sent(&asker, ours).await.unwrap());
    assert!(!s.may_see_who_sent(&asker, theirs).await.unwrap());

    let admin = member(s, "Admin", org.hh).await;
    role(s, admin, org.hh, RoleFunction::Admin).await;
    assert_eq!(s.who_asker(admin).await.unwrap(), Some(WhoAsker::Admin));
    assert!(s.may_see_who_sent(&WhoAsker::Admin, theirs).await.unwrap());
    assert_eq!(
        s.who_asker(chair).await.unwrap(),
        None,
        "a chair is not asked"
    );
}
