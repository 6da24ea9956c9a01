//! One harness for the end-to-end tests: runs the real `verteiler` binary in a temporary
//! directory with a fresh database (SQLite there, or a new PostgreSQL database when
//! `VERTEILER_TEST_POSTGRES_URL` is set) and port 0 for every listener.
#![allow(dead_code)]

pub mod fanout;
mod raw_smtp;
// Each test binary compiles the harness whole; most never speak raw SMTP.
#[allow(unused_imports)]
pub use raw_smtp::Raw;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use verteiler_store::testing::TestDatabase;
use verteiler_store::SendState;

pub const BIN: &str = env!("CARGO_BIN_EXE_verteiler");

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: TestDatabase,
}

impl Env {
    pub async fn new() -> Env {
        let db = TestDatabase::new().await;
        Env {
            dir: tempfile::tempdir().unwrap(),
            db,
        }
    }

    /// A `verteiler` command in this environment's directory and database.
    /// An environment on PostgreSQL, for what only PostgreSQL carries (several `serve`
    /// processes on one database): the server `VERTEILER_TEST_POSTGRES_URL` names, in CI the
    /// local one CI starts; `None` (the test skipped) outside CI without the variable.
    pub async fn on_postgres() -> Option<Env> {
        const LOCAL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
        let url = match std::env::var(verteiler_store::testing::POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => LOCAL.to_string(),
            _ => {
                eprintln!("skipping: VERTEILER_TEST_POSTGRES_URL is not set (PostgreSQL only)");
                return None;
            }
        };
        let db = TestDatabase::on_postgres(&url)
            .await
            .expect("creating a PostgreSQL test database");
        Some(Env {
            dir: tempfile::tempdir().unwrap(),
            db,
        })
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env_remove("VERTEILER_CONFIG")
            .env("VERTEILER_DATABASE__URL", &self.db.url)
            .env("VERTEILER_HTTP__LISTEN", "127.0.0.1:0")
            .env("VERTEILER_SMTP__LISTEN", "127.0.0.1:0")
            .env(
                "RUST_LOG",
                std::env::var("TEST_LOG").map_or("error".into(), |_| "info".to_string()),
            );
        cmd
    }

    /// Runs a command to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("running verteiler")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `verteiler serve` with extra arguments and waits until it tells its address.
    pub fn serve(&self, args: &[&str]) -> Server {
        self.serve_with(args, &[])
    }

    /// Like [`Env::serve`], with extra environment variables.
    pub fn serve_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Server {
        self.serve_logging_to(args, vars, Stdio::inherit())
    }

    /// Like [`Env::serve_with`], its log (standard error) going to `log`.
    pub fn serve_logging_to(&self, args: &[&str], vars: &[(&str, &str)], log: Stdio) -> Server {
        let mut command = self.command();
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("starting verteiler serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut printed = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("verteiler: portal listening on ") {
                        let http = url.to_string();
                        printed.push(line);
                        return Server {
                            child,
                            http,
                            printed,
                            lines: rx,
                        };
                    }
                    printed.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "verteiler serve did not start; it printed:\n{}",
                        printed.join("\n")
                    );
                }
            }
        }
    }
}

pub struct Server {
    pub child: Child,
    pub http: String,
    /// What the server printed on stdout up to the listening line.
    pub printed: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// The SMTP listener's address, from the line `serve` printed.
    pub fn smtp(&self) -> String {
        self.printed
            .iter()
            .find_map(|l| l.strip_prefix("verteiler: smtp listening on "))
            .expect("serve printed its SMTP address")
            .to_string()
    }

    /// The inbound listener's address (`smtp.inbound_listen`), if serve printed one.
    pub fn inbound(&self) -> Option<String> {
        self.printed
            .iter()
            .find_map(|l| l.strip_prefix("verteiler: smtp (inbound) listening on "))
            .map(str::to_string)
    }

