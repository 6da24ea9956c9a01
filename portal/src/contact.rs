//! The member's contact data: email addresses (a new one is used only after its link is
//! followed), phone numbers (after the 6-digit code from the SMS is typed in), and the postal
//! address. Imported data is shown but changed in the membership database.

use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, message_page, respond, Frame};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_store::{ContactChange, ContactPoint, PhoneOutcome, VerificationRefusal};

csrf_form! {
    EmailForm { email: String }
    PhoneForm { phone: String }
    CodeForm { code: String }
    PostalForm { street: String, postcode: String, city: String }
    ContactAction {}
}

fn state_of(frame: &Frame<'_>, c: &ContactPoint) -> Markup {
    html! {
        @if c.verified { (frame.t("contact_verified")) } @else { (frame.t("contact_unverified")) }
        @if c.primary { " · " (frame.t("contact_primary")) }
        @if c.from_import { " · " (frame.t("contact_from_import")) }
    }
}

fn remove_button(frame: &Frame<'_>, c: &ContactPoint) -> Markup {
    html! {
        @if !c.from_import {
            form method="post" action={ "/me/contact/" (c.id) "/remove" } class="inline" {
                (frame.csrf_field())
                button type="submit" aria-label=(frame.lang.text_with("contact_remove_named", &[("value", &c.value)])) { (frame.t("contact_remove")) }
            }
        }
    }
}

pub async fn page(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let contacts = match state.store.member_contacts(member.id()).await {
        Ok(c) => c,
        Err(e) => return internal_error(member.lang, &e),
    };
    let of = |kind: &'static str| contacts.iter().filter(move |c| c.kind == kind);
    let postal = of("postal")
        .find(|c| !c.from_import)
        .or_else(|| of("postal").next());
    let body = html! {
        h2 { (frame.t("contact_emails")) }
        ul class="contacts" {
            @for c in of("email") {
                li { span class="value" { (c.value) } " (" (state_of(&frame, c)) ") " (remove_button(&frame, c)) }
            }
        }
        form method="post" action="/me/contact/email" {
            (frame.csrf_field())
            p {
                label for="new-email" { (frame.t("contact_add_email")) }
                input id="new-email" name="email" type="email" autocomplete="email" required;
            }
            button type="submit" { (frame.t("contact_add")) }
        }
        h2 { (frame.t("contact_phones")) }
        ul class="contacts" {
            @for c in of("phone") {
                li {
                    span class="value" { (c.value) } " (" (state_of(&frame, c)) ") " (remove_button(&frame, c))
                    @if !c.verified {
                        form method="post" action={ "/me/contact/" (c.id) "/verify" } {
                            (frame.csrf_field())
                            p {
                                label for={ "code-" (c.id) } { (frame.lang.text_with("contact_code_for", &[("value", &c.value)])) }
                                input id={ "code-" (c.id) } name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required;
                            }
                            button type="submit" { (frame.t("contact_verify")) }
                        }
                        form method="post" action={ "/me/contact/" (c.id) "/resend" } class="inline" {
                            (frame.csrf_field())
                            button type="submit" { (frame.t("contact_resend_code")) }
                        }
                    }
                }
            }
        }
        form method="post" action="/me/contact/phone" {
            (frame.csrf_field())
            p {
                label for="new-phone" { (frame.t("contact_add_phone")) }
                input id="new-phone" name="phone" type="tel" autocomplete="tel" required;
            }
            button type="submit" { (frame.t("contact_add")) }
        }
        h2 { (frame.t("contact_postal")) }
        @if let Some(p) = postal {
            p { (p.value) " (" (state_of(&frame, p)) ")" }
        }
        form method="post" action="/me/contact/postal" {
            (frame.csrf_field())
            p {
                label for="street" { (frame.t("field_street")) }
                input id="street" name="street" autocomplete="street-address" required value=[postal.and_then(|p| p.street.as_deref())];
            }
            p {
                label for="postcode" { (frame.t("field_postcode")) }
                input id="postcode" name="postcode" autocomplete="postal-code" required value=[postal.and_then(|p| p.postcode.as_deref())];
            }
            p {
                label for="city" { (frame.t("field_city")) }
                input id="city" name="city" autocomplete="address-level2" required value=[postal.and_then(|p| p.city.as_deref())];
            }
            button type="submit" { (frame.t("save")) }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("contact_title"), body),
    )
}

