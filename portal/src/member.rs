//! The signed-in member's start page and lists: which units and audiences reach them, the
//! channel per category, topic lists to join (double opt-in) and leave (at once).

use crate::csrf_form;
use crate::page::{internal_error, layout, message_page, respond};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{AudienceKind, Category, ChannelPreference};
use verteiler_store::{SubscribeOutcome, SubscriptionState};

csrf_form! {
    ChannelForm { category: String, channel: String }
    ListAction {}
}

pub(crate) fn category_key(category: Category) -> &'static str {
    match category {
        Category::Statutory => "category_statutory",
        Category::Announcement => "category_announcement",
        Category::Discussion => "category_discussion",
    }
}

pub(crate) fn kind_key(kind: AudienceKind) -> &'static str {
    match kind {
        AudienceKind::Structural => "kind_structural",
        AudienceKind::Functional => "kind_functional",
        AudienceKind::Topic => "kind_topic",
    }
}

pub async fn root() -> Response {
    see_other("/me", vec![])
}

pub async fn overview(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let overview = match state.store.member_overview(member.id()).await {
        Ok(Some(o)) => o,
        Ok(None) => return see_other("/signin", vec![]),
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        h2 { (frame.t("overview_units")) }
        @if overview.units.is_empty() {
            p { (frame.t("overview_no_units")) }
        } @else {
            ul { @for unit in &overview.units { li { (unit.name) } } }
        }
        h2 { (frame.t("overview_audiences")) }
        @if overview.audiences.is_empty() {
            p { (frame.t("overview_no_audiences")) }
        } @else {
            // A list, not a table: it reads the same on a phone as on a desk.
            ul class="cards" {
                @for a in &overview.audiences {
                    li {
                        strong { (a.name) }
                        br;
                        span {
                            (frame.t(kind_key(a.kind))) " · " (frame.t(category_key(a.category))) " · "
                            @if a.left { (frame.t("state_left")) }
                            @else if a.pending { (frame.t("state_pending")) }
                            @else { (frame.t("state_receiving")) }
                        }
                    }
                }
            }
        }
        p { a href="/me/subscriptions" { (frame.t("overview_manage")) } }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("overview_title"), body),
    )
}

fn channel_select(
    frame: &crate::page::Frame<'_>,
    category: Category,
    chosen: Option<ChannelPreference>,
) -> Markup {
    let id = format!("channel-{}", category.as_str());
    let options = [
        (ChannelPreference::Email, "channel_email"),
        (ChannelPreference::Sms, "channel_sms"),
        (ChannelPreference::Post, "channel_post"),
        (ChannelPreference::None, "channel_none"),
    ];
    html! {
        form method="post" action="/me/channels" class="channel" {
            (frame.csrf_field())
            input type="hidden" name="category" value=(category.as_str());
            label for=(id) { (frame.t(category_key(category))) }
            select id=(id) name="channel" {
                @for (channel, key) in options {
                    @if channel.allowed_for(category) {
                        option value=(channel.as_str()) selected[chosen.unwrap_or(ChannelPreference::Email) == channel] { (frame.t(key)) }
                    }
                }
            }
            button type="submit" { (frame.t("save")) }
        }
    }
}

