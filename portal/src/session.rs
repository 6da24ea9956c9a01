//! Who is asking: the session cookie, the signed-in member, and the CSRF check of every form.
//!
//! The session id lives only in an HttpOnly cookie (Secure when the portal's base URL is
//! https, SameSite=Lax so a link from a mail still finds the person signed in). Every
//! state-changing form carries a token: the session's own for signed-in forms, and for the
//! few anonymous forms (sign-in, public subscription) a random value that must also be in a
//! cookie of this browser (double submit). A cross-site page can make a browser post, but it
//! can neither read the token nor set our cookie.

use crate::i18n::Lang;
use crate::page::{internal_error, Frame};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use verteiler_store::PortalSession;

pub const SESSION_COOKIE: &str = "vt_session";
pub const CSRF_COOKIE: &str = "vt_csrf";
pub const LANG_COOKIE: &str = "vt_lang";

/// Forms are small; anything bigger is not ours.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The value of one cookie of the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value; `max_age` 0 removes the cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A 303 to `to` (a path of ours), with cookies to set on the way.
pub fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    for c in cookies {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

/// Only pages of this portal are followed after a detour (language switch, sign-in): every
/// return path taken from a request goes through [`crate::return_path::local_return`].
pub fn local_path(path: Option<&str>) -> &str {
    crate::return_path::local_return(path)
}

/// The signed-in member of a request; without a valid session the request is sent to the
/// sign-in page.
#[derive(Debug, Clone)]
pub struct Member {
    pub session: PortalSession,
    /// The cookie value: signing out ends exactly this session.
    pub cookie: String,
    pub lang: Lang,
    pub path: String,
}

impl Member {
    pub fn id(&self) -> i64 {
        self.session.member_id
    }

    pub fn frame(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            path: &self.path,
            member: Some(&self.session),
            csrf: &self.session.csrf_token,
        }
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of_request(parts);
        let Some(cookie) = cookie(parts, SESSION_COOKIE).map(str::to_string) else {
            return Err(see_other("/signin", vec![]));
        };
        match state.store.session(&cookie).await {
            Ok(Some(session)) => Ok(Member {
                session,
                cookie,
                lang,
                path: parts.uri.path().to_string(),
            }),
            // An ended or expired session: the stale cookie goes, the person signs in again.
            Ok(None) => Err(see_other(
                "/signin",
                vec![set_cookie(state, SESSION_COOKIE, "", 0)],
            )),
            Err(e) => Err(internal_error(lang, &e)),
        }
    }
}

/// A form carries the token of the session or browser that was shown it.
pub trait CsrfField {
    fn csrf(&self) -> &str;
}

/// Declares form structs with a `csrf` field (the check needs it; a form without one does
/// not compile into a [`MemberForm`]).
#[macro_export]
macro_rules! csrf_form {
    ($($name:ident { $($field:ident : $ty:ty),* $(,)? })*) => {
        $(
            #[derive(Debug, serde::Deserialize)]
            pub struct $name {
                pub csrf: String,
                $(pub $field: $ty,)*
            }
            impl $crate::session::CsrfField for $name {
                fn csrf(&self) -> &str {
                    &self.csrf
                }
            }
        )*
    };
}

/// Compares without stopping at the first difference.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) fn refused(lang: Lang, path: &str) -> Response {
    crate::page::message_page(
        &Frame::anonymous(lang, path),
        StatusCode::FORBIDDEN,
        "csrf_title",
        "csrf_text",
    )
}

pub(crate) fn bad_form(lang: Lang, path: &str) -> Response {
    crate::page::message_page(
        &Frame::anonymous(lang, path),
        StatusCode::BAD_REQUEST,
        "form_invalid_title",
        "form_invalid_text",
    )
}

async fn form_body<T: DeserializeOwned>(
    body: axum::body::Body,
    lang: Lang,
    path: &str,
) -> Result<T, Response> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| bad_form(lang, path))?;
    serde_urlencoded::from_bytes(&bytes).map_err(|_| bad_form(lang, path))
}

/// A signed-in member's form, accepted only with the session's CSRF token.
pub struct MemberForm<T> {
    pub member: Member,
    pub form: T,
}

impl<T: DeserializeOwned + CsrfField> FromRequest<AppState> for MemberForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let member = Member::from_request_parts(&mut parts, state).await?;
        let form: T = form_body(body, member.lang, &member.path).await?;
        if !same_secret(form.csrf(), &member.session.csrf_token) {
            tracing::warn!(event = "http.csrf_refused", member = member.id(), path = %member.path);
            return Err(refused(member.lang, &member.path));
        }
        Ok(MemberForm { member, form })
    }
}

/// An anonymous form, accepted only when its token matches this browser's CSRF cookie.
pub struct AnonForm<T> {
    pub lang: Lang,
    pub form: T,
}

impl<T: DeserializeOwned + CsrfField> FromRequest<AppState> for AnonForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let lang = Lang::of_request(&parts);
        let path = parts.uri.path().to_string();
        let expected = cookie(&parts, CSRF_COOKIE).unwrap_or("").to_string();
        let form: T = form_body(body, lang, &path).await?;
        if !same_secret(form.csrf(), &expected) {
            tracing::warn!(event = "http.csrf_refused", path = %path);
            return Err(refused(lang, &path));
        }
        Ok(AnonForm { lang, form })
    }
}

/// The token an anonymous page's forms carry: the browser's CSRF cookie, or a new one that
/// the page sets.
pub struct AnonToken {
    pub token: String,
    /// `Some` when the cookie must be set with the page.
    pub set: Option<HeaderValue>,
    pub lang: Lang,
    pub path: String,
}

impl FromRequestParts<AppState> for AnonToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of_request(parts);
        let path = parts.uri.path().to_string();
        Ok(match cookie(parts, CSRF_COOKIE) {
            Some(token) if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
                AnonToken {
                    token: token.to_string(),
                    set: None,
                    lang,
                    path,
                }
            }
            _ => {
                let token = verteiler_store::new_secret();
                // A day: long enough to fill in a form, short enough not to linger.
                let set = set_cookie(state, CSRF_COOKIE, &token, 86_400);
                AnonToken {
                    token,
                    set: Some(set),
                    lang,
                    path,
                }
            }
        })
    }
}

impl AnonToken {
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            path: &self.path,
            member: None,
            csrf: &self.token,
        }
    }

    /// Adds the cookie to a page that was answered with this token.
    pub fn attach(&self, mut response: Response) -> Response {
        if let Some(set) = &self.set {
            response.headers_mut().append(SET_COOKIE, set.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""));
    }
}
