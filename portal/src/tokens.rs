//! `/me/tokens`: the member's personal API tokens for `/api/v1` — listed with what they may
//! do and when they were last used, created with the scopes the member's roles allow (the
//! token's text shown once, on the answer to the form), and revoked one by one.

use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, when, Frame};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_store::{
    now_ms, ApiScope, ApiScopes, ApiToken, NewApiToken, ScopeError, TokenRefusal,
};

csrf_form! {
    NewToken {
        name: String,
        send: Option<String>,
        sends_read: Option<String>,
        approve: Option<String>,
        directory_sync: Option<String>,
        admin: Option<String>,
        lists: Option<String>,
        expires: Option<String>,
    }
    Plain {}
}

/// The form's field for each scope, in the order offered.
const SCOPE_FIELDS: [(ApiScope, &str); 5] = [
    (ApiScope::Send, "send"),
    (ApiScope::SendsRead, "sends_read"),
    (ApiScope::Approve, "approve"),
    (ApiScope::DirectorySync, "directory_sync"),
    (ApiScope::Admin, "admin"),
];

/// The text key naming a scope on the page.
fn scope_key(scope: ApiScope) -> &'static str {
    match scope {
        ApiScope::Send => "token_scope_send",
        ApiScope::SendsRead => "token_scope_sends_read",
        ApiScope::Approve => "token_scope_approve",
        ApiScope::DirectorySync => "token_scope_directory_sync",
        ApiScope::Admin => "token_scope_admin",
    }
}

pub async fn page(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let tokens = match state.store.api_tokens_of(member.id()).await {
        Ok(tokens) => tokens,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        p { (frame.t("tokens_intro")) }
        @if tokens.is_empty() {
            p { (frame.t("tokens_none")) }
        } @else {
            ul class="cards" {
                @for token in &tokens { li { (listed(&frame, token)) } }
            }
        }
        h2 { (frame.t("token_new_heading")) }
        (new_form(&frame, member.session.is_admin))
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("tokens_title"), body),
    )
}

fn listed(frame: &Frame<'_>, token: &ApiToken) -> Markup {
    let lang = frame.lang;
    html! {
        strong { (token.name) }
        br;
        span { (frame.t("token_scopes")) ": " (scopes_text(frame, &token.scopes)) }
        br;
        span { (frame.t("column_created")) ": " (when(token.created_at, lang)) }
        br;
        span {
            (frame.t("token_expires")) ": "
            @if let Some(at) = token.expires_at { (when(at, lang)) } @else { (frame.t("never")) }
        }
        br;
        span {
            (frame.t("column_last_used")) ": "
            @if let Some(at) = token.last_used_at { (when(at, lang)) } @else { (frame.t("never")) }
        }
        br;
        @if let Some(at) = token.revoked_at {
            span { (lang.text_with("token_revoked_at", &[("when", &when(at, lang))])) }
        } @else {
            @if !token.usable_at(now_ms()) { span { (frame.t("token_expired")) } br; }
            form method="post" action={ "/me/tokens/" (token.id) "/revoke" } class="inline" {
                (frame.csrf_field())
                button type="submit" aria-label=(lang.text_with("token_revoke_named", &[("name", &token.name)])) { (frame.t("token_revoke")) }
            }
        }
    }
}

