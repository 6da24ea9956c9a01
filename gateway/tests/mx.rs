//! Direct delivery over real loopback sockets: a DNS responder written here with hickory-proto
//! answers MX and A queries from a table, and the scripted SMTP sinks of `test-sink/` play the mail
//! hosts. Every mail host resolves to an address in 127.0.0.0/8 and listens on the one port
//! given as `MxSettings::port`, so different hosts are different loopback addresses; hence
//! `allow_private_addresses` (see `mx_private.rs` for what happens without it).

mod dns;

use dns::{DnsServer, Zone};
use hickory_proto::rr::RecordType;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use verteiler_gateway::delivery::{Mx, MxSettings, Outcome, Transport};
use verteiler_test_sink::{self_signed, Script, Sink};

const RETURN_PATH: &str = "bounce+k3y@lists.oldenfelde.example";

/// Sinks on 127.0.0.N for each N given, all on one port.
async fn sinks(scripts: Vec<(u8, Script)>) -> (u16, Vec<Sink>) {
    let mut port = 0;
    let mut started = Vec::new();
    for (octet, script) in scripts {
        let sink = Sink::start_at(SocketAddr::from(([127, 0, 0, octet], port)), script).await;
        port = sink.address().port();
        started.push(sink);
    }
    (port, started)
}

fn mx(dns: &DnsServer, port: u16) -> Mx {
    Mx::new(MxSettings {
        port,
        nameservers: vec![dns.address],
        timeout: Duration::from_secs(5),
        dns_timeout: Duration::from_millis(300),
        allow_private_addresses: true,
        ..MxSettings::new("lists.oldenfelde.example")
    })
    .unwrap()
}

fn message(to: &str) -> Vec<u8> {
    format!(
        "From: Vorstand <vorstand@lists.oldenfelde.example>\r\nTo: <{to}>\r\n\
         Subject: Einladung\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Liebe Mitglieder,\r\n.Punkt am Zeilenanfang\r\nGrüße aus Oldenfelde\r\n"
    )
    .into_bytes()
}

async fn send(mx: &Mx, recipient: &str) -> Outcome {
    Transport::Mx(mx.clone())
        .send("d1", RETURN_PATH, recipient, message(recipient))
        .await
}

fn temporary(outcome: Outcome) -> String {
    match outcome {
        Outcome::Temporary(text) => text,
        other => panic!("expected Temporary, got {other:?}"),
    }
}

fn permanent(outcome: Outcome) -> String {
    match outcome {
        Outcome::Permanent(text) => text,
        other => panic!("expected Permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn the_most_preferred_mx_gets_the_copy_byte_identical() {
    let (port, sinks) = sinks(vec![(2, Script::default()), (3, Script::default())]).await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(20, "backup.a.test."), (10, "primary.a.test.")])
            .a("primary.a.test", 2)
            .a("backup.a.test", 3),
    )
    .await;
    let mx = mx(&dns, port);

    for _ in 0..3 {
        assert_eq!(send(&mx, "mitglied@a.test").await, Outcome::Sent);
    }

    let messages = sinks[0].seen(|s| s.messages.clone());
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0].mail_from, RETURN_PATH);
    assert_eq!(messages[0].rcpt_to, ["mitglied@a.test"]);
    assert_eq!(messages[0].data, message("mitglied@a.test"));
    assert_eq!(
        sinks[1].seen(|s| s.connections),
        0,
        "the backup MX is not used"
    );
}

