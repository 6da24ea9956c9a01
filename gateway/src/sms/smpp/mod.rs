//! The `smpp` SMS provider: an SMPP 3.4/5.0 client (rusmpp's codec) bound as a transceiver to
//! the operator's SMSC over one TCP connection.
//!
//! - Texts are sent as `submit_sm`, one per part; a long text's parts carry the 8-bit
//!   concatenation header (UDH) with a reference of their own. The parts are our own
//!   [`SmsText::parts`], so the segments the policy engine counted are the segments sent.
//! - At most `window` requests are outstanding; a text's parts each take a place in it.
//! - `enquire_link` keeps an idle connection alive and finds a dead one; a lost connection is
//!   bound again with a doubling backoff, and what was outstanding goes back to the queue.
//! - A throttling answer (`ESME_RTHROTTLED`, `ESME_RMSGQFUL`) is a temporary failure: the
//!   text is rescheduled, and no new request goes out for `throttle_pause`.
//! - `deliver_sm` brings delivery receipts (matched to the parts by the SMSC's message id)
//!   and texts members send to us (STOP); both go to [`SmscEvents`], and the SMSC gets its
//!   answer only once they are recorded.
//!
//! The password is only ever written into the bind request; it is not logged.

mod parts;
mod session;

pub use parts::{delivery_receipt, submit_parts, ReceiptState};

use super::{OutgoingText, SmsProvider, Submitted};
use crate::delivery::Outcome;
use rusmpp::pdus::SubmitSm;
use rusmpp::CommandStatus;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

/// Where the SMSC is and how the client behaves.
#[derive(Clone)]
pub struct SmppSettings {
    /// `host:port` of the SMSC.
    pub address: String,
    pub system_id: String,
    /// Never logged, never shown.
    pub password: String,
    pub system_type: String,
    /// The sender shown on the phone: a number (`+49…`) or up to 11 letters and digits.
    pub source_addr: String,
    /// Requests outstanding at most.
    pub window: usize,
    /// How long the connection may be idle before an `enquire_link`.
    pub enquire_link: Duration,
    /// How long the SMSC may take to answer a request.
    pub response_timeout: Duration,
    pub reconnect_first: Duration,
    pub reconnect_max: Duration,
    /// No new request for this long after the SMSC said it is throttling us.
    pub throttle_pause: Duration,
}

impl std::fmt::Debug for SmppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmppSettings")
            .field("address", &self.address)
            .field("system_id", &self.system_id)
            .field("password", &"[redacted]")
            .field("system_type", &self.system_type)
            .field("source_addr", &self.source_addr)
            .field("window", &self.window)
            .field("enquire_link", &self.enquire_link)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_first", &self.reconnect_first)
            .field("reconnect_max", &self.reconnect_max)
            .field("throttle_pause", &self.throttle_pause)
            .finish()
    }
}

impl SmppSettings {
    pub fn new(address: &str, system_id: &str, password: &str) -> SmppSettings {
        SmppSettings {
            address: address.to_string(),
            system_id: system_id.to_string(),
            password: password.to_string(),
            system_type: String::new(),
            source_addr: "verteiler".to_string(),
            window: 50,
            enquire_link: Duration::from_secs(30),
            response_timeout: Duration::from_secs(10),
            reconnect_first: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            throttle_pause: Duration::from_secs(1),
        }
    }
}

/// What the SMSC tells us on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmscEvent {
    /// The final state of the part the SMSC calls `message_id`.
    Receipt { message_id: String, delivered: bool },
    /// A text sent to us from `from` (E.164 where the SMSC gave an international number).
    Inbound { from: String, text: String },
}

/// Records what the SMSC tells us, a batch at a time; `false` when the batch could not be
/// recorded, so the SMSC is asked to send it again.
pub trait SmscEvents: Send + Sync + 'static {
    fn record(&self, events: Vec<SmscEvent>) -> impl Future<Output = bool> + Send;
}

/// The store records receipts (in one transaction per batch) and inbound texts.
impl SmscEvents for verteiler_store::Store {
    async fn record(&self, events: Vec<SmscEvent>) -> bool {
        let mut receipts = Vec::with_capacity(events.len());
        let mut recorded = Ok(());
        for event in events {
            match event {
                SmscEvent::Receipt {
                    message_id,
                    delivered,
                } => receipts.push((message_id, delivered)),
                SmscEvent::Inbound { from, text } => {
                    recorded =
                        recorded.and(self.receive_text(&from, &text, "smpp").await.map(
                            |inbound| tracing::info!(event = "sms.inbound", outcome = ?inbound),
                        ))
                }
            }
        }
        let recorded = recorded.and(self.record_part_receipts(&receipts).await);
        match recorded {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(event = "smpp.record_failed", error = %e);
                false
            }
        }
    }
}

