//! Direct delivery end to end: the real binary with `delivery.transport = "mx"` looks up the
//! demo members' domains in a DNS server of this test and hands each copy to that domain's mail
//! host — scripted SMTP sinks on loopback addresses — over STARTTLS where offered, reusing
//! sessions, past a mail host that refuses connections. The sinks are on loopback, so
//! `delivery.mx.allow_private_addresses` is on; without it those copies fail with the reason.

#[path = "../gateway/tests/dns/mod.rs"]
mod dns;
mod support;

use dns::{DnsServer, Zone};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use verteiler_test_sink::{self_signed, Script, Sink};

#[tokio::test]
async fn a_released_message_reaches_each_members_mail_host_directly() {
    // example.org: one MX with STARTTLS; example.net: no MX, its A record; example.com: the
    // preferred MX refuses connections (nothing on 127.0.0.4), the backup takes the mail.
    let tls_sink = Sink::start_at(
        SocketAddr::from(([127, 0, 0, 2], 0)),
        Script {
            starttls: Some(self_signed()),
            ..Script::default()
        },
    )
    .await;
    let port = tls_sink.address().port();
    let plain_sink =
        Sink::start_at(SocketAddr::from(([127, 0, 0, 3], port)), Script::default()).await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("example.org", &[(10, "mx.example.org.")])
            .a("mx.example.org", 2)
            .a("example.net", 3)
            .mx(
                "example.com",
                &[(10, "down.example.com."), (20, "up.example.com.")],
            )
            .a("down.example.com", 4)
            .a("up.example.com", 3),
    )
    .await;
    let port_text = port.to_string();
    let nameserver = dns.address.to_string();
    let Some((env, server)) = demo_server(
        "python3",
        &[
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
            ("VERTEILER_DELIVERY__TRANSPORT", "mx"),
            ("VERTEILER_DELIVERY__MX__PORT", &port_text),
            ("VERTEILER_DELIVERY__MX__NAMESERVERS", &nameserver),
            ("VERTEILER_DELIVERY__MX__TIMEOUT_SECS", "10"),
            ("VERTEILER_DELIVERY__MX__ALLOW_PRIVATE_ADDRESSES", "true"),
        ],
    )
    .await
    else {
        return;
    };

    let send = send_to_oldenfelde_until_complete(&env, &server, Duration::from_secs(60)).await;
    let store = &env.db.store;
    let totals = store.delivery_totals(send).await.unwrap();
    assert_eq!(totals.failed + totals.queued, 0, "{totals:?}");
    assert!(totals.sent > 100, "{totals:?}");

    let org = tls_sink.seen(|s| s.messages.clone());
    let others = plain_sink.seen(|s| s.messages.clone());
    let mut recipients = BTreeSet::new();
    for message in org.iter().chain(&others) {
        assert_eq!(message.rcpt_to.len(), 1, "one envelope recipient per copy");
        // The chair's notification (to example.org) comes from bounce-notices@.
        if message.mail_from.starts_with("bounce+") {
            assert!(
                recipients.insert(message.rcpt_to[0].clone()),
                "one copy each"
            );
        }
    }
    let copies = recipients.len() as u64;
    assert_eq!(copies, totals.sent, "{totals:?}");
    assert!(org
        .iter()
        .all(|m| m.rcpt_to[0].ends_with("@example.org") && m.encrypted));
    assert!(others.iter().all(|m| !m.encrypted));
    for domain in ["@example.net", "@example.com"] {
        assert!(
            others.iter().any(|m| m.rcpt_to[0].ends_with(domain)),
            "no copy for {domain}"
        );
    }
    // Sessions are reused: at most one per worker and host, not one per copy.
    let sessions = tls_sink.seen(|s| s.connections) + plain_sink.seen(|s| s.connections);
    assert!(
        sessions * 4 < copies as usize,
        "{sessions} sessions for {copies} copies"
    );
    assert!(dns.queries_for("example.org", hickory_proto::rr::RecordType::MX) <= 2);
}

#[tokio::test]
async fn without_allow_private_addresses_a_loopback_mx_gets_nothing_and_the_send_says_why() {
    let sink = Sink::start_at(SocketAddr::from(([127, 0, 0, 2], 0)), Script::default()).await;
    let port = sink.address().port().to_string();
    let dns = DnsServer::start(
        Zone::default()
            .mx("example.org", &[(10, "mx.example.org.")])
            .a("mx.example.org", 2)
            .a("example.net", 2)
            .a("example.com", 2),
    )
    .await;
    let nameserver = dns.address.to_string();
    let Some((env, server)) = demo_server(
        "python3",
        &[
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
            ("VERTEILER_DELIVERY__TRANSPORT", "mx"),
            ("VERTEILER_DELIVERY__MX__PORT", &port),
            ("VERTEILER_DELIVERY__MX__NAMESERVERS", &nameserver),
            ("VERTEILER_DELIVERY__MX__TIMEOUT_SECS", "10"),
        ],
    )
    .await
    else {
        return;
    };

    let send = send_to_oldenfelde_until_complete(&env, &server, Duration::from_secs(60)).await;

    let totals = env.db.store.delivery_totals(send).await.unwrap();
    assert_eq!(totals.sent, 0, "{totals:?}");
    assert!(totals.failed > 100, "every copy failed at once: {totals:?}");
    assert_eq!(
        sink.seen(|s| s.connections),
        0,
        "nothing connected to 127.0.0.2"
    );
    let shown = env.run(&["send", "show", &send.to_string()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(
            "MX host mx.example.org resolves to a private address 127.0.0.2; \
             set delivery.mx.allow_private_addresses to deliver there"
        ),
        "{shown}"
    );
}
