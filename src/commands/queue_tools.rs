//! `verteiler send inspect|requeue|flush|purge`: the operator's queue tools, after Postfix's
//! postcat, postqueue -f and postsuper -d. The store decides what may be touched (only waiting
//! copies no worker holds); this prints what it did for a person.

use super::audit::utc;
use super::send::by_member;
use crate::cli::SendCommand;
use std::process::ExitCode;
use verteiler_store::{now_ms, CopyRecord, Purge, RequeueScope, Store};

pub async fn run(store: &Store, cmd: SendCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SendCommand::Inspect { copy_id } => inspect(store, copy_id).await,
        SendCommand::Requeue { send, copy_ids, by } => {
            let scope = match send {
                Some(send_id) => RequeueScope::Send(send_id),
                None => RequeueScope::Copies(copy_ids),
            };
            requeue(store, &scope, by).await
        }
        SendCommand::Flush { by } => requeue(store, &RequeueScope::All, by).await,
        SendCommand::Purge {
            copy_ids,
            reason,
            by,
        } => purge(store, &copy_ids, &reason, by).await,
        _ => unreachable!("send.rs hands over only the queue tools"),
    }
}

async fn actor(store: &Store, by: Option<String>) -> anyhow::Result<String> {
    by_member(store, &by.unwrap_or_else(super::cli_actor)).await
}

async fn inspect(store: &Store, copy_id: i64) -> anyhow::Result<ExitCode> {
    let Some(copy) = store.inspect_copy(copy_id).await? else {
        eprintln!("no copy has the id {copy_id}");
        return Ok(ExitCode::FAILURE);
    };
    print_copy(&copy, now_ms());
    for entry in &copy.audit {
        println!(
            "audit:        #{} {} {} by {}: {}",
            entry.seq,
            utc(entry.at),
            entry.action,
            entry.actor,
            entry.details
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_copy(copy: &CopyRecord, now: i64) {
    println!(
        "copy {} of send {} (submission {}) to {}",
        copy.id, copy.send_id, copy.submission_id, copy.list_address
    );
    match copy.member_id {
        Some(member) => println!("recipient:    {} (member {member})", copy.address),
        None => println!("recipient:    {} (a subscriber, no member)", copy.address),
    }
    println!("channel:      {}", copy.channel);
    println!("state:        {}", copy.state);
    println!("attempts:     {}", copy.attempts);
    println!(
        "last error:   {}",
        copy.last_error.as_deref().unwrap_or("none")
    );
    for bounce in &copy.bounces {
        println!(
            "bounce:       {} {} {} ({})",
            utc(bounce.received_at),
            if bounce.hard { "hard" } else { "soft" },
            bounce.status.as_deref().unwrap_or("-"),
            bounce.diagnostic
        );
    }
    if copy.state == verteiler_store::DeliveryState::Queued {
        let when = if copy.next_attempt_at <= now {
            "due now".to_string()
        } else {
            utc(copy.next_attempt_at)
        };
        println!("next attempt: {when}");
    }
    // The table records until when a worker holds a copy, not which worker.
    match copy.lease_until {
        Some(until) if copy.leased_at(now) => {
            println!("lease:        held by a worker until {}", utc(until))
        }
        _ => println!("lease:        none"),
    }
    let outcome = match copy.sent_at {
        Some(at) => format!("handed over at {}", utc(at)),
        None if copy.state == verteiler_store::DeliveryState::Queued => "none yet".into(),
        None => format!("{} at {}", copy.state, utc(copy.updated_at)),
    };
    println!("outcome:      {outcome}");
    println!("queued at:    {}", utc(copy.created_at));
}

async fn requeue(
    store: &Store,
    scope: &RequeueScope,
    by: Option<String>,
) -> anyhow::Result<ExitCode> {
    let moved = store
        .requeue_copies(scope, &actor(store, by).await?)
        .await?;
    println!("{moved} deferred copies will be retried now");
    Ok(ExitCode::SUCCESS)
}

async fn purge(
    store: &Store,
    copy_ids: &[i64],
    reason: &str,
    by: Option<String>,
) -> anyhow::Result<ExitCode> {
    if reason.trim().is_empty() {
        eprintln!("--reason must say why (it goes into the audit log)");
        return Ok(ExitCode::FAILURE);
    }
    let outcomes = store
        .purge_copies(copy_ids, reason, &actor(store, by).await?)
        .await?;
    let mut refused = 0;
    for (id, outcome) in outcomes {
        match outcome {
            Purge::Purged => println!("copy {id} purged: cancelled, it will not be delivered"),
            Purge::NotFound => {
                refused += 1;
                eprintln!("no copy has the id {id}");
            }
            Purge::Final(state) => {
                refused += 1;
                eprintln!("copy {id} is already {state}: nothing to purge");
            }
            Purge::Leased { until } => {
                refused += 1;
                eprintln!(
                    "copy {id} is held by a worker (until {}): it may be on its way right now; \
                     try again after that",
                    utc(until)
                );
            }
        }
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