/// The scopes in words, `send` with the lists it is limited to.
fn scopes_text(frame: &Frame<'_>, scopes: &ApiScopes) -> String {
    scopes
        .scopes()
        .iter()
        .map(|scope| match (scope, scopes.send_lists()) {
            (ApiScope::Send, Some(lists)) => frame
                .lang
                .text_with("token_scope_send_only", &[("lists", &lists.join(", "))]),
            _ => frame.t(scope_key(*scope)).to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The creation form: only the scopes the member's roles allow are offered (the store refuses
/// the others anyway).
fn new_form(frame: &Frame<'_>, is_admin: bool) -> Markup {
    html! {
        form method="post" action="/me/tokens" {
            (frame.csrf_field())
            p {
                label for="token-name" { (frame.t("token_name")) }
                input id="token-name" name="name" required maxlength="100";
            }
            fieldset {
                legend { (frame.t("token_scopes")) }
                @for (scope, field) in SCOPE_FIELDS {
                    @if is_admin || !scope.needs_admin() {
                        p {
                            input type="checkbox" id={ "token-" (field) } name=(field) value="on";
                            label class="inline" for={ "token-" (field) } { (frame.t(scope_key(scope))) }
                        }
                    }
                }
            }
            p {
                label for="token-lists" { (frame.t("token_lists")) }
                input id="token-lists" name="lists" maxlength="1000";
            }
            p {
                label for="token-expires" { (frame.t("token_expiry")) }
                input id="token-expires" name="expires" type="date";
            }
            button type="submit" { (frame.t("token_create")) }
        }
    }
}

/// Why the form could not become a token: the page's language, the answer's status.
#[derive(Debug)]
enum FormRefusal {
    Scope(ScopeError),
    ListsWithoutSend,
    ExpiryInvalid,
    Store(TokenRefusal),
}

impl FormRefusal {
    fn status(&self) -> StatusCode {
        match self {
            FormRefusal::Store(TokenRefusal::BeyondRoles(_)) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn text(&self, frame: &Frame<'_>) -> String {
        let lang = frame.lang;
        match self {
            FormRefusal::Scope(ScopeError::Empty) => frame.t("token_error_no_scope").into(),
            FormRefusal::Scope(ScopeError::Unknown(word)) => {
                let list = word.strip_prefix("send:").unwrap_or(word);
                lang.text_with("token_error_list", &[("list", list)])
            }
            FormRefusal::ListsWithoutSend => frame.t("token_error_lists_without_send").into(),
            FormRefusal::ExpiryInvalid => frame.t("token_error_expiry_invalid").into(),
            FormRefusal::Store(TokenRefusal::NameMissing) => {
                frame.t("token_error_name_missing").into()
            }
            FormRefusal::Store(TokenRefusal::NameTooLong) => {
                frame.t("token_error_name_too_long").into()
            }
            FormRefusal::Store(TokenRefusal::ExpiryPassed) => {
                frame.t("token_error_expiry_passed").into()
            }
            FormRefusal::Store(TokenRefusal::BeyondRoles(scope)) => lang.text_with(
                "token_error_beyond_roles",
                &[("scope", frame.t(scope_key(*scope)))],
            ),
            FormRefusal::Store(TokenRefusal::NoSuchMember) => {
                frame.t("token_error_no_member").into()
            }
        }
    }
}

/// The scopes the form asks for, as the store reads them (`send:<slug>` for each list).
fn requested_scopes(form: &NewToken) -> Result<ApiScopes, FormRefusal> {
    let checked = |field: &Option<String>| field.as_deref().is_some_and(|v| !v.is_empty());
    let lists: Vec<&str> = form
        .lists
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut words: Vec<String> = Vec::new();
    match (checked(&form.send), lists.is_empty()) {
        (true, true) => words.push("send".into()),
        (true, false) => words.extend(lists.iter().map(|l| format!("send:{l}"))),
        // A list limit without `send` would limit nothing: said, not silently dropped.
        (false, false) => return Err(FormRefusal::ListsWithoutSend),
        (false, true) => {}
    }
    for (scope, field) in [
        (ApiScope::SendsRead, &form.sends_read),
        (ApiScope::Approve, &form.approve),
        (ApiScope::DirectorySync, &form.directory_sync),
        (ApiScope::Admin, &form.admin),
    ] {
        if checked(field) {
            words.push(scope.as_str().into());
        }
    }
    // A word with a blank or comma inside would be split into other words: refused whole.
    if let Some(bad) = lists.iter().find(|l| l.contains(char::is_whitespace)) {
        return Err(FormRefusal::Scope(ScopeError::Unknown(format!(
            "send:{bad}"
        ))));
    }
    ApiScopes::parse(&words.join(" ")).map_err(FormRefusal::Scope)
}

/// `YYYY-MM-DD` (what `<input type="date">` sends): the token works through that whole day
/// (UTC), so it expires at the following midnight.
fn expiry(text: Option<&str>) -> Result<Option<i64>, FormRefusal> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, format).map_err(|_| FormRefusal::ExpiryInvalid)?;
    let end = day.next_day().ok_or(FormRefusal::ExpiryInvalid)?;
    Ok(Some(end.midnight().assume_utc().unix_timestamp() * 1000))
}

pub async fn create(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<NewToken>,
) -> Response {
    let frame = member.frame();
    let new = requested_scopes(&form).and_then(|scopes| {
        Ok(NewApiToken {
            member_id: member.id(),
            name: form.name.clone(),
            scopes,
            expires_at: expiry(form.expires.as_deref())?,
        })
    });
    let created = match new {
        Ok(new) => match state.store_for(&member).create_api_token(&new).await {
            Ok(created) => created.map_err(FormRefusal::Store),
            Err(e) => return internal_error(member.lang, &e),
        },
        Err(refusal) => Err(refusal),
    };
    let (token, text) = match created {
        Ok(created) => created,
        Err(refusal) => return refused(&frame, &refusal),
    };
    let body = html! {
        p { (frame.lang.text_with("token_created_text", &[("name", &token.name)])) }
        p class="secret" { code id="api-token" { (text) } }
        p { (frame.t("token_once")) }
        p { a href="/me/tokens" { (frame.t("back_to_tokens")) } }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("token_created_title"), body),
    )
}

fn refused(frame: &Frame<'_>, refusal: &FormRefusal) -> Response {
    let body = html! {
        p role="alert" { (refusal.text(frame)) }
        p { a href="/me/tokens" { (frame.t("back_to_tokens")) } }
    };
    respond(
        refusal.status(),
        layout(frame, frame.t("token_refused_title"), body),
    )
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    MemberForm { member, .. }: MemberForm<Plain>,
) -> Response {
    match state
        .store_for(&member)
        .revoke_api_token(id, Some(member.id()))
        .await
    {
        Ok(true) => see_other("/me/tokens", vec![]),
        Ok(false) => not_found(&member.frame()),
        Err(e) => internal_error(member.lang, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(send: bool, lists: &str, others: &[&str]) -> NewToken {
        let on = |f: &str| others.contains(&f).then(|| "on".to_string());
        NewToken {
            csrf: String::new(),
            name: "x".into(),
            send: send.then(|| "on".into()),
            sends_read: on("sends_read"),
            approve: on("approve"),
            directory_sync: on("directory_sync"),
            admin: on("admin"),
            lists: Some(lists.into()),
            expires: None,
        }
    }

    #[test]
    fn the_form_becomes_the_scopes_it_shows() {
        let limited = requested_scopes(&form(true, " kv-x, ov-y ,", &["approve"])).unwrap();
        assert_eq!(limited.to_string(), "send:kv-x send:ov-y approve");
        let plain = requested_scopes(&form(true, "", &["sends_read"])).unwrap();
        assert!(plain.may_send_to("anything"));
        assert!(matches!(
            requested_scopes(&form(false, "kv-x", &["approve"])),
            Err(FormRefusal::ListsWithoutSend)
        ));
        assert!(matches!(
            requested_scopes(&form(false, "", &[])),
            Err(FormRefusal::Scope(ScopeError::Empty))
        ));
        for bad in ["kv x", "kv/x", "a,b c"] {
            assert!(
                matches!(
                    requested_scopes(&form(true, bad, &[])),
                    Err(FormRefusal::Scope(ScopeError::Unknown(_)))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_listed_token_says_whether_it_still_works() {
        let frame = Frame::anonymous(crate::i18n::Lang::En, "/me/tokens");
        let token = |expires_at: Option<i64>, revoked_at: Option<i64>| ApiToken {
            id: 7,
            member_id: 1,
            name: "Newsroom".into(),
            scopes: ApiScopes::parse("send:klima approve").unwrap(),
            created_at: 0,
            expires_at,
            revoked_at,
            last_used_at: None,
        };
        let usable = listed(&frame, &token(Some(now_ms() + 60_000), None)).into_string();
        assert!(usable.contains("/me/tokens/7/revoke"), "{usable}");
        assert!(usable.contains("only to: klima"), "{usable}");
        assert!(!usable.contains("Expired"), "{usable}");
        let expired = listed(&frame, &token(Some(now_ms() - 1), None)).into_string();
        assert!(expired.contains("Expired"), "{expired}");
        assert!(expired.contains("/me/tokens/7/revoke"), "still revocable");
        let revoked = listed(&frame, &token(None, Some(0))).into_string();
        assert!(revoked.contains("Revoked on"), "{revoked}");
        assert!(!revoked.contains("/revoke"), "{revoked}");
    }

    #[test]
    fn an_expiry_date_lasts_the_whole_day() {
        assert_eq!(expiry(None).ok(), Some(None));
        assert_eq!(expiry(Some(" ")).ok(), Some(None));
        // 2030-01-02T00:00:00Z
        assert_eq!(
            expiry(Some("2030-01-01")).ok(),
            Some(Some(1_893_542_400_000))
        );
        for bad in ["2030-13-01", "01.01.2030", "tomorrow"] {
            assert!(matches!(expiry(Some(bad)), Err(FormRefusal::ExpiryInvalid)));
        }
    }
}
