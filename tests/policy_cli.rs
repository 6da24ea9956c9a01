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

    // The press office's official address: as the gateway weighs it, good on the press list
    // only; on Oldenfelde the chair may not use it (nor anybody else's address).
    let text = simulate(&[
        "--as",
        "renee.hoffmann@example.org",
        "--to",
        "pressemitteilungen",
        "--from",
        "presse@example.org",
    ]);
    assert!(text.contains("HOLD") && !text.contains("[from."), "{text}");
    let text = simulate(&[
        "--as",
        "ole.brandt@example.org",
        "--to",
        "oldenfelde",
        "--from",
        "presse@example.org",
    ]);
    assert!(
        text.contains("REJECT")
            && text.contains("[from.other_list]")
            && text.contains("gehört nur zum Verteiler Pressemitteilungen"),
        "{text}"
    );
    let text = simulate(&[
        "--as",
        "ole.brandt@example.org",
        "--to",
        "oldenfelde",
        "--from",
        "zoe.nguyen@example.org",
    ]);
    assert!(
        text.contains("REJECT") && text.contains("[from.not_yours]"),
        "{text}"
    );
}

#[tokio::test]
async fn an_sms_budget_holds_a_send_that_would_go_beyond_it_with_the_figures() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let priced = |args: &[&str]| {
        let out = env
            .command()
            .env("VERTEILER_SMS__COST_PER_SEGMENT_CENTS", "9")
            .args(args)
            .output()
            .expect("running verteiler");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };

    let text = priced(&["sms", "budget", "HH-WA-OLD"]);
    assert!(
        text.contains("parts:   0 at 9 ct = 0.00 €") && text.contains("budget:  none"),
        "{text}"
    );
    let simulate = [
        "policy",
        "simulate",
        "--as",
        "ole.brandt@example.org",
        "--to",
        "oldenfelde",
        "--lang",
        "en",
    ];
    let text = priced(&simulate);
    assert!(
        text.contains("decision:     RELEASE"),
        "no budget, no hold: {text}"
    );

    let text = priced(&["sms", "budget", "HH-WA-OLD", "--set", "100"]);
    assert!(
        text.contains("budget:  1.00 € a month (the unit's own)"),
        "{text}"
    );
    let text = priced(&simulate);
    assert!(
        text.contains("decision:     HOLD")
            && text.contains("the unit's monthly budget is €1.00")
            && text.contains("€0.00 has already been spent this month"),
        "{text}"
    );

    let text = priced(&["sms", "budget", "HH-WA-OLD", "--clear"]);
    assert!(text.contains("budget:  none"), "{text}");
    let out = env.run(&["sms", "budget", "XX-NOPE"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no unit has the code \"XX-NOPE\""));
    let audit = env.run(&["audit", "export", "--since", "2000-01-01"]);
    let entries = stdout(&audit);
    assert_eq!(
        entries.matches("\"unit.sms_budget\"").count(),
        2,
        "set and cleared, both audited: {entries}"
    );
}
