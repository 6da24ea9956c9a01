//! `verteiler held …`: the four-eyes flow on the command line. Every decision goes through the
//! store's operations, the same ones the portal and the API call.

use super::open_store;
use crate::cli::HeldCommand;
use crate::config::{Config, Language};
use std::process::ExitCode;
use verteiler_policies::{format_count, EmailAddress, Lang};
use verteiler_store::{
    Actor, ApprovalOutcome, ApprovalSettings, HeldSend, Origin, StopOutcome, Store,
};

pub fn approval_settings(config: &Config) -> ApprovalSettings {
    ApprovalSettings {
        list_domain: config.organisation.list_domain.clone(),
        limits: config.org_limits(),
        undo_window_secs: config.delivery.undo_window_secs,
        approval_window_secs: config.limits.approval_window_hours * 3600,
        portal_base_url: config.organisation.portal_base_url.clone(),
    }
}

fn lang(config: &Config) -> Lang {
    match config.organisation.default_language {
        Language::De => Lang::De,
        Language::En => Lang::En,
    }
}

/// The member behind `--as`, or a message saying why there is none.
pub(super) async fn actor(store: &Store, address: &str) -> anyhow::Result<Result<Actor, String>> {
    let email = match EmailAddress::parse(address) {
        Ok(e) => e,
        Err(e) => return Ok(Err(format!("--as {address}: {e}"))),
    };
    Ok(match store.member_id_by_email(&email).await? {
        Some(member_id) => Ok(Actor {
            member_id,
            label: email.to_string(),
            ingress: Origin::Cli,
        }),
        None => Err(format!("no active member has the verified address {email}")),
    })
}

