//! Signing in and out: a one-time link by email (15 minutes, single use), or the optional
//! password; sign-out here or everywhere.
//!
//! The answer to a link request is the same page, byte for byte, whether or not the address
//! is known, and it is given before the database is asked: the lookup and the mail happen in a
//! task of their own, so not even the time taken tells. Requests are limited per address and
//! per client (see [`crate::client`]); the limit applies to known and unknown addresses alike.
//! Passwords have limits of their own ([`crate::security::PasswordLimits`]): what a stranger
//! does for a member's address never keeps the member's right password out.

use crate::client::ClientKey;
use crate::csrf_form;
use crate::page::{internal_error, message_page, respond, Frame};
use crate::session::{see_other, set_cookie, AnonForm, AnonToken, MemberForm, SESSION_COOKIE};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use maud::html;

csrf_form! {
    LinkRequest { email: String }
    PasswordSignIn { email: String, password: String }
    Confirm {}
}

/// The answer to a request that sends mail to a typed-in address when requests for that
/// address, or from this client, come too fast; `None` when it may go ahead.
pub(crate) fn over_limit(
    state: &AppState,
    extensions: &Extensions,
    address: &str,
    frame: &Frame<'_>,
) -> Option<Response> {
    let client = ClientKey::of(extensions);
    (!state.limits.sign_in_allowed(address, &client)).then(|| {
        message_page(
            frame,
            StatusCode::TOO_MANY_REQUESTS,
            "sign_in_limited_title",
            "sign_in_limited_text",
        )
    })
}

pub async fn page(token: AnonToken) -> Response {
    let frame = token.frame();
    let body = html! {
        p { (frame.t("sign_in_intro")) }
        form method="post" action="/signin" {
            (frame.csrf_field())
            p {
                label for="email" { (frame.t("field_email")) }
                input id="email" name="email" type="email" autocomplete="email" required;
            }
            button type="submit" { (frame.t("sign_in_send_link")) }
        }
        h2 { (frame.t("sign_in_password_heading")) }
        form method="post" action="/signin/password" {
            (frame.csrf_field())
            p {
                label for="pw-email" { (frame.t("field_email")) }
                input id="pw-email" name="email" type="email" autocomplete="username" required;
            }
            p {
                label for="pw-password" { (frame.t("field_password")) }
                input id="pw-password" name="password" type="password" autocomplete="current-password" required;
            }
            button type="submit" { (frame.t("sign_in_with_password")) }
        }
    };
    token.attach(respond(
        StatusCode::OK,
        crate::page::layout(&frame, frame.t("sign_in_title"), body),
    ))
}

pub async fn request_link(
    State(state): State<AppState>,
    extensions: Extensions,
    AnonForm { lang, form }: AnonForm<LinkRequest>,
) -> Response {
    let frame = Frame::anonymous(lang, "/signin");
    let email = form.email.trim().to_lowercase();
    if let Some(refused) = over_limit(&state, &extensions, &email, &frame) {
        return refused;
    }
    let store = state.store.clone();
    let mails = state.mails.clone();
    tokio::spawn(async move {
        match store.request_sign_in(&email, &mails).await {
            Ok(sent) => tracing::info!(event = "portal.sign_in_requested", known = sent),
            Err(e) => tracing::error!(event = "portal.sign_in_request_failed", error = %e),
        }
    });
    message_page(
        &frame,
        StatusCode::OK,
        "sign_in_sent_title",
        "sign_in_sent_text",
    )
}

pub async fn with_password(
    State(state): State<AppState>,
    client: ClientKey,
    AnonForm { lang, form }: AnonForm<PasswordSignIn>,
) -> Response {
    let frame = Frame::anonymous(lang, "/signin");
    let email = form.email.trim().to_lowercase();
    let limits = state.limits.password();
    if !limits.attempt_allowed(&email, &client) {
        return message_page(
            &frame,
            StatusCode::TOO_MANY_REQUESTS,
            "sign_in_limited_title",
            "sign_in_password_limited_text",
        );
    }
    match state
        .store
        .sign_in_with_password(&email, &form.password)
        .await
    {
        Ok(Some(member_id)) => {
            limits.succeeded(&email, &client);
            start(&state, member_id, "password", lang).await
        }
        Ok(None) => {
            limits.failed(&email, &client);
            message_page(
                &frame,
                StatusCode::UNAUTHORIZED,
                "sign_in_failed_title",
                "sign_in_failed_text",
            )
        }
        Err(e) => internal_error(lang, &e),
    }
}

async fn start(state: &AppState, member_id: i64, how: &str, lang: crate::i18n::Lang) -> Response {
    match state.store.start_session(member_id, how).await {
        Ok(cookie) => see_other(
            "/me",
            vec![set_cookie(
                state,
                SESSION_COOKIE,
                &cookie,
                verteiler_store::SESSION_TTL_MS / 1000,
            )],
        ),
        Err(e) => internal_error(lang, &e),
    }
}

/// Secrets in our links are 64 hex digits; anything else is refused without a query.
pub fn is_secret(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The link from the mail shows a button: mail scanners fetch links, and a fetch must not use
/// up the one-time link.
pub async fn link_page(token: AnonToken, Path(secret): Path<String>) -> Response {
    let frame = token.frame();
    if !is_secret(&secret) {
        return link_invalid(&frame);
    }
    let body = html! {
        p { (frame.t("sign_in_link_text")) }
        form method="post" {
            (frame.csrf_field())
            button type="submit" { (frame.t("sign_in_link_button")) }
        }
    };
    token.attach(respond(
        StatusCode::OK,
        crate::page::layout(&frame, frame.t("sign_in_title"), body),
    ))
}

fn link_invalid(frame: &Frame<'_>) -> Response {
    let body = html! {
        p { (frame.t("sign_in_link_invalid_text")) }
        p { a href="/signin" { (frame.t("sign_in_request_new")) } }
    };
    respond(
        StatusCode::GONE,
        crate::page::layout(frame, frame.t("sign_in_link_invalid_title"), body),
    )
}

pub async fn use_link(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    AnonForm { lang, .. }: AnonForm<Confirm>,
) -> Response {
    let frame = Frame::anonymous(lang, "/signin");
    if !is_secret(&secret) {
        return link_invalid(&frame);
    }
    match state.store.redeem_sign_in(&secret).await {
        Ok(Some(member_id)) => start(&state, member_id, "link", lang).await,
        Ok(None) => link_invalid(&frame),
        Err(e) => internal_error(lang, &e),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    MemberForm { member, .. }: MemberForm<Confirm>,
) -> Response {
    match state.store.end_session(&member.cookie).await {
        Ok(()) => see_other("/signin", vec![set_cookie(&state, SESSION_COOKIE, "", 0)]),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    MemberForm { member, .. }: MemberForm<Confirm>,
) -> Response {
    match state.store.end_all_sessions(member.id()).await {
        Ok(_) => see_other("/signin", vec![set_cookie(&state, SESSION_COOKIE, "", 0)]),
        Err(e) => internal_error(member.lang, &e),
    }
}