/// How one part fared.
#[derive(Debug)]
enum PartResult {
    /// Taken, under the SMSC's message id.
    Accepted(String),
    /// Refused with this status.
    Refused(CommandStatus),
    /// No answer: the connection was lost or the SMSC too slow.
    Lost(String),
}

/// A part on its way to the session.
struct Request {
    sm: SubmitSm,
    reply: oneshot::Sender<PartResult>,
}

struct Shared {
    settings: SmppSettings,
    window: Semaphore,
    requests: mpsc::Sender<Request>,
    /// The concatenation reference of the next long text.
    reference: AtomicU8,
}

/// A handle on the SMPP session; cheap to clone.
#[derive(Clone)]
pub struct SmppProvider {
    shared: Arc<Shared>,
}

/// A part may wait this long for a connection before its text goes back to the queue.
const QUEUE_WAIT: Duration = Duration::from_secs(120);

impl SmppProvider {
    /// Starts the session task: it connects, binds and serves until `stop` turns true.
    pub fn start<E: SmscEvents>(
        settings: SmppSettings,
        events: E,
        stop: watch::Receiver<bool>,
    ) -> (SmppProvider, JoinHandle<()>) {
        let window = settings.window.max(1);
        let (requests, queue) = mpsc::channel(window);
        let shared = Arc::new(Shared {
            settings: settings.clone(),
            window: Semaphore::new(window),
            requests,
            reference: AtomicU8::new(rand::random()),
        });
        let task = tokio::spawn(session::run(settings, queue, Arc::new(events), stop));
        (SmppProvider { shared }, task)
    }

    async fn submit_part(&self, sm: SubmitSm) -> PartResult {
        let Ok(_place) = self.shared.window.acquire().await else {
            return PartResult::Lost("the SMPP client has stopped".into());
        };
        let (reply, answer) = oneshot::channel();
        if self
            .shared
            .requests
            .send(Request { sm, reply })
            .await
            .is_err()
        {
            return PartResult::Lost("the SMPP client has stopped".into());
        }
        match tokio::time::timeout(QUEUE_WAIT + self.shared.settings.response_timeout, answer).await
        {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => PartResult::Lost("the SMPP session ended".into()),
            Err(_) => PartResult::Lost("no connection to the SMSC".into()),
        }
    }
}

/// Whether a refusal may go away by itself.
fn temporary(status: CommandStatus) -> bool {
    matches!(
        status,
        CommandStatus::EsmeRthrottled
            | CommandStatus::EsmeRmsgqful
            | CommandStatus::EsmeRsyserr
            | CommandStatus::EsmeRxTAppn
            | CommandStatus::EsmeRsubmitfail
    )
}

fn throttling(status: CommandStatus) -> bool {
    matches!(
        status,
        CommandStatus::EsmeRthrottled | CommandStatus::EsmeRmsgqful
    )
}

impl SmsProvider for SmppProvider {
    async fn submit(&self, text: &OutgoingText) -> Submitted {
        let reference = self.shared.reference.fetch_add(1, Ordering::Relaxed);
        let parts = match submit_parts(&self.shared.settings, text, reference) {
            Ok(parts) => parts,
            Err(reason) => return Outcome::Permanent(reason).into(),
        };
        let results =
            futures::future::join_all(parts.into_iter().map(|sm| self.submit_part(sm))).await;
        let mut provider_ids = Vec::with_capacity(results.len());
        let mut temporary_failure = None;
        let mut permanent_failure = None;
        for result in results {
            match result {
                PartResult::Accepted(id) => provider_ids.push(id),
                PartResult::Refused(status) if temporary(status) => {
                    temporary_failure = Some(format!("the SMSC answered {status:?}"))
                }
                PartResult::Refused(status) => {
                    permanent_failure = Some(format!("the SMSC refused the text: {status:?}"))
                }
                PartResult::Lost(why) => temporary_failure = Some(why),
            }
        }
        // A part refused for good makes the text fail; a part merely delayed sends the whole
        // text again later (the member may then see an early part twice, never a gap).
        let outcome = match (permanent_failure, temporary_failure) {
            (Some(why), _) => Outcome::Permanent(why),
            (None, Some(why)) => Outcome::Temporary(why),
            (None, None) => Outcome::Sent,
        };
        Submitted {
            outcome,
            provider_ids,
        }
    }

    fn window(&self) -> usize {
        self.shared.settings.window.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::SmppSettings;

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let settings = SmppSettings::new("smsc.example.net:2775", "verteiler", "s3cr3t!");
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("s3cr3t!") && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
