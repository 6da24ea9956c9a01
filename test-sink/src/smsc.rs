//! A small SMSC for tests and benchmarks: a real SMPP server on a loopback port, built on
//! rusmpp's codec. It binds transceivers (checking system id and password), answers
//! `submit_sm` with message ids, records what it was given, sends delivery receipts and
//! inbound texts as `deliver_sm`, and can be told to throttle or to drop the connection.

use futures::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiverResp, DeliverSm, SubmitSmResp};
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{EsmClass, MessageState, MessageType, Npi, Ton};
use rusmpp::{Command, CommandStatus, Pdu};
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

/// One `submit_sm` as the SMSC received it.
#[derive(Debug, Clone)]
pub struct ReceivedPart {
    pub message_id: String,
    pub source: String,
    pub destination: String,
    pub data_coding: u8,
    pub esm_class: u8,
    /// The short message as sent, with its UDH when `esm_class` has 0x40.
    pub short_message: Vec<u8>,
}

impl ReceivedPart {
    /// `(reference, total, number)` of the concatenation header, if the part has one.
    pub fn concatenation(&self) -> Option<(u8, u8, u8)> {
        if self.esm_class & 0x40 == 0 {
            return None;
        }
        match self.short_message.as_slice() {
            [0x05, 0x00, 0x03, reference, total, n, ..] => Some((*reference, *total, *n)),
            _ => None,
        }
    }

    /// The payload after the UDH.
    pub fn payload(&self) -> &[u8] {
        if self.esm_class & 0x40 == 0 {
            return &self.short_message;
        }
        let header = self.short_message.first().map_or(0, |l| *l as usize + 1);
        self.short_message.get(header..).unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    system_id: String,
    password: String,
    /// Keep every part (tests) or only count them (benchmarks).
    record: bool,
    parts: Vec<ReceivedPart>,
    accepted: u64,
    next_id: u64,
    binds: u64,
    refused_binds: u64,
    enquire_links: u64,
    /// For each coming submit, in order: answer it with ESME_RTHROTTLED?
    throttles: std::collections::VecDeque<bool>,
    throttled: u64,
    /// Close the connection, unanswered, on the submit after this many more.
    drop_after: Option<u64>,
    receipts: bool,
    receipts_answered: u64,
    inbound_answered: u64,
    /// deliver_sm the client answered with an error (it could not record them).
    refused_answers: u64,
    /// The bound session's way out, for `deliver_sm` the test asks for.
    pushes: Option<mpsc::UnboundedSender<Command>>,
    push_sequence: u32,
}

/// A running SMSC; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct Smsc {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Smsc {
    /// Listens on `127.0.0.1` on a free port and binds clients with these credentials.
    pub async fn start(system_id: &str, password: &str) -> Smsc {
        Smsc::start_on("127.0.0.1:0", system_id, password, true).await
    }

