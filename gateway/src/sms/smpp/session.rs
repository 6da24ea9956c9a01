//! The connection to the SMSC: bind, serve, and bind again when it is lost.

use super::parts::event_of;
use super::{throttling, PartResult, Request, SmppSettings, SmscEvent, SmscEvents};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiver, DeliverSmResp};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::COctetString;
use rusmpp::values::{InterfaceVersion, Npi, Ton};
use rusmpp::{Command, CommandStatus, Pdu};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::Framed;

type Link = Framed<TcpStream, CommandCodec>;

/// Why a session ended.
enum End {
    Stopped,
    Lost(String),
}

/// Binds and serves until `stop` turns true, binding again with backoff whenever the
/// connection is lost.
pub(super) async fn run<E: SmscEvents>(
    settings: SmppSettings,
    mut requests: mpsc::Receiver<Request>,
    events: Arc<E>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = settings.reconnect_first;
    loop {
        if *stop.borrow() {
            return;
        }
        let why = match bind(&settings).await {
            Ok(link) => {
                tracing::info!(event = "smpp.bound", smsc = %settings.address);
                backoff = settings.reconnect_first;
                match serve(&settings, link, &mut requests, &events, &mut stop).await {
                    End::Stopped => return,
                    End::Lost(why) => why,
                }
            }
            Err(why) => why,
        };
        tracing::warn!(event = "smpp.disconnected", smsc = %settings.address, reason = %why,
            retry_in_ms = backoff.as_millis() as u64);
        // While unbound, parts go straight back to the queue instead of waiting here.
        let wake = Instant::now() + backoff;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => break,
                _ = stop.changed() => return,
                request = requests.recv() => match request {
                    Some(r) => { let _ = r.reply.send(PartResult::Lost(format!("not bound to the SMSC: {why}"))); }
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).min(settings.reconnect_max);
    }
}

fn octets<const MIN: usize, const MAX: usize>(
    key: &str,
    value: &str,
) -> Result<COctetString<MIN, MAX>, String> {
    COctetString::from_str(value).map_err(|e| format!("sms.smpp.{key} cannot be sent: {e}"))
}

/// Connects and binds as a transceiver.
async fn bind(settings: &SmppSettings) -> Result<Link, String> {
    let wait = settings.response_timeout;
    let stream = match tokio::time::timeout(wait, TcpStream::connect(&settings.address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("cannot connect: {e}")),
        Err(_) => return Err("no connection within the response timeout".into()),
    };
    let _ = stream.set_nodelay(true);
    let mut link = Framed::new(stream, CommandCodec::new());
    let request = BindTransceiver::builder()
        .system_id(octets("system_id", &settings.system_id)?)
        .password(octets("password", &settings.password)?)
        .system_type(octets("system_type", &settings.system_type)?)
        .interface_version(InterfaceVersion::Smpp3_4)
        .addr_ton(Ton::Unknown)
        .addr_npi(Npi::Unknown)
        .build();
    link.send(Command::new(CommandStatus::EsmeRok, 1, request))
        .await
        .map_err(|e| format!("the bind request could not be sent: {e}"))?;
    let answer = tokio::time::timeout(wait, async {
        while let Some(frame) = link.next().await {
            let command = frame.map_err(|e| format!("unreadable answer to the bind: {e}"))?;
            match command.pdu() {
                Some(Pdu::BindTransceiverResp(_)) | Some(Pdu::GenericNack) => {
                    return Ok(command.status());
                }
                _ => continue,
            }
        }
        Err("the SMSC closed the connection during the bind".to_string())
    })
    .await
    .map_err(|_| "no answer to the bind".to_string())??;
    if answer != CommandStatus::EsmeRok {
        return Err(format!("the SMSC refused the bind: {answer:?}"));
    }
    Ok(link)
}

/// The next sequence number: 1 to 0x7FFFFFFF, then round again.
fn next_sequence(current: &mut u32) -> u32 {
    *current = if *current >= 0x7FFF_FFFF {
        2
    } else {
        *current + 1
    };
    *current
}

