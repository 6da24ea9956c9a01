//! A tiny authoritative DNS server for tests: answers MX and A queries for a table of names
//! over UDP on a random port of 127.0.0.1, with hickory-proto encoding real DNS messages.
#![allow(dead_code)]

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, MX, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// What the DNS responder knows about one name.
#[derive(Clone, Default)]
pub struct Entry {
    mx: Vec<(u16, &'static str)>,
    a: Vec<Ipv4Addr>,
    servfail: bool,
}

#[derive(Clone, Default)]
pub struct Zone {
    names: HashMap<String, Entry>,
}

impl Zone {
    pub fn mx(mut self, name: &str, records: &[(u16, &'static str)]) -> Zone {
        self.names.entry(name.into()).or_default().mx = records.to_vec();
        self
    }

    pub fn a(mut self, name: &str, last_octet: u8) -> Zone {
        let entry = self.names.entry(name.into()).or_default();
        entry.a.push(Ipv4Addr::new(127, 0, 0, last_octet));
        self
    }

    /// An A record with any address, not only one of 127.0.0.0/8.
    pub fn a_at(mut self, name: &str, ip: Ipv4Addr) -> Zone {
        self.names.entry(name.into()).or_default().a.push(ip);
        self
    }

    /// The name exists, with no records of any type asked for.
    pub fn empty(mut self, name: &str) -> Zone {
        self.names.entry(name.into()).or_default();
        self
    }

    pub fn servfail(mut self, name: &str) -> Zone {
        self.names.entry(name.into()).or_default().servfail = true;
        self
    }

    /// The answer to one query, as an authoritative server would give it.
    fn answer(&self, request: &Message) -> Message {
        let mut response = Message::new();
        response
            .set_id(request.id())
            .set_message_type(MessageType::Response)
            .set_op_code(OpCode::Query)
            .set_authoritative(true)
            .set_recursion_desired(request.recursion_desired())
            .set_recursion_available(true);
        let Some(query) = request.queries().first() else {
            response.set_response_code(ResponseCode::FormErr);
            return response;
        };
        response.add_query(query.clone());
        let owner = query.name().clone();
        let key = owner.to_ascii().trim_end_matches('.').to_ascii_lowercase();
        let Some(entry) = self.names.get(&key) else {
            response
                .set_response_code(ResponseCode::NXDomain)
                .add_name_server(soa());
            return response;
        };
        if entry.servfail {
            response.set_response_code(ResponseCode::ServFail);
            return response;
        }
        let records: Vec<Record> = match query.query_type() {
            RecordType::MX => entry
                .mx
                .iter()
                .map(|(preference, exchange)| {
                    let exchange = Name::from_ascii(exchange).unwrap();
                    Record::from_rdata(
                        owner.clone(),
                        300,
                        RData::MX(MX::new(*preference, exchange)),
                    )
                })
                .collect(),
            RecordType::A => entry
                .a
                .iter()
                .map(|ip| Record::from_rdata(owner.clone(), 300, RData::A(A(*ip))))
                .collect(),
            _ => Vec::new(),
        };
        response.set_response_code(ResponseCode::NoError);
        if records.is_empty() {
            response.add_name_server(soa());
        }
        for record in records {
            response.add_answer(record);
        }
        response
    }
}

/// The zone's SOA in negative answers, so that the resolver may trust and cache them.
fn soa() -> Record {
    let zone = Name::from_ascii("test.").unwrap();
    let soa = SOA::new(
        Name::from_ascii("ns.test.").unwrap(),
        Name::from_ascii("hostmaster.test.").unwrap(),
        1,
        3600,
        600,
        86400,
        60,
    );
    Record::from_rdata(zone, 60, RData::SOA(soa))
}

/// A DNS server on a random UDP port of 127.0.0.1.
pub struct DnsServer {
    pub address: SocketAddr,
    queries: Arc<Mutex<Vec<(String, RecordType)>>>,
    task: JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DnsServer {
    pub async fn start(zone: Zone) -> DnsServer {
        DnsServer::spawn(Some(zone)).await
    }

    /// Reads every query and never answers.
    pub async fn silent() -> DnsServer {
        DnsServer::spawn(None).await
    }

    async fn spawn(zone: Option<Zone>) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = socket.local_addr().unwrap();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let queries = Arc::clone(&queries);
            async move {
                let mut buffer = [0u8; 4096];
                while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
                    let Ok(request) = Message::from_vec(&buffer[..n]) else {
                        continue;
                    };
                    if let Some(query) = request.queries().first() {
                        let name = query.name().to_ascii().to_ascii_lowercase();
                        queries.lock().unwrap().push((name, query.query_type()));
                    }
                    let Some(zone) = &zone else { continue };
                    let bytes = zone.answer(&request).to_vec().unwrap();
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        DnsServer {
            address,
            queries,
            task,
        }
    }

    pub fn queries_for(&self, name: &str, kind: RecordType) -> usize {
        let name = format!("{name}.");
        let queries = self.queries.lock().unwrap();
        queries
            .iter()
            .filter(|(n, t)| *n == name && *t == kind)
            .count()
    }
}
