//! `verteiler audit …`: verify the hash chain, answer "who sent this?", export for an archive.

use super::open_store;
use crate::cli::AuditCommand;
use crate::config::Config;
use anyhow::Context;
use futures::TryStreamExt;
use std::io::Write;
use std::process::ExitCode;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use verteiler_store::{AuditEntry, Happened, RawState, SentBy, Store};

/// Milliseconds since the epoch as an RFC 3339 UTC time.
pub fn utc(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `YYYY-MM-DD` (midnight UTC) or a full RFC 3339 time, as ms since the epoch.
pub fn parse_since(input: &str) -> anyhow::Result<i64> {
    let time = match OffsetDateTime::parse(input, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(input, &format)
                .with_context(|| {
                    format!("--since {input:?}: expected a date like 2026-11-30 or a time like 2026-11-30T08:00:00Z")
                })?
                .midnight()
                .assume_utc()
        }
    };
    Ok((time.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub async fn audit(config: &Config, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        AuditCommand::Verify => {
            let report = store.audit_verify().await?;
            match report.broken {
                None => {
                    println!(
                        "OK: {} entries, the chain is intact; newest hash {}",
                        report.entries, report.head_hash
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    println!("BROKEN: {broken}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Who { reference, file } => {
            who(&store, reference.as_deref(), file.as_deref()).await
        }
        AuditCommand::Export { since, out } => {
            let since = parse_since(&since)?;
            let mut sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut entries = store.audit_entries_since(since);
            let mut n = 0u64;
            while let Some(entry) = entries.try_next().await? {
                serde_json::to_writer(&mut sink, &export_line(&entry))?;
                sink.write_all(b"\n")?;
                n += 1;
            }
            sink.flush()?;
            if let Some(path) = out {
                eprintln!("{n} entries written to {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Appends a `limits.changed` entry when the organisation-wide limits in the configuration
/// differ from the ones recorded last (before → after), so a changed limit is never silent.
pub async fn record_limits(store: &Store, config: &Config) -> anyhow::Result<()> {
    let now = serde_json::json!({
        "limits": config.limits,
        "undo_window_secs": config.delivery.undo_window_secs,
    });
    let before = store.last_audit_details("limits.changed").await?;
    let before = before.map(|d| d["after"].clone());
    if before.as_ref() != Some(&now) {
        store
            .audit(&[
                verteiler_store::AuditEvent::new("limits.changed", "configuration")
                    .details(serde_json::json!({ "before": before, "after": now })),
            ])
            .await?;
    }
    Ok(())
}

/// One exported entry: the stored fields, the details as JSON, and the readable time.
fn export_line(e: &AuditEntry) -> serde_json::Value {
    serde_json::json!({
        "seq": e.seq,
        "at": e.at,
        "time": utc(e.at),
        "action": e.action,
        "actor_member_id": e.actor_member_id,
        "actor": e.actor,
        "submission_id": e.submission_id,
        "send_id": e.send_id,
        "details": e.details_json(),
        "details_text": e.details,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
}

/// `audit who`: the submissions a reference names (a submission's or a copy's Message-ID, an
/// X-Verteiler-Send id) or a copy's headers name, each with its story.
async fn who(
    store: &Store,
    reference: Option<&str>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let (submissions, what) = match (reference, file) {
        (Some(reference), _) => (
            store.submissions_named_by(reference).await?,
            format!("{reference:?}"),
        ),
        (None, Some(path)) => {
            let copy =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            (
                store.submissions_named_by_copy(&copy).await?,
                format!("the headers of {}", path.display()),
            )
        }
        (None, None) => anyhow::bail!("name a Message-ID or X-Verteiler-Send id, or --file"),
    };
    if submissions.is_empty() {
        eprintln!(
            "no submission is named by {what}: neither as its Message-ID, nor as a copy's \
             Message-ID or X-Verteiler-Send"
        );
        return Ok(ExitCode::FAILURE);
    }
    for id in submissions {
        match store.who_sent(id).await? {
            Some(story) => print_story(&story),
            None => {
                println!("submission {id}: no audit entry (stored before the audit log existed)")
            }
        }
    }
    println!("(from the audit log; `verteiler audit verify` checks that it is untouched)");
    Ok(ExitCode::SUCCESS)
}

fn print_story(s: &SentBy) {
    println!("submission {}, {}", s.submission_id, utc(s.at));
    let member = s
        .member_id
        .map_or(String::new(), |id| format!(" (member {id})"));
    println!("person:      {}{member}, audited as {}", s.person, s.actor);
    println!(
        "credential:  {}",
        s.credential
            .as_deref()
            .unwrap_or("none (not submitted over SMTP)")
    );
    println!(
        "client:      IP {}, name {}, TLS {}, via {}",
        s.client_ip.as_deref().unwrap_or("-"),
        s.client_name.as_deref().unwrap_or("-"),
        if s.tls { "yes" } else { "no" },
        s.ingress
    );
    match (&s.header_from, &s.envelope_from) {
        (Some(from), Some(envelope)) => println!("from:        {from} (envelope {envelope})"),
        _ => println!("from:        not kept (the sender was erased)"),
    }
    println!("subject:     {}", s.subject);
    let kept = match s.kept {
        RawState::Whole => "kept whole",
        RawState::Headers => "refused: only its headers kept",
        RawState::Purged => "content purged after the retention period",
        RawState::Erased => "content erased with its sender",
    };
    println!("content:     sha256 {} ({kept})", s.content_hash);
    if let Some(id) = &s.message_id {
        println!("message-id:  <{}>", id.trim_matches(['<', '>']));
    }
    for story in &s.sends {
        let send = &story.send;
        println!(
            "to:          {}: {} recipients, decided {}, now {} (send {})",
            send.address, send.recipients, send.decision, send.state, send.id
        );
        for e in &story.events {
            println!("  {}  {}  [entry {}]", utc(e.at), event_line(e), e.seq);
        }
        let t = &story.totals;
        println!(
            "  delivery:  {} sent, {} queued, {} failed, {} bounced, {} cancelled, {} by SMS, {} not reached",
            t.sent, t.queued, t.failed, t.bounced, t.cancelled, t.sms, t.unreachable
        );
    }
}

/// One audit entry about a send as a sentence.
fn event_line(e: &Happened) -> String {
    let (who, details) = (&e.who, &e.details);
    match e.action.as_str() {
        "approval.requested" => format!("approval requested from {}", details["asked"]),
        "approval.given" => format!("approved by {who}"),
        "approval.refused" => format!(
            "approval by {who} refused ({})",
            details["refusal"]["code"].as_str().unwrap_or("?")
        ),
        "approval.rejected" => format!(
            "rejected by {who}: {}",
            details["comment"].as_str().unwrap_or("")
        ),
        "send.released" if details["circuit_breaker_lifted"].is_object() => format!(
            "released by {who}, who lifted the circuit breaker; delivery from {}",
            details["release_at"].as_i64().map_or("-".into(), utc)
        ),
        "send.released" => format!(
            "released by the approval of {who}; delivery from {}",
            details["release_at"].as_i64().map_or("-".into(), utc)
        ),
        "send.breaker_lifted" => format!("circuit breaker lifted by {who}"),
        "send.cancelled" => format!("cancelled by {who}"),
        "send.withdrawn" => format!("withdrawn by {who}"),
        "send.expired" => "expired without a decision".to_string(),
        "delivery.purged" => format!(
            "copy {} purged by {who}: {}",
            details["copy_id"],
            details["reason"].as_str().unwrap_or("")
        ),
        "delivery.requeued" => format!(
            "{} deferred copies retried early by {who}",
            details["copies_requeued"]
        ),
        other => format!("{other} by {who}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time() {
        assert_eq!(parse_since("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_since("1970-01-01T00:00:01Z").unwrap(), 1_000);
        let err = parse_since("yesterday").unwrap_err().to_string();
        assert!(err.contains("2026-11-30"), "{err}");
        assert_eq!(utc(86_400_000), "1970-01-02T00:00:00Z");
    }
}
