//! `verteiler member …`: per-person credentials, never shared logins.

use super::open_store;
use crate::cli::MemberCommand;
use crate::config::Config;
use anyhow::{bail, Context};
use std::io::Read;
use std::process::ExitCode;
use verteiler_policies::{EmailAddress, RoleFunction};
use verteiler_store::{MailClientSetup, Officer, Store};

async fn member_id(store: &Store, email: &str) -> anyhow::Result<i64> {
    let address = EmailAddress::parse(email)?;
    store
        .member_id_by_email(&address)
        .await?
        .with_context(|| format!("no active member has the verified address {address}"))
}

pub async fn member(config: &Config, cmd: MemberCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        MemberCommand::Export { email, out } => {
            let id = member_id(&store, &email).await?;
            let Some(data) = store.export_member_data(id).await? else {
                bail!("member {id} has no record");
            };
            let text = serde_json::to_string_pretty(&data)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("written to {} (recorded in the audit log)", path.display());
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        MemberCommand::SetPassword {
            email,
            name,
            password_stdin,
        } => {
            let member = member_id(&store, &email).await?;
            let (id, password) = if password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the password")?;
                let text = text.trim_end_matches(['\r', '\n']).to_string();
                if text.chars().count() < 12 {
                    bail!("the password must have at least 12 characters");
                }
                (store.add_app_password(member, &name, &text).await?, text)
            } else {
                store.new_app_password(member, &name).await?
            };
            println!("app password {id} (\"{name}\") for {email}:");
            if !password_stdin {
                println!("    {password}");
                println!(
                    "It is shown only now. Use it with {email} as the login in the email client."
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        MemberCommand::Passwords { email } => {
            let member = member_id(&store, &email).await?;
            let list = store.list_app_passwords(member).await?;
            println!("{:<6} {:<24} {:<14} LAST USED", "ID", "NAME", "CREATED");
            for p in &list {
                println!(
                    "{:<6} {:<24} {:<14} {}",
                    p.id,
                    p.name,
                    date(p.created_at),
                    p.last_used_at.map_or("never".to_string(), date)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        MemberCommand::Invite { function, unit } => invite(&store, config, &function, unit).await,
        MemberCommand::Deletions => {
            let open = store.open_deletion_requests().await?;
            if open.is_empty() {
                println!("no open deletion requests");
                return Ok(ExitCode::SUCCESS);
            }
            println!("{:<10} {:<32} REQUESTED", "MEMBER", "NAME");
            for (member, name, at) in &open {
                println!("{member:<10} {name:<32} {}", date(*at));
            }
            Ok(ExitCode::SUCCESS)
        }
        MemberCommand::Erase { member_id } => {
            if store.complete_deletion(member_id).await? {
                // Their drafts on /compose wait on disk, not in the database.
                verteiler_portal::discard_drafts(&config.http.upload_dir, member_id)
                    .await
                    .context("removing the member's drafts from http.upload_dir")?;
                println!(
                    "member {member_id} erased (recorded in the audit log); delete them in the \
                     membership database too, or the next import brings their data back"
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("member {member_id} has no open deletion request; nothing changed");
                Ok(ExitCode::FAILURE)
            }
        }
        MemberCommand::RevokePassword { email, id } => {
            let member = member_id(&store, &email).await?;
            if store.revoke_app_password(member, id).await? {
                println!("app password {id} of {email} revoked");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{email} has no active app password {id}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// `member invite`: who was mailed, who had a password already, who has no address.
async fn invite(
    store: &Store,
    config: &Config,
    function: &str,
    unit: Option<String>,
) -> anyhow::Result<ExitCode> {
    let function: RoleFunction = function.parse().context("--function")?;
    let unit_id = match &unit {
        Some(code) => Some(
            store
                .unit_by_code(code.trim())
                .await?
                .with_context(|| format!("--unit: no unit {code} (see `verteiler unit list`)"))?
                .id,
        ),
        None => None,
    };
    let setup = MailClientSetup {
        smtp_host: config.smtp.hostname.clone(),
        smtp_port: config.smtp.listen.port(),
    };
    let mails = verteiler_portal::Mails::new(&config.organisation.portal_base_url);
    let report = store
        .invite_officers(function, unit_id, &setup, &mails)
        .await?;
    let line = |o: &Officer| format!("{} ({})", o.name, o.unit_code);
    for o in &report.invited {
        println!(
            "invited: {} <{}>",
            line(o),
            o.email.as_deref().unwrap_or_default()
        );
    }
    for o in &report.skipped {
        println!("has an app password already: {}", line(o));
    }
    for o in &report.pending {
        println!("invited earlier, link still valid: {}", line(o));
    }
    for o in &report.without_email {
        println!(
            "no email address: {} – add it in the membership database; the next import brings it",
            line(o)
        );
    }
    println!(
        "{} invited, {} skipped (app password exists), {} invited earlier, {} without email \
         address ({function}{})",
        report.invited.len(),
        report.skipped.len(),
        report.pending.len(),
        report.without_email.len(),
        unit.map(|u| format!(" in {u} and below"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// The UTC date of a unix-milliseconds timestamp, as YYYY-MM-DD.
fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "-".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_795_392_000_000), "2026-11-23");
        assert_eq!(super::date(951_782_400_000), "2000-02-29");
    }
}
