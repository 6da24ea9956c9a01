//! `/admin/new-audience`: a list made by hand, through the same store operation as
//! `verteiler audience create`; a refusal shows the form again as entered, the field named.

use super::errors::{list_refusal, Failure, Refusal};
use super::form::ListForm;
use super::form_view::{self, FormContext};
use crate::admin::{org_limits, require_admin};
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

fn new_page(
    state: &AppState,
    frame: &Frame<'_>,
    form: &ListForm,
    refusal: Option<&Refusal>,
) -> Markup {
    let cx = FormContext {
        action: "/admin/new-audience",
        template: None,
        invalid: refusal.and_then(|r| r.field),
        submit_id: "list-create",
        submit_key: "list_create",
    };
    let body = html! {
        @if let Some(r) = refusal { (r.render(frame)) }
        p { (frame.t("list_new_intro")) }
        (form_view::render(frame, form, &org_limits(state), &cx))
        p { a href="/admin/audiences" { (frame.t("admin_audiences_title")) } }
    };
    layout(frame, frame.t("list_new_title"), body)
}

pub async fn new_list(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    respond(
        StatusCode::OK,
        new_page(&state, &frame, &ListForm::blank(), None),
    )
}

pub async fn create(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<ListForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let store = state.store_for(&member);
    let failure = match form.definition(&store, None).await {
        Ok(a) => match store.create_list(&a, &org_limits(&state)).await {
            Ok(_) => return see_other(&format!("/admin/audiences/{}", a.slug), vec![]),
            Err(e) => list_refusal(e, Some(&a), "slug", frame.lang.policies()),
        },
        Err(f) => f,
    };
    match failure {
        Failure::Store(e) => internal_error(member.lang, &e),
        Failure::Refused(r) => respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            new_page(&state, &frame, &form, Some(&r)),
        ),
    }
}
