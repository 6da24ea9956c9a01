//! Pages without sign-in: subscribing to a topic list open to the public (double opt-in, no
//! account needed), the confirmation links of subscriptions and new addresses, and the
//! language switch.

use crate::csrf_form;
use crate::i18n::Lang;
use crate::page::{internal_error, layout, message_page, respond, Frame};
use crate::session::{local_path, see_other, set_cookie, AnonForm, AnonToken, LANG_COOKIE};
use crate::sign_in::{is_secret, over_limit};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use verteiler_policies::EmailAddress;
use verteiler_store::{ConfirmOutcome, Confirmable};

csrf_form! {
    PublicSubscribe { email: String }
    ConfirmForm {}
}

fn unknown_list(frame: &Frame<'_>) -> Response {
    message_page(
        frame,
        StatusCode::NOT_FOUND,
        "public_list_unknown_title",
        "public_list_unknown_text",
    )
}

pub async fn list_page(
    State(state): State<AppState>,
    token: AnonToken,
    Path(slug): Path<String>,
) -> Response {
    let frame = token.frame();
    let list = match state.store.public_list(&slug).await {
        Ok(Some((_, name))) => name,
        Ok(None) => return unknown_list(&frame),
        Err(e) => return internal_error(frame.lang, &e),
    };
    let title = frame
        .lang
        .text_with("public_list_title", &[("list", &list)]);
    let body = html! {
        p { (frame.lang.text_with("public_list_intro", &[("list", &list)])) }
        form method="post" {
            (frame.csrf_field())
            p {
                label for="email" { (frame.t("field_email")) }
                input id="email" name="email" type="email" autocomplete="email" required;
            }
            button type="submit" { (frame.t("join")) }
        }
    };
    token.attach(respond(StatusCode::OK, layout(&frame, &title, body)))
}

pub async fn subscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    extensions: Extensions,
    AnonForm { lang, form }: AnonForm<PublicSubscribe>,
) -> Response {
    let path = format!("/lists/{slug}");
    let frame = Frame::anonymous(lang, &path);
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return message_page(
            &frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_invalid_title",
            "public_email_invalid",
        );
    };
    if let Some(refused) = over_limit(&state, &extensions, &email.key(), &frame) {
        return refused;
    }
    match state.store.public_list(&slug).await {
        Ok(Some(_)) => {}
        Ok(None) => return unknown_list(&frame),
        Err(e) => return internal_error(lang, &e),
    }
    // Whether the address was subscribed already is nobody's business: one answer for all.
    match state
        .store
        .request_public_subscription(&slug, &email, lang.policies(), &state.mails)
        .await
    {
        Ok(_) => message_page(&frame, StatusCode::OK, "join_sent_title", "join_sent_text"),
        Err(e) => internal_error(lang, &e),
    }
}

fn link_invalid(frame: &Frame<'_>) -> Response {
    message_page(
        frame,
        StatusCode::GONE,
        "confirm_invalid_title",
        "confirm_invalid_text",
    )
}

/// Shows what the link confirms, with a button: link scanners must not confirm anything.
pub async fn confirm_page(
    State(state): State<AppState>,
    token: AnonToken,
    Path(secret): Path<String>,
) -> Response {
    let frame = token.frame();
    if !is_secret(&secret) {
        return link_invalid(&frame);
    }
    let text = match state.store.confirmation_preview(&secret).await {
        Ok(Some(Confirmable::Subscription { list })) => frame
            .lang
            .text_with("confirm_subscription_text", &[("list", &list)]),
        Ok(Some(Confirmable::Email { address })) => frame
            .lang
            .text_with("confirm_email_text", &[("address", &address)]),
        Ok(None) => return link_invalid(&frame),
        Err(e) => return internal_error(frame.lang, &e),
    };
    let body = html! {
        p { (text) }
        form method="post" {
            (frame.csrf_field())
            button type="submit" { (frame.t("confirm_button")) }
        }
    };
    token.attach(respond(
        StatusCode::OK,
        layout(&frame, frame.t("confirm_title"), body),
    ))
}

pub async fn confirm(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    AnonForm { lang, .. }: AnonForm<ConfirmForm>,
) -> Response {
    let path = format!("/confirm/{secret}");
    let frame = Frame::anonymous(lang, &path);
    if !is_secret(&secret) {
        return link_invalid(&frame);
    }
    let text = match state.store.confirm(&secret).await {
        Ok(ConfirmOutcome::Confirmed(Confirmable::Subscription { list })) => {
            lang.text_with("confirmed_subscription_text", &[("list", &list)])
        }
        Ok(ConfirmOutcome::Confirmed(Confirmable::Email { address })) => {
            lang.text_with("confirmed_email_text", &[("address", &address)])
        }
        Ok(ConfirmOutcome::Invalid) => return link_invalid(&frame),
        Err(e) => return internal_error(lang, &e),
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("confirmed_title"), html! { p { (text) } }),
    )
}

#[derive(Debug, Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// The language switch: remembered in a cookie for a year, then back to the page it was on
/// (when `back` is plainly one of ours: [`local_path`]).
pub async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(back): Query<Back>,
) -> Response {
    let to = local_path(back.back.as_deref());
    match Lang::from_code(&code) {
        Some(lang) => see_other(
            to,
            vec![set_cookie(&state, LANG_COOKIE, lang.code(), 365 * 86_400)],
        ),
        None => see_other(to, vec![]),
    }
}
