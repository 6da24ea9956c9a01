//! The delivery queue: expansion in resumable batches, the check against a widened audience,
//! leases that bring a crashed worker's deliveries back, and cancellation.

mod common;

use common::*;
use verteiler_policies::{Reason, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, Attempt, Expansion, NewNotification, SendState, Store, TextReceipt};

async fn setup(s: &Store, members: usize) -> (i64, i64) {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 1..members {
        member(s, &format!("M{n}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await;
    (chair, list.id)
}

#[tokio::test]
async fn expansion_runs_in_batches_and_queues_each_address_once() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 7).await;
    let send = released_send(s, chair, list, 7).await;
    assert_eq!(s.due_sends(now_ms(), 10).await.unwrap().len(), 1);

    let mut steps = Vec::new();
    loop {
        let step = s.expand_send(send, 3, &common::checks()).await.unwrap();
        let done = !matches!(step, Expansion::Progress { .. });
        steps.push(step);
        if done {
            break;
        }
    }
    assert_eq!(
        steps,
        vec![
            Expansion::Progress { queued: 3 },
            Expansion::Progress { queued: 3 },
            Expansion::Done { queued: 1 },
        ]
    );
    assert_eq!(
        s.expand_send(send, 3, &common::checks()).await.unwrap(),
        Expansion::NotScheduled,
        "an expanded send is not expanded again"
    );
    assert!(s.due_sends(now_ms(), 10).await.unwrap().is_empty());
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.queued, totals.unreachable), (7, 0));

    let claimed = s.claim_deliveries(now_ms(), 60_000, 100).await.unwrap();
    let mut addresses: Vec<_> = claimed.iter().map(|d| d.address.clone()).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 7, "one delivery per address");
    let mut tokens: Vec<_> = claimed.iter().map(|d| d.token.clone()).collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 7, "every delivery has its own token");
    assert!(claimed.iter().all(|d| !d.token.contains('@')));
}

#[tokio::test]
async fn a_widened_audience_holds_the_send_instead_of_reaching_more_people() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 12).await;
    // Decided on 2 recipients; the list has 12 now.
    let send = released_send(s, chair, list, 2).await;
    match s.expand_send(send, 100, &common::checks()).await.unwrap() {
        Expansion::Held(reasons) => assert!(
            matches!(
                reasons.as_slice(),
                [Reason::AudienceGrew {
                    decided: 2,
                    now: 12,
                    ..
                }]
            ),
            "{reasons:?}"
        ),
        other => panic!("expected a hold, got {other:?}"),
    }
    assert_eq!(state(s, send).await, SendState::Held);
    assert_eq!(s.delivery_totals(send).await.unwrap().queued, 0);

    // The hold waits for approval as long as one at submission would, not forever.
    let held = s.held_send(send).await.unwrap().unwrap();
    let expires = held.expires_at.expect("a send held at expansion expires");
    assert!(expires >= now_ms() + 71 * 3_600_000, "{expires}");

    // A deactivated list can never carry it: refused, not held for approvers.
    let other = released_send(s, chair, list, 12).await;
    s.set_audience_active(list, false).await.unwrap();
    assert!(matches!(
        s.expand_send(other, 100, &common::checks()).await.unwrap(),
        Expansion::Refused(r) if matches!(r.as_slice(), [Reason::AudienceInactive { .. }])
    ));
    assert_eq!(state(s, other).await, SendState::Rejected);
}

