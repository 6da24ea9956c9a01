//! Under systemd (`Type=notify`, ops/systemd/verteiler.service) `serve` says `READY=1` once its
//! listeners answer, and `STOPPING=1` when it is told to stop.

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;
use support::*;

fn next_message(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket
        .recv(&mut buf)
        .expect("a notification within the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn serve_tells_the_service_manager_when_it_is_ready_and_when_it_stops() {
    let env = Env::new().await;
    let path = env.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let server = env.serve_with(&[], &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    // The listening lines come first; READY=1 follows them, so the portal answers already.
    let ready = next_message(&socket);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
    let stopped = server.terminate(Duration::from_secs(30));
    assert!(stopped.is_some_and(|s| s.success()), "{stopped:?}");
    let stopping = next_message(&socket);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
}
