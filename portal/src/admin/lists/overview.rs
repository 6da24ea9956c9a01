//! `/admin/audiences`: every list with its address, kind, unit, state (on; off by whom and
//! when; off because its unit left the export) and origin (a template or by hand).

use super::{domain, slug_of, state, state_text};
use crate::admin::require_admin;
use crate::member::{category_key, kind_key};
use crate::page::{internal_error, layout, respond};
use crate::session::Member;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

#[derive(serde::Deserialize, Default)]
pub struct IndexQuery {
    #[serde(default)]
    deleted: String,
}

pub async fn index(
    State(state): State<AppState>,
    Query(query): Query<IndexQuery>,
    member: Member,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let all = match state.store.lists_overview().await {
        Ok(a) => a,
        Err(e) => return internal_error(member.lang, &e),
    };
    let deleted = slug_of(&query.deleted);
    let columns = [
        "audiences_name",
        "list_field_slug",
        "audiences_kind",
        "admin_unit",
        "list_state_heading",
        "list_origin",
    ];
    let body = html! {
        @if let Some(slug) = &deleted {
            p role="status" id="list-deleted" { (frame.lang.text_with("list_deleted", &[("slug", slug.as_str())])) }
        }
        ul {
            li { a href="/admin/new-audience" id="list-new" { (frame.t("list_new_title")) } }
            li { a href="/admin/templates" id="list-templates" { (frame.t("templates_title")) } }
        }
        table class="stack" id="lists" {
            caption { (frame.t("admin_audiences_caption")) }
            thead { tr { @for key in columns { th scope="col" { (frame.t(key)) } } } }
            tbody {
                @for o in &all {
                    @let a = &o.list;
                    tr {
                        td data-label=(frame.t(columns[0])) { a href={ "/admin/audiences/" (a.slug) } { (a.name) } }
                        td data-label=(frame.t(columns[1])) { span class="address" { (state::address(a.slug.as_str(), domain(&state))) } }
                        td data-label=(frame.t(columns[2])) { (frame.t(kind_key(a.kind))) ", " (frame.t(category_key(a.category))) }
                        td data-label=(frame.t(columns[3])) { (o.unit_code) }
                        td data-label=(frame.t(columns[4])) { (state_text(&frame, "list", a.active, a.deactivation.as_ref(), true)) }
                        td data-label=(frame.t(columns[5])) {
                            @match &a.template_id {
                                Some(t) => (frame.lang.text_with("list_origin_template_short", &[("template", t)])),
                                None => (frame.t("list_origin_hand_short")),
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("admin_audiences_title"), body),
    )
}