#[tokio::test]
async fn a_lapsed_lease_brings_a_delivery_back_and_outcomes_complete_the_send() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 2).await;
    let send = released_send(s, chair, list, 2).await;
    assert!(matches!(
        s.expand_send(send, 100, &common::checks()).await.unwrap(),
        Expansion::Done { queued: 2 }
    ));
    let now = now_ms();
    let first = s.claim_deliveries(now, 60_000, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let second = s.claim_deliveries(now, 60_000, 10).await.unwrap();
    assert_eq!(second.len(), 1, "a claimed delivery is not claimed twice");
    assert_ne!(first[0].id, second[0].id);
    assert!(s
        .claim_deliveries(now, 60_000, 10)
        .await
        .unwrap()
        .is_empty());

    // The first worker "crashed": after its lease the delivery comes back, attempt two.
    let again = s.claim_deliveries(now + 60_001, 60_000, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(),
        vec![(first[0].id, 2), (second[0].id, 2)]
    );

    s.finish_delivery(first[0].id, &Attempt::Sent)
        .await
        .unwrap();
    s.finish_delivery(
        second[0].id,
        &Attempt::Retry {
            at: now + 120_000,
            error: "451 try later".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.complete_finished_sends().await.unwrap(),
        0,
        "one is still queued"
    );
    assert!(
        s.claim_deliveries(now + 61_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let retried = s.claim_deliveries(now + 120_000, 60_000, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    s.finish_delivery(
        retried[0].id,
        &Attempt::Failed {
            error: "550 no such user".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(s.complete_finished_sends().await.unwrap(), 1);
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.sent, totals.failed, totals.queued), (1, 1, 0));
    assert_eq!(state(s, send).await, SendState::Complete);
}

#[tokio::test]
async fn a_cancelled_send_sends_nothing_more() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 5).await;
    let send = released_send(s, chair, list, 5).await;
    assert!(matches!(
        s.expand_send(send, 2, &common::checks()).await.unwrap(),
        Expansion::Progress { queued: 2 }
    ));
    assert_eq!(s.cancel_send(send, "test").await.unwrap(), 2);
    assert_eq!(
        s.expand_send(send, 2, &common::checks()).await.unwrap(),
        Expansion::NotScheduled
    );
    assert!(s
        .claim_deliveries(now_ms(), 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.delivery_totals(send).await.unwrap().cancelled, 2);
}

#[tokio::test]
async fn a_copy_that_went_out_during_the_cancel_counts_as_sent() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 3).await;
    let send = released_send(s, chair, list, 3).await;
    s.expand_send(send, 10, &common::checks()).await.unwrap();
    let claimed = s.claim_deliveries(now_ms(), 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    // Two copies are in flight when the send is cancelled; one of them then succeeds.
    assert_eq!(s.cancel_send(send, "test").await.unwrap(), 3);
    let failed = Attempt::Failed {
        error: "550".into(),
    };
    s.finish_deliveries(&[(claimed[0].id, Attempt::Sent), (claimed[1].id, failed)])
        .await
        .unwrap();
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!(
        (totals.sent, totals.cancelled, totals.failed),
        (1, 2, 0),
        "what went out is reported; the rest stays cancelled"
    );
    assert_eq!(state(s, send).await, SendState::Cancelled);
}

#[tokio::test]
async fn copies_waiting_for_a_retry_are_counted_as_deferred() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 3).await;
    let send = released_send(s, chair, list, 3).await;
    s.expand_send(send, 10, &common::checks()).await.unwrap();
    let claimed = s.claim_deliveries(now_ms(), 60_000, 10).await.unwrap();
    let retry = Attempt::Retry {
        at: now_ms() + 60_000,
        error: "451 4.3.0 try again later".into(),
    };
    s.finish_deliveries(&[(claimed[0].id, retry), (claimed[1].id, Attempt::Sent)])
        .await
        .unwrap();
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.queued, totals.deferred, totals.sent), (2, 1, 1));
}

async fn state(s: &Store, send: i64) -> SendState {
    s.send_record(send).await.unwrap().unwrap().state
}

#[tokio::test]
async fn hard_bounces_give_an_address_up_at_the_limit_and_soft_ones_never() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 2).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let send = released_send(s, chair, list, 2).await;
        assert!(matches!(
            s.expand_send(send, 100, &common::checks()).await.unwrap(),
            Expansion::Done { queued: 2 }
        ));
    }
    for d in s.claim_deliveries(now_ms(), 60_000, 100).await.unwrap() {
        s.finish_delivery(d.id, &Attempt::Sent).await.unwrap();
        if d.address == "m1@example.org" {
            tokens.push(d.token);
        }
    }
    assert_eq!(tokens.len(), 4);
    assert!(s
        .record_bounce("unknown", true, None, "x", 3)
        .await
        .unwrap()
        .is_none());

    // Soft bounces and a repeated report for the same delivery do not count.
    let soft = s.record_bounce(&tokens[0], false, Some("4.2.2"), "mailbox full", 3);
    assert!(!soft.await.unwrap().unwrap().address_given_up);
    for _ in 0..2 {
        let hard = s.record_bounce(&tokens[0], true, Some("5.1.1"), "no such user", 3);
        assert!(!hard.await.unwrap().unwrap().address_given_up);
    }
    let second = s.record_bounce(&tokens[1], true, Some("5.1.1"), "no such user", 3);
    assert!(!second.await.unwrap().unwrap().address_given_up);
    let third = s.record_bounce(&tokens[2], true, Some("5.1.1"), "no such user", 3);
    assert!(
        third.await.unwrap().unwrap().address_given_up,
        "the third hard bounce"
    );

    // The next send does not use the address; the member is counted as unreachable.
    let next = released_send(s, chair, list, 2).await;
    assert!(matches!(
        s.expand_send(next, 100, &common::checks()).await.unwrap(),
        Expansion::Done { queued: 1 }
    ));
    assert_eq!(s.delivery_totals(next).await.unwrap().unreachable, 1);
}

