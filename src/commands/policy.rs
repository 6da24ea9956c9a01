//! `verteiler policy simulate`: the real resolution and the real engine, nothing stored.

use super::open_store;
use crate::cli::SimulateArgs;
use crate::config::{Config, Language};
use anyhow::Context;
use std::process::ExitCode;
use verteiler_policies::{
    decide, format_count, Channel, ContentHash, Decision, EmailAddress, Lang, MessageFacts,
};
use verteiler_store::Submission;

pub async fn simulate(config: &Config, args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let lang = match args.lang.as_deref() {
        Some(tag) => Lang::from_tag(tag),
        None => match config.organisation.default_language {
            Language::En => Lang::En,
            Language::De => Lang::De,
        },
    };
    let channel: Channel = args.channel.parse().context("--channel")?;
    let email = EmailAddress::parse(&args.sender).context("--as")?;
    let Some(sender) = store.member_id_by_email(&email).await? else {
        eprintln!("no active member has the verified address {email}");
        return Ok(ExitCode::FAILURE);
    };
    // The same From: rule as a submission: the sender's own address unless told otherwise.
    let from = args.from.as_deref().unwrap_or(email.as_str());
    let submission = Submission {
        sender_member_id: sender,
        audience_address: &args.audience,
        channel,
        from: Some(from),
        message: MessageFacts {
            size_bytes: args.size,
            attachment_count: args.attachments,
            attachment_bytes: args.attachment_bytes,
            visible_recipients: args.visible_recipients,
            sms_segments: args.sms_segments,
            content_hash: ContentHash::from_bytes([0; 32]),
        },
    };
    let facts = store
        .gather_facts(&submission, &config.organisation.list_domain)
        .await?;
    let decision = decide(&facts, &config.org_limits());

    println!("simulated send (nothing is stored or sent)");
    println!(
        "  sender:     {email} (member {sender}, {} role(s)), From: {from}",
        facts.sender.roles.len()
    );
    match &facts.audience {
        Some(a) => println!(
            "  audience:   {}@{} \"{}\": {} recipients, {} outside scope, usual size {}",
            a.slug,
            config.organisation.list_domain,
            a.display_name,
            format_count(facts.resolution.recipients, lang),
            format_count(facts.resolution.outside_scope, lang),
            a.usual_size
                .map_or("not learned yet".to_string(), |n| format_count(n, lang)),
        ),
        None => println!("  audience:   {} (no such audience)", args.audience),
    }
    println!(
        "  message:    {} bytes, {} attachment(s), {} visible address(es), channel {channel}",
        args.size, args.attachments, args.visible_recipients
    );
    let verdict = match &decision {
        Decision::Release { .. } => "RELEASE".to_string(),
        Decision::Hold {
            approvals_needed,
            approver_roles,
            ..
        } => format!(
            "HOLD ({approvals_needed} approval(s) by {})",
            approver_roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Decision::Reject { .. } => "REJECT".to_string(),
    };
    println!("decision:     {verdict}");
    for reason in decision.reasons() {
        println!("  [{}] {}", reason.code(), reason.text(lang));
    }
    for line in decision.lines(lang).iter().skip(decision.reasons().len()) {
        println!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}
