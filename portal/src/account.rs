//! The member's credentials and account: app passwords for the mail client (shown once), the
//! optional portal password, the download of everything stored, signing out everywhere, and
//! the deletion request an admin completes.

use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, message_page, respond, when};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

/// Portal passwords shorter than this are refused (NIST SP 800-63B's minimum for a
/// memorised secret chosen by the person).
const MIN_PASSWORD_CHARS: usize = 8;

csrf_form! {
    NewAppPassword { name: String }
    PasswordForm { password: String, repeat: String }
    Plain {}
}

pub async fn app_passwords(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let passwords = match state.store.list_app_passwords(member.id()).await {
        Ok(p) => p,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        p { (frame.t("app_passwords_intro")) }
        @if passwords.is_empty() {
            p { (frame.t("app_passwords_none")) }
        } @else {
            ul class="cards" {
                @for p in &passwords {
                    li {
                        strong { (p.name) }
                        br;
                        span { (frame.t("column_created")) ": " (when(p.created_at, frame.lang)) }
                        br;
                        span {
                            (frame.t("column_last_used")) ": "
                            @if let Some(at) = p.last_used_at { (when(at, frame.lang)) } @else { (frame.t("never")) }
                        }
                        br;
                        form method="post" action={ "/me/app-passwords/" (p.id) "/revoke" } class="inline" {
                            (frame.csrf_field())
                            button type="submit" aria-label=(frame.lang.text_with("app_password_revoke_named", &[("name", &p.name)])) { (frame.t("app_password_revoke")) }
                        }
                    }
                }
            }
        }
        h2 { (frame.t("app_password_new_heading")) }
        form method="post" action="/me/app-passwords" {
            (frame.csrf_field())
            p {
                label for="ap-name" { (frame.t("app_password_name")) }
                input id="ap-name" name="name" required maxlength="80";
            }
            button type="submit" { (frame.t("app_password_create")) }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("app_passwords_title"), body),
    )
}

pub async fn create_app_password(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<NewAppPassword>,
) -> Response {
    let frame = member.frame();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return message_page(
            &frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_invalid_title",
            "app_password_name_invalid",
        );
    }
    let (_, password) = match state
        .store_for(&member)
        .create_app_password(member.id(), name)
        .await
    {
        Ok(created) => created,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        p { (frame.lang.text_with("app_password_created_text", &[("name", name)])) }
        p class="secret" { code id="app-password" { (password) } }
        p { (frame.t("app_password_once")) }
        p { a href="/me/app-passwords" { (frame.t("back_to_app_passwords")) } }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("app_password_created_title"), body),
    )
}

pub async fn revoke_app_password(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    MemberForm { member, .. }: MemberForm<Plain>,
) -> Response {
    match state
        .store_for(&member)
        .revoke_app_password(member.id(), id)
        .await
    {
        Ok(true) => see_other("/me/app-passwords", vec![]),
        Ok(false) => not_found(&member.frame()),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn account(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let found = tokio::try_join!(
        state.store.has_portal_password(member.id()),
        state.store.open_deletion_request(member.id()),
    );
    let (has_password, deletion) = match found {
        Ok(found) => found,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        h2 { (frame.t("password_heading")) }
        p { @if has_password { (frame.t("password_is_set")) } @else { (frame.t("password_not_set")) } }
        form method="post" action="/me/password" {
            (frame.csrf_field())
            p {
                label for="password" { (frame.t("field_new_password")) }
                input id="password" name="password" type="password" autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required;
            }
            p {
                label for="repeat" { (frame.t("field_repeat_password")) }
                input id="repeat" name="repeat" type="password" autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required;
            }
            button type="submit" { (frame.t("save")) }
        }
        h2 { (frame.t("tokens_title")) }
        p { (frame.t("account_tokens_text")) " " a href="/me/tokens" { (frame.t("account_tokens_link")) } }
        h2 { (frame.t("export_heading")) }
        p { (frame.t("export_text")) " " a href="/me/export" download="verteiler-data.json" { (frame.t("export_link")) } }
        h2 { (frame.t("sessions_heading")) }
        form method="post" action="/signout/everywhere" {
            (frame.csrf_field())
            p { (frame.t("sessions_text")) }
            button type="submit" { (frame.t("sign_out_everywhere")) }
        }
        h2 { (frame.t("deletion_heading")) }
        @if let Some(at) = deletion {
            p { (frame.lang.text_with("deletion_open", &[("when", &when(at, frame.lang))])) }
        } @else {
            form method="post" action="/me/delete" {
                (frame.csrf_field())
                p { (frame.t("deletion_text")) }
                button type="submit" class="danger" { (frame.t("deletion_request")) }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("account_title"), body),
    )
}

pub async fn set_password(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<PasswordForm>,
) -> Response {
    let frame = member.frame();
    if form.password != form.repeat {
        return message_page(
            &frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_invalid_title",
            "password_mismatch",
        );
    }
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        return message_page(
            &frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_invalid_title",
            "password_too_short",
        );
    }
    match state
        .store_for(&member)
        .set_portal_password(member.id(), &form.password)
        .await
    {
        Ok(()) => message_page(
            &frame,
            StatusCode::OK,
            "password_saved_title",
            "password_saved_text",
        ),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// Everything stored about the member, as the JSON download the GDPR asks for.
pub async fn export(State(state): State<AppState>, member: Member) -> Response {
    let store = state.store_for(&member);
    match store.export_member_data(member.id()).await {
        Ok(Some(data)) => (
            [
                (CONTENT_TYPE, "application/json"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"verteiler-data.json\"",
                ),
                (CACHE_CONTROL, "no-store"),
            ],
            serde_json::to_string_pretty(&data).unwrap_or_default(),
        )
            .into_response(),
        Ok(None) => not_found(&member.frame()),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn request_deletion(
    State(state): State<AppState>,
    MemberForm { member, .. }: MemberForm<Plain>,
) -> Response {
    match state.store_for(&member).request_deletion(member.id()).await {
        Ok(_) => message_page(
            &member.frame(),
            StatusCode::OK,
            "deletion_requested_title",
            "deletion_requested_text",
        ),
        Err(e) => internal_error(member.lang, &e),
    }
}
