//! What the real binary keeps about people: `serve` purges a message once its send ended
//! longer ago than `limits.retention_days` (and says so in the audit log); `member erase`
//! takes an erased sender's messages with them, and `audit verify` still passes; the audit
//! log never holds the sender's address; the key file is made once, private.

mod support;

use std::time::Duration;
use support::*;
use verteiler_policies::EmailAddress;

const DAY_MS: i64 = 24 * 3_600 * 1000;

#[tokio::test]
async fn serve_purges_messages_past_the_retention_period_and_audits_it() {
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]).await
    else {
        return;
    };
    let (send, reply) = send_to_oldenfelde(&env, &server).await;
    wait_until_complete(&env, send, Duration::from_secs(60)).await;
    assert!(server.terminate(Duration::from_secs(30)).is_some());
    let store = &env.db.store;
    let submission = store
        .send_record(send)
        .await
        .unwrap()
        .unwrap()
        .submission_id;
    assert!(!store
        .submission_raw(submission)
        .await
        .unwrap()
        .unwrap()
        .is_empty());

    // 91 days later, by the send's clock: the next start purges it.
    verteiler_store::testing::age_submission(store, submission, 91 * DAY_MS)
        .await
        .unwrap();
    let server = env.serve_with(&["--demo"], &[("VERTEILER_LIMITS__RETENTION_DAYS", "90")]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !store
        .submission_raw(submission)
        .await
        .unwrap()
        .unwrap()
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "never purged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(server);
    let purged = store
        .last_audit_details("messages.purged")
        .await
        .unwrap()
        .expect("the purge is audited");
    assert_eq!(purged["retention_days"], 90);
    assert!(purged["submissions"].as_u64() >= Some(1), "{purged}");
    let who = env.run(&["audit", "who", &reply.message_id]);
    assert!(who.status.success(), "{}", stderr(&who));
    assert!(
        stdout(&who).contains("content purged after the retention period"),
        "{}",
        stdout(&who)
    );
    let verify = env.run(&["audit", "verify"]);
    assert!(stdout(&verify).starts_with("OK: "), "{}", stdout(&verify));
}

#[tokio::test]
async fn an_erased_sender_leaves_no_trace_in_the_log_and_the_chain_verifies() {
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]).await
    else {
        return;
    };
    let (send, reply) = send_to_oldenfelde(&env, &server).await;
    wait_until_complete(&env, send, Duration::from_secs(60)).await;
    drop(server);
    let key = env.path("data/privacy.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let store = &env.db.store;
    let ole = store
        .member_id_by_email(&EmailAddress::parse(CHAIR.0).unwrap())
        .await
        .unwrap()
        .unwrap();
    let submission = store
        .send_record(send)
        .await
        .unwrap()
        .unwrap()
        .submission_id;

    let export = |env: &Env| {
        let out = env.run(&["audit", "export", "--since", "2020-01-01"]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).to_lowercase()
    };
    assert!(
        !export(&env).contains(CHAIR.0),
        "the log names the sender by id, their address only by keyed hash"
    );
    // Asked by their address, the log still finds the sender's entries (the key is at hand).
    let hash = {
        let keyed = store
            .with_privacy_key_file(&key)
            .await
            .expect("the installation's key");
        keyed.contact_hash(CHAIR.0, "DE")
    };
    assert!(export(&env).contains(&hash));

    assert!(store.request_deletion(ole).await.unwrap());
    let erased = env.run(&["member", "erase", &ole.to_string()]);
    assert!(erased.status.success(), "{}", stderr(&erased));
    assert_eq!(
        store.submission_raw(submission).await.unwrap(),
        Some(Vec::new())
    );
    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    assert!(stdout(&verify).starts_with("OK: "), "{}", stdout(&verify));
    let who = env.run(&["audit", "who", &reply.message_id]);
    assert!(who.status.success(), "{}", stderr(&who));
    let text = stdout(&who);
    for part in [
        format!("member {ole} (erased)"),
        "not kept (the sender was erased)".to_string(),
        "content erased with its sender".to_string(),
    ] {
        assert!(text.contains(&part), "{part:?} missing in:\n{text}");
    }
    assert!(!text.to_lowercase().contains("brandt"), "{text}");
    assert!(!export(&env).contains(CHAIR.0));
}
