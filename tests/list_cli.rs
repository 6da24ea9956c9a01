//! `verteiler audience create|edit|deactivate|activate|delete|alias|sync|templates` and
//! `verteiler unit list|deactivate|activate` with the real binary on a demo organisation:
//! what an operator types, what they read, and that refusals exit non-zero changing nothing.

mod support;

use support::*;

async fn demo() -> Env {
    let env = Env::new().await;
    let out = env.run(&["demo", "--members", "300"]);
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert!(
        out.status.success(),
        "{args:?}:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn refused(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
    stderr(&out)
}

#[tokio::test]
async fn an_operator_makes_changes_and_retires_a_list_by_hand() {
    let env = demo().await;

    let made = ok(
        &env,
        &[
            "audience",
            "create",
            "mv-oldenfelde",
            "--name",
            "MV Oldenfelde",
            "--unit",
            "HH-WA-OLD",
            "--approval",
            "above:100",
            "--senders",
            "chair,board",
        ],
    );
    assert!(
        made.contains("list mv-oldenfelde@lists.example.org created"),
        "{made}"
    );
    let shown = ok(&env, &["audience", "show", "mv-oldenfelde"]);
    assert!(
        shown.contains("senders:            chair, board"),
        "{shown}"
    );
    assert!(shown.contains("made by:            hand"), "{shown}");

    let err = refused(
        &env,
        &[
            "audience",
            "create",
            "wa-weit",
            "--name",
            "Zu weit",
            "--unit",
            "HH-WA",
            "--subunits",
            "--scope",
            "HH-WA-OLD",
        ],
    );
    assert!(err.contains("outside its scope"), "{err}");
    let err = refused(
        &env,
        &[
            "audience",
            "create",
            "riesig",
            "--name",
            "Riesig",
            "--unit",
            "HH",
            "--max-recipients",
            "99999999",
        ],
    );
    assert!(err.contains("limits.max_recipients_per_send"), "{err}");

    let edited = ok(
        &env,
        &[
            "audience",
            "edit",
            "mv-oldenfelde",
            "--max-recipients",
            "250",
            "--slug",
            "mv-old",
        ],
    );
    assert!(edited.contains("max_recipients: null → 250"), "{edited}");
    assert!(
        edited.contains("slug: \"mv-oldenfelde\" → \"mv-old\""),
        "{edited}"
    );
    let aliases = ok(&env, &["audience", "alias", "list", "mv-old"]);
    assert!(
        aliases.contains("mv-oldenfelde@lists.example.org (alias)"),
        "{aliases}"
    );
    ok(&env, &["audience", "alias", "add", "mv-old", "versammlung"]);
    assert!(ok(&env, &["audience", "show", "versammlung"]).contains("mv-old@"));
    ok(&env, &["audience", "alias", "remove", "versammlung"]);
    let err = refused(&env, &["audience", "show", "versammlung"]);
    assert!(err.contains("no audience versammlung"), "{err}");

    // A template's list follows its unit: its name is not changed by hand.
    let err = refused(
        &env,
        &["audience", "edit", "oldenfelde", "--name", "Anders"],
    );
    assert!(err.contains("made by the template branch"), "{err}");

    ok(&env, &["audience", "delete", "mv-old"]);
    let err = refused(&env, &["audience", "show", "mv-old"]);
    assert!(err.contains("no audience mv-old"), "{err}");
}

#[tokio::test]
async fn a_deactivated_list_is_refused_and_says_who_switched_it_off() {
    let env = demo().await;
    let before = ok(
        &env,
        &[
            "policy",
            "simulate",
            "--as",
            "ole.brandt@example.org",
            "--to",
            "oldenfelde",
        ],
    );
    assert!(!before.contains("audience.inactive"), "{before}");

    let off = ok(&env, &["audience", "deactivate", "oldenfelde"]);
    assert!(off.contains("deactivated now"), "{off}");
    let sim = ok(
        &env,
        &[
            "policy",
            "simulate",
            "--as",
            "ole.brandt@example.org",
            "--to",
            "oldenfelde",
        ],
    );
    assert!(sim.contains("audience.inactive"), "{sim}");
    let shown = ok(&env, &["audience", "show", "oldenfelde"]);
    assert!(shown.contains("DEACTIVATED by cli:"), "{shown}");
    let list = ok(&env, &["audience", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("oldenfelde ") && l.ends_with("deactivated")),
        "{list}"
    );
    // Kept for the record, never deleted behind anybody's back.
    ok(&env, &["audience", "activate", "oldenfelde"]);
    assert!(!ok(&env, &["audience", "show", "oldenfelde"]).contains("DEACTIVATED"));
}

#[tokio::test]
async fn units_are_switched_off_and_on_but_never_the_top() {
    let env = demo().await;
    let err = refused(&env, &["unit", "deactivate", "HH"]);
    assert!(err.contains("HH is the organisation's top unit"), "{err}");

    ok(&env, &["unit", "deactivate", "HH-WA-OLD"]);
    let units = ok(&env, &["unit", "list"]);
    assert!(
        units
            .lines()
            .any(|l| l.starts_with("HH-WA-OLD ") && l.contains("deactivated")),
        "{units}"
    );
    // Its subtree falls silent: the list resolves to nobody and is refused.
    let sim = ok(
        &env,
        &[
            "policy",
            "simulate",
            "--as",
            "ole.brandt@example.org",
            "--to",
            "oldenfelde",
        ],
    );
    assert!(sim.contains("audience.empty"), "{sim}");
    ok(&env, &["unit", "activate", "HH-WA-OLD"]);
    assert!(ok(&env, &["unit", "list"])
        .lines()
        .any(|l| l.starts_with("HH-WA-OLD ") && l.contains("active")));
}

#[tokio::test]
async fn templates_are_shown_and_a_deleted_template_list_comes_back_with_sync() {
    let env = demo().await;
    let templates = ok(&env, &["audience", "templates"]);
    assert!(
        templates.contains("branch: every branch unit gets {unit}@lists.example.org"),
        "{templates}"
    );
    assert!(
        templates.contains("approval:  always, 2 by press-office"),
        "{templates}"
    );

    ok(&env, &["audience", "delete", "rahlstedt"]);
    let dry = ok(&env, &["audience", "sync", "--dry-run"]);
    assert!(
        dry.contains("new: rahlstedt \"Distrikt Rahlstedt\" (HH-WA-RAH, branch)"),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing was changed"), "{dry}");
    let refused = refused(&env, &["audience", "show", "rahlstedt"]);
    assert!(refused.contains("no audience rahlstedt"), "{refused}");
    let synced = ok(&env, &["audience", "sync"]);
    assert!(
        synced.contains("lists are in step with the templates"),
        "{synced}"
    );
    assert!(ok(&env, &["audience", "show", "rahlstedt"]).contains("template branch"));
}
