//! SIGHUP (`systemctl reload`) makes `serve` read its SMTP certificate and DKIM keys again:
//! sessions already open go on undisturbed, new TLS sessions present the new certificate, the
//! next copies carry signatures of the new key, and a broken file leaves the old material in
//! place with an error in the log while the server keeps running. systemd hears
//! `RELOADING=1` (with `MONOTONIC_USEC`) and then `READY=1`, which is also how these tests know
//! the reload is done.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;
use support::*;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use verteiler_gateway::delivery::dkim::{verify_with_records, DnsRecord};
use verteiler_gateway::smtp::generate_self_signed;

/// The service manager's end of `NOTIFY_SOCKET`.
struct Notifications(UnixDatagram);

impl Notifications {
    fn bind(path: &Path) -> Notifications {
        let socket = UnixDatagram::bind(path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Notifications(socket)
    }

    fn next(&self) -> String {
        let mut buf = [0u8; 512];
        let n = self.0.recv(&mut buf).expect("a notification in time");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn expect_ready(&self) {
        let message = self.next();
        assert!(message.lines().any(|l| l == "READY=1"), "{message:?}");
    }

    /// Sends SIGHUP and waits until the server says the reload is over.
    fn reload(&self, server: &Server) {
        // SAFETY: kill(2) with the pid of our child and a valid signal number.
        assert_eq!(
            unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) },
            0
        );
        let reloading = self.next();
        assert!(
            reloading.lines().any(|l| l == "RELOADING=1"),
            "{reloading:?}"
        );
        assert!(
            reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")),
            "{reloading:?}"
        );
        self.expect_ready();
    }
}

/// A demo server with the given extra variables, its log in `serve.log` and systemd's socket.
async fn serve(vars: &[(&str, &str)]) -> (Env, Server, Notifications) {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let notify_path = env.path("notify.sock");
    let notify = Notifications::bind(&notify_path);
    let log = std::fs::File::create(env.path("serve.log")).unwrap();
    let mut vars = vars.to_vec();
    vars.push(("NOTIFY_SOCKET", notify_path.to_str().unwrap()));
    vars.push(("RUST_LOG", "info"));
    let server = env.serve_logging_to(&["--demo"], &vars, Stdio::from(log));
    notify.expect_ready();
    (env, server, notify)
}

fn log(env: &Env) -> String {
    std::fs::read_to_string(env.path("serve.log")).unwrap()
}

/// A certificate and key for `name`, as PEM, and the certificate's DER in hex.
fn certificate(name: &str) -> (String, String, String) {
    let (cert, key) = generate_self_signed(&[name.to_string()]).unwrap();
    let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    let hex = der.iter().map(|b| format!("{b:02x}")).collect();
    (cert, key, hex)
}

/// A TLS session by `smtp_hold.py`; `login` makes it hold after RCPT.
struct Session {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Session {
    fn open(address: &str, mode: &str, login: &[&str]) -> Session {
        let (host, port) = address.rsplit_once(':').unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_hold.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([host, port, mode])
            .args(login)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("running python3");
        let out = BufReader::new(child.stdout.take().unwrap());
        Session { child, out }
    }

    fn line(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    /// The certificate the server presented (DER, hex).
    fn certificate(&mut self) -> String {
        self.line()["cert"].as_str().unwrap().to_string()
    }

    /// Lets a held session send its message; the final reply code.
    fn finish(mut self) -> u64 {
        self.child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"go\n")
            .unwrap();
        let reply = self.line();
        assert!(self.child.wait().unwrap().success());
        reply["code"].as_u64().unwrap()
    }
}

/// The certificate a new session presents, over STARTTLS and over implicit TLS alike.
fn presented(server: &Server) -> String {
    let mut starttls = Session::open(&server.smtp(), "starttls", &[]);
    let mut implicit = Session::open(&implicit_address(server), "implicit", &[]);
    let (a, b) = (starttls.certificate(), implicit.certificate());
    assert_eq!(a, b, "both listeners present the same certificate");
    assert!(starttls.child.wait().unwrap().success());
    assert!(implicit.child.wait().unwrap().success());
    a
}

fn implicit_address(server: &Server) -> String {
    server
        .printed
        .iter()
        .find_map(|l| l.strip_prefix("verteiler: smtp (implicit TLS) listening on "))
        .expect("serve printed its implicit-TLS address")
        .to_string()
}

#[tokio::test]
async fn sighup_swaps_the_certificate_for_new_sessions_and_keeps_open_ones_going() {
    if !tool_available("python3") {
        return;
    }
    let (cert_a, key_a, der_a) = certificate("a.lists.example.org");
    let (cert_b, key_b, der_b) = certificate("b.lists.example.org");
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, &cert_a).unwrap();
    std::fs::write(&key_path, &key_a).unwrap();
    let (env, server, notify) = serve(&[
        ("VERTEILER_SMTP__TLS_CERT_PATH", cert_path.to_str().unwrap()),
        ("VERTEILER_SMTP__TLS_KEY_PATH", key_path.to_str().unwrap()),
        ("VERTEILER_SMTP__IMPLICIT_TLS_LISTEN", "127.0.0.1:0"),
    ])
    .await;
    assert_eq!(presented(&server), der_a);

