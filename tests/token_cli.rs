//! `verteiler token create|list|revoke`: a token made on the command line opens /api/v1 for
//! its member until it is revoked, and never carries more than the member may do.

mod support;

use support::*;

async fn me(server: &Server, token: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/me", server.http))
        .bearer_auth(token)
        .send()
        .await
        .expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_created_token_authenticates_until_it_is_revoked() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let server = env.serve(&["--demo"]);

    let created = env.run(&[
        "token",
        "create",
        "--member",
        CHAIR.0,
        "--name",
        "newsletter",
        "--scopes",
        "send:oldenfelde sends:read",
        "--expires",
        "2099-12-31",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    // Standard output is the token and nothing else, so `$(verteiler token create …)` works.
    let token = stdout(&created);
    let token = token.strip_suffix('\n').expect("one line");
    assert!(
        token.starts_with("vt_") && !token.contains(char::is_whitespace),
        "{token}"
    );
    assert!(
        stderr(&created).contains("shown only now"),
        "{}",
        stderr(&created)
    );

    let (status, body) = me(&server, token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "newsletter");
    assert_eq!(body["scopes"], serde_json::json!(["send", "sends:read"]));
    assert_eq!(body["send_lists"], serde_json::json!(["oldenfelde"]));
    let id = body["token_id"].as_i64().unwrap().to_string();

    let listed = stdout(&env.run(&["token", "list", "--member", CHAIR.0]));
    let line = listed.lines().find(|l| l.starts_with(&id)).expect(&listed);
    assert!(
        line.contains("newsletter") && line.contains("send:oldenfelde sends:read"),
        "{line}"
    );
    assert!(
        line.contains("2100-01-01T00:00:00Z") && line.ends_with(" -"),
        "{line}"
    );

    let revoked = env.run(&["token", "revoke", &id]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(me(&server, token).await.0, 401);
    let again = env.run(&["token", "revoke", &id]);
    assert_eq!(again.status.code(), Some(1));
    let listed = stdout(&env.run(&["token", "list"]));
    let line = listed.lines().find(|l| l.starts_with(&id)).expect(&listed);
    assert!(!line.ends_with(" -"), "revocation date shown: {line}");
}

#[tokio::test]
async fn a_token_never_carries_more_than_its_member_may() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let create = |member: &str, scopes: &str, extra: &[&str]| {
        let mut args = vec![
            "token", "create", "--member", member, "--name", "tool", "--scopes", scopes,
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };

    let refused = create(CHAIR.0, "send admin", &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).is_empty());
    assert!(
        stderr(&refused).contains("needs an organisation admin"),
        "{}",
        stderr(&refused)
    );

    let unknown_scope = create(CHAIR.0, "send everything", &[]);
    assert_eq!(unknown_scope.status.code(), Some(1));
    assert!(stderr(&unknown_scope).contains("unknown scope `everything`"));

    let nobody = create("nobody@example.org", "send", &[]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(
        stderr(&nobody).contains("no active member"),
        "{}",
        stderr(&nobody)
    );

    let past = create(CHAIR.0, "send", &["--expires", "2020-01-01"]);
    assert_eq!(past.status.code(), Some(1));
    assert!(stderr(&past).contains("expiry lies in the past"));

    let admin = create("aylin.kaya@example.org", "directory:sync admin", &[]);
    assert!(admin.status.success(), "{}", stderr(&admin));
    assert!(stdout(&env.run(&["token", "list"])).contains("directory:sync admin"));
}
