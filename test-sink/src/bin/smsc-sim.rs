//! The SMSC simulator as a process of its own, for `ops/bench/sms.sh`: binds `verteiler` /
//! `secret`, accepts every submit, sends a delivery receipt for each, and counts instead of
//! keeping what it was sent.
//!
//! Usage: smsc-sim [ADDRESS]   (default 127.0.0.1:2775; prints the address once listening)

use verteiler_test_sink::smsc::Smsc;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2775".into());
    let smsc = Smsc::start_on(&listen, "verteiler", "secret", false).await;
    println!("smsc-sim listening on {}", smsc.addr());
    let mut last = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let accepted = smsc.accepted();
        if accepted != last {
            eprintln!(
                "smsc-sim: {accepted} parts accepted, {} receipts answered",
                smsc.receipts_answered()
            );
            last = accepted;
        }
    }
}
