//! `verteiler token …`: personal API tokens. The token text goes alone to standard output so
//! a script can capture it; everything for the person reading goes to standard error.

use super::open_store;
use crate::cli::TokenCommand;
use crate::config::Config;
use anyhow::{bail, Context};
use std::process::ExitCode;
use time::format_description::well_known::Rfc3339;
use verteiler_policies::EmailAddress;
use verteiler_store::{ApiScopes, ApiToken, NewApiToken, Store};

pub async fn token(config: &Config, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        TokenCommand::Create {
            member,
            name,
            scopes,
            expires,
        } => {
            let scopes = ApiScopes::parse(&scopes).context("--scopes")?;
            let expires_at = expires.as_deref().map(expiry).transpose()?;
            let member_id = member_id(&store, &member).await?;
            let new = NewApiToken {
                member_id,
                name,
                scopes,
                expires_at,
            };
            let (created, text) = match store.create_api_token(&new).await? {
                Ok(created) => created,
                Err(refusal) => bail!("no token created: {refusal}"),
            };
            println!("{text}");
            eprintln!(
                "token {} (\"{}\", {}) for member {member_id}{}: it is shown only now; \
                 only its hash is stored",
                created.id,
                created.name,
                created.scopes,
                created
                    .expires_at
                    .map(|at| format!(", valid until {}", instant(at)))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { member } => {
            let tokens = match member {
                Some(m) => store.api_tokens_of(member_id(&store, &m).await?).await?,
                None => store.all_api_tokens().await?,
            };
            print_list(&store, &tokens).await?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id } => {
            if store.revoke_api_token(id, None).await? {
                println!("token {id} revoked; requests with it now answer 401");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no usable token {id} (unknown or revoked already); nothing changed");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn print_list(store: &Store, tokens: &[ApiToken]) -> anyhow::Result<()> {
    if tokens.is_empty() {
        println!("no tokens");
        return Ok(());
    }
    println!(
        "{:<6} {:<30} {:<20} {:<28} {:<11} {:<21} {:<11} REVOKED",
        "ID", "OWNER", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USE"
    );
    for t in tokens {
        let owner = store
            .member_emails(t.member_id)
            .await?
            .into_iter()
            .next()
            .map_or_else(|| format!("member {}", t.member_id), |(email, _)| email);
        println!(
            "{:<6} {:<30} {:<20} {:<28} {:<11} {:<21} {:<11} {}",
            t.id,
            owner,
            t.name,
            t.scopes.to_string(),
            date(t.created_at),
            t.expires_at.map_or("never".into(), instant),
            t.last_used_at.map_or("never".into(), date),
            t.revoked_at.map_or("-".into(), date),
        );
    }
    Ok(())
}

/// The member named by a verified address or an id.
async fn member_id(store: &Store, member: &str) -> anyhow::Result<i64> {
    let member = member.trim();
    if let Ok(id) = member.parse::<i64>() {
        return Ok(id);
    }
    let address = EmailAddress::parse(member).context("--member: neither an id nor an address")?;
    store
        .member_id_by_email(&address)
        .await?
        .with_context(|| format!("no active member has the verified address {address}"))
}

/// `--expires`: a date means "through that day" (UTC), an RFC 3339 instant means itself.
fn expiry(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let at = if let Ok(instant) = time::OffsetDateTime::parse(text, &Rfc3339) {
        instant
    } else {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let day = time::Date::parse(text, &format)
            .with_context(|| format!("--expires {text}: not YYYY-MM-DD or RFC 3339"))?;
        day.next_day()
            .context("--expires: date out of range")?
            .midnight()
            .assume_utc()
    };
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn date(ms: i64) -> String {
    instant(ms).chars().take(10).collect()
}

/// A unix-milliseconds timestamp as RFC 3339 (UTC, seconds).
fn instant(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_valid_through_its_day() {
        assert_eq!(
            expiry("2026-11-23").unwrap(),
            1_795_392_000_000 + 86_400_000
        );
        assert_eq!(
            expiry("2026-11-23T12:00:00+01:00").unwrap(),
            1_795_392_000_000 + 11 * 3_600_000
        );
        assert!(expiry("23.11.2026").is_err());
        assert_eq!(instant(1_795_392_000_000), "2026-11-23T00:00:00Z");
    }
}