#[tokio::test]
async fn the_kill_switch_stops_expansion_and_claims_until_resumed() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 3).await;
    let expanded = released_send(s, chair, list, 3).await;
    assert!(matches!(
        s.expand_send(expanded, 100, &common::checks())
            .await
            .unwrap(),
        Expansion::Done { queued: 3 }
    ));
    released_send(s, chair, list, 3).await;

    s.pause_delivery(
        "phishing through a stolen password",
        "aylin.kaya@example.org",
    )
    .await
    .unwrap();
    let pause = s.delivery_pause().await.unwrap().unwrap();
    assert_eq!(pause.by, "aylin.kaya@example.org");
    assert!(s.due_sends(now_ms(), 10).await.unwrap().is_empty());
    assert!(s
        .claim_deliveries(now_ms(), 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let overview = s.queue_overview().await.unwrap();
    assert_eq!(
        (
            overview.sends_scheduled,
            overview.sends_sending,
            overview.deliveries.queued
        ),
        (1, 1, 3)
    );
    assert!(overview.paused.is_some());

    s.resume_delivery("aylin.kaya@example.org").await.unwrap();
    assert!(s.delivery_pause().await.unwrap().is_none());
    assert_eq!(s.due_sends(now_ms(), 10).await.unwrap().len(), 1);
    assert_eq!(
        s.claim_deliveries(now_ms(), 60_000, 10)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// Outcomes for five claimed items, one of each kind among three successes: the second is
/// deferred to `retry_at`, the fourth failed for good.
fn sent_deferred_sent_failed_sent(ids: &[i64], retry_at: i64) -> Vec<(i64, Attempt)> {
    vec![
        (ids[0], Attempt::Sent),
        (
            ids[1],
            Attempt::Retry {
                at: retry_at,
                error: "451 later".into(),
            },
        ),
        (ids[2], Attempt::Sent),
        (
            ids[3],
            Attempt::Failed {
                error: "550 no such user".into(),
            },
        ),
        (ids[4], Attempt::Sent),
    ]
}

#[tokio::test]
async fn one_group_of_outcomes_records_each_delivery_its_own_way() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 5).await;
    let send = released_send(s, chair, list, 5).await;
    assert!(matches!(
        s.expand_send(send, 100, &common::checks()).await.unwrap(),
        Expansion::Done { queued: 5 }
    ));
    let now = now_ms();
    let claimed = s.claim_deliveries(now, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let retry_at = now + 600_000;
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    let outcomes = sent_deferred_sent_failed_sent(&ids, retry_at);
    s.finish_deliveries(&outcomes).await.unwrap();
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.sent, totals.failed, totals.queued), (3, 1, 1));
    assert!(
        s.claim_deliveries(now + 60_001, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "the deferred one waits for its retry time, the others are done"
    );
    let retried = s.claim_deliveries(retry_at, 60_000, 10).await.unwrap();
    assert_eq!(
        retried.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![claimed[1].id]
    );

    // A copy reported sent after its send was cancelled went out all the same: it counts.
    assert_eq!(s.cancel_send(send, "test").await.unwrap(), 1);
    s.finish_deliveries(&[(claimed[1].id, Attempt::Sent)])
        .await
        .unwrap();
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.sent, totals.cancelled), (4, 0));
}