    /// As `start`, on `listen`; `record` false keeps only counts.
    pub async fn start_on(listen: &str, system_id: &str, password: &str, record: bool) -> Smsc {
        let listener = TcpListener::bind(listen).await.expect("bind the SMSC");
        let addr = listener.local_addr().expect("the SMSC's address");
        let state = Arc::new(Mutex::new(State {
            system_id: system_id.into(),
            password: password.into(),
            record,
            receipts: true,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        Smsc { addr, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("the SMSC's state"))
    }

    /// Every part received, in order.
    pub fn parts(&self) -> Vec<ReceivedPart> {
        self.with(|s| s.parts.clone())
    }

    /// Parts accepted so far.
    pub fn accepted(&self) -> u64 {
        self.with(|s| s.accepted)
    }

    pub fn binds(&self) -> u64 {
        self.with(|s| s.binds)
    }

    pub fn refused_binds(&self) -> u64 {
        self.with(|s| s.refused_binds)
    }

    pub fn enquire_links(&self) -> u64 {
        self.with(|s| s.enquire_links)
    }

    pub fn throttled(&self) -> u64 {
        self.with(|s| s.throttled)
    }

    /// Delivery receipts the client acknowledged.
    pub fn receipts_answered(&self) -> u64 {
        self.with(|s| s.receipts_answered)
    }

    /// `deliver_sm` the client answered with an error status.
    pub fn refused_answers(&self) -> u64 {
        self.with(|s| s.refused_answers)
    }

    /// Inbound texts the client acknowledged.
    pub fn inbound_answered(&self) -> u64 {
        self.with(|s| s.inbound_answered)
    }

    /// Answers the next `n` submits with ESME_RTHROTTLED.
    pub fn throttle_next(&self, n: u64) {
        self.throttle_pattern(&vec![true; n as usize]);
    }

    /// For the coming submits in order, whether each is answered with ESME_RTHROTTLED
    /// (`[false, true]`: accept the next, throttle the one after).
    pub fn throttle_pattern(&self, pattern: &[bool]) {
        self.with(|s| s.throttles = pattern.iter().copied().collect());
    }

    /// Accepts `n` more submits, then closes the connection instead of answering the next.
    pub fn drop_after(&self, n: u64) {
        self.with(|s| s.drop_after = Some(n));
    }

    /// Whether a delivery receipt follows every accepted part (on by default).
    pub fn receipts(&self, on: bool) {
        self.with(|s| s.receipts = on);
    }

    /// Sends a text from `from` (international, without `+`) to the bound client; false when
    /// no client is bound.
    pub fn send_inbound(&self, from: &str, text: &str) -> bool {
        self.with(|s| {
            let Some(pushes) = s.pushes.clone() else {
                return false;
            };
            s.push_sequence += 1;
            let sm = DeliverSm::builder()
                .source_addr_ton(Ton::International)
                .source_addr_npi(Npi::Isdn)
                .source_addr(COctetString::from_str(from).expect("a number"))
                .destination_addr(COctetString::from_str("verteiler").expect("a name"))
                .short_message(OctetString::from_vec(text.as_bytes().to_vec()).expect("short"))
                .build();
            pushes
                .send(Command::new(
                    CommandStatus::EsmeRok,
                    0x4000_0000 + s.push_sequence,
                    sm,
                ))
                .is_ok()
        })
    }
}

/// A delivery receipt for an accepted part, as SMSCs write them: TLVs and the text form.
fn receipt(seq: u32, part: &ReceivedPart) -> Command {
    let text = format!(
        "id:{} sub:001 dlvrd:001 submit date:2612011200 done date:2612011200 stat:DELIVRD err:000 text:",
        part.message_id
    );
    let sm = DeliverSm::builder()
        .source_addr_ton(Ton::International)
        .source_addr_npi(Npi::Isdn)
        .source_addr(COctetString::from_str(&part.destination).expect("a number"))
        .destination_addr(COctetString::from_str(&part.source).expect("a sender"))
        .esm_class(EsmClass::new(
            Default::default(),
            MessageType::ShortMessageContainsMCDeliveryReceipt,
            Default::default(),
            Default::default(),
        ))
        .short_message(OctetString::from_vec(text.into_bytes()).expect("short"))
        .tlvs(vec![
            MessageDeliveryRequestTlvValue::ReceiptedMessageId(
                COctetString::from_str(&part.message_id).expect("an id"),
            ),
            MessageDeliveryRequestTlvValue::MessageState(MessageState::Delivered),
        ])
        .build();
    Command::new(CommandStatus::EsmeRok, seq, sm)
}

/// A `submit_sm` on a bound session: throttled as the script says, else accepted (with a
/// receipt if the script wants them); `None` when the script drops the connection here.
fn submit(
    s: &mut State,
    sm: &rusmpp::pdus::SubmitSm,
    seq: u32,
    receipt_sequence: &mut u32,
) -> Option<Vec<Command>> {
    let mut answers = Vec::new();
    if s.drop_after == Some(0) {
        s.drop_after = None;
        s.pushes = None;
        return None;
    }
    if let Some(n) = s.drop_after.as_mut() {
        *n -= 1;
    }
    if s.throttles.pop_front() == Some(true) {
        s.throttled += 1;
        answers.push(Command::new(
            CommandStatus::EsmeRthrottled,
            seq,
            SubmitSmResp::default(),
        ));
    } else {
        s.next_id += 1;
        s.accepted += 1;
        let part = ReceivedPart {
            message_id: format!("sim{:08x}", s.next_id),
            source: sm.source_addr.to_string(),
            destination: sm.destination_addr.to_string(),
            data_coding: u8::from(sm.data_coding),
            esm_class: u8::from(sm.esm_class),
            short_message: sm.short_message().as_ref().to_vec(),
        };
        let resp = SubmitSmResp::builder()
            .message_id(COctetString::from_str(&part.message_id).expect("an id"))
            .build();
        answers.push(Command::new(CommandStatus::EsmeRok, seq, resp));
        if s.receipts {
            *receipt_sequence += 1;
            answers.push(receipt(*receipt_sequence, &part));
        }
        if s.record {
            s.parts.push(part);
        }
    }
    Some(answers)
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (mut sink, mut source) = Framed::new(stream, CommandCodec::new()).split();
    let (pushes, mut pushed) = mpsc::unbounded_channel::<Command>();
    let mut bound = false;
    let mut receipt_sequence = 0x2000_0000u32;
    loop {
        let command = tokio::select! {
            Some(push) = pushed.recv() => {
                if sink.send(push).await.is_err() { return; }
                continue;
            }
            frame = source.next() => match frame {
                Some(Ok(command)) => command,
                _ => break,
            },
        };
        let seq = command.sequence_number();
        let mut answers: Vec<Command> = Vec::new();
        {
            let mut s = state.lock().expect("the SMSC's state");
            match command.pdu() {
                Some(Pdu::BindTransceiver(bind)) => {
                    let ok = bind.system_id.to_string() == s.system_id
                        && bind.password.to_string() == s.password;
                    let status = if ok {
                        s.binds += 1;
                        bound = true;
                        s.pushes = Some(pushes.clone());
                        CommandStatus::EsmeRok
                    } else {
                        s.refused_binds += 1;
                        CommandStatus::EsmeRinvpaswd
                    };
                    let resp = BindTransceiverResp::builder()
                        .system_id(COctetString::from_str("smsc-sim").expect("a name"))
                        .build();
                    answers.push(Command::new(status, seq, resp));
                }
                Some(Pdu::SubmitSm(sm)) if bound => {
                    match submit(&mut s, sm, seq, &mut receipt_sequence) {
                        Some(replies) => answers.extend(replies),
                        None => return,
                    }
                }
                Some(Pdu::SubmitSm(_)) => {
                    answers.push(Command::new(
                        CommandStatus::EsmeRinvbndsts,
                        seq,
                        SubmitSmResp::default(),
                    ));
                }
                Some(Pdu::EnquireLink) => {
                    s.enquire_links += 1;
                    answers.push(Command::new(
                        CommandStatus::EsmeRok,
                        seq,
                        Pdu::EnquireLinkResp,
                    ));
                }
                Some(Pdu::DeliverSmResp(_)) if command.status() != CommandStatus::EsmeRok => {
                    s.refused_answers += 1;
                }
                Some(Pdu::DeliverSmResp(_)) => {
                    if seq >= 0x4000_0000 {
                        s.inbound_answered += 1;
                    } else {
                        s.receipts_answered += 1;
                    }
                }
                Some(Pdu::Unbind) => {
                    answers.push(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
                }
                _ => {}
            }
        }
        let unbinding = matches!(command.pdu(), Some(Pdu::Unbind));
        for answer in answers {
            if sink.feed(answer).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() || unbinding {
            break;
        }
    }
    let mut s = state.lock().expect("the SMSC's state");
    if bound {
        s.pushes = None;
    }
}
