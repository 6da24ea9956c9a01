//! What `POST /submissions` takes: a message as written (`message/rfc822`) or its parts as
//! JSON, built into a message exactly as the compose page builds one; and the lists it is
//! for, checked against the token before the intake hears of them.
//!
//! The lists of a raw message: the `to` query parameters when there are any (each a slug or a
//! full list address); otherwise every `To:` and `Cc:` address of the message in the list
//! domain. Other addresses in `To:`/`Cc:` are not lists and are never sent to (delivery is
//! Bcc-only); the engine weighs them as visible recipients.

use super::super::caller::Caller;
use super::super::problem::Problem;
use crate::compose::message::{build_message, Content, File};
use crate::compose::{max_attachment_bytes, SMS_MAX, SUBJECT_MAX};
use crate::AppState;
use axum::http::StatusCode;
use base64::Engine;
use serde::Deserialize;
use utoipa::ToSchema;
use verteiler_policies::AudienceSlug;
use verteiler_store::ApiScope;

/// Lists one submission may name at most.
pub const MAX_LISTS: usize = 50;

/// A message written as parts; the API builds it as the portal's compose page does.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitJson {
    /// The `From:` address: the sender's own verified address or an official address they
    /// may send as. Without it, the sender's first verified address.
    #[serde(default)]
    pub from: Option<String>,
    pub subject: String,
    /// The message as plain text.
    pub text: String,
    /// The same message as HTML, sent as the text's alternative.
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentJson>,
    /// The lists: slugs (`ov-oldenfelde`) or full list addresses.
    pub lists: Vec<String>,
    /// The text for members reached by SMS; without it they get a rendering of the email.
    #[serde(default)]
    pub sms_text: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentJson {
    pub filename: String,
    pub content_type: String,
    /// The file, base64 (RFC 4648, with padding).
    pub content_base64: String,
}

/// A submission ready for the intake.
pub struct Intended {
    pub raw: Vec<u8>,
    pub addresses: Vec<String>,
    pub sms_text: Option<String>,
}

fn unprocessable(code: &str, caller: &Caller, args: &[(&str, &str)]) -> Problem {
    Problem::with_args(StatusCode::UNPROCESSABLE_ENTITY, code, caller.lang, args)
}

/// The list address `entry` names: a slug in the list domain, or a full address as given.
fn list_address(entry: &str, domain: &str, caller: &Caller) -> Result<String, Problem> {
    let entry = entry.trim().to_ascii_lowercase();
    let valid = match entry.split_once('@') {
        Some((local, host)) => {
            !local.is_empty()
                && !host.is_empty()
                && !host.contains('@')
                && !entry.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
        }
        None => AudienceSlug::parse(&entry).is_ok(),
    };
    if !valid {
        return Err(unprocessable("list_invalid", caller, &[("list", &entry)]));
    }
    Ok(if entry.contains('@') {
        entry
    } else {
        format!("{entry}@{domain}")
    })
}

/// The addresses once each, in their order; at least one, at most [`MAX_LISTS`].
fn distinct(addresses: Vec<String>, caller: &Caller) -> Result<Vec<String>, Problem> {
    let mut out: Vec<String> = Vec::with_capacity(addresses.len());
    for a in addresses {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(unprocessable("lists_missing", caller, &[]));
    }
    if out.len() > MAX_LISTS {
        let max = MAX_LISTS.to_string();
        return Err(unprocessable("too_many_lists", caller, &[("max", &max)]));
    }
    Ok(out)
}

/// 403 for the first address the token's `send` scope does not cover. A token limited to
/// lists covers only those slugs in the list domain; an `admin` token without `send` covers
/// what its owner may do.
pub fn check_token(addresses: &[String], domain: &str, caller: &Caller) -> Result<(), Problem> {
    let scopes = &caller.token.scopes;
    for address in addresses {
        let slug = address
            .rsplit_once('@')
            .filter(|(_, host)| host.eq_ignore_ascii_case(domain))
            .map(|(local, _)| local);
        let allowed = slug.is_some_and(|slug| scopes.may_send_to(slug))
            || (!scopes.has(ApiScope::Send) && scopes.has(ApiScope::Admin))
            || (scopes.send_lists().is_none() && scopes.has(ApiScope::Send));
        if !allowed {
            tracing::info!(event = "api.list_not_in_token", token = caller.token.id, list = %address);
            return Err(Problem::with_args(
                StatusCode::FORBIDDEN,
                "list_not_in_token",
                caller.lang,
                &[("list", address)],
            ));
        }
    }
    Ok(())
}