#[tokio::test]
async fn one_group_of_notice_outcomes_records_each_notice_its_own_way() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 2).await;
    let notices = (0..5)
        .map(|n| NewNotification {
            member_id: Some(chair),
            to_address: format!("chair{n}@example.org"),
            kind: "submission.released",
            subject: format!("Notice {n}"),
            body: "Ihre Nachricht wurde angenommen.".into(),
        })
        .collect();
    released_send_with_notices(s, chair, list, 2, notices).await;
    let now = now_ms();
    let claimed = s.claim_notifications(now, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let retry_at = now + 600_000;
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    let outcomes = sent_deferred_sent_failed_sent(&ids, retry_at);
    s.finish_notifications(&outcomes).await.unwrap();
    assert!(
        s.claim_notifications(now + 60_001, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent and failed notices are done, the deferred one waits for its retry time"
    );
    let retried = s.claim_notifications(retry_at, 60_000, 10).await.unwrap();
    assert_eq!(
        retried.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![claimed[1].id]
    );
    assert_eq!(retried[0].attempts, 2);
}

#[tokio::test]
async fn copies_go_out_while_later_batches_are_queued_but_not_once_the_send_is_refused() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 7).await;
    let send = released_send(s, chair, list, 7).await;
    assert_eq!(
        s.expand_send(send, 3, &common::checks()).await.unwrap(),
        Expansion::Progress { queued: 3 }
    );
    assert_eq!(
        state(s, send).await,
        SendState::Scheduled,
        "still expanding"
    );
    let now = now_ms();
    let first = s.claim_deliveries(now, 60_000, 10).await.unwrap();
    assert_eq!(
        first.len(),
        3,
        "the first batch goes out before the last is queued"
    );

    // The list is switched off half-way: the send is refused, and what is queued is cancelled.
    s.set_audience_active(list, false).await.unwrap();
    assert!(matches!(
        s.expand_send(send, 3, &common::checks()).await.unwrap(),
        Expansion::Refused(_)
    ));
    assert_eq!(state(s, send).await, SendState::Rejected);
    assert!(
        s.claim_deliveries(now + 60_001, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "a refused send's deliveries are not claimed, not even after their lease"
    );
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.queued, totals.cancelled), (0, 3), "{totals:?}");
}

