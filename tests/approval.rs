//! Four eyes end to end, the press-office incident: an official statement over real SMTP is
//! held; the sender cannot approve it; a second press officer can, through the CLI; delivery
//! waits for the undo window; and `audit who` names both people and the sender's client IP.

mod support;

use std::time::{Duration, Instant};
use support::*;
use verteiler_store::SendState;

const RENEE: (&str, &str) = ("renee.hoffmann@example.org", "presse-eins");
const JONAS: &str = "jonas.petersen@example.org";
const UNDO_SECS: i64 = 3;

async fn wait_for<T>(what: &str, within: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_official_statement_needs_a_second_press_officer_and_the_log_names_both() {
    let undo = UNDO_SECS.to_string();
    let Some((env, server)) = demo_server(
        "python3",
        &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", &undo)],
    )
    .await
    else {
        return;
    };
    let store = &env.db.store;
    let (r, send_id) = press_release(&env, &server, "Stellungnahme").await;
    assert!(r.text.contains("zur Freigabe"), "{}", r.text);
    let send = store.send_record(send_id).await.unwrap().unwrap();
    assert_eq!(send.state, SendState::Held);
    let id = send.id.to_string();

    // The other press officer is asked by email; the sender is not asked about her own.
    let request = wait_for(
        "the approval request",
        Duration::from_secs(15),
        async || {
            store
                .notifications_to(JONAS)
                .await
                .unwrap()
                .into_iter()
                .find(|n| n.0 == "approval.requested")
        },
    )
    .await;
    assert!(request.2.contains("Renée Hoffmann"), "{}", request.2);
    assert!(request.2.contains(&format!("verteiler held approve {id}")));
    assert!(!store
        .notifications_to(RENEE.0)
        .await
        .unwrap()
        .iter()
        .any(|n| n.0 == "approval.requested"));

    let listed = env.run(&["held", "list"]);
    assert!(
        stdout(&listed).contains("Pressemitteilungen"),
        "{}",
        stdout(&listed)
    );

    let own = env.run(&["held", "approve", &id, "--as", RENEE.0]);
    assert!(!own.status.success());
    assert!(
        stderr(&own).contains("nicht selbst freigegeben"),
        "{}",
        stderr(&own)
    );
    assert_eq!(
        store.send_record(send.id).await.unwrap().unwrap().state,
        SendState::Held
    );

    let approved_at = verteiler_store::now_ms();
    // The CLI releases, so it reads the undo window from the same configuration as the server.
    let approve = env
        .command()
        .env("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", &undo)
        .args(["held", "approve", &id, "--as", JONAS])
        .output()
        .unwrap();
    assert!(approve.status.success(), "{}", stderr(&approve));
    assert!(
        stdout(&approve).contains("released"),
        "{}",
        stdout(&approve)
    );
    let released = store.send_record(send.id).await.unwrap().unwrap();
    let release_at = released.release_at.expect("a release time");
    assert!(
        (approved_at + UNDO_SECS * 1000..approved_at + (UNDO_SECS + 5) * 1000)
            .contains(&release_at),
        "delivery waits for the undo window, and no longer"
    );
    assert_eq!(released.state, SendState::Scheduled);
    assert_eq!(store.delivery_totals(send.id).await.unwrap().sent, 0);

    wait_for(
        "the send to complete",
        Duration::from_secs(60),
        async || {
            let state = store.send_record(send.id).await.unwrap().unwrap().state;
            (state == SendState::Complete).then_some(())
        },
    )
    .await;
    let totals = store.delivery_totals(send.id).await.unwrap();
    assert!(totals.sent > 0, "{totals:?}");

    let who = env.run(&["audit", "who", &r.message_id]);
    assert!(who.status.success(), "{}", stderr(&who));
    let text = stdout(&who);
    for part in [
        "Renée Hoffmann <renee.hoffmann@example.org>",
        "audited as smtp:member:",
        "IP 127.0.0.1",
        "TLS yes",
        "pressemitteilungen@lists.example.org",
        "approval by Renée Hoffmann <renee.hoffmann@example.org> refused (approval.own_submission)",
        "approved by Jonas Petersen <jonas.petersen@example.org>",
        "released by the approval of Jonas Petersen",
        &format!("delivery:  {} sent", totals.sent),
    ] {
        assert!(text.contains(part), "{part:?} missing in:\n{text}");
    }

    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    assert!(stdout(&verify).starts_with("OK: "), "{}", stdout(&verify));

    let export = env.run(&["audit", "export", "--since", "2020-01-01"]);
    assert!(export.status.success(), "{}", stderr(&export));
    let lines: Vec<serde_json::Value> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = lines.iter().filter_map(|l| l["action"].as_str()).collect();
    for action in [
        "submission.decided",
        "approval.requested",
        "approval.refused",
        "approval.given",
        "send.released",
    ] {
        assert!(actions.contains(&action), "{action} missing in {actions:?}");
    }
    assert!(lines.windows(2).all(|w| w[1]["prev_hash"] == w[0]["hash"]));
}

/// Sends as Renée (from the press office's address) to the press list; returns the reply and
/// the send's id.
async fn press_release(env: &Env, server: &Server, subject: &str) -> (SmtpOutcome, i64) {
    let r = smtplib_send(
        &server.smtp(),
        RENEE.0,
        RENEE.1,
        "presse@example.org",
        "pressemitteilungen@lists.example.org",
        &["--subject", subject],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let store = &env.db.store;
    let submission = store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    (r, store.sends_of(submission).await.unwrap()[0].id)
}

#[tokio::test]
async fn approvers_decide_by_email_as_the_person_they_logged_in_as() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let store = &env.db.store;
    let rejected = press_release(&env, &server, "Erste Fassung").await.1;
    let approved = press_release(&env, &server, "Zweite Fassung").await.1;
    let decide = |login: (&str, &str), to: String, body: &str| {
        smtplib_send(
            &server.smtp(),
            login.0,
            login.1,
            login.0,
            &to,
            &["--body", body],
        )
    };
    let jonas = (JONAS, "presse-zwei");

    // The From: line cannot make anybody an approver: the login decides, and Renée sent it.
    let own = decide(RENEE, format!("approve+{approved}@lists.example.org"), "");
    assert_eq!((own.stage.as_str(), own.code), ("data", 550), "{own:?}");
    assert!(
        own.text.contains("nicht selbst freigegeben"),
        "{}",
        own.text
    );

    let no_reason = decide(
        jonas,
        format!("reject+{rejected}@lists.example.org"),
        "> quoted only\n",
    );
    assert_eq!(no_reason.code, 550, "{no_reason:?}");
    assert!(no_reason.text.contains("Begründung"), "{}", no_reason.text);

    let reject = decide(
        jonas,
        format!("reject+{rejected}@lists.example.org"),
        "Bitte das Zitat prüfen.\n\nAm 30.11. schrieb verteiler:\n> Renée möchte …\n",
    );
    assert_eq!(
        (reject.stage.as_str(), reject.code),
        ("sent", 250),
        "{reject:?}"
    );
    assert_eq!(
        store.send_record(rejected).await.unwrap().unwrap().state,
        SendState::Rejected
    );
    let told = store.notifications_to(RENEE.0).await.unwrap();
    let rejection = told
        .iter()
        .find(|n| n.0 == "submission.rejected")
        .expect("the sender is told");
    assert!(
        rejection.2.contains("Bitte das Zitat prüfen."),
        "{}",
        rejection.2
    );
    assert!(
        !rejection.2.contains("Renée möchte"),
        "the quote is not the reason"
    );

    let approve = decide(jonas, format!("approve+{approved}@lists.example.org"), "");
    assert_eq!(
        (approve.stage.as_str(), approve.code),
        ("sent", 250),
        "{approve:?}"
    );
    assert!(approve.text.contains("freigegeben"), "{}", approve.text);
    assert_eq!(
        store.send_record(approved).await.unwrap().unwrap().state,
        SendState::Scheduled
    );

    // Deciding needs a login, and a decision cannot ride along with a list message.
    let anonymous = smtplib_send(
        &server.smtp(),
        "-",
        "",
        JONAS,
        &format!("approve+{rejected}@lists.example.org"),
        &[],
    );
    assert_eq!(
        (anonymous.stage.as_str(), anonymous.code),
        ("rcpt", 530),
        "{anonymous:?}"
    );
    let mixed = decide(
        jonas,
        format!("approve+{approved}@lists.example.org,pressemitteilungen@lists.example.org"),
        "",
    );
    assert_eq!(mixed.code, 550, "{mixed:?}");

    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
}

#[tokio::test]
async fn a_decision_by_mail_from_somebody_not_asked_reads_as_for_an_unknown_send() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let store = &env.db.store;
    let held = press_release(&env, &server, "Stellungnahme").await.1;
    // The sweep asks the press office (an audit entry); count from after it.
    wait_for(
        "the approval request",
        Duration::from_secs(15),
        async || {
            let asked = store.notifications_to(JONAS).await.unwrap();
            asked
                .iter()
                .any(|n| n.0 == "approval.requested")
                .then_some(())
        },
    )
    .await;
    let entries = store.audit_verify().await.unwrap().entries;

    // The chair of Oldenfelde is no press officer: the press list does not ask him.
    let unknown = held + 1000;
    let mut answers = Vec::new();
    for id in [held, unknown] {
        for (verdict, body) in [("approve", ""), ("reject", "Nein.\n")] {
            let to = format!("{verdict}+{id}@lists.example.org");
            let r = smtplib_send(
                &server.smtp(),
                CHAIR.0,
                CHAIR.1,
                CHAIR.0,
                &to,
                &["--body", body],
            );
            // The reply names the send it was asked about, and otherwise says the same.
            let (text, named) = r.text.rsplit_once(' ').expect("a reply text");
            assert_eq!(named, id.to_string(), "{r:?}");
            answers.push((r.stage.clone(), r.code, text.to_string()));
        }
    }
    assert_eq!(answers[..2], answers[2..], "{answers:?}");
    assert_eq!((answers[0].0.as_str(), answers[0].1), ("data", 550));
    assert_eq!(
        store.audit_verify().await.unwrap().entries,
        entries,
        "no audit entry per try"
    );
    assert_eq!(
        store.send_record(held).await.unwrap().unwrap().state,
        SendState::Held
    );
}
