//! `/admin/audiences`, `/admin/new-audience`, `/admin/templates`: the organisation's lists,
//! made, changed, switched off and on, given further addresses and deleted by an admin through
//! the same store operations as `verteiler audience …` (each audited with the admin as actor).
//! Whatever the store refuses is shown with the field it names and nothing is changed.

mod changes;
mod create;
mod errors;
mod form;
mod form_view;
mod overview;
mod state;
mod templates;

pub use create::{create, new_list};
pub(crate) use errors::{unit_refusal, Failure, Refusal};
pub use overview::index;
pub(crate) use state::{named, state_text, switch_form, ActiveForm};
pub use templates::templates;

use crate::admin::{actor, org_limits, require_admin};
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond};
use crate::session::{bad_form, see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use errors::list_refusal;
use form::ListForm;
use form_view::FormContext;
use maud::{html, Markup};
use std::collections::HashMap;
use verteiler_policies::AudienceSlug;
use verteiler_store::{Audience, Store, StoreError};

csrf_form! {
    AliasForm { alias: String }
    // A checkbox: absent when not ticked.
    DeleteForm { confirm: Option<String> }
}

/// The list domain, when the portal knows it (addresses are shown with it).
fn domain(state: &AppState) -> Option<&str> {
    state
        .settings
        .approvals
        .as_ref()
        .map(|a| a.list_domain.as_str())
}

/// The slug of a list address or a bare slug, as the CLI takes it.
fn slug_of(given: &str) -> Option<AudienceSlug> {
    AudienceSlug::parse(given.trim().split('@').next().unwrap_or_default()).ok()
}

/// The list behind `slug` (its own address or an alias), for an admin only.
async fn admin_list(state: &AppState, member: &Member, slug: &str) -> Result<Audience, Response> {
    require_admin(state, member).await?;
    let Some(slug) = slug_of(slug) else {
        return Err(not_found(&member.frame()));
    };
    match state.store.audience_by_slug(&slug).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(not_found(&member.frame())),
        Err(e) => Err(internal_error(member.lang, &e)),
    }
}

/// The codes of these units (those that exist).
async fn unit_codes(store: &Store, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    let mut codes = HashMap::new();
    for id in ids {
        if let Some(unit) = store.unit_by_id(*id).await? {
            codes.insert(*id, unit.code);
        }
    }
    Ok(codes)
}

/// What a list's page shows besides its current state.
#[derive(Default)]
struct Shown {
    /// The form as entered (after a refusal); `None`: the list's current definition.
    form: Option<ListForm>,
    message: Option<Markup>,
    invalid: Option<&'static str>,
    alias: String,
}

async fn show(
    state: &AppState,
    member: &Member,
    list: &Audience,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let frame = member.frame();
    let data = async {
        let aliases = state.store.aliases_of(list.id).await?;
        let form = match shown.form {
            // A template's list posts no address or name: they are shown as they are.
            Some(f) if list.template_id.is_some() => ListForm {
                slug: list.slug.to_string(),
                name: list.name.clone(),
                ..f
            },
            Some(f) => f,
            None => {
                let codes = unit_codes(&state.store, &[list.unit_id, list.scope_unit_id]).await?;
                let code = |id| codes.get(&id).cloned().unwrap_or_default();
                ListForm {
                    seen: list.definition_tag(),
                    ..ListForm::of(
                        &list.definition(),
                        &code(list.unit_id),
                        &code(list.scope_unit_id),
                    )
                }
            }
        };
        Ok::<_, StoreError>((aliases, form))
    };
    let (aliases, form) = match data.await {
        Ok(d) => d,
        Err(e) => return internal_error(member.lang, &e),
    };
    let usual_size = crate::admin::usual_size::section(state, &frame, list).await;
    let shown_list = match state::named(&state.store, list.deactivation.as_ref()).await {
        Ok(deactivation) => Audience {
            deactivation,
            ..list.clone()
        },
        Err(e) => return internal_error(member.lang, &e),
    };
    let action = format!("/admin/audiences/{}", list.slug);
    let cx = FormContext {
        action: &action,
        template: list.template_id.as_deref(),
        invalid: shown.invalid,
        submit_id: "list-save",
        submit_key: "list_save",
    };
    let body = html! {
        @if let Some(message) = shown.message { (message) }
        (state::state_section(&frame, &shown_list))
        (state::addresses_section(&frame, list, &aliases, domain(state), &shown.alias))
        section aria-labelledby="list-definition-heading" {
            h2 id="list-definition-heading" { (frame.t("list_definition_heading")) }
            (form_view::render(&frame, &form, &org_limits(state), &cx))
        }
        (usual_size)
        (state::delete_section(&frame, list))
        p { a href="/admin/audiences" { (frame.t("admin_audiences_title")) } }
    };
    respond(status, layout(&frame, &list.name, body))
}