/// A raw message and its lists (see the module's rule).
pub fn raw(body: &[u8], to: &[String], domain: &str, caller: &Caller) -> Result<Intended, Problem> {
    let addresses = if to.is_empty() {
        let Some(message) = mail_parser::MessageParser::new().parse_headers(body) else {
            return Err(unprocessable("lists_missing", caller, &[]));
        };
        let suffix = format!("@{}", domain.to_ascii_lowercase());
        [message.to(), message.cc()]
            .into_iter()
            .flatten()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .map(str::to_ascii_lowercase)
            .filter(|a| a.ends_with(&suffix))
            .collect()
    } else {
        to.iter()
            .map(|entry| list_address(entry, domain, caller))
            .collect::<Result<Vec<_>, _>>()?
    };
    let addresses = distinct(addresses, caller)?;
    check_token(&addresses, domain, caller)?;
    Ok(Intended {
        raw: body.to_vec(),
        addresses,
        sms_text: None,
    })
}

/// The JSON's fields, checked as the compose form checks its own.
fn check_fields(json: &SubmitJson, caller: &Caller) -> Result<(), Problem> {
    let subject = json.subject.trim();
    if subject.is_empty() {
        return Err(unprocessable("subject_missing", caller, &[]));
    }
    if subject.chars().count() > SUBJECT_MAX || subject.contains(['\r', '\n']) {
        let max = SUBJECT_MAX.to_string();
        return Err(unprocessable("subject_invalid", caller, &[("max", &max)]));
    }
    if json.text.trim().is_empty() {
        return Err(unprocessable("text_missing", caller, &[]));
    }
    let sms = json
        .sms_text
        .as_deref()
        .map_or(0, |t| t.trim().chars().count());
    if sms > SMS_MAX {
        let max = SMS_MAX.to_string();
        return Err(unprocessable("sms_too_long", caller, &[("max", &max)]));
    }
    Ok(())
}

/// The attached files, decoded; a name or type that cannot stand in a header, or content
/// that is not base64, is named.
fn files(json: &SubmitJson, state: &AppState, caller: &Caller) -> Result<Vec<File>, Problem> {
    let mut files = Vec::with_capacity(json.attachments.len());
    let mut total = 0u64;
    for a in &json.attachments {
        let content = base64::engine::general_purpose::STANDARD
            .decode(a.content_base64.trim())
            .ok();
        let type_ok = a.content_type.split_once('/').is_some_and(|(t, s)| {
            [t, s].iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
            })
        });
        let name_ok = !a.filename.trim().is_empty()
            && a.filename.chars().count() <= 255
            && !a.filename.chars().any(char::is_control);
        let (Some(content), true, true) = (content, type_ok, name_ok) else {
            return Err(unprocessable(
                "attachment_invalid",
                caller,
                &[("filename", &a.filename)],
            ));
        };
        total += content.len() as u64;
        files.push(File {
            content_type: a.content_type.to_ascii_lowercase(),
            file_name: a.filename.trim().to_string(),
            content,
        });
    }
    if total > max_attachment_bytes(state) {
        return Err(super::super::body::too_large(caller.lang, state));
    }
    Ok(files)
}

/// The message the JSON describes, from its `from` (or the sender's first verified address)
/// to its lists.
pub async fn json(
    body: &[u8],
    domain: &str,
    state: &AppState,
    caller: &Caller,
) -> Result<Intended, Problem> {
    let json: SubmitJson = serde_json::from_slice(body).map_err(|e| {
        Problem::with_args(
            StatusCode::BAD_REQUEST,
            "bad_request",
            caller.lang,
            &[("reason", &e.to_string())],
        )
    })?;
    check_fields(&json, caller)?;
    let addresses = json
        .lists
        .iter()
        .map(|entry| list_address(entry, domain, caller))
        .collect::<Result<Vec<_>, _>>()?;
    let addresses = distinct(addresses, caller)?;
    // The token is asked before anything is read for the message.
    check_token(&addresses, domain, caller)?;
    let from = match json.from.as_deref().map(str::trim) {
        Some(from) if !from.is_empty() => from.to_string(),
        _ => {
            let profile = state
                .store
                .sender_profile(caller.member_id())
                .await
                .map_err(|e| caller.internal(&e))?;
            let verified = profile.emails.iter().find(|(_, verified)| *verified);
            let Some((address, _)) = verified else {
                return Err(unprocessable("no_verified_address", caller, &[]));
            };
            address.clone()
        }
    };
    let content = Content {
        subject: json.subject.trim(),
        text: &json.text,
        html: json.html.as_deref().filter(|h| !h.trim().is_empty()),
        files: files(&json, state, caller)?,
    };
    let raw = build_message(&state.store, caller.member_id(), &from, &addresses, content)
        .await
        .map_err(|e| caller.internal(&*e))?;
    let sms_text = json
        .sms_text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok(Intended {
        raw,
        addresses,
        sms_text,
    })
}
