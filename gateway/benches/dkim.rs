//! DKIM signing cost per copy: `cargo bench -p verteiler-gateway --bench dkim`.
//!
//! A 5 KB personal copy (the fan-out benchmark's message size) signed with RSA-2048, with
//! Ed25519, and with both. One signature per iteration on one thread, so signatures per
//! second per core = 1 / the reported time. Issue 5's target of 2,000 recipients/s with
//! RSA-2048 DKIM on 2 cores needs this well under 1 ms.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use verteiler_gateway::delivery::copy::{build_copy, CopySpec, ReplyTo, ToHeader, Unsubscribe};
use verteiler_gateway::delivery::dkim::{generate_key, DkimAlgorithm, DkimSigner};

const DOMAIN: &str = "lists.example.org";

fn five_kb_copy() -> Vec<u8> {
    let mut original = String::from(
        "From: Ole Brandt <ole.brandt@example.org>\r\nTo: oldenfelde@lists.example.org\r\n\
         Subject: Einladung zur Mitgliederversammlung am 12. Dezember\r\n\
         Date: Mon, 30 Nov 2026 15:00:00 +0100\r\nMessage-ID: <orig@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    while original.len() < 5 * 1024 {
        original.push_str("Liebe Mitglieder, wir laden euch herzlich zur Versammlung ein.\r\n");
    }
    let spec = CopySpec {
        list_address: "oldenfelde@lists.example.org",
        list_name: "Distrikt Oldenfelde",
        list_id: "oldenfelde.lists.example.org",
        recipient: "anna@example.net",
        to: ToHeader::List,
        reply_to: ReplyTo::List,
        unsubscribe: Unsubscribe::OneClick("https://portal.example.org/unsubscribe/t1".into()),
        message_id: "d1.abcdefgh@lists.example.org",
        send_ref: "s1.1@lists.example.org",
        return_path: "bounce+t1@lists.example.org",
    };
    build_copy(original.as_bytes(), &spec).expect("copy")
}

fn signer(algorithms: &[DkimAlgorithm]) -> DkimSigner {
    let mut signer = DkimSigner::new(DOMAIN).expect("domain");
    for (i, algorithm) in algorithms.iter().enumerate() {
        let selector = format!("s{i}");
        let key = generate_key(*algorithm, &selector, DOMAIN).expect("key");
        signer
            .add_key(
                *algorithm,
                &selector,
                key.pem.as_bytes(),
                Path::new("bench"),
            )
            .expect("load");
    }
    signer
}

fn signing(c: &mut Criterion) {
    let copy = five_kb_copy();
    let mut group = c.benchmark_group("dkim_sign_5kb_copy");
    group.throughput(Throughput::Elements(1));
    for (name, algorithms) in [
        ("rsa2048", vec![DkimAlgorithm::Rsa]),
        ("ed25519", vec![DkimAlgorithm::Ed25519]),
        (
            "rsa2048+ed25519",
            vec![DkimAlgorithm::Rsa, DkimAlgorithm::Ed25519],
        ),
    ] {
        let signer = signer(&algorithms);
        group.bench_function(name, |b| b.iter(|| signer.sign(&copy).expect("signed")));
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