    /// Kills the process at once (SIGKILL): no shutdown, no flushing.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.http))
            .await
            .expect("HTTP request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self, within: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The sample exports shipped with the store's tests.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("store/tests/fixtures")
        .join(name)
}

/// Whether an external tool the test needs is installed. Outside CI a missing tool skips the
/// test with a note; with `CI=true` it fails, so CI never skips silently.
pub fn tool_available(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is required in CI (.ci/run installs it)");
        }
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// What `smtp_send.py` reports.
#[derive(Debug, serde::Deserialize)]
pub struct SmtpOutcome {
    pub stage: String,
    pub code: u16,
    pub text: String,
    pub message_id: String,
}

/// Sends one message with Python's smtplib (STARTTLS + AUTH unless `--no-tls` is in `extra`).
pub fn smtplib_send(
    smtp: &str,
    login: &str,
    password: &str,
    from: &str,
    rcpts: &str,
    extra: &[&str],
) -> SmtpOutcome {
    let (host, port) = smtp.rsplit_once(':').expect("host:port");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_send.py");
    let out = Command::new("python3")
        .arg(script)
        .args([host, port, login, password, from, rcpts])
        .args(extra)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "smtp_send.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A demo server with its environment, or `None` (test skipped outside CI) when the client
/// tool the test drives is not installed.
pub async fn demo_server(client: &str, extra_env: &[(&str, &str)]) -> Option<(Env, Server)> {
    if !tool_available(client) {
        return None;
    }
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let server = env.serve_with(&["--demo"], extra_env);
    Some((env, server))
}

/// The demo chair of Oldenfelde (login, app password).
pub const CHAIR: (&str, &str) = ("ole.brandt@example.org", "oldenfelde-vorsitz");

/// Sends a message as the demo chair to the Oldenfelde list, expects 250, and waits until its
/// send is complete; returns the send's id.
pub async fn send_to_oldenfelde_until_complete(
    env: &Env,
    server: &Server,
    within: Duration,
) -> i64 {
    let (send, _) = send_to_oldenfelde(env, server).await;
    wait_until_complete(env, send, within).await;
    send
}

/// Sends a message as the demo chair to the Oldenfelde list and expects 250; returns the send's
/// id and the reply.
pub async fn send_to_oldenfelde(env: &Env, server: &Server) -> (i64, SmtpOutcome) {
    let r = smtplib_send(
        &server.smtp(),
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let store = &env.db.store;
    let submission = store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    let send = store.sends_of(submission).await.unwrap()[0].id;
    (send, r)
}

/// Waits until the send is complete.
pub async fn wait_until_complete(env: &Env, send: i64, within: Duration) {
    let store = &env.db.store;
    let deadline = std::time::Instant::now() + within;
    loop {
        let state = store.send_record(send).await.unwrap().unwrap().state;
        if state == SendState::Complete {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the send is still {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A token made with `verteiler token create`, as an operator makes one: its id and its text.
pub fn cli_token(env: &Env, member: &str, name: &str, scopes: &str) -> (i64, String) {
    let created = env.run(&[
        "token", "create", "--member", member, "--name", name, "--scopes", scopes,
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    let token = stdout(&created).trim().to_string();
    let id = token
        .strip_prefix("vt_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a token: {token}"));
    (id, token)
}

/// Hands a message for `list` in over the API (`POST /api/v1/submissions`); asserts the 202
/// and returns the answer.
pub async fn api_submit(
    server: &Server,
    token: &str,
    list: &str,
    subject: &str,
) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/submissions", server.http))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "subject": subject,
            "text": "Liebe Mitglieder,\n\nbitte vormerken.",
            "lists": [list],
        }))
        .send()
        .await
        .expect("HTTP request");
    assert_eq!(response.status().as_u16(), 202);
    response.json().await.expect("a JSON answer")
}

/// Runs `verteiler dkim generate ARGS` and returns the DNS record it printed.
pub fn dkim_generate(env: &Env, args: &[&str]) -> verteiler_gateway::delivery::dkim::DnsRecord {
    let out = env.run(&[&["dkim", "generate"], args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} line in:\n{text}"))
            .trim()
            .to_string()
    };
    verteiler_gateway::delivery::dkim::DnsRecord {
        name: field("name:"),
        value: field("value:"),
    }
}
