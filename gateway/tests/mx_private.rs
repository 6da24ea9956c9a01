//! Direct delivery refuses mail hosts inside our own network unless
//! `allow_private_addresses` is set: over real loopback sockets, a recipient domain whose MX
//! resolves to a loopback sink gets no connection and its copy fails with the reason, and the
//! same setup with the setting on delivers.

mod dns;

use dns::{DnsServer, Zone};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use verteiler_gateway::delivery::{Mx, MxSettings, Outcome, Transport};
use verteiler_test_sink::{Script, Sink};

const RETURN_PATH: &str = "bounce+k3y@lists.oldenfelde.example";

fn mx(dns: &DnsServer, port: u16, allow_private_addresses: bool) -> Mx {
    Mx::new(MxSettings {
        port,
        nameservers: vec![dns.address],
        timeout: Duration::from_secs(5),
        dns_timeout: Duration::from_millis(300),
        allow_private_addresses,
        ..MxSettings::new("lists.oldenfelde.example")
    })
    .unwrap()
}

async fn send(mx: &Mx, recipient: &str) -> Outcome {
    let message = format!(
        "From: Vorstand <vorstand@lists.oldenfelde.example>\r\nTo: <{recipient}>\r\n\
         Subject: Einladung\r\n\r\nLiebe Mitglieder\r\n"
    );
    Transport::Mx(mx.clone())
        .send("d1", RETURN_PATH, recipient, message.into_bytes())
        .await
}

async fn loopback_sink() -> Sink {
    Sink::start_at(SocketAddr::from(([127, 0, 0, 2], 0)), Script::default()).await
}

#[tokio::test]
async fn an_mx_on_loopback_is_refused_with_the_reason_and_never_connected_to() {
    let sink = loopback_sink().await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("intern.test", &[(10, "mx.intern.test.")])
            .a("mx.intern.test", 2),
    )
    .await;

    let outcome = send(&mx(&dns, sink.address().port(), false), "chef@intern.test").await;

    assert_eq!(
        outcome,
        Outcome::Permanent(
            "MX host mx.intern.test resolves to a private address 127.0.0.2; \
             set delivery.mx.allow_private_addresses to deliver there"
                .into()
        )
    );
    assert_eq!(sink.seen(|s| s.connections), 0);
}

#[tokio::test]
async fn a_domain_without_mx_whose_own_address_is_private_is_refused_too() {
    let sink = loopback_sink().await;
    let dns = DnsServer::start(Zone::default().a("plain.test", 2)).await;

    let outcome = send(&mx(&dns, sink.address().port(), false), "chef@plain.test").await;

    match outcome {
        Outcome::Permanent(text) => assert!(
            text.contains("plain.test resolves to a private address 127.0.0.2"),
            "{text}"
        ),
        other => panic!("expected Permanent, got {other:?}"),
    }
    assert_eq!(sink.seen(|s| s.connections), 0);
}

#[tokio::test]
async fn every_private_mail_host_of_a_domain_is_named() {
    let dns = DnsServer::start(
        Zone::default()
            .mx(
                "firma.test",
                &[(10, "mx1.firma.test."), (20, "mx2.firma.test.")],
            )
            .a_at("mx1.firma.test", Ipv4Addr::new(10, 0, 0, 1))
            .a_at("mx2.firma.test", Ipv4Addr::new(169, 254, 169, 254)),
    )
    .await;

    let outcome = send(&mx(&dns, 25, false), "chef@firma.test").await;

    assert_eq!(
        outcome,
        Outcome::Permanent(
            "MX host mx1.firma.test resolves to a private address 10.0.0.1; \
             MX host mx2.firma.test resolves to a private address 169.254.169.254; \
             set delivery.mx.allow_private_addresses to deliver there"
                .into()
        )
    );
}

#[tokio::test]
async fn with_private_addresses_allowed_the_loopback_mx_gets_the_copy() {
    let sink = loopback_sink().await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("intern.test", &[(10, "mx.intern.test.")])
            .a("mx.intern.test", 2),
    )
    .await;

    let outcome = send(&mx(&dns, sink.address().port(), true), "chef@intern.test").await;

    assert_eq!(outcome, Outcome::Sent);
    assert_eq!(sink.seen(|s| s.messages.len()), 1);
}
