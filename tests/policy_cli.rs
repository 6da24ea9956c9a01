//! `verteiler policy simulate` on the demo organisation: real resolution, real engine.

mod support;

use support::*;

#[tokio::test]
async fn simulate_explains_release_refusal_and_hold_without_storing_anything() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let simulate = |args: &[&str]| {
        let mut all = vec!["policy", "simulate"];
        all.extend_from_slice(args);
        let out = env.run(&all);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };

    let text = simulate(&[
        "--as",
        "ole.brandt@example.org",
        "--to",
        "oldenfelde@lists.example.org",
    ]);
    assert!(
        text.contains("decision:     RELEASE") && text.contains("212 recipients"),
        "{text}"
    );

    let text = simulate(&[
        "--as",
        "ole.brandt@example.org",
        "--to",
        "oldenfelde",
        "--visible-recipients",
        "1493",
        "--lang",
        "en",
    ]);
    assert!(
        text.contains("REJECT") && text.contains("[recipients.visible]") && text.contains("1,493"),
        "{text}"
    );

    let text = simulate(&["--as", "bjoern.meissner@example.org", "--to", "oldenfelde"]);
    assert!(
        text.contains("REJECT") && text.contains("[sender.not_authorised]"),
        "{text}"
    );

    let text = simulate(&[
        "--as",
        "renee.hoffmann@example.org",
        "--to",
        "pressemitteilungen",
    ]);
    assert!(
        text.contains("HOLD") && text.contains("[approval.required]"),
        "{text}"
    );
}
