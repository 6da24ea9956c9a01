//! The AUTH lockout over real sockets, every client from 127.0.0.1 as in an office behind one
//! address: a mail client with a stale password locks its own account, never the colleagues
//! behind the same address; many accounts failing from one address lock that address.

mod smtp_support;

use smtp_support::*;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use verteiler_gateway::smtp::{serve_smtp, SmtpConfig, SmtpService};

/// `serve_smtp` on a free loopback port; dropping the sender stops it.
async fn start(config: SmtpConfig) -> (SocketAddr, Arc<FakeHandler>, oneshot::Sender<()>) {
    let handler = FakeHandler::new();
    let service = SmtpService::new(Arc::new(config), None, Arc::clone(&handler));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve_smtp(listener, service, false, async {
        let _ = stopped.await;
    }));
    (address, handler, stop)
}

/// One reply: (code, every line as sent).
async fn reply(reader: &mut BufReader<TcpStream>) -> (u16, String) {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert!(line.ends_with("\r\n"), "{line:?}");
        all.push_str(&line);
        if line.as_bytes()[3] == b' ' {
            return (line[..3].parse().unwrap(), all);
        }
    }
}

/// A new connection that greets, says EHLO and tries AUTH PLAIN once; returns the reply code.
async fn try_login(server: SocketAddr, login: &str, password: &str) -> u16 {
    let mut stream = BufReader::new(TcpStream::connect(server).await.unwrap());
    assert_eq!(reply(&mut stream).await.0, 220);
    let plain = base64(&format!("\0{login}\0{password}"));
    let mut codes = Vec::new();
    for line in [
        "EHLO office.test".to_string(),
        format!("AUTH PLAIN {plain}"),
    ] {
        stream
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        codes.push(reply(&mut stream).await.0);
    }
    assert_eq!(codes[0], 250);
    codes[1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_mail_client_does_not_lock_out_a_colleague_behind_the_same_address() {
    let (server, handler, _stop) = start(test_config()).await;
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(try_login(server, "stale@oldenfelde.example", "last year's password").await);
    }
    assert_eq!(&codes[..5], [535; 5], "{codes:?}");
    assert!(
        codes[5..].iter().all(|&c| c == 454),
        "then the stale account is locked: {codes:?}"
    );
    assert_eq!(handler.auth_calls(), 5);

    assert_eq!(
        try_login(server, LOGIN, PASSWORD).await,
        235,
        "a colleague's correct password from the same address still gets in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_across_many_accounts_from_one_address_lock_that_address() {
    let (server, handler, _stop) = start(test_config()).await;
    for n in 0..10 {
        let login = format!("guess{n}@oldenfelde.example");
        assert_eq!(try_login(server, &login, "Sommer2026!").await, 535);
    }
    assert_eq!(
        try_login(server, LOGIN, PASSWORD).await,
        454,
        "ten accounts failing from one address lock it, correct passwords included"
    );
    assert_eq!(handler.auth_calls(), 10);
}
