//! `verteiler delivery …`: the queue at a glance, the kill switch, cancelling one send.

use super::open_store;
use crate::cli::DeliveryCommand;
use crate::config::Config;
use std::process::ExitCode;

pub async fn delivery(config: &Config, cmd: DeliveryCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        DeliveryCommand::Status => {
            let q = store.queue_overview().await?;
            match &q.paused {
                Some(p) => println!("delivery: PAUSED by {} ({})", p.by, p.reason),
                None => println!("delivery: running"),
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
        DeliveryCommand::Pause { reason, by } => {
            store.pause_delivery(&reason, &by).await?;
            println!("delivery paused: nothing more leaves until `verteiler delivery resume`");
            Ok(ExitCode::SUCCESS)
        }
        DeliveryCommand::Resume { by } => {
            store.resume_delivery(&by).await?;
            println!("delivery resumed");
            Ok(ExitCode::SUCCESS)
        }
        DeliveryCommand::Cancel { send_id } => {
            let Some(send) = store.send_record(send_id).await? else {
                eprintln!("no send has the id {send_id}");
                return Ok(ExitCode::FAILURE);
            };
            if !matches!(send.state.as_str(), "scheduled" | "sending" | "held") {
                eprintln!(
                    "send {send_id} is {} and cannot be cancelled any more",
                    send.state
                );
                return Ok(ExitCode::FAILURE);
            }
            let cancelled = store.cancel_send(send_id).await?;
            let sent = store.delivery_totals(send_id).await?.sent;
            println!(
                "send {send_id} to {} cancelled: {cancelled} copies stopped, {sent} already sent",
                send.address
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
