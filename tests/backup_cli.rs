//! `verteiler backup FILE` while `serve` delivers: the copy holds every submission accepted
//! before it began, verifies, and serves as the database again. On PostgreSQL the command
//! says to use pg_dump.

mod support;

use std::time::Duration;
use support::*;
use verteiler_store::{SendState, Store};

/// Hands a message for Oldenfelde in over the API; its submission and send ids.
async fn submit(server: &Server, token: &str, subject: &str) -> (i64, i64) {
    let answer = api_submit(server, token, "oldenfelde", subject).await;
    assert_eq!(answer["sends"][0]["decision"], "released", "{answer}");
    (
        answer["submission_id"].as_i64().unwrap(),
        answer["sends"][0]["send_id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_backup_taken_during_a_fan_out_holds_every_accepted_submission() {
    let env = Env::new().await;
    if env.db.url.starts_with("postgres") {
        let refused = env.run(&["backup", env.path("copy.db").to_str().unwrap()]);
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("pg_dump"), "{}", stderr(&refused));
        return;
    }
    let demo = env.run(&["demo", "--members", "3000"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let server = env.serve_with(
        &["--demo"],
        &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")],
    );
    let (_, token) = cli_token(&env, CHAIR.0, "backup test", "send sends:read");
    let mut accepted = Vec::new();
    for n in 0..5 {
        accepted.push(submit(&server, &token, &format!("Termin {n}")).await);
    }
    let store = &env.db.store;
    let mut running = 0;
    for (_, send) in &accepted {
        let state = store.send_record(*send).await.unwrap().unwrap().state;
        running += usize::from(matches!(state, SendState::Scheduled | SendState::Sending));
    }

    let copy = env.path("verteiler-backup.db");
    let backup = env.run(&["backup", copy.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(
        stdout(&backup).contains("backup written"),
        "{}",
        stdout(&backup)
    );
    let after = submit(&server, &token, "Nach der Sicherung").await;
    wait_until_complete(&env, after.1, Duration::from_secs(90)).await;
    server.kill();
    assert!(
        running > 0,
        "the backup is taken while the sends are delivered"
    );

    // Restored: the copy is the database of a fresh process.
    let restored = Store::open(&format!("sqlite://{}", copy.display()), 2)
        .await
        .unwrap();
    for (submission, send) in &accepted {
        assert!(
            restored
                .submission_raw(*submission)
                .await
                .unwrap()
                .is_some(),
            "submission {submission} is in the backup"
        );
        let state = restored.send_record(*send).await.unwrap().unwrap().state;
        assert_ne!(state, SendState::Rejected);
    }
    assert!(
        restored.submission_raw(after.0).await.unwrap().is_none(),
        "a submission after the backup began is not in it"
    );
    let verify = env
        .command()
        .env(
            "VERTEILER_DATABASE__URL",
            format!("sqlite://{}", copy.display()),
        )
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", stdout(&verify));
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    let env = Env::new().await;
    if env.db.url.starts_with("postgres") {
        return; // refused before any file is looked at (see the test above)
    }
    let existing = env.path("kept.db");
    std::fs::write(&existing, b"an older backup").unwrap();
    let refused = env.run(&["backup", existing.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("exists already"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"an older backup");
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