/// The page again after a refusal (422), or the internal error.
async fn refused(
    state: &AppState,
    member: &Member,
    list: &Audience,
    failure: Failure,
    shown: Shown,
) -> Response {
    match failure {
        Failure::Store(e) => internal_error(member.lang, &e),
        Failure::Refused(r) => {
            let shown = Shown {
                message: Some(r.render(&member.frame())),
                invalid: r.field,
                ..shown
            };
            show(state, member, list, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    member: Member,
) -> Response {
    match admin_list(&state, &member, &slug).await {
        Ok(list) => show(&state, &member, &list, Shown::default(), StatusCode::OK).await,
        Err(r) => r,
    }
}

pub async fn save(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form }: MemberForm<ListForm>,
) -> Response {
    let list = match admin_list(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let store = state.store_for(&member);
    let lang = member.lang.policies();
    let after = match form.definition(&store, Some(&list)).await {
        Ok(a) => a,
        Err(f) => {
            return refused(
                &state,
                &member,
                &list,
                f,
                Shown {
                    form: Some(form),
                    ..Shown::default()
                },
            )
            .await
        }
    };
    let seen = Some(form.seen.as_str()).filter(|s| !s.is_empty());
    let changes = match store
        .edit_list_seen(list.id, seen, &after, &org_limits(&state))
        .await
    {
        Ok(c) => c,
        Err(e) => {
            // A form older than the list's last change is shown again filled with the list as
            // it is now, so the admin sees what changed before making their change again.
            let stale = matches!(e, verteiler_store::lists::ListError::ChangedMeanwhile(_));
            let failure = list_refusal(e, Some(&after), "slug", lang);
            return refused(
                &state,
                &member,
                &list,
                failure,
                Shown {
                    form: (!stale).then_some(form),
                    ..Shown::default()
                },
            )
            .await;
        }
    };
    let before = list.definition();
    let ids = [
        before.unit_id,
        before.scope_unit_id,
        after.unit_id,
        after.scope_unit_id,
    ];
    let (now, codes) = match async {
        Ok::<_, StoreError>((
            store.audience_by_id(list.id).await?,
            unit_codes(&store, &ids).await?,
        ))
    }
    .await
    {
        Ok((Some(now), codes)) => (now, codes),
        Ok((None, _)) => return not_found(&member.frame()),
        Err(e) => return internal_error(member.lang, &e),
    };
    let frame = member.frame();
    let lines = changes::lines(&frame, &changes, &before, &now.definition(), &codes);
    let message = html! {
        section role="status" aria-labelledby="saved" id="list-saved" {
            h2 id="saved" { (frame.t("admin_saved")) }
            @if lines.is_empty() {
                p { (frame.t("admin_unchanged")) }
            } @else {
                ul { @for line in &lines { li { (line) } } }
            }
            p { a href={ "/admin/audit?person=" (actor(&member)) } { (frame.t("admin_see_audit")) } }
        }
    };
    let shown = Shown {
        message: Some(message),
        ..Shown::default()
    };
    show(&state, &member, &now, shown, StatusCode::OK).await
}

/// The answer to a list action: to `done` when the store did it, else the list's page with
/// the store's refusal (named at `field`) and what the form showed.
async fn answered<T>(
    state: &AppState,
    member: &Member,
    list: &Audience,
    result: Result<T, verteiler_store::lists::ListError>,
    done: String,
    field: &'static str,
    shown: Shown,
) -> Response {
    match result {
        Ok(_) => see_other(&done, vec![]),
        Err(e) => {
            let failure = list_refusal(e, None, field, member.lang.policies());
            refused(state, member, list, failure, shown).await
        }
    }
}

/// [`answered`], back on the list's own page when the change was made.
async fn answered_on_list<T>(
    state: &AppState,
    member: &Member,
    list: &Audience,
    result: Result<T, verteiler_store::lists::ListError>,
    field: &'static str,
    shown: Shown,
) -> Response {
    let page = format!("/admin/audiences/{}", list.slug);
    answered(state, member, list, result, page, field, shown).await
}

pub async fn set_active(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form }: MemberForm<ActiveForm>,
) -> Response {
    let list = match admin_list(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(active) = form.wanted() else {
        return bad_form(member.lang, &member.path);
    };
    let result = state
        .store_for(&member)
        .set_list_active(list.id, active)
        .await;
    answered_on_list(&state, &member, &list, result, "slug", Shown::default()).await
}

pub async fn add_alias(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form }: MemberForm<AliasForm>,
) -> Response {
    let list = match admin_list(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let shown = || Shown {
        alias: form.alias.clone(),
        ..Shown::default()
    };
    let Some(alias) = slug_of(&form.alias) else {
        let failure = Refusal::at("alias", "list_error_slug_invalid").into();
        return refused(&state, &member, &list, failure, shown()).await;
    };
    let result = state.store_for(&member).add_alias(list.id, &alias).await;
    answered_on_list(&state, &member, &list, result, "alias", shown()).await
}

pub async fn remove_alias(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form }: MemberForm<AliasForm>,
) -> Response {
    let list = match admin_list(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let aliases = match state.store.aliases_of(list.id).await {
        Ok(a) => a,
        Err(e) => return internal_error(member.lang, &e),
    };
    // Only this list's own aliases are removed through its page.
    let alias = slug_of(&form.alias).filter(|a| aliases.iter().any(|x| x == a.as_str()));
    let Some(alias) = alias else {
        let failure = Refusal::at("alias", "list_error_not_an_alias")
            .with("alias", form.alias.trim())
            .into();
        return refused(&state, &member, &list, failure, Shown::default()).await;
    };
    let result = state.store_for(&member).remove_alias(&alias).await;
    answered_on_list(&state, &member, &list, result, "alias", Shown::default()).await
}

pub async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form }: MemberForm<DeleteForm>,
) -> Response {
    let list = match admin_list(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if form.confirm.is_none() {
        let failure = Refusal::at("confirm", "list_error_confirm").into();
        return refused(&state, &member, &list, failure, Shown::default()).await;
    }
    let result = state.store_for(&member).delete_list(list.id).await;
    let index = format!("/admin/audiences?deleted={}", list.slug);
    answered(
        &state,
        &member,
        &list,
        result,
        index,
        "slug",
        Shown::default(),
    )
    .await
}
