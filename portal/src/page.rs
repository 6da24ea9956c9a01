//! The frame every HTML page shares, and how pages are answered.

use crate::i18n::Lang;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY, VARY};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use verteiler_store::PortalSession;

/// What the frame of a page needs to know about the request.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub lang: Lang,
    /// This page's path: where the language switch returns to.
    pub path: &'a str,
    pub member: Option<&'a PortalSession>,
    /// The token the page's forms carry (empty on pages without forms).
    pub csrf: &'a str,
}

impl<'a> Frame<'a> {
    pub fn anonymous(lang: Lang, path: &'a str) -> Frame<'a> {
        Frame {
            lang,
            path,
            member: None,
            csrf: "",
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.text(key)
    }

    /// The hidden field every state-changing form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

/// The member pages, in the order of the navigation.
const MEMBER_PAGES: [(&str, &str); 9] = [
    ("/me", "nav_overview"),
    ("/me/subscriptions", "nav_subscriptions"),
    ("/me/contact", "nav_contact"),
    ("/me/app-passwords", "nav_app_passwords"),
    ("/me/tokens", "nav_api_tokens"),
    ("/me/account", "nav_account"),
    ("/audiences", "nav_audiences"),
    ("/compose", "nav_compose"),
    ("/submissions", "nav_submissions"),
];

/// The staff pages a member's offices open: the approval queue for any office holder (it
/// shows only what is in their scope), the admin pages for the organisation's admins.
fn staff_pages(
    member: &verteiler_store::PortalSession,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    let held = member.has_office.then_some(("/held", "nav_held"));
    let admin = member.is_admin.then_some(("/admin", "nav_admin"));
    held.into_iter().chain(admin)
}

/// A whole page: `title` is both the tab's title and the heading.
pub fn layout(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    layout_refreshing(frame, title, body, None)
}

/// [`layout`] for a page that shows work in progress: the browser loads it again after
/// `refresh_secs`, without any script (the Content-Security-Policy allows no inline one).
pub fn layout_refreshing(
    frame: &Frame<'_>,
    title: &str,
    body: Markup,
    refresh_secs: Option<u32>,
) -> Markup {
    let lang = frame.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                @if let Some(secs) = refresh_secs {
                    meta http-equiv="refresh" content=(secs);
                }
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Pages reached by a personal link have no business in a search index.
                meta name="robots" content="noindex";
                title { (title) " – " (lang.text("site_name")) }
                link rel="stylesheet" href="/static/portal.css";
            }
            body {
                a class="skip" href="#main" { (lang.text("skip_to_content")) }
                header {
                    p class="site" { (lang.text("site_name")) }
                    @if let Some(member) = frame.member {
                        nav aria-label=(lang.text("nav_label")) {
                            ul {
                                @for (href, key) in MEMBER_PAGES.into_iter().chain(staff_pages(member)) {
                                    li {
                                        @if frame.path == href {
                                            a href=(href) aria-current="page" { (lang.text(key)) }
                                        } @else {
                                            a href=(href) { (lang.text(key)) }
                                        }
                                    }
                                }
                            }
                        }
                        form method="post" action="/signout" class="signout" {
                            (frame.csrf_field())
                            span { (lang.text_with("signed_in_as", &[("name", &format!("{} {}", member.first_name, member.last_name))])) " " }
                            button type="submit" { (lang.text("sign_out")) }
                        }
                    }
                    p class="languages" {
                        a href=(switch_to("de", frame.path)) lang="de" hreflang="de" { "Deutsch" }
                        " · "
                        a href=(switch_to("en", frame.path)) lang="en" hreflang="en" { "English" }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The language switch's link, returning to `path` (query-encoded).
fn switch_to(code: &str, path: &str) -> String {
    format!(
        "/lang/{code}?{}",
        serde_urlencoded::to_string([("back", path)]).unwrap_or_default()
    )
}

/// An HTML answer. The URLs of these pages carry personal tokens and the pages personal data:
/// no cache may keep them and no link may pass them on as a referrer.
pub fn respond(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [
            (CACHE_CONTROL, "no-store"),
            (REFERRER_POLICY, "no-referrer"),
            (VARY, "Accept-Language, Cookie"),
        ],
        page,
    )
        .into_response()
}

/// A page with a title and one paragraph, both from the translation files.
pub fn message_page(frame: &Frame<'_>, status: StatusCode, title: &str, text: &str) -> Response {
    respond(
        status,
        layout(frame, frame.t(title), html! { p { (frame.t(text)) } }),
    )
}

/// The opaque answer to an internal failure, logged here once with its whole cause chain.
pub fn internal_error(lang: Lang, error: &dyn std::error::Error) -> Response {
    let mut causes = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push_str(": ");
        causes.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(event = "http.internal_error", error = %causes);
    message_page(
        &Frame::anonymous(lang, "/"),
        StatusCode::INTERNAL_SERVER_ERROR,
        "error_title",
        "error_text",
    )
}

/// The portal's one stylesheet (a file, so the Content-Security-Policy can forbid inline style).
pub async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/portal.css"),
    )
        .into_response()
}

/// The script that keeps a running send's totals current (a file, so the Content-Security-Policy
/// can forbid inline script).
pub async fn live_script() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/live.js"),
    )
        .into_response()
}

/// A date and time for people: `30.11.2026 14:05 UTC` (members are in one country, and UTC
/// says plainly which clock it is).
pub fn when(ms: i64, lang: Lang) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    let format = match lang {
        Lang::De => time::macros::format_description!("[day].[month].[year] [hour]:[minute] UTC"),
        Lang::En => time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"),
    };
    t.format(format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_people_write_them() {
        // 2026-11-30 14:05:00 UTC
        let ms = 1_796_047_500_000;
        assert_eq!(when(ms, Lang::De), "30.11.2026 14:05 UTC");
        assert_eq!(when(ms, Lang::En), "2026-11-30 14:05 UTC");
        assert_eq!(when(0, Lang::En), "1970-01-01 00:00 UTC");
        assert_eq!(when(951_782_400_000, Lang::En), "2000-02-29 00:00 UTC");
    }
}
