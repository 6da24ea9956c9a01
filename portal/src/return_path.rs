//! Where a browser is sent back to after a detour (the language switch's `back`): the one
//! place a path taken from a request becomes a `Location`. The request is anybody's, so the
//! path is followed only when it is plainly one of this portal's pages; anything else goes
//! to `/`.
//!
//! Browsers are lenient with `Location`: they drop tabs and newlines (`/\t/evil.example`
//! becomes `//evil.example`, another host), read `\` as `/`, and resolve `..`. So only a
//! conservative alphabet is accepted (letters, digits, `-._~` and `/`: no control character,
//! whitespace, backslash, percent sign, query or fragment), no empty, `.` or `..` segment,
//! and the first segment must be one of the router's pages ([`PAGES`]).

/// The first segment of every page a browser may be sent back to: the `GET` routes of
/// [`crate::router`] that show a page. A path outside them goes to `/`.
pub(crate) const PAGES: &[&str] = &[
    "me",
    "compose",
    "audiences",
    "submissions",
    "held",
    "admin",
    "lists",
    "signin",
    "confirm",
    "unsubscribe",
];

/// Longer paths than any page of ours are not followed.
const MAX_LEN: usize = 512;

/// Where to go instead of anything not accepted.
pub(crate) const HOME: &str = "/";

fn allowed_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
}

/// `path` when it is one of this portal's pages (see the module), else `/`.
pub(crate) fn local_return(path: Option<&str>) -> &str {
    match path {
        Some(p) if is_local_page(p) => p,
        _ => HOME,
    }
}

fn is_local_page(path: &str) -> bool {
    if path == HOME {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    if path.len() > MAX_LEN || !path.bytes().all(allowed_byte) {
        return false;
    }
    let mut segments = rest.split('/');
    let first = segments.next().unwrap_or("");
    PAGES.contains(&first) && segments.all(|segment| !matches!(segment, "" | "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portals_own_pages_are_followed() {
        for path in [
            "/",
            "/me",
            "/me/contact",
            "/submissions/12",
            "/audiences/oldenfelde",
            "/admin/units/HH-WA-OLD",
            "/unsubscribe/0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(local_return(Some(path)), path);
        }
    }

    #[test]
    fn anything_that_could_leave_the_portal_goes_home() {
        for path in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            "//evil.example",
            "/\\evil.example",
            "/me/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%2F/evil.example",
            "/%09/evil.example",
            "/me/../..//evil.example",
            "/me/./contact",
            "/me//contact",
            "/me/",
            "/me?next=//evil.example",
            "/me#x",
            "/meh",
            "/healthz",
            "/lang/de",
            "/static/portal.css",
            "/mé",
            "",
        ] {
            assert_eq!(local_return(Some(path)), HOME, "{path:?}");
        }
        assert_eq!(local_return(None), HOME);
        let long = format!("/me/{}", "a".repeat(MAX_LEN));
        assert_eq!(local_return(Some(&long)), HOME);
    }

    /// One GET against the whole router, without a session: (status, Location, body).
    async fn get(path: &str) -> (axum::http::StatusCode, Option<String>, String) {
        use tower::ServiceExt;
        let db = verteiler_store::testing::TestDatabase::new().await;
        let app = crate::router(crate::AppState::new(
            db.store.clone(),
            crate::PortalSettings::new("http://portal.test"),
        ));
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(axum::http::header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            location,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn the_language_switch_never_sends_a_browser_to_another_host() {
        for back in [
            "%2F%09%2Fevil.example",
            "%2F%0A%2Fevil.example",
            "%2F%2Fevil.example",
            "%2F%5Cevil.example",
            "https%3A%2F%2Fevil.example",
            "%2Fme%2F..%2F..%2F%2Fevil.example",
            "%2Fnowhere",
        ] {
            let (status, location, _) = get(&format!("/lang/de?back={back}")).await;
            assert_eq!(status, axum::http::StatusCode::SEE_OTHER, "{back}");
            assert_eq!(location.as_deref(), Some(HOME), "{back}");
        }
        let (_, location, _) = get("/lang/en?back=%2Fsubmissions%2F12").await;
        assert_eq!(location.as_deref(), Some("/submissions/12"));
    }

    #[tokio::test]
    async fn every_page_a_browser_may_return_to_is_a_route_of_the_router() {
        // A path of each page in [`PAGES`]; the router's own 404 (no route) has no body,
        // a page's "not found" is a page.
        let samples = [
            ("me", "/me/contact"),
            ("compose", "/compose"),
            ("audiences", "/audiences"),
            ("submissions", "/submissions/1"),
            ("held", "/held"),
            ("admin", "/admin/units"),
            ("lists", "/lists/newsletter"),
            ("signin", "/signin"),
            ("confirm", "/confirm/0123456789abcdef0123456789abcdef"),
            (
                "unsubscribe",
                "/unsubscribe/0123456789abcdef0123456789abcdef",
            ),
        ];
        assert_eq!(
            samples.iter().map(|(page, _)| *page).collect::<Vec<_>>(),
            PAGES,
            "a sample for every page"
        );
        for (_, path) in samples {
            assert_eq!(local_return(Some(path)), path);
            let (status, _, body) = get(path).await;
            assert!(
                status != axum::http::StatusCode::NOT_FOUND || !body.is_empty(),
                "{path} is no route of the router"
            );
        }
    }
}