pub async fn subscriptions(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let (preferences, lists, overview) = match tokio::try_join!(
        state.store.channel_preferences(member.id()),
        state.store.topic_lists_for(member.id()),
        state.store.member_overview(member.id()),
    ) {
        Ok(found) => found,
        Err(e) => return internal_error(member.lang, &e),
    };
    let leavable: Vec<_> = overview
        .map(|o| o.audiences)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.kind != AudienceKind::Topic && a.category != Category::Statutory)
        .collect();
    let body = html! {
        h2 { (frame.t("channels_heading")) }
        p { (frame.t("channels_intro")) }
        @for (category, chosen) in &preferences {
            (channel_select(&frame, *category, *chosen))
        }
        h2 { (frame.t("topics_heading")) }
        @if lists.is_empty() {
            p { (frame.t("topics_none")) }
        } @else {
            ul class="lists" {
                @for list in &lists {
                    li {
                        span class="name" { (list.name) }
                        " "
                        @match list.state {
                            Some(SubscriptionState::Confirmed) => {
                                span { (frame.t("state_subscribed")) " " }
                                form method="post" action={ "/me/subscriptions/" (list.audience_id) "/leave" } class="inline" {
                                    (frame.csrf_field())
                                    button type="submit" aria-label=(frame.lang.text_with("leave_list", &[("list", &list.name)])) { (frame.t("leave")) }
                                }
                            }
                            Some(SubscriptionState::Pending) => {
                                span { (frame.t("state_pending")) " " }
                                form method="post" action={ "/me/subscriptions/" (list.audience_id) "/join" } class="inline" {
                                    (frame.csrf_field())
                                    button type="submit" aria-label=(frame.lang.text_with("resend_confirmation_for", &[("list", &list.name)])) { (frame.t("resend_confirmation")) }
                                }
                            }
                            _ => {
                                form method="post" action={ "/me/subscriptions/" (list.audience_id) "/join" } class="inline" {
                                    (frame.csrf_field())
                                    button type="submit" aria-label=(frame.lang.text_with("join_list", &[("list", &list.name)])) { (frame.t("join")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (frame.t("unit_lists_heading")) }
        p { (frame.t("unit_lists_intro")) }
        @if leavable.is_empty() {
            p { (frame.t("unit_lists_none")) }
        } @else {
            ul class="lists" {
                @for a in &leavable {
                    li {
                        span class="name" { (a.name) }
                        " "
                        @if a.left {
                            span { (frame.t("state_left")) }
                        } @else {
                            form method="post" action={ "/me/subscriptions/" (a.audience_id) "/leave" } class="inline" {
                                (frame.csrf_field())
                                button type="submit" aria-label=(frame.lang.text_with("leave_list", &[("list", &a.name)])) { (frame.t("leave")) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("subscriptions_title"), body),
    )
}

pub async fn set_channel(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<ChannelForm>,
) -> Response {
    let parsed = (
        form.category.parse::<Category>(),
        form.channel.parse::<ChannelPreference>(),
    );
    let (Ok(category), Ok(channel)) = parsed else {
        return message_page(
            &member.frame(),
            StatusCode::BAD_REQUEST,
            "form_invalid_title",
            "form_invalid_text",
        );
    };
    match state
        .store_for(&member)
        .set_channel_preference(member.id(), category, channel)
        .await
    {
        Ok(true) => see_other("/me/subscriptions", vec![]),
        Ok(false) => message_page(
            &member.frame(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "statutory_off_title",
            "statutory_off_text",
        ),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn join(
    State(state): State<AppState>,
    Path(audience_id): Path<i64>,
    MemberForm { member, .. }: MemberForm<ListAction>,
) -> Response {
    let frame = member.frame();
    match state
        .store_for(&member)
        .request_subscription(member.id(), audience_id, &state.mails)
        .await
    {
        Ok(SubscribeOutcome::ConfirmationSent) => {
            message_page(&frame, StatusCode::OK, "join_sent_title", "join_sent_text")
        }
        Ok(SubscribeOutcome::AlreadySubscribed) => see_other("/me/subscriptions", vec![]),
        Ok(SubscribeOutcome::NoVerifiedEmail) => message_page(
            &frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            "join_no_email_title",
            "join_no_email_text",
        ),
        Ok(SubscribeOutcome::NotAvailable) => not_found(&frame),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn leave(
    State(state): State<AppState>,
    Path(audience_id): Path<i64>,
    MemberForm { member, .. }: MemberForm<ListAction>,
) -> Response {
    match state
        .store_for(&member)
        .leave_audience(member.id(), audience_id)
        .await
    {
        Ok(true) => see_other("/me/subscriptions", vec![]),
        Ok(false) => not_found(&member.frame()),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// The answer to an id that is not the member's: the same as for one that does not exist.
pub fn not_found(frame: &crate::page::Frame<'_>) -> Response {
    message_page(
        frame,
        StatusCode::NOT_FOUND,
        "not_found_title",
        "not_found_text",
    )
}
