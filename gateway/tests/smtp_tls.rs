//! Real sockets, real clients: Python's smtplib with STARTTLS and AUTH against
//! `serve_smtp`, a rustls client on an implicit-TLS listener, and the drain on shutdown.

mod smtp_support;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use smtp_support::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use verteiler_gateway::smtp::{
    generate_self_signed, serve_smtp, tls_config_from_pem, SmtpConfig, SmtpService,
};

struct Running {
    address: std::net::SocketAddr,
    handler: Arc<FakeHandler>,
    cert_pem: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Starts `serve_smtp` on a free loopback port with a fresh self-signed certificate.
async fn start(config: SmtpConfig, implicit_tls: bool) -> Running {
    let (cert_pem, key_pem) = generate_self_signed(&["localhost".to_string()]).unwrap();
    let tls = tls_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let handler = FakeHandler::new();
    let service = SmtpService::new(Arc::new(config), Some(tls), Arc::clone(&handler));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_smtp(listener, service, implicit_tls, async {
        let _ = stopped.await;
    }));
    Running {
        address,
        handler,
        cert_pem,
        stop,
        server,
    }
}

const PYTHON_CLIENT: &str = r#"
import smtplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP(host, port, timeout=20) as smtp:
    smtp.ehlo("python.test")
    assert smtp.has_extn("starttls"), "STARTTLS not offered"
    assert not smtp.has_extn("auth"), "AUTH offered before TLS"
    smtp.starttls(context=context)
    smtp.ehlo("python.test")
    assert smtp.has_extn("auth"), "AUTH not offered under TLS"
    assert not smtp.has_extn("starttls"), "STARTTLS offered twice"
    smtp.login(sys.argv[3], sys.argv[4])
    message = "From: chair@oldenfelde.example\r\nSubject: Einladung\r\n\r\n.Punkt am Anfang\r\nBis Dienstag!\r\n"
    refused = smtp.sendmail("chair@oldenfelde.example", [sys.argv[5]], message)
    assert refused == {}, refused
print("python-smtplib-ok")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smtplib_sends_with_starttls_and_auth() {
    let config = SmtpConfig {
        allow_plain_auth_without_tls: false,
        ..test_config()
    };
    let running = start(config, false).await;
    let port = running.address.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([
                "-c",
                PYTHON_CLIENT,
                "127.0.0.1",
                &port,
                LOGIN,
                PASSWORD,
                LIST,
            ])
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed: {stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("python-smtplib-ok"));

    let accepted = running.handler.accepted();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].info.tls);
    assert_eq!(accepted[0].info.helo.as_deref(), Some("python.test"));
    assert_eq!(accepted[0].envelope.rcpt_to, [LIST]);
    let text = String::from_utf8(accepted[0].message.clone()).unwrap();
    assert!(text.contains("\r\n.Punkt am Anfang\r\n"), "{text:?}");
    running.stop.send(()).unwrap();
    running.server.await.unwrap().unwrap();
}

/// Reads one reply from a line-buffered stream; returns (code, last line).
async fn read_reply<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> (u16, String) {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert!(line.ends_with("\r\n"), "{line:?}");
        if line.as_bytes()[3] == b' ' {
            return (line[..3].parse().unwrap(), line);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rustls_client_sends_over_implicit_tls_and_shutdown_drains() {
    let running = start(
        SmtpConfig {
            shutdown_grace: Duration::from_secs(5),
            ..test_config()
        },
        true,
    )
    .await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(running.cert_pem.as_bytes()).unwrap())
        .unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let tcp = TcpStream::connect(running.address).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut stream = BufReader::new(tls);

    assert_eq!(read_reply(&mut stream).await.0, 220);
    let plain = base64(&format!("\0{LOGIN}\0{PASSWORD}"));
    let script = [
        ("EHLO rustls.test".to_string(), 250),
        (format!("AUTH PLAIN {plain}"), 235),
        ("MAIL FROM:<chair@oldenfelde.example>".to_string(), 250),
        (format!("RCPT TO:<{LIST}>"), 250),
        ("DATA".to_string(), 354),
        ("Subject: tls\r\n\r\nhello\r\n.".to_string(), 250),
    ];
    for (line, code) in script {
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        stream.flush().await.unwrap();
        let (got, text) = read_reply(&mut stream).await;
        assert_eq!(got, code, "{line:?} -> {text:?}");
    }
    assert!(running.handler.accepted()[0].info.tls);

    // The session is idle now; shutting down tells it 421 and the server returns.
    running.stop.send(()).unwrap();
    let (code, text) = read_reply(&mut stream).await;
    assert_eq!(code, 421, "{text}");
    tokio::time::timeout(Duration::from_secs(10), running.server)
        .await
        .expect("serve_smtp returns after draining")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn implicit_tls_without_a_certificate_is_a_startup_error() {
    let handler = FakeHandler::new();
    let service = SmtpService::new(Arc::new(test_config()), None, handler);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = serve_smtp(listener, service, true, std::future::pending()).await;
    assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
}
