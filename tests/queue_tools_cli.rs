//! `verteiler send inspect|requeue|purge` with the real binary: what an operator sees of one
//! copy, and that a purge refuses a delivered or worker-held copy with exit code 1.

mod support;

use support::*;
use verteiler_policies::{AudienceSlug, Decision, EmailAddress, HeaderTreatment};
use verteiler_store::{
    now_ms, Attempt, ExpansionSettings, NewSend, NewSubmission, Origin, Store, SubmissionRecord,
};

/// A released send of the demo chair to the Oldenfelde list, expanded into copies that a
/// worker then claimed; returns the claimed copies' ids.
async fn claimed_copies(store: &Store) -> Vec<i64> {
    let chair = store
        .member_id_by_email(&EmailAddress::parse(CHAIR.0).unwrap())
        .await
        .unwrap()
        .unwrap();
    let list = store
        .audience_by_slug(&AudienceSlug::parse("oldenfelde").unwrap())
        .await
        .unwrap()
        .unwrap();
    let recipients = store.count(&list).await.unwrap();
    let stored = store
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some("queue-tools@example.org".into()),
                sender_member_id: chair,
                credential_id: None,
                login: CHAIR.0.into(),
                ingress: Origin::Cli,
                client_ip: None,
                client_name: None,
                tls: false,
                envelope_from: CHAIR.0.into(),
                header_from: CHAIR.0.into(),
                subject: "Sitzung".into(),
                content_hash: "04".repeat(32),
                raw: b"From: ole.brandt@example.org\r\nSubject: Sitzung\r\n\r\nHallo".to_vec(),
                message_facts: None,
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: "oldenfelde@lists.example.org".into(),
                audience_id: Some(list.id),
                decision: Decision::Release {
                    headers: HeaderTreatment::Keep,
                },
                recipients,
                release_at: Some(now_ms() - 1),
                expires_at: None,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    let send = store.sends_of(stored.id).await.unwrap()[0].id;
    let settings = ExpansionSettings {
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    };
    store.expand_send(send, 1000, &settings).await.unwrap();
    let claimed = store
        .claim_deliveries(now_ms(), 600_000, 1000)
        .await
        .unwrap();
    assert!(claimed.len() >= 3, "{} copies", claimed.len());
    claimed.iter().map(|c| c.id).collect()
}

#[tokio::test]
async fn an_operator_inspects_requeues_and_purges_copies() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let store = &env.db.store;
    let copies = claimed_copies(store).await;
    let (deferred, sent, leased) = (copies[0], copies[1], copies[2]);
    let retry = Attempt::Retry {
        at: now_ms() + 3_600_000,
        error: "mx.example.net answered 451 4.2.0 try later".into(),
    };
    store.finish_delivery(deferred, &retry).await.unwrap();
    store.finish_delivery(sent, &Attempt::Sent).await.unwrap();

    let seen = env.run(&["send", "inspect", &deferred.to_string()]);
    assert!(seen.status.success(), "{}", stderr(&seen));
    let text = stdout(&seen);
    for part in [
        "to oldenfelde@lists.example.org",
        "(member ",
        "channel:      email",
        "state:        queued",
        "attempts:     1",
        "451 4.2.0 try later",
        "next attempt: 20",
        "lease:        none",
    ] {
        assert!(text.contains(part), "{part:?} missing in:\n{text}");
    }
    let held = stdout(&env.run(&["send", "inspect", &leased.to_string()]));
    assert!(held.contains("held by a worker until"), "{held}");
    let unknown = env.run(&["send", "inspect", "999999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no copy has the id 999999"));

    let requeued = env.run(&["send", "requeue", &deferred.to_string(), &sent.to_string()]);
    assert!(requeued.status.success(), "{}", stderr(&requeued));
    assert!(stdout(&requeued).contains("1 deferred copies will be retried now"));
    assert!(
        stdout(&env.run(&["send", "inspect", &deferred.to_string()]))
            .contains("next attempt: due now")
    );

    // Nothing is deferred any more: the leased and the sent copy are not touched.
    let flushed = env.run(&["send", "flush"]);
    assert!(flushed.status.success(), "{}", stderr(&flushed));
    assert!(stdout(&flushed).contains("0 deferred copies will be retried now"));

    let refused = env.run(&["send", "purge", &sent.to_string(), "--reason", "x"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is already sent"),
        "{}",
        stderr(&refused)
    );
    let busy = env.run(&["send", "purge", &leased.to_string(), "--reason", "x"]);
    assert_eq!(busy.status.code(), Some(1));
    assert!(
        stderr(&busy).contains("held by a worker"),
        "{}",
        stderr(&busy)
    );

    let purged = env.run(&[
        "send",
        "purge",
        &deferred.to_string(),
        "--reason",
        "mailbox gone",
        "--as",
        "cli:ops",
    ]);
    assert!(purged.status.success(), "{}", stderr(&purged));
    assert!(stdout(&purged).contains("purged"));
    let after = stdout(&env.run(&["send", "inspect", &deferred.to_string()]));
    for part in [
        "state:        cancelled",
        "delivery.purged by cli:ops",
        "mailbox gone",
    ] {
        assert!(after.contains(part), "{part:?} missing in:\n{after}");
    }
    let who = stdout(&env.run(&["audit", "who", "<queue-tools@example.org>"]));
    assert!(
        who.contains(&format!("copy {deferred} purged by cli:ops: mailbox gone")),
        "{who}"
    );
    let again = env.run(&["send", "purge", &deferred.to_string(), "--reason", "x"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("is already cancelled"));
}
