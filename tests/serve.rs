//! `verteiler serve` as a newcomer meets it: demo data, health endpoints, clean shutdown.

mod support;

use std::time::Duration;
use support::*;

#[tokio::test]
async fn serve_demo_creates_the_organisation_prints_the_logins_and_is_ready() {
    let env = Env::new().await;
    let server = env.serve(&["--demo"]);
    let printed = server.printed.join("\n");
    for login in [
        "ole.brandt@example.org",
        "renee.hoffmann@example.org",
        "jonas.petersen@example.org",
        "aylin.kaya@example.org",
        "zoe.nguyen@example.org",
    ] {
        assert!(
            printed.contains(login),
            "login {login} missing from:\n{printed}"
        );
    }
    assert_eq!(server.get("/healthz").await.0, 200);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ready"));

    let status = server
        .terminate(Duration::from_secs(15))
        .expect("SIGTERM ends the server");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );

    // A second start finds the organisation and does not create it again.
    let again = env.serve(&["--demo"]);
    assert!(!again
        .printed
        .join("\n")
        .contains("creating the demo organisation"));
    assert!(again.printed.join("\n").contains("ole.brandt@example.org"));
}

#[tokio::test]
async fn the_demo_has_oldenfelde_with_its_usual_212_members() {
    let env = Env::new().await;
    let out = env.run(&["demo", "--members", "600"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["audience", "show", "oldenfelde"]);
    let text = stdout(&out);
    assert!(
        text.contains("resolves to:        212 recipients"),
        "{text}"
    );
    assert!(
        !text.contains("@example."),
        "audience show must never print addresses:\n{text}"
    );
    let again = env.run(&["demo"]);
    assert!(
        !again.status.success(),
        "the demo refuses a database that holds members"
    );
    assert!(
        stderr(&again).contains("already holds"),
        "{}",
        stderr(&again)
    );
}
