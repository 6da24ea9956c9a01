//! A real organisation's first day, with the real binary from an empty database: the README's
//! "Run it for your organisation" run command by command as written, and a branch that leaves
//! the units export — its list switched off, a post to it refused, nobody else reached.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::fanout::relayed;
use support::*;
use verteiler_store::SendState;
use verteiler_test_sink::{Script, Sink};

const SECTION: &str = "## Run it for your organisation";

/// The section's TOML block (the configuration) and its shell commands, in order.
fn readme_walkthrough() -> (String, Vec<String>) {
    let readme = include_str!("../README.md");
    let start = readme.find(SECTION).expect("the README has the section");
    let section = &readme[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut config = None;
    let mut commands = Vec::new();
    let mut block: Option<&str> = None;
    let mut text = String::new();
    for line in section.lines() {
        match (block, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                block = Some(lang.trim());
                text.clear();
            }
            (Some(lang), Some(_)) => {
                match lang {
                    "toml" => config = Some(text.clone()),
                    "sh" => commands.extend(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty() && !l.starts_with('#'))
                            .map(str::to_string),
                    ),
                    other => panic!("unexpected ```{other} block in the section"),
                }
                block = None;
            }
            (Some(_), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    (config.expect("a ```toml block"), commands)
}

/// `# exit code N` at the end of a command: the code it must end with (else 0).
fn expected_code(command: &str) -> i32 {
    command
        .rsplit_once("# exit code ")
        .and_then(|(_, rest)| rest.split(':').next()?.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs one README line with `sh`, the freshly built `verteiler` first on the PATH.
fn shell(env: &Env, line: &str) -> Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command.arg("-c").arg(line);
    // The same database and ports as every other command of the harness.
    let harness = env.command();
    for (key, value) in harness.get_envs() {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    command
        .current_dir(env.dir.path())
        .env("PATH", path)
        .output()
        .expect("running sh")
}

/// The sample exports under the names the README uses.
fn copy_exports(env: &Env) {
    std::fs::copy(fixture("units-sample.csv"), env.path("units.csv")).unwrap();
    std::fs::copy(
        fixture("members-export-sample.csv"),
        env.path("members.csv"),
    )
    .unwrap();
}

/// The faulty rows of the member sample (the importer names them; they are not imported).
const SAMPLE_BAD_LINES: [usize; 6] = [122, 123, 124, 245, 246, 247];

/// Addresses of the members of `unit` in the member sample, its faulty rows left out.
fn members_of(export: &Path, unit: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(export).unwrap();
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| !SAMPLE_BAD_LINES.contains(&(i + 1)))
        .map(|(_, l)| l.split(';').collect::<Vec<_>>())
        .filter(|f| f.len() > 4 && f[3] == unit && f[4].contains('@'))
        .map(|f| f[4].to_lowercase())
        .collect()
}

/// `Delivered-To` of every list copy in the outbox.
fn outbox_recipients(env: &Env) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(env.path("data/outbox")) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('d'))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            text.lines()
                .find_map(|l| l.strip_prefix("Delivered-To: "))
                .map(|a| a.trim().to_lowercase())
        })
        .collect()
}

#[tokio::test]
async fn the_readme_first_day_runs_as_written() {
    if !tool_available("swaks") || !tool_available("openssl") {
        return;
    }
    let (config, commands) = readme_walkthrough();
    assert!(commands.len() >= 12, "{commands:?}");
    let env = Env::new().await;
    std::fs::write(env.path("verteiler.toml"), config).unwrap();
    copy_exports(&env);
    let mut server: Option<Server> = None;
    for line in &commands {
        if line == "verteiler serve" {
            server = Some(env.serve_with(&[], &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]));
            continue;
        }
        let line = match &server {
            Some(s) => line.replace("127.0.0.1:2525", &s.smtp()),
            None => line.clone(),
        };
        let out = shell(&env, &line);
        assert_eq!(
            out.status.code(),
            Some(expected_code(&line)),
            "{line}\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        );
        check_step(&env, &line, &out).await;
    }
    assert!(server.is_some(), "the walkthrough starts the server");
}