pub async fn held(config: &Config, cmd: HeldCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let settings = approval_settings(config);
    let lang = lang(config);
    match cmd {
        HeldCommand::List => {
            print_list(&store.held_sends().await?, lang);
            Ok(ExitCode::SUCCESS)
        }
        HeldCommand::Show { send_id } => match store.held_send(send_id).await? {
            Some(h) => {
                print_held(&h, lang);
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("no send has the id {send_id}");
                Ok(ExitCode::FAILURE)
            }
        },
        HeldCommand::Approve {
            send_id,
            approver,
            comment,
            hash,
        } => {
            let actor = match actor(&store, &approver).await? {
                Ok(a) => a,
                Err(e) => return refused(&e),
            };
            let outcome = store
                .approve_send(
                    send_id,
                    &actor,
                    comment.as_deref(),
                    hash.as_deref(),
                    &settings,
                )
                .await?;
            match outcome {
                ApprovalOutcome::Recorded { missing: 0 } => {
                    println!("approval recorded; the circuit breaker still holds the send until an organisation admin releases it (verteiler held release {send_id} --as ADMIN-EMAIL)");
                    Ok(ExitCode::SUCCESS)
                }
                ApprovalOutcome::Recorded { missing } => {
                    println!("approval recorded; {missing} more approval(s) needed");
                    Ok(ExitCode::SUCCESS)
                }
                ApprovalOutcome::Released {
                    release_at,
                    recipients,
                } => {
                    println!(
                        "approved and released: {} recipients; delivery starts {} (cancel before: verteiler send cancel {send_id})",
                        format_count(recipients, lang),
                        super::audit::utc(release_at)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                ApprovalOutcome::Rejected { reasons } => {
                    println!("approval recorded, but deciding again refused the send:");
                    for r in reasons {
                        println!("  {}", r.text(lang));
                    }
                    Ok(ExitCode::FAILURE)
                }
                ApprovalOutcome::Refused(refusal) => {
                    refused(&format!("approval refused: {}", refusal.text(lang)))
                }
                ApprovalOutcome::NotHeld { state } => {
                    refused(&format!("send {send_id} is not waiting for approval (it is {state})"))
                }
                ApprovalOutcome::NotFound => refused(&format!("no send has the id {send_id}")),
                ApprovalOutcome::Undecidable => refused(&format!(
                    "send {send_id} has no stored message figures to decide again with; it cannot be released, only sent again"
                )),
            }
        }
        HeldCommand::Reject {
            send_id,
            approver,
            comment,
        } => {
            let actor = match actor(&store, &approver).await? {
                Ok(a) => a,
                Err(e) => return refused(&e),
            };
            let outcome = store
                .reject_send(send_id, &actor, &comment, &settings)
                .await?;
            stop_result(
                outcome,
                send_id,
                "rejected; the sender is told with your comment",
                lang,
            )
        }
        HeldCommand::Release {
            send_id,
            breaker_all: _,
            admin,
        } => super::held_release::release(&store, &settings, send_id, &admin, lang).await,
        HeldCommand::Withdraw { send_id, sender } => {
            let actor = match actor(&store, &sender).await? {
                Ok(a) => a,
                Err(e) => return refused(&e),
            };
            let outcome = store.withdraw_send(send_id, &actor).await?;
            stop_result(outcome, send_id, "withdrawn; nothing was sent", lang)
        }
        HeldCommand::Expire => {
            let expired = store
                .expire_held(verteiler_store::now_ms(), &settings)
                .await?;
            println!("{} request(s) expired", expired.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn refused(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("{message}");
    Ok(ExitCode::FAILURE)
}

fn stop_result(
    outcome: StopOutcome,
    send_id: i64,
    done: &str,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    match outcome {
        StopOutcome::Stopped => {
            println!("send {send_id} {done}");
            Ok(ExitCode::SUCCESS)
        }
        StopOutcome::CommentMissing => refused("a rejection needs --comment: the sender reads it"),
        StopOutcome::Refused(refusal) => refused(&format!("refused: {}", refusal.text(lang))),
        StopOutcome::NotSender => refused(&format!("only the sender can withdraw send {send_id}")),
        StopOutcome::NotHeld { state } => refused(&format!(
            "send {send_id} is not waiting for approval (it is {state})"
        )),
        StopOutcome::NotFound => refused(&format!("no send has the id {send_id}")),
    }
}

fn print_held(h: &HeldSend, lang: Lang) {
    println!("send {} (submission {})", h.send_id, h.submission_id);
    println!("list:        {} <{}>", h.audience, h.address);
    println!("sender:      {}", h.sender);
    println!("subject:     {}", h.subject);
    let usual = h
        .usual_size
        .map_or_else(|| "no send yet".into(), |u| format_count(u, lang));
    println!(
        "recipients:  {} (usual: {usual})",
        format_count(h.recipients, lang)
    );
    println!("content:     sha256 {}", h.content_hash);
    println!("submitted:   {}", super::audit::utc(h.created_at));
    if let Some(e) = h.expires_at {
        println!("expires:     {}", super::audit::utc(e));
    }
    println!("missing:     {} approval(s)", h.approvals_needed);
    for r in &h.reasons {
        println!("reason:      {}", r.text(lang));
    }
    if !h.preview.is_empty() {
        println!("text:");
        for line in h.preview.lines() {
            println!("  | {line}");
        }
    }
    for d in &h.decisions {
        println!(
            "{}:    {} at {}{}",
            if d.verdict == "approve" {
                "approved"
            } else {
                "rejected"
            },
            d.approver,
            super::audit::utc(d.at),
            d.comment
                .as_deref()
                .map_or_else(String::new, |c| format!(" (\"{c}\")"))
        );
    }
}

fn print_list(held: &[HeldSend], lang: Lang) {
    if held.is_empty() {
        println!("no send is waiting for approval");
    }
    for h in held {
        // The circuit breaker waits for an admin, whatever approvals say.
        let waits_for = if h.reasons.iter().any(|r| r.code() == "org.circuit_breaker") {
            "CIRCUIT BREAKER: an admin releases (held release)".to_string()
        } else {
            format!("{} more approval(s)", h.approvals_needed)
        };
        println!(
            "{:>6}  {}  from {}  {} recipients  {waits_for}  expires {}  \"{}\"",
            h.send_id,
            h.audience,
            h.sender,
            format_count(h.recipients, lang),
            h.expires_at
                .map_or_else(|| "never".into(), super::audit::utc),
            h.subject
        );
    }
}
