//! One log line per delivery attempt (`event=delivery.attempt`), as Postfix writes `status=`
//! lines: send, copy, transport, status, DSN, delay — and the recipient only as a keyed hash;
//! one line per HTTP request naming its route, never a token.

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn every_copy_and_request_has_one_line_naming_no_address_and_no_token() {
    let env = Env::new().await;
    let demo = env.run(&["demo", "--members", "600"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let log_path = env.path("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = env.serve_logging_to(
        &["--demo", "--log-json"],
        &[
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
            ("RUST_LOG", "info"),
        ],
        Stdio::from(log),
    );
    let (_, token) = cli_token(&env, CHAIR.0, "log test", "send");
    let answer = api_submit(&server, &token, "oldenfelde", "Protokoll").await;
    let send = answer["sends"][0]["send_id"].as_i64().unwrap();
    wait_until_complete(&env, send, Duration::from_secs(90)).await;

    // A sign-in link's token is in its path: the log names the route, not the token.
    let (status, _) = server
        .get("/signin/link/abcdefghijklmnopqrstuvwxyz123456")
        .await;
    assert_eq!(status, 410, "an unknown link is gone");
    server.kill();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains(&token), "the API token is not logged");
    assert!(
        !text.contains("abcdefghijklmnopqrstuvwxyz123456"),
        "nor a link's token"
    );
    let requests: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["event"] == "http.request")
        .collect();
    assert!(requests.iter().any(|r| r["route"] == "/api/v1/submissions"
        && r["method"] == "POST"
        && r["status"] == 202));
    assert!(requests
        .iter()
        .any(|r| r["route"] == "/signin/link/{token}" && r["status"] == 410));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["event"] == "delivery.attempt" && l["send"] == send)
        .collect();
    let totals = env.db.store.delivery_totals(send).await.unwrap();
    assert!(totals.sent > 0);
    assert_eq!(lines.len() as u64, totals.sent, "one line per copy");
    let mut copies: Vec<i64> = lines.iter().map(|l| l["copy"].as_i64().unwrap()).collect();
    copies.sort_unstable();
    copies.dedup();
    assert_eq!(copies.len(), lines.len(), "each copy once");
    for line in &lines {
        let f = line;
        assert_eq!(f["status"], "sent", "{line}");
        assert_eq!(f["dsn"], "2.0.0");
        assert_eq!(f["via"], "outbox");
        assert_eq!(f["attempt"], 1);
        let to = f["to"].as_str().unwrap();
        assert!(to.starts_with("h:") && !to.contains('@'), "{to}");
        assert!(!line.to_string().contains("@example"), "{line}");
    }
}