/// What a change to contact data becomes for the person.
fn answer(
    member: &Member,
    change: Result<ContactChange, verteiler_store::StoreError>,
    done: &str,
) -> Response {
    let frame = member.frame();
    match change {
        Ok(ContactChange::Done) if done == "/me/contact" => see_other(done, vec![]),
        Ok(ContactChange::Done) => message_page(
            &frame,
            StatusCode::OK,
            "contact_email_sent_title",
            "contact_email_sent_text",
        ),
        Ok(ContactChange::Invalid(reason)) => {
            let body = html! {
                p { (frame.t("contact_invalid_text")) }
                p { (reason) }
                p { a href="/me/contact" { (frame.t("back_to_contact")) } }
            };
            respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&frame, frame.t("contact_invalid_title"), body),
            )
        }
        Ok(ContactChange::AlreadyThere) => see_other("/me/contact", vec![]),
        Ok(ContactChange::NotFound) => not_found(&frame),
        Ok(ContactChange::LastVerifiedEmail) => message_page(
            &frame,
            StatusCode::CONFLICT,
            "contact_last_email_title",
            "contact_last_email_text",
        ),
        Ok(ContactChange::FromImport) => message_page(
            &frame,
            StatusCode::CONFLICT,
            "contact_imported_title",
            "contact_imported_text",
        ),
        Ok(ContactChange::Limited(refusal)) => limited(&frame, refusal),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// A code or link refused by a limit on verifications: which one, and its figure.
fn limited(frame: &Frame<'_>, refusal: VerificationRefusal) -> Response {
    let (key, limit) = match refusal {
        VerificationRefusal::MemberPerHour { limit } => ("contact_limit_member_hour", limit),
        VerificationRefusal::MemberPerDay { limit } => ("contact_limit_member_day", limit),
        VerificationRefusal::DestinationPerHour { limit } => {
            ("contact_limit_destination_hour", limit)
        }
        VerificationRefusal::DestinationPerDay { limit } => {
            ("contact_limit_destination_day", limit)
        }
        VerificationRefusal::SmsBudget { .. } => ("contact_limit_sms_budget", 0),
    };
    let body = html! {
        p { (frame.lang.text_with(key, &[("limit", &limit.to_string())])) }
        p { a href="/me/contact" { (frame.t("back_to_contact")) } }
    };
    respond(
        StatusCode::TOO_MANY_REQUESTS,
        layout(frame, frame.t("contact_limit_title"), body),
    )
}

pub async fn add_email(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<EmailForm>,
) -> Response {
    let change = state
        .store_for(&member)
        .add_email(member.id(), &form.email, &state.mails)
        .await;
    answer(&member, change, "mail sent")
}

pub async fn add_phone(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<PhoneForm>,
) -> Response {
    let change = state
        .store_for(&member)
        .add_phone(
            member.id(),
            &form.phone,
            &state.settings.phone_region,
            &state.mails,
        )
        .await;
    answer(&member, change, "/me/contact")
}

pub async fn resend_code(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    MemberForm { member, .. }: MemberForm<ContactAction>,
) -> Response {
    let change = state
        .store_for(&member)
        .resend_phone_code(member.id(), id, &state.mails)
        .await;
    answer(&member, change, "/me/contact")
}

pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    MemberForm { member, .. }: MemberForm<ContactAction>,
) -> Response {
    let change = state
        .store_for(&member)
        .remove_contact(member.id(), id)
        .await;
    answer(&member, change, "/me/contact")
}

pub async fn set_postal(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<PostalForm>,
) -> Response {
    let change = state
        .store_for(&member)
        .set_postal_address(member.id(), &form.street, &form.postcode, &form.city)
        .await;
    answer(&member, change, "/me/contact")
}

pub async fn verify_phone(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    MemberForm { member, form }: MemberForm<CodeForm>,
) -> Response {
    let frame = member.frame();
    match state
        .store_for(&member)
        .verify_phone(member.id(), id, &form.code)
        .await
    {
        Ok(PhoneOutcome::Verified) => see_other("/me/contact", vec![]),
        Ok(PhoneOutcome::WrongCode { attempts_left }) => {
            let body = html! {
                p { (frame.lang.text_with("contact_code_wrong_text", &[("left", &attempts_left.to_string())])) }
                p { a href="/me/contact" { (frame.t("back_to_contact")) } }
            };
            respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&frame, frame.t("contact_code_wrong_title"), body),
            )
        }
        Ok(PhoneOutcome::NoCode) => message_page(
            &frame,
            StatusCode::GONE,
            "contact_code_gone_title",
            "contact_code_gone_text",
        ),
        Err(e) => internal_error(member.lang, &e),
    }
}