#[tokio::test]
async fn a_refused_connection_at_the_first_mx_moves_on_to_the_second() {
    // Nothing listens on 127.0.0.4 at the sinks' port.
    let (port, sinks) = sinks(vec![(2, Script::default())]).await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "down.a.test."), (20, "up.a.test.")])
            .a("down.a.test", 4)
            .a("up.a.test", 2),
    )
    .await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@a.test").await,
        Outcome::Sent
    );
    assert_eq!(sinks[0].seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn a_5xx_greeting_moves_on_to_the_next_mx() {
    let (port, sinks) = sinks(vec![
        (
            2,
            Script {
                greeting: "554 5.7.1 no service for you".into(),
                ..Script::default()
            },
        ),
        (3, Script::default()),
    ])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "grumpy.a.test."), (20, "kind.a.test.")])
            .a("grumpy.a.test", 2)
            .a("kind.a.test", 3),
    )
    .await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@a.test").await,
        Outcome::Sent
    );
    assert_eq!(sinks[0].seen(|s| s.messages.len()), 0);
    assert_eq!(sinks[1].seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn a_refused_ehlo_moves_on_to_the_next_mx() {
    let (port, sinks) = sinks(vec![
        (
            2,
            Script {
                ehlo_reply: Some("550 5.7.1 we do not talk to you".into()),
                ..Script::default()
            },
        ),
        (3, Script::default()),
    ])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "grumpy.a.test."), (20, "kind.a.test.")])
            .a("grumpy.a.test", 2)
            .a("kind.a.test", 3),
    )
    .await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@a.test").await,
        Outcome::Sent
    );
    assert_eq!(sinks[0].seen(|s| s.connections), 1);
    assert_eq!(sinks[1].seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn when_no_mx_takes_the_copy_it_is_deferred_naming_every_host() {
    let (port, _sinks) = sinks(vec![(
        2,
        Script {
            greeting: "554 5.7.1 no service for you".into(),
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "down.a.test."), (20, "grumpy.a.test.")])
            .a("down.a.test", 4)
            .a("grumpy.a.test", 2),
    )
    .await;

    let text = temporary(send(&mx(&dns, port), "mitglied@a.test").await);

    assert!(text.contains("down.a.test [127.0.0.4]"), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(
        text.contains("grumpy.a.test [127.0.0.2] answered 554"),
        "{text}"
    );
}

#[tokio::test]
async fn without_mx_the_domains_own_address_is_used() {
    let (port, sinks) = sinks(vec![(2, Script::default())]).await;
    let dns = DnsServer::start(Zone::default().a("plain.test", 2)).await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@plain.test").await,
        Outcome::Sent
    );
    assert_eq!(
        sinks[0].seen(|s| s.messages[0].rcpt_to.clone()),
        ["mitglied@plain.test"]
    );
    assert_eq!(dns.queries_for("plain.test", RecordType::MX), 1);
}

#[tokio::test]
async fn a_null_mx_fails_the_copy_without_connecting() {
    let (port, sinks) = sinks(vec![(2, Script::default())]).await;
    // The A record must not be used as an implicit MX when the null MX says "no mail".
    let dns = DnsServer::start(
        Zone::default()
            .mx("nomail.test", &[(0, ".")])
            .a("nomail.test", 2),
    )
    .await;

    let text = permanent(send(&mx(&dns, port), "mitglied@nomail.test").await);

    assert!(
        text.contains("nomail.test") && text.contains("null MX"),
        "{text}"
    );
    assert_eq!(sinks[0].seen(|s| s.connections), 0);
}

#[tokio::test]
async fn a_domain_that_does_not_exist_fails_the_copy() {
    let dns = DnsServer::start(Zone::default()).await;

    let text = permanent(send(&mx(&dns, 25), "mitglied@nowhere.test").await);

    assert!(text.contains("nowhere.test does not exist"), "{text}");
}

#[tokio::test]
async fn a_domain_without_mx_and_address_fails_the_copy() {
    let dns = DnsServer::start(Zone::default().empty("bare.test")).await;

    let text = permanent(send(&mx(&dns, 25), "mitglied@bare.test").await);

    assert!(
        text.contains("bare.test has no MX and no address"),
        "{text}"
    );
}

#[tokio::test]
async fn a_dns_server_failure_defers() {
    let dns = DnsServer::start(Zone::default().servfail("broken.test")).await;

    let text = temporary(send(&mx(&dns, 25), "mitglied@broken.test").await);

    assert!(
        text.contains("DNS lookup failed") && text.contains("broken.test"),
        "{text}"
    );
}

#[tokio::test]
async fn a_silent_dns_server_defers_within_the_dns_budget() {
    let dns = DnsServer::silent().await;
    let started = Instant::now();

    let text = temporary(send(&mx(&dns, 25), "mitglied@a.test").await);

    assert!(text.contains("DNS lookup failed"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(dns.queries_for("a.test", RecordType::MX) >= 1);
}

#[tokio::test]
async fn an_mx_host_without_address_is_skipped() {
    let (port, sinks) = sinks(vec![(2, Script::default())]).await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "ghost.a.test."), (20, "real.a.test.")])
            .empty("ghost.a.test")
            .a("real.a.test", 2),
    )
    .await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@a.test").await,
        Outcome::Sent
    );
    assert_eq!(sinks[0].seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn starttls_is_used_when_offered_even_with_a_self_signed_certificate() {
    let (port, sinks) = sinks(vec![(
        2,
        Script {
            starttls: Some(self_signed()),
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx.a.test.")])
            .a("mx.a.test", 2),
    )
    .await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@a.test").await,
        Outcome::Sent
    );

    assert_eq!(sinks[0].seen(|s| s.tls_sessions), 1);
    let messages = sinks[0].seen(|s| s.messages.clone());
    assert!(messages[0].encrypted, "the copy came in plain text");
    assert_eq!(messages[0].data, message("mitglied@a.test"));
}

#[tokio::test]
async fn a_failed_tls_handshake_is_retried_in_plain_text() {
    let (port, sinks) = sinks(vec![(
        2,
        Script {
            broken_starttls: true,
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx.a.test.")])
            .a("mx.a.test", 2),
    )
    .await;

    assert_eq!(
        send(&mx(&dns, port), "mitglied@a.test").await,
        Outcome::Sent
    );

    assert_eq!(sinks[0].seen(|s| s.connections), 2);
    let messages = sinks[0].seen(|s| s.messages.clone());
    assert_eq!(messages.len(), 1);
    assert!(!messages[0].encrypted);
}

#[tokio::test]
async fn copies_to_one_domain_share_one_connection_and_one_lookup() {
    let (port, sinks) = sinks(vec![(
        2,
        Script {
            starttls: Some(self_signed()),
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx.a.test.")])
            .a("mx.a.test", 2),
    )
    .await;
    let mx = mx(&dns, port);

    assert_eq!(send(&mx, "erste@a.test").await, Outcome::Sent);
    assert_eq!(send(&mx, "zweite@a.test").await, Outcome::Sent);

    assert_eq!(sinks[0].seen(|s| s.messages.len()), 2);
    assert_eq!(sinks[0].seen(|s| s.connections), 1);
    assert_eq!(sinks[0].seen(|s| s.tls_sessions), 1);
    assert_eq!(
        dns.queries_for("a.test", RecordType::MX),
        1,
        "cached for its TTL"
    );
    assert_eq!(
        dns.queries_for("mx.a.test", RecordType::A),
        1,
        "cached for its TTL"
    );
}

#[tokio::test]
async fn a_5xx_to_rcpt_fails_the_copy_without_asking_the_next_mx() {
    let (port, sinks) = sinks(vec![
        (
            2,
            Script {
                rcpt_reply: "550 5.1.1 no such user".into(),
                ..Script::default()
            },
        ),
        (3, Script::default()),
    ])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx1.a.test."), (20, "mx2.a.test.")])
            .a("mx1.a.test", 2)
            .a("mx2.a.test", 3),
    )
    .await;

    let text = permanent(send(&mx(&dns, port), "niemand@a.test").await);

    assert_eq!(
        text,
        "mx1.a.test [127.0.0.2] answered 550 5.1.1 no such user"
    );
    assert_eq!(sinks[1].seen(|s| s.connections), 0);
}

#[tokio::test]
async fn a_4xx_to_rcpt_defers_the_copy() {
    let (port, sinks) = sinks(vec![
        (
            2,
            Script {
                rcpt_reply: "451 4.7.1 greylisted, come back later".into(),
                ..Script::default()
            },
        ),
        (3, Script::default()),
    ])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx1.a.test."), (20, "mx2.a.test.")])
            .a("mx1.a.test", 2)
            .a("mx2.a.test", 3),
    )
    .await;

    let text = temporary(send(&mx(&dns, port), "mitglied@a.test").await);

    assert_eq!(
        text,
        "mx1.a.test [127.0.0.2] answered 451 4.7.1 greylisted, come back later"
    );
    assert_eq!(sinks[0].seen(|s| s.messages.len()), 0);
    assert_eq!(sinks[1].seen(|s| s.connections), 0);
}

#[tokio::test]
async fn a_5xx_after_the_data_fails_the_copy_and_the_next_copy_reconnects() {
    let (port, sinks) = sinks(vec![(
        2,
        Script {
            data_reply: "554 5.7.1 looks like spam".into(),
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx.a.test.")])
            .a("mx.a.test", 2),
    )
    .await;
    let mx = mx(&dns, port);

    let text = permanent(send(&mx, "mitglied@a.test").await);
    assert!(text.contains("554 5.7.1 looks like spam"), "{text}");
    let again = send(&mx, "mitglied@a.test").await;
    assert!(matches!(again, Outcome::Permanent(_)), "{again:?}");
    assert_eq!(sinks[0].seen(|s| s.connections), 2);
}

#[tokio::test]
async fn a_host_that_stops_answering_defers_and_its_session_is_not_reused() {
    let (port, sinks) = sinks(vec![(
        2,
        Script {
            stall_first_data: true,
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "mx.a.test.")])
            .a("mx.a.test", 2),
    )
    .await;
    let mx = Mx::new(MxSettings {
        port,
        nameservers: vec![dns.address],
        timeout: Duration::from_millis(500),
        allow_private_addresses: true,
        ..MxSettings::new("lists.oldenfelde.example")
    })
    .unwrap();

    let text = temporary(send(&mx, "mitglied@a.test").await);
    assert!(
        text.contains("mx.a.test [127.0.0.2] did not finish"),
        "{text}"
    );

    assert_eq!(send(&mx, "mitglied@a.test").await, Outcome::Sent);
    assert_eq!(sinks[0].seen(|s| s.connections), 2);
    assert_eq!(sinks[0].seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn eight_bit_mail_skips_a_host_without_8bitmime() {
    let (port, sinks) = sinks(vec![
        (
            2,
            Script {
                seven_bit_only: true,
                ..Script::default()
            },
        ),
        (3, Script::default()),
    ])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "old.a.test."), (20, "new.a.test.")])
            .a("old.a.test", 2)
            .a("new.a.test", 3),
    )
    .await;
    let mx = mx(&dns, port);

    // The message has "Grüße": 8-bit.
    assert_eq!(send(&mx, "mitglied@a.test").await, Outcome::Sent);
    assert_eq!(sinks[0].seen(|s| s.messages.len()), 0);
    assert_eq!(sinks[1].seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn eight_bit_mail_to_a_domain_whose_hosts_all_lack_8bitmime_is_deferred() {
    let (port, _sinks) = sinks(vec![(
        2,
        Script {
            seven_bit_only: true,
            ..Script::default()
        },
    )])
    .await;
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.test", &[(10, "old.a.test.")])
            .a("old.a.test", 2),
    )
    .await;

    let text = temporary(send(&mx(&dns, port), "mitglied@a.test").await);
    assert!(text.contains("8BITMIME"), "{text}");
}