    // A chair's session, encrypted with A, stops between RCPT and DATA.
    let (login, password) = CHAIR;
    let mut held = Session::open(
        &server.smtp(),
        "starttls",
        &[login, password, login, "oldenfelde@lists.example.org"],
    );
    assert_eq!(held.certificate(), der_a);

    // certbot's way: new files in place, then a reload.
    std::fs::write(&cert_path, &cert_b).unwrap();
    std::fs::write(&key_path, &key_b).unwrap();
    notify.reload(&server);
    assert_eq!(held.finish(), 250, "the open session's message is taken");
    assert_eq!(presented(&server), der_b);
    assert!(log(&env).contains("reload.tls"), "{}", log(&env));

    // A broken certificate file: the server stays up and keeps presenting B.
    std::fs::write(&cert_path, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    notify.reload(&server);
    assert_eq!(presented(&server), der_b);
    let text = log(&env);
    let failed = text
        .lines()
        .find(|l| l.contains("reload.tls_failed"))
        .unwrap_or_else(|| panic!("no reload.tls_failed line in:\n{text}"));
    assert!(failed.contains(cert_path.to_str().unwrap()), "{failed}");

    // A certificate with another certificate's key: refused, blamed on the key file.
    std::fs::write(&cert_path, &cert_a).unwrap();
    notify.reload(&server);
    assert_eq!(presented(&server), der_b);
    let text = log(&env);
    let mismatch = text
        .lines()
        .filter(|l| l.contains("reload.tls_failed"))
        .nth(1)
        .unwrap_or_else(|| panic!("no second reload.tls_failed line in:\n{text}"));
    assert!(mismatch.contains(key_path.to_str().unwrap()), "{mismatch}");

    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
    let stopped = server.terminate(Duration::from_secs(30));
    assert!(stopped.is_some_and(|s| s.success()), "{stopped:?}");
}

/// Runs `dkim generate` for an Ed25519 key into `out` and returns the DNS record it printed.
fn generate(env: &Env, selector: &str, out: &Path) -> DnsRecord {
    let args = ["--algorithm", "ed25519", "--selector", selector, "--out"];
    dkim_generate(env, &[&args[..], &[out.to_str().unwrap()]].concat())
}

/// Sends to Oldenfelde, waits for every copy, and returns the copies (and removes them from the
/// outbox, so the next send's copies are told apart).
async fn copies_of_a_send(env: &Env, server: &Server) -> Vec<Vec<u8>> {
    send_to_oldenfelde_until_complete(env, server, Duration::from_secs(90)).await;
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(env.path("data/outbox")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('d') && name.ends_with(".eml") {
            copies.push(std::fs::read(&path).unwrap());
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert!(!copies.is_empty(), "the send wrote copies");
    copies
}

/// Whether every copy verifies against `record` (and only then).
async fn all_verify(copies: &[Vec<u8>], record: &DnsRecord) -> bool {
    for copy in copies {
        let verdicts = verify_with_records(copy, std::slice::from_ref(record)).await;
        if verdicts.len() != 1 || !verdicts[0].passed() {
            return false;
        }
    }
    true
}

#[tokio::test]
async fn sighup_signs_the_next_copies_with_a_rotated_dkim_key_and_keeps_it_when_broken() {
    if !tool_available("python3") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("dkim.pem");
    let setup = Env::new().await;
    let old = generate(&setup, "rot", &keys.path().join("old.pem"));
    let new = generate(&setup, "rot", &keys.path().join("new.pem"));
    std::fs::copy(keys.path().join("old.pem"), &key_file).unwrap();
    let (env, server, notify) = serve(&[
        ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
        ("VERTEILER_DELIVERY__DKIM__ED25519_SELECTOR", "rot"),
        (
            "VERTEILER_DELIVERY__DKIM__ED25519_KEY_FILE",
            key_file.to_str().unwrap(),
        ),
    ])
    .await;

    let before = copies_of_a_send(&env, &server).await;
    assert!(all_verify(&before, &old).await);
    assert!(!all_verify(&before, &new).await);

    // The rotated key under the same selector (its record published beforehand).
    std::fs::copy(keys.path().join("new.pem"), &key_file).unwrap();
    notify.reload(&server);
    let after = copies_of_a_send(&env, &server).await;
    assert!(all_verify(&after, &new).await, "signed with the new key");
    assert!(!all_verify(&after, &old).await);
    assert!(log(&env).contains("reload.dkim"), "{}", log(&env));

    // A broken key file: the error names it, and copies stay signed with the key in use.
    std::fs::write(&key_file, "not a key").unwrap();
    notify.reload(&server);
    let text = log(&env);
    let failed = text
        .lines()
        .find(|l| l.contains("reload.dkim_failed"))
        .unwrap_or_else(|| panic!("no reload.dkim_failed line in:\n{text}"));
    assert!(failed.contains(key_file.to_str().unwrap()), "{failed}");
    let still = copies_of_a_send(&env, &server).await;
    assert!(all_verify(&still, &new).await, "the key in use stays");
    let stopped = server.terminate(Duration::from_secs(30));
    assert!(stopped.is_some_and(|s| s.success()), "{stopped:?}");
}