/// One bound connection.
struct Session<'a> {
    settings: &'a SmppSettings,
    sink: SplitSink<Link, Command>,
    sequence: u32,
    /// Parts sent and not yet answered, by sequence number.
    outstanding: HashMap<u32, (oneshot::Sender<PartResult>, Instant)>,
    /// When the open `enquire_link` went out.
    enquiring: Option<Instant>,
    last_sent: Instant,
    paused_until: Option<Instant>,
}

impl Session<'_> {
    async fn send(&mut self, command: Command) -> Result<(), String> {
        self.last_sent = Instant::now();
        self.sink
            .send(command)
            .await
            .map_err(|e| format!("writing to the SMSC failed: {e}"))
    }

    /// Sends a part and whatever more is queued behind it, then flushes once.
    async fn submit(
        &mut self,
        first: Request,
        requests: &mut mpsc::Receiver<Request>,
    ) -> Result<(), String> {
        let mut next = Some(first);
        while let Some(request) = next.take() {
            // A caller that gave up must not have its part sent behind its back.
            if !request.reply.is_closed() {
                let seq = next_sequence(&mut self.sequence);
                self.outstanding
                    .insert(seq, (request.reply, Instant::now()));
                self.sink
                    .feed(Command::new(CommandStatus::EsmeRok, seq, request.sm))
                    .await
                    .map_err(|e| format!("writing to the SMSC failed: {e}"))?;
            }
            next = requests.try_recv().ok();
        }
        self.last_sent = Instant::now();
        self.sink
            .flush()
            .await
            .map_err(|e| format!("writing to the SMSC failed: {e}"))
    }

    /// Answers a part's request.
    fn answer(&mut self, seq: u32, result: PartResult) {
        if let Some((reply, _)) = self.outstanding.remove(&seq) {
            let _ = reply.send(result);
        }
    }

    /// Fails parts the SMSC has not answered in time; keeps the link alive.
    async fn housekeeping(&mut self) -> Result<(), String> {
        let now = Instant::now();
        let late: Vec<u32> = self
            .outstanding
            .iter()
            .filter(|(_, (_, at))| now.duration_since(*at) > self.settings.response_timeout)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in late {
            self.answer(
                seq,
                PartResult::Lost("the SMSC did not answer in time".into()),
            );
        }
        match self.enquiring {
            Some(at) if now.duration_since(at) > self.settings.response_timeout => {
                Err("no answer to enquire_link".into())
            }
            None if now.duration_since(self.last_sent) >= self.settings.enquire_link => {
                self.enquiring = Some(now);
                let seq = next_sequence(&mut self.sequence);
                self.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLink))
                    .await
            }
            _ => Ok(()),
        }
    }

    fn lose_all(&mut self, why: &str) {
        for (_, (reply, _)) in self.outstanding.drain() {
            let _ = reply.send(PartResult::Lost(why.to_string()));
        }
    }
}

async fn serve<E: SmscEvents>(
    settings: &SmppSettings,
    link: Link,
    requests: &mut mpsc::Receiver<Request>,
    events: &Arc<E>,
    stop: &mut watch::Receiver<bool>,
) -> End {
    let (sink, mut stream): (_, SplitStream<Link>) = link.split();
    let mut session = Session {
        settings,
        sink,
        sequence: 1,
        outstanding: HashMap::new(),
        enquiring: None,
        last_sent: Instant::now(),
        paused_until: None,
    };
    // The SMSC's deliver_sm go to a recorder, and are answered once they are recorded.
    let (answers, mut answered) = mpsc::unbounded_channel::<Command>();
    let (deliveries, delivered) = mpsc::unbounded_channel();
    tokio::spawn(record(delivered, Arc::clone(events), answers));
    let tick = (settings.enquire_link / 2)
        .min(settings.response_timeout / 2)
        .clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut housekeeping = tokio::time::interval(tick);
    let end = loop {
        let paused = session.paused_until.filter(|t| *t > Instant::now());
        let result = tokio::select! {
            frame = stream.next() => match frame {
                None => Err("the SMSC closed the connection".to_string()),
                Some(Err(e)) => Err(format!("unreadable data from the SMSC: {e}")),
                Some(Ok(command)) => handle(&mut session, command, &deliveries).await,
            },
            request = requests.recv(), if paused.is_none() => match request {
                Some(request) => session.submit(request, requests).await,
                None => break End::Stopped,
            },
            _ = tokio::time::sleep_until(paused.unwrap_or_else(Instant::now)), if paused.is_some() => {
                session.paused_until = None;
                Ok(())
            }
            Some(answer) = answered.recv() => session.send(answer).await,
            _ = housekeeping.tick() => session.housekeeping().await,
            _ = stop.changed() => break End::Stopped,
        };
        if let Err(why) = result {
            break End::Lost(why);
        }
    };
    match &end {
        End::Stopped => {
            let seq = next_sequence(&mut session.sequence);
            let _ = session
                .send(Command::new(CommandStatus::EsmeRok, seq, Pdu::Unbind))
                .await;
            // The unbind_resp is a courtesy; a little wait for it, no more.
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while let Some(Ok(c)) = stream.next().await {
                    if matches!(c.pdu(), Some(Pdu::UnbindResp)) {
                        break;
                    }
                }
            })
            .await;
            session.lose_all("the SMPP client stopped");
        }
        End::Lost(why) => session.lose_all(&format!("connection to the SMSC lost: {why}")),
    }
    end
}

