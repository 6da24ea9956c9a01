//! DKIM end to end: keys made with `verteiler dkim generate`, configured through environment
//! variables, sign every copy the real binary writes; each signature is checked with
//! mail-auth's verifier against the record the command printed.

mod support;

use std::time::{Duration, Instant};
use support::*;
use verteiler_gateway::delivery::dkim::{verify_with_records, SIGNED_HEADERS};

#[tokio::test]
async fn dkim_generate_writes_a_private_key_once_and_prints_its_record() {
    let env = Env::new().await;
    let key = env.path("keys-rsa.pem");
    let out = env.run(&[
        "dkim",
        "generate",
        "--selector",
        "v2026",
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("v2026._domainkey.lists.example.org"),
        "{text}"
    );
    assert!(text.contains("v=DKIM1; k=rsa; p=MIIB"), "{text}");
    // The zone-file form splits the 400-odd characters into strings of at most 255.
    let zone = text
        .lines()
        .find(|l| l.contains(". IN TXT ("))
        .expect("zone file line");
    let strings: Vec<&str> = zone.split('"').skip(1).step_by(2).collect();
    assert!(
        strings.len() >= 2 && strings.iter().all(|s| s.len() <= 255),
        "{zone}"
    );
    assert!(
        text.contains("VERTEILER_DELIVERY__DKIM__RSA_KEY_FILE="),
        "{text}"
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }

    // A second run must not replace the key the published record belongs to.
    let again = env.run(&[
        "dkim",
        "generate",
        "--selector",
        "v2026",
        "--algorithm",
        "ed25519",
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        pem,
        "the key is kept"
    );

    let ed = dkim_generate(
        &env,
        &[
            "--selector",
            "ed",
            "--algorithm",
            "ed25519",
            "--domain",
            "example.org",
        ],
    );
    assert_eq!(ed.name, "ed._domainkey.example.org");
    assert!(ed.value.starts_with("v=DKIM1; k=ed25519; p="), "{ed:?}");
    assert!(env.path("dkim-ed.pem").is_file(), "default --out");
}

#[tokio::test]
async fn every_copy_and_notice_carries_signatures_that_verify_against_the_published_keys() {
    if !tool_available("python3") {
        return;
    }
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let rsa_file = env.path("rsa.pem");
    let ed_file = env.path("ed.pem");
    let rsa = dkim_generate(
        &env,
        &["--selector", "rsa-e2e", "--out", rsa_file.to_str().unwrap()],
    );
    let ed = dkim_generate(
        &env,
        &[
            "--selector",
            "ed-e2e",
            "--algorithm",
            "ed25519",
            "--out",
            ed_file.to_str().unwrap(),
        ],
    );
    let server = env.serve_with(
        &["--demo"],
        &[
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
            ("VERTEILER_DELIVERY__DKIM__RSA_SELECTOR", "rsa-e2e"),
            (
                "VERTEILER_DELIVERY__DKIM__RSA_KEY_FILE",
                rsa_file.to_str().unwrap(),
            ),
            ("VERTEILER_DELIVERY__DKIM__ED25519_SELECTOR", "ed-e2e"),
            (
                "VERTEILER_DELIVERY__DKIM__ED25519_KEY_FILE",
                ed_file.to_str().unwrap(),
            ),
        ],
    );
    let printed = server.printed.join("\n");
    assert!(printed.contains("the RSA key rsa-e2e"), "{printed}");
    assert!(printed.contains("the Ed25519 key ed-e2e"), "{printed}");
    assert!(
        !env.path("data/dkim").exists(),
        "with keys configured the demo makes none of its own"
    );

    let send = send_to_oldenfelde_until_complete(&env, &server, Duration::from_secs(90)).await;
    let store = &env.db.store;
    let totals = store.delivery_totals(send).await.unwrap();
    assert_eq!(
        totals.sent + totals.sms + totals.unreachable,
        212,
        "{totals:?}"
    );
    assert_eq!(totals.failed + totals.queued, 0, "{totals:?}");

    // The chair's notification is signed too; wait for it.
    let outbox = env.path("data/outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_notice(&outbox) {
        assert!(Instant::now() < deadline, "no notification arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let records = [rsa.clone(), ed.clone()];
    let mut copies = 0;
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let message = std::fs::read(&path).unwrap();
        let verdicts = verify_with_records(&message, &records).await;
        assert_eq!(verdicts.len(), 2, "{}: {verdicts:?}", path.display());
        for v in &verdicts {
            assert!(v.passed(), "{}: {v:?}", path.display());
            assert_eq!(v.domain, "lists.example.org");
            for name in SIGNED_HEADERS {
                assert!(
                    v.signed_headers.contains(&name.to_ascii_lowercase()),
                    "{name} not covered in {}",
                    path.display()
                );
            }
        }
        if path.file_name().unwrap().to_string_lossy().starts_with('d') {
            copies += 1;
            // A copy altered on the way no longer verifies.
            let text = String::from_utf8(message).unwrap();
            let forged = text.replacen("\r\nSubject: ", "\r\nSubject: Fwd: ", 1);
            assert_ne!(forged, text);
            let verdicts = verify_with_records(forged.as_bytes(), &records).await;
            assert!(verdicts.iter().all(|v| !v.passed()), "{verdicts:?}");
        }
    }
    assert_eq!(copies, totals.sent, "every copy was checked");

    // Against a key that was never published, nothing verifies.
    let stranger = dkim_generate(&env, &["--selector", "rsa-e2e", "--out", "other.pem"]);
    let any_copy = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with('d'))
        .unwrap();
    let verdicts = verify_with_records(&std::fs::read(any_copy).unwrap(), &[stranger]).await;
    assert!(verdicts.iter().all(|v| !v.passed()), "{verdicts:?}");
}

fn has_notice(outbox: &std::path::Path) -> bool {
    std::fs::read_dir(outbox).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with('n') && name.ends_with(".eml")
        })
    })
}

#[tokio::test]
async fn the_demo_signs_with_a_key_it_makes_once_and_keeps() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let dns_line = |server: &Server| {
        server
            .printed
            .iter()
            .find(|l| l.contains("DKIM signing with the Ed25519 key verteiler-demo"))
            .unwrap_or_else(|| panic!("no DKIM line in {:?}", server.printed))
            .clone()
    };
    let first = env.serve(&["--demo"]);
    let line = dns_line(&first);
    assert!(
        line.contains("verteiler-demo._domainkey.lists.example.org TXT \"v=DKIM1; k=ed25519; p="),
        "{line}"
    );
    first.terminate(Duration::from_secs(10));
    let key = env.path("data/dkim/verteiler-demo-ed25519.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = env.serve(&["--demo"]);
    assert_eq!(dns_line(&second), line, "the same key on the next start");
    second.terminate(Duration::from_secs(10));

    // Switched off, the demo signs nothing and says nothing about DKIM.
    let unsigned = env.serve_with(
        &["--demo"],
        &[("VERTEILER_DELIVERY__DKIM__DEMO_KEY", "false")],
    );
    assert!(
        !unsigned.printed.iter().any(|l| l.contains("DKIM")),
        "{:?}",
        unsigned.printed
    );
}
