//! `verteiler send …`: the queue at a glance, one send's totals, cancelling a send, the kill
//! switch.

use super::open_store;
use crate::cli::{SendCommand, SmsCommand};
use crate::config::Config;
use anyhow::Context;
use std::process::ExitCode;
use verteiler_store::{Inbound, PostalAccess};

pub async fn send(config: &Config, cmd: SendCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        SendCommand::Status => {
            let q = store.queue_overview().await?;
            match &q.paused {
                Some(p) => println!(
                    "sending: PAUSED by {} ({})",
                    store.actor_name(&p.by).await?,
                    p.reason
                ),
                None => println!("sending: running"),
            }
            println!(
                "sends:      {} waiting (undo window or expansion), {} delivering, {} held",
                q.sends_scheduled, q.sends_sending, q.sends_held
            );
            let d = &q.deliveries;
            println!(
                "copies:     {} queued, {} sent, {} failed, {} bounced, {} cancelled",
                d.queued, d.sent, d.failed, d.bounced, d.cancelled
            );
            println!("notices:    {} pending", q.notifications_pending);
            Ok(ExitCode::SUCCESS)
        }
        SendCommand::PauseAll { reason, by } => {
            store
                .pause_delivery(&reason, &by_member(&store, &by).await?)
                .await?;
            println!("sending paused: nothing more leaves until `verteiler send resume-all`");
            Ok(ExitCode::SUCCESS)
        }
        SendCommand::ResumeAll { by } => resume_all(&store, &by).await,
        SendCommand::Show { send_id } => {
            let Some(send) = store.send_record(send_id).await? else {
                eprintln!("no send has the id {send_id}");
                return Ok(ExitCode::FAILURE);
            };
            let t = store.delivery_totals(send_id).await?;
            println!(
                "send {send_id} (submission {}) to {}",
                send.submission_id, send.address
            );
            println!("state:      {} (decision: {})", send.state, send.decision);
            println!("decided on: {} recipients", send.recipients);
            println!(
                "email:      {} sent, {} queued, {} failed, {} bounced, {} cancelled",
                t.sent, t.queued, t.failed, t.bounced, t.cancelled
            );
            println!(
                "deferred:   {} of the queued (a temporary failure; retried with backoff)",
                t.deferred
            );
            println!("sms:        {} texts in the SMS outbox", t.sms);
            println!(
                "not reached: {} (no address for the chosen channel, post, or no channel chosen)",
                t.unreachable
            );
            if send.reasons != "[]" {
                println!("reasons:    {}", send.reasons);
            }
            for (reason, copies) in store.failure_reasons(send_id).await? {
                println!("failed:     {copies} × {reason}");
            }
            let handled: Vec<String> = store
                .copies_by_instance(send_id)
                .await?
                .iter()
                .map(|(instance, copies)| format!("{instance} {copies}"))
                .collect();
            if !handled.is_empty() {
                println!(
                    "handled by: {} (copies with an outcome, by instance)",
                    handled.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        SendCommand::Cancel { send_id, by } => {
            let Some(send) = store.send_record(send_id).await? else {
                eprintln!("no send has the id {send_id}");
                return Ok(ExitCode::FAILURE);
            };
            if !send.state.stoppable() {
                eprintln!(
                    "send {send_id} is {} and cannot be cancelled any more",
                    send.state
                );
                return Ok(ExitCode::FAILURE);
            }
            let cancelled = store
                .cancel_send(
                    send_id,
                    &by_member(&store, &by.unwrap_or_else(super::cli_actor)).await?,
                )
                .await?;
            let sent = store.delivery_totals(send_id).await?.sent;
            println!(
                "send {send_id} to {} cancelled: {cancelled} copies stopped, {sent} already sent",
                send.address
            );
            Ok(ExitCode::SUCCESS)
        }
        SendCommand::PostalList { send_id, output } => postal_list(&store, send_id, output).await,
        cmd @ (SendCommand::Inspect { .. }
        | SendCommand::Requeue { .. }
        | SendCommand::Flush { .. }
        | SendCommand::Purge { .. }) => super::queue_tools::run(&store, cmd).await,
    }
}

pub async fn sms(config: &Config, cmd: SmsCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        SmsCommand::Inbound { from, text } => {
            match store.receive_text(&from, &text, "cli").await? {
                Inbound::OptedOut { number } => {
                    println!("{number} gets no more texts (statutory notice excepted); confirmation queued")
                }
                Inbound::AlreadyOptedOut { number } => {
                    println!("{number} had already stopped texts; nothing sent again")
                }
                Inbound::Ignored => println!("not a stop word: nothing to do"),
                Inbound::BadNumber(reason) => {
                    eprintln!("{from:?} is not a phone number: {reason}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SmsCommand::Budget { unit, set, clear } => {
            let Some(found) = store.unit_by_code(&unit).await? else {
                eprintln!("no unit has the code {unit:?}");
                return Ok(ExitCode::FAILURE);
            };
            if set.is_some() || clear {
                store.set_unit_sms_budget(found.id, set).await?;
            }
            let spending = store.unit_sms_spending(found.id).await?;
            let price = config.sms.cost_per_segment_cents;
            let euros = |cents: u64| format!("{}.{:02} €", cents / 100, cents % 100);
            println!("unit:    {} {}", found.code, found.name);
            println!(
                "month:   {}-{:02} (UTC)",
                spending.month / 100,
                spending.month % 100
            );
            if price > 0 {
                println!(
                    "parts:   {} at {price} ct = {}",
                    spending.segments,
                    euros(spending.segments * price)
                );
            } else {
                println!(
                    "parts:   {} (sms.cost_per_segment_cents is 0: costs are not counted)",
                    spending.segments
                );
            }
            match (
                spending.own_budget_cents,
                config.sms.monthly_budget_cents_per_unit,
            ) {
                (Some(own), _) => println!("budget:  {} a month (the unit's own)", euros(own)),
                (None, 0) => println!("budget:  none"),
                (None, org) => println!("budget:  {} a month (the organisation's)", euros(org)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resumes sending; sends the circuit breaker holds stay held, and the admin is told so.
async fn resume_all(store: &verteiler_store::Store, by: &str) -> anyhow::Result<ExitCode> {
    let resumed = store.resume_delivery(&by_member(store, by).await?).await?;
    println!("sending resumed");
    if resumed.breaker_holds_waiting > 0 {
        println!(
            "{} send(s) held by the circuit breaker still wait: resuming releases none of them.\n\
             See them with `verteiler held list`; an organisation admin releases them with \
             `verteiler held release ID --as ADMIN-EMAIL` (all: `--breaker-all`) or refuses one \
             with `verteiler held reject ID --as ADMIN-EMAIL --comment \"…\"`",
            resumed.breaker_holds_waiting
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Who acts, as the audit log names them: a member's address becomes `cli:member:ID` (the log
/// keeps no addresses); anything else stays as given.
pub(super) async fn by_member(store: &verteiler_store::Store, by: &str) -> anyhow::Result<String> {
    let member = match verteiler_policies::EmailAddress::parse(by) {
        Ok(address) => store.member_id_by_email(&address).await?,
        Err(_) => None,
    };
    Ok(member.map_or_else(|| by.to_string(), |id| format!("cli:member:{id}")))
}

/// Writes a released, expanded send's postal list (what its expansion recorded) as CSV.
async fn postal_list(
    store: &verteiler_store::Store,
    send_id: i64,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let list = match store.postal_list(send_id, &super::cli_actor()).await? {
        PostalAccess::Granted(list) => list,
        PostalAccess::NotFound | PostalAccess::NotPermitted => {
            eprintln!("no send to a list has the id {send_id}");
            return Ok(ExitCode::FAILURE);
        }
        // The list is what the expansion recorded: none before it, none for a send
        // that was refused, held or stopped.
        PostalAccess::NotReady { state } => {
            eprintln!(
                "send {send_id} is {state}: a postal list exists once a released send \
                 has been expanded"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let csv = list.to_csv()?;
    let without = list
        .recipients
        .iter()
        .filter(|r| r.address.is_none())
        .count();
    match output {
        Some(path) => {
            std::fs::write(&path, &csv).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "{} letters for send {send_id} ({}) written to {}",
                list.recipients.len(),
                list.subject,
                path.display()
            );
        }
        None => std::io::Write::write_all(&mut std::io::stdout(), &csv)?,
    }
    if without > 0 {
        eprintln!("{without} of them have no postal address: ask their unit for one");
    }
    Ok(ExitCode::SUCCESS)
}