/// Receipts and inbound texts recorded at most this many at a time.
const RECORD_BATCH: usize = 500;

/// Records what the SMSC delivers, in batches (what arrived while the last batch was being
/// recorded), and answers each `deliver_sm`: OK once recorded, else a temporary error so the
/// SMSC sends it again. Ends with the session.
async fn record<E: SmscEvents>(
    mut delivered: mpsc::UnboundedReceiver<(u32, SmscEvent)>,
    events: Arc<E>,
    answers: mpsc::UnboundedSender<Command>,
) {
    while let Some(first) = delivered.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match delivered.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (sequences, batch): (Vec<u32>, Vec<SmscEvent>) = batch.into_iter().unzip();
        let status = if events.record(batch).await {
            CommandStatus::EsmeRok
        } else {
            CommandStatus::EsmeRxTAppn
        };
        for seq in sequences {
            let _ = answers.send(Command::new(status, seq, DeliverSmResp::default()));
        }
    }
}

/// Handles one command from the SMSC.
async fn handle(
    session: &mut Session<'_>,
    command: Command,
    deliveries: &mpsc::UnboundedSender<(u32, SmscEvent)>,
) -> Result<(), String> {
    let seq = command.sequence_number();
    let status = command.status();
    match command.pdu() {
        Some(Pdu::SubmitSmResp(resp)) => {
            if status == CommandStatus::EsmeRok {
                session.answer(seq, PartResult::Accepted(resp.message_id().to_string()));
            } else {
                if throttling(status) {
                    session.paused_until = Some(Instant::now() + session.settings.throttle_pause);
                    tracing::warn!(event = "smpp.throttled", status = ?status);
                }
                session.answer(seq, PartResult::Refused(status));
            }
            Ok(())
        }
        Some(Pdu::GenericNack) => {
            session.answer(seq, PartResult::Refused(status));
            Ok(())
        }
        Some(Pdu::EnquireLinkResp) => {
            session.enquiring = None;
            Ok(())
        }
        Some(Pdu::EnquireLink) => {
            session
                .send(Command::new(
                    CommandStatus::EsmeRok,
                    seq,
                    Pdu::EnquireLinkResp,
                ))
                .await
        }
        Some(Pdu::DeliverSm(sm)) => match event_of(sm) {
            // Recorded off the session's task, so a slow store never holds up the link.
            Some(event) => deliveries
                .send((seq, event))
                .map_err(|_| "the recorder of receipts stopped".to_string()),
            None => {
                session
                    .send(Command::new(
                        CommandStatus::EsmeRok,
                        seq,
                        DeliverSmResp::default(),
                    ))
                    .await
            }
        },
        Some(Pdu::Unbind) => {
            let _ = session
                .send(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp))
                .await;
            Err("the SMSC unbound".into())
        }
        _ => {
            tracing::debug!(event = "smpp.ignored", command = ?command.id());
            Ok(())
        }
    }
}
