//! `ops/api/client.py`, the README's Python client: it submits to the demo's Oldenfelde list
//! over the API with a token from `verteiler token create` and follows the send until it is
//! complete.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn the_python_client_submits_and_follows_a_send_to_its_end() {
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]).await
    else {
        return;
    };
    let created = env.run(&[
        "token",
        "create",
        "--member",
        CHAIR.0,
        "--name",
        "client.py",
        "--scopes",
        "send:oldenfelde sends:read",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    let token = stdout(&created).trim().to_string();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ops/api/client.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([
            server.http.as_str(),
            CHAIR.0,
            "oldenfelde",
            "Sommerfest",
            "Liebe Mitglieder, am Samstag feiern wir.",
        ])
        .env("VERTEILER_TOKEN", &token)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running python3");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "client.py: {}", stderr(&out));
    let printed = stdout(&out);
    let line = printed.lines().next().expect("one line per send");
    assert!(line.starts_with("oldenfelde complete "), "{printed}");

    // The send it followed is the chair's, and it is complete in the store too.
    let state: serde_json::Value =
        serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
    let send = state["send_id"].as_i64().expect("send_id");
    let record = env.db.store.send_record(send).await.unwrap().unwrap();
    assert_eq!(record.state, verteiler_store::SendState::Complete);
}

/// The README shows the client as it is in `ops/api/client.py`.
#[test]
fn the_readme_shows_the_client_as_shipped() {
    let readme = include_str!("../README.md");
    let client = include_str!("../ops/api/client.py");
    let code = &client[client.find("import json").expect("the client's imports")..];
    assert!(
        readme.contains(&format!("```python\n{code}```")),
        "README's client differs from ops/api/client.py"
    );
}
