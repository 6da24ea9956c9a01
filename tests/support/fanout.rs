//! Fan-out to the capturing sink: the environment that points the binary's `relay` transport
//! at it, and what arrived there, per recipient.

use std::collections::BTreeMap;
use verteiler_test_sink::{Received, Sink};

/// Environment that points the binary's `relay` transport at `sink`, with no undo window.
pub fn relayed(sink: &Sink) -> Vec<(&'static str, String)> {
    vec![
        ("VERTEILER_DELIVERY__TRANSPORT", "relay".into()),
        ("VERTEILER_DELIVERY__RELAY__HOST", "127.0.0.1".into()),
        ("VERTEILER_DELIVERY__RELAY__PORT", sink.port().to_string()),
        ("VERTEILER_DELIVERY__RELAY__TLS", "none".into()),
        ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0".into()),
    ]
}

/// [`relayed`], with short retries (1 s, doubling to at most 2 s) so deferred copies come
/// back within the test.
pub fn relay_vars(sink: &Sink) -> Vec<(&'static str, String)> {
    let mut vars = relayed(sink);
    vars.extend([
        ("VERTEILER_DELIVERY__RETRY_FIRST_SECS", "1".into()),
        ("VERTEILER_DELIVERY__RETRY_MAX_SECS", "2".into()),
    ]);
    vars
}

/// Submits one message to `list` as `who` (login, app password) over SMTP, expects 250, and
/// returns its send's id.
pub async fn submit_as(
    env: &super::Env,
    server: &super::Server,
    who: (&str, &str),
    list: &str,
    subject: &str,
) -> i64 {
    let r = super::smtplib_send(
        &server.smtp(),
        who.0,
        who.1,
        who.0,
        list,
        &["--subject", subject],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let store = &env.db.store;
    let submission = store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    store.sends_of(submission).await.unwrap()[0].id
}

/// Copies of sends (return path `bounce+TOKEN@…`), not notifications to senders.
pub fn copies(sink: &Sink) -> Vec<Received> {
    sink.seen(|s| {
        s.messages
            .iter()
            .filter(|m| m.mail_from.starts_with("bounce+"))
            .cloned()
            .collect()
    })
}

/// Copies per envelope recipient.
pub fn per_recipient(copies: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for copy in copies {
        assert_eq!(copy.rcpt_to.len(), 1, "one envelope recipient per copy");
        *counts.entry(copy.rcpt_to[0].to_lowercase()).or_default() += 1;
    }
    counts
}
