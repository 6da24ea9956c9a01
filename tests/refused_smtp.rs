//! Refused mail over SMTP, with smtplib against the real binary: a refused message is stored
//! as its headers only, and beyond `limits.refused_per_sender_per_hour` the next refused one
//! is answered "try later" (451 4.7.1) and not stored at all, while the sender's messages that
//! a list takes still go through.

mod support;

use support::*;

#[tokio::test]
async fn a_flood_of_refused_mail_is_throttled_and_what_is_kept_has_no_body() {
    let Some((env, server)) = demo_server(
        "python3",
        &[("VERTEILER_LIMITS__REFUSED_PER_SENDER_PER_HOUR", "2")],
    )
    .await
    else {
        return;
    };
    let smtp = server.smtp();
    let store = &env.db.store;
    let before = store.count_submissions().await.unwrap();
    // The chair may not write to the press list: refused at DATA, every time.
    let refused = |size: &str| {
        smtplib_send(
            &smtp,
            CHAIR.0,
            CHAIR.1,
            CHAIR.0,
            "pressemitteilungen@lists.example.org",
            &["--size", size],
        )
    };
    let mut kept = Vec::new();
    for _ in 0..2 {
        let r = refused("100000");
        assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
        kept.push(r.message_id);
    }
    let r = refused("100000");
    assert_eq!((r.stage.as_str(), r.code), ("data", 451), "{r:?}");
    assert!(r.text.contains("4.7.1"), "{r:?}");
    assert_eq!(store.count_submissions().await.unwrap(), before + 2);

    let id = store
        .submissions_by_message_id(kept[0].trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    let raw = store.submission_raw(id).await.unwrap().unwrap();
    assert!(raw.len() < 4_000, "headers only, not {} bytes", raw.len());
    assert!(String::from_utf8_lossy(&raw).contains("Subject: "));
    let decided = store.audit_of_submission(id).await.unwrap().remove(0);
    assert!(decided.details_json()["size_bytes"].as_u64() > Some(100_000));

    // A message a list takes is neither throttled nor cut.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
}