/// The id of the member with this address.
async fn member_with_email(s: &Store, email: &str) -> i64 {
    s.member_id_by_email(&verteiler_policies::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// Imports members of HH-WA-OLD (numbers and addresses from the membership database count as
/// verified).
async fn import_members(s: &Store, rows: &[(&str, &str, &str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("members.csv");
    let mut csv = String::from("external_id;first_name;last_name;unit_code;email;phone\n");
    for (id, name, email, phone) in rows {
        csv.push_str(&format!("{id};{name};Texter;HH-WA-OLD;{email};{phone}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    let options = verteiler_store::directory::import::ImportOptions {
        allow_large_change: true,
        ..Default::default()
    };
    let report = s.import_members(&path, &options).await.unwrap();
    assert!(report.written, "{:?}", report.errors);
}

#[tokio::test]
async fn members_who_chose_sms_get_a_text_not_a_copy_and_nobody_gets_both() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 3).await;
    import_members(
        s,
        &[
            ("900001", "Sabine", "sabine@example.org", "+49 151 11111111"),
            ("900002", "Tarek", "", "+49 151 22222222"),
            ("900003", "Uwe", "", ""),
        ],
    )
    .await;
    let sabine = member_with_email(s, "sabine@example.org").await;
    let category = s.audience_by_id(list).await.unwrap().unwrap().category;
    s.set_channel_preference(sabine, category, verteiler_policies::ChannelPreference::Sms)
        .await
        .unwrap();
    // Tarek has a number but no address: email, else SMS, so a text. Uwe has neither: not
    // reached, and counted.
    let send = released_send(s, chair, list, 6).await;
    assert_eq!(
        s.expand_send(send, 100, &common::checks()).await.unwrap(),
        Expansion::Done { queued: 3 }
    );
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.queued, totals.sms, totals.unreachable), (3, 2, 1));
    let texts = s.sms_outbox_for("+4915111111111").await.unwrap();
    assert_eq!(texts.len(), 1);
    let (kind, body) = &texts[0];
    assert_eq!(kind, "list");
    // No SMS text was written: a rendering of the email, with the subject and the sender.
    assert!(
        body.contains("] Einladung: ") && body.ends_with(" - Chair Test"),
        "{body}"
    );
    assert_eq!(
        s.sms_outbox_for("+4915122222222").await.unwrap().len(),
        1,
        "no address, a number: the text reaches Tarek"
    );
    // The unit's SMS spending this month counts both texts' parts, for its budget.
    let segments = u64::from(verteiler_policies::SmsText::new(body).segments());
    let volume = s.volume_facts(chair, Some(list), now_ms()).await.unwrap();
    assert_eq!(volume.unit_sms_segments_this_month, 2 * segments);
    let claimed = s.claim_deliveries(now_ms(), 60_000, 100).await.unwrap();
    assert!(
        claimed.iter().all(|d| d.address != "sabine@example.org"),
        "an SMS recipient gets no email copy of the same send"
    );

    // The text is a queue entry like a notification: claimed, retried later, then sent.
    let now = now_ms();
    let (texts, tarek): (Vec<_>, Vec<_>) = s
        .claim_texts(now, 60_000, 10)
        .await
        .unwrap()
        .into_iter()
        .partition(|t| t.to_number == "+4915111111111");
    assert_eq!((texts.len(), tarek.len()), (1, 1));
    assert_eq!(texts[0].send_id, Some(send));
    s.finish_texts(&[(tarek[0].id, Attempt::Sent)], &[])
        .await
        .unwrap();
    assert!(
        s.claim_texts(now, 60_000, 10).await.unwrap().is_empty(),
        "a claimed text is leased"
    );
    let retry = Attempt::Retry {
        at: now + 30_000,
        error: "provider busy".into(),
    };
    s.finish_texts(&[(texts[0].id, retry)], &[]).await.unwrap();
    assert!(s
        .claim_texts(now + 1_000, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let again = s.claim_texts(now + 31_000, 60_000, 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    let id = again[0].id;
    // The SMSC acknowledged the first part before the loop recorded the batch's ids.
    s.record_part_receipt("smsc-1", true).await.unwrap();
    s.finish_texts(
        &[(id, Attempt::Sent)],
        &[(id, "smsc-1".to_string()), (id, "smsc-2".to_string())],
    )
    .await
    .unwrap();
    assert!(s
        .claim_texts(now + 10_000_000, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.text_receipt(id).await.unwrap(),
        None,
        "one part of two delivered is not the text delivered"
    );
    s.record_part_receipt("smsc-2", true).await.unwrap();
    assert_eq!(
        s.text_receipt(id).await.unwrap(),
        Some(TextReceipt::Delivered)
    );
    s.record_part_receipt("smsc-1", false).await.unwrap();
    assert_eq!(
        s.text_receipt(id).await.unwrap(),
        Some(TextReceipt::Failed),
        "a part that failed fails the text"
    );
    assert_eq!(
        s.text_provider_ids(id).await.unwrap(),
        vec!["smsc-1".to_string(), "smsc-2".to_string()]
    );
    let state = &s.texts_to("+4915111111111").await.unwrap()[0];
    assert_eq!(
        (state.sent, state.failed, state.attempts, state.receipt),
        (true, false, 2, Some(TextReceipt::Failed))
    );
    // A receipt for an id nobody recorded is kept, and harms nothing.
    s.record_part_receipt("smsc-unknown", true).await.unwrap();
    assert_eq!(s.text_receipt(id).await.unwrap(), Some(TextReceipt::Failed));
    assert_eq!(
        s.prune_unmatched_receipts(now_ms() - 60_000).await.unwrap(),
        0,
        "kept a while"
    );
    assert_eq!(s.prune_unmatched_receipts(now_ms() + 1).await.unwrap(), 1);
    assert_eq!(
        s.text_provider_ids(id).await.unwrap().len(),
        2,
        "the text's parts stay"
    );
}

#[tokio::test]
async fn an_email_and_sms_list_reaches_members_with_both_on_both() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 1).await;
    import_members(
        s,
        &[
            ("900001", "Sabine", "sabine@example.org", "+49 151 11111111"),
            ("900002", "Tarek", "", "+49 151 22222222"),
            ("900003", "Vera", "vera@example.org", "+49 151 33333333"),
        ],
    )
    .await;
    let audience = s.audience_by_id(list).await.unwrap().unwrap();
    let vera = member_with_email(s, "vera@example.org").await;
    s.set_channel_preference(
        vera,
        audience.category,
        verteiler_policies::ChannelPreference::Sms,
    )
    .await
    .unwrap();
    // Vera's number answered STOP: her email still reaches her.
    s.receive_text("+4915133333333", "STOP", "test")
        .await
        .unwrap();
    let change = verteiler_store::AudiencePolicyChange {
        approval: audience.approval,
        approvals_needed: audience.approvals_needed,
        max_recipients: None,
        max_message_bytes: None,
        sends_per_sender_per_day: None,
        email_and_sms: true,
    };
    s.set_audience_policy(list, &change).await.unwrap();
    let audience = s.audience_by_id(list).await.unwrap().unwrap();
    let counts = s.channel_counts(&audience).await.unwrap();
    assert_eq!(
        (counts.email, counts.sms, counts.also_sms, counts.also_email),
        (2, 2, 1, 1),
        "chair and Sabine by email, Sabine also by SMS; Tarek and Vera by SMS, Vera also by email"
    );

    let send = released_send(s, chair, list, 4).await;
    assert_eq!(
        s.expand_send(send, 100, &common::checks()).await.unwrap(),
        Expansion::Done { queued: 3 }
    );
    let claimed = s.claim_deliveries(now_ms(), 60_000, 100).await.unwrap();
    let mut addresses: Vec<&str> = claimed.iter().map(|d| d.address.as_str()).collect();
    addresses.sort();
    assert_eq!(addresses.len(), 3);
    assert!(addresses.contains(&"sabine@example.org") && addresses.contains(&"vera@example.org"));
    assert_eq!(
        s.sms_outbox_for("+4915111111111").await.unwrap().len(),
        1,
        "Sabine: both"
    );
    assert_eq!(
        s.sms_outbox_for("+4915122222222").await.unwrap().len(),
        1,
        "Tarek: a text"
    );
    let vera_texts: Vec<String> = s
        .sms_outbox_for("+4915133333333")
        .await
        .unwrap()
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(
        vera_texts,
        ["sms.opted_out"],
        "Vera: the opt-out confirmation, no list text"
    );
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!(
        (totals.sms, totals.unreachable),
        (2, 0),
        "nobody unreached: Vera got the email"
    );

    // Without the option, one channel each again.
    s.set_audience_policy(
        list,
        &verteiler_store::AudiencePolicyChange {
            email_and_sms: false,
            ..change
        },
    )
    .await
    .unwrap();
    let audience = s.audience_by_id(list).await.unwrap().unwrap();
    let counts = s.channel_counts(&audience).await.unwrap();
    assert_eq!((counts.also_sms, counts.also_email), (0, 0));
}

#[tokio::test]
async fn stop_ends_texts_but_statutory_notice_and_is_confirmed_once() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (chair, list) = setup(s, 1).await;
    import_members(
        s,
        &[("900001", "Sabine", "sabine@example.org", "+49 151 11111111")],
    )
    .await;
    let sabine = member_with_email(s, "sabine@example.org").await;
    let mut statutory = verteiler_store::NewAudience::structural(
        slug("mitgliederversammlung"),
        "Mitgliederversammlung",
        s.audience_by_id(list).await.unwrap().unwrap().unit_id,
        false,
    );
    statutory.category = verteiler_policies::Category::Statutory;
    let statutory = s.create_audience(&statutory).await.unwrap();
    for category in [
        verteiler_policies::Category::Announcement,
        verteiler_policies::Category::Statutory,
    ] {
        s.set_channel_preference(sabine, category, verteiler_policies::ChannelPreference::Sms)
            .await
            .unwrap();
    }

    use verteiler_store::Inbound;
    assert_eq!(
        s.receive_text("4915111111111", "Stopp!", "smpp")
            .await
            .unwrap(),
        Inbound::OptedOut {
            number: "+4915111111111".into()
        }
    );
    assert_eq!(
        s.receive_text("+49 151 11111111", "STOP", "http")
            .await
            .unwrap(),
        Inbound::AlreadyOptedOut {
            number: "+4915111111111".into()
        }
    );
    assert_eq!(
        s.receive_text("+4915111111111", "Danke!", "smpp")
            .await
            .unwrap(),
        Inbound::Ignored
    );
    let texts = s.sms_outbox_for("+4915111111111").await.unwrap();
    assert_eq!(
        texts
            .iter()
            .filter(|(kind, _)| kind == "sms.opted_out")
            .count(),
        1,
        "confirmed once: {texts:?}"
    );

    let announcement = released_send(s, chair, list, 2).await;
    s.expand_send(announcement, 100, &common::checks())
        .await
        .unwrap();
    let totals = s.delivery_totals(announcement).await.unwrap();
    assert_eq!((totals.sms, totals.unreachable), (0, 1), "{totals:?}");
    let notice = released_send(s, chair, statutory, 2).await;
    s.expand_send(notice, 100, &common::checks()).await.unwrap();
    assert_eq!(
        s.delivery_totals(notice).await.unwrap().sms,
        1,
        "statutory notice still reaches the number"
    );
}