/// What each step of the walkthrough must have done, beyond its exit code.
async fn check_step(env: &Env, line: &str, out: &Output) {
    let text = stdout(out);
    if line == "verteiler import units units.csv" {
        assert!(
            text.contains("new: oldenfelde \"Distrikt Oldenfelde\" (HH-WA-OLD, branch)"),
            "{text}"
        );
        assert!(text.contains("new: kreis-wandsbek-vorstand"), "{text}");
        assert!(
            text.contains("new: alle-mitglieder \"Alle Mitglieder Hamburg\""),
            "{text}"
        );
    } else if line == "verteiler audience list" {
        for slug in [
            "oldenfelde",
            "rahlstedt",
            "kreis-altona-vorstand",
            "alle-mitglieder",
        ] {
            assert!(text.lines().any(|l| l.starts_with(slug)), "{slug}:\n{text}");
        }
        assert!(
            text.contains("8 audiences"),
            "5 branches, 2 district boards, all: {text}"
        );
    } else if line == "verteiler member invite --function chair" {
        assert!(
            text.contains("no email address: Ole Thorben Çelik (HH-WA-OLD)"),
            "{text}"
        );
    } else if line.starts_with("verteiler member invite --function chair --unit HH-WA-OLD") {
        assert!(
            text.contains("invited: Ole Thorben Çelik (HH-WA-OLD) <ole.celik@example.org>"),
            "{text}"
        );
    } else if line.starts_with("swaks") {
        assert!(text.contains("<~  250 2.0.0"), "accepted over TLS: {text}");
        let expected = members_of(&env.path("members.csv"), "HH-WA-OLD");
        assert!(expected.len() > 10, "{expected:?}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while outbox_recipients(env).len() < expected.len() {
            assert!(
                Instant::now() < deadline,
                "copies: {:?}",
                outbox_recipients(env)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let got: BTreeSet<String> = outbox_recipients(env).into_iter().collect();
        assert_eq!(got, expected, "exactly Oldenfelde's members, each once");
    }
}

fn run_ok(env: &Env, args: &[&str], codes: &[i32]) -> String {
    let out = env.run(args);
    assert!(
        codes.contains(&out.status.code().unwrap_or(-1)),
        "{args:?}: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[tokio::test]
async fn a_branch_that_leaves_the_export_is_refused_and_nobody_else_receives_anything() {
    if !tool_available("python3") || !tool_available("openssl") {
        return;
    }
    let (config, _) = readme_walkthrough();
    let env = Env::new().await;
    std::fs::write(env.path("verteiler.toml"), config).unwrap();
    copy_exports(&env);
    let openssl = shell(
        &env,
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
         -keyout smtp-key.pem -out smtp-cert.pem",
    );
    assert!(openssl.status.success(), "{}", stderr(&openssl));
    let members = env.path("members.csv");
    let text = std::fs::read_to_string(&members).unwrap().replace(
        "M100001;Ole Thorben;Çelik;HH-WA-OLD;;",
        "M100001;Ole Thorben;Çelik;HH-WA-OLD;ole.celik@example.org;",
    );
    std::fs::write(&members, text).unwrap();
    run_ok(&env, &["import", "units", "units.csv"], &[0]);
    let imported = run_ok(
        &env,
        &["import", "members", "members.csv", "--skip-invalid"],
        &[4],
    );
    for line in SAMPLE_BAD_LINES {
        assert!(
            imported.contains(&format!("bad row: line {line}:")),
            "{imported}"
        );
    }
    let shown = run_ok(&env, &["audience", "show", "oldenfelde"], &[0]);
    assert!(
        shown.contains("made by:            template branch"),
        "{shown}"
    );
    let login = ("ole.celik@example.org", "erste-sendung-oldenfelde");
    let set = shell(
        &env,
        &format!(
            "echo '{}' | verteiler member set-password {} --password-stdin",
            login.1, login.0
        ),
    );
    assert!(set.status.success(), "{}", stderr(&set));

    let sink = Sink::start(Script::default()).await;
    let vars = relayed(&sink);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = env.serve_with(&[], &vars);
    let list = "oldenfelde@lists.example.org";
    let sent = smtplib_send(
        &server.smtp(),
        login.0,
        login.1,
        login.0,
        list,
        &["--subject", "Erste"],
    );
    assert_eq!((sent.stage.as_str(), sent.code), ("sent", 250), "{sent:?}");
    let oldenfelde = members_of(&members, "HH-WA-OLD");
    let copies = |sink: &Sink| -> Vec<String> {
        sink.seen(|s| {
            s.messages
                .iter()
                .filter(|m| m.mail_from.starts_with("bounce+"))
                .flat_map(|m| m.rcpt_to.iter().map(|r| r.to_lowercase()))
                .collect()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while copies(&sink).len() < oldenfelde.len() {
        assert!(Instant::now() < deadline, "{:?}", copies(&sink));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered: BTreeSet<String> = copies(&sink).into_iter().collect();
    assert_eq!(
        delivered, oldenfelde,
        "the chair's post reached exactly the branch"
    );

    // The next units export has no Oldenfelde: its list is switched off, not deleted.
    let units = std::fs::read_to_string(env.path("units.csv")).unwrap();
    let without: String = units
        .lines()
        .filter(|l| !l.starts_with("HH-WA-OLD;"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    std::fs::write(env.path("units-without.csv"), without).unwrap();
    let dry = run_ok(
        &env,
        &[
            "import",
            "units",
            "units-without.csv",
            "--full",
            "--dry-run",
        ],
        &[0],
    );
    assert!(dry.contains("switched off: oldenfelde"), "{dry}");
    let done = run_ok(
        &env,
        &["import", "units", "units-without.csv", "--full"],
        &[0],
    );
    assert!(
        done.contains("units the export no longer has (switched off): HH-WA-OLD"),
        "{done}"
    );
    let shown = run_ok(&env, &["audience", "show", "oldenfelde"], &[0]);
    assert!(
        shown.contains("DEACTIVATED (its unit left the export)"),
        "{shown}"
    );

    // Within the fact cache's lifetime the running server refuses the post, naming the reason.
    let before = sink.received();
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let r = smtplib_send(
            &server.smtp(),
            login.0,
            login.1,
            login.0,
            list,
            &["--subject", "Zweite"],
        );
        if r.code != 250 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(refused.code, 550, "{refused:?}");
    assert!(refused.text.contains("deaktiviert"), "{refused:?}");
    let store = &env.db.store;
    let submission = store
        .submissions_by_message_id(refused.message_id.trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    let send = &store.sends_of(submission).await.unwrap()[0];
    assert_eq!(send.state, SendState::Rejected);
    assert!(
        send.reasons.contains("audience.inactive"),
        "{}",
        send.reasons
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late: Vec<String> = sink.seen(|s| {
        s.messages[before..]
            .iter()
            .filter(|m| m.mail_from.starts_with("bounce+"))
            .flat_map(|m| m.rcpt_to.clone())
            .collect()
    });
    assert!(late.is_empty(), "nobody receives anything: {late:?}");
}
