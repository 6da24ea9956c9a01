//! A browser for router tests: it keeps cookies, reads the CSRF token from the last page, and
//! posts forms, all through the router without a socket.

#![allow(dead_code)]

pub mod api;
pub mod lists;
pub mod staff;

use axum::body::Body;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use std::collections::BTreeMap;
use std::time::Duration;
use tower::ServiceExt;
use verteiler_policies::{AudienceSlug, EmailAddress, UnitKind};
use verteiler_portal::{router, AppState, ImportSettings, PortalSettings};
use verteiler_store::directory::import::ImportOptions;
use verteiler_store::lists::ListRules;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{MailClientSetup, NewAudience, NewMember, NewUnit, Store};

pub const BASE: &str = "http://portal.test";

/// An organisation of two branches, members in them, and lists.
pub struct Org {
    pub db: TestDatabase,
    /// Anna's and Ben's branch.
    pub branch: i64,
    pub app: Router,
    pub anna: i64,
    pub ben: i64,
    /// Topic list of Anna's and Ben's branch.
    pub klima: i64,
    /// Topic list of another branch: not one Anna may join.
    pub elsewhere: i64,
    /// Topic list open to the public (`newsletter`).
    pub newsletter: i64,
    /// The branch's structural list.
    pub oldenfelde: i64,
    /// Where `/admin/import` keeps uploads.
    pub uploads: tempfile::TempDir,
    /// The portal's import settings (their jobs and turn are shared with the router's).
    pub imports: ImportSettings,
}

impl Org {
    pub fn store(&self) -> &Store {
        &self.db.store
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self.app.clone())
    }

    /// A browser signed in as the member with `email` (through the link from the mail).
    pub async fn signed_in(&self, email: &str) -> Browser {
        let mut browser = self.browser();
        browser.sign_in(self.store(), email).await;
        browser
    }
}

pub async fn org() -> Org {
    org_with_first_name("Anna").await
}

pub async fn org_with_first_name(first_name: &str) -> Org {
    org_built(first_name, verteiler_portal::ApiSettings::default()).await
}

/// The organisation with the API's limits set (the rate, the body size).
pub async fn org_with_api(api: verteiler_portal::ApiSettings) -> Org {
    org_built("Anna", api).await
}

async fn org_built(first_name: &str, api: verteiler_portal::ApiSettings) -> Org {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let unit = |code: &str, name: &str| NewUnit {
        code: code.into(),
        name: name.into(),
        kind: UnitKind::Branch,
        parent_code: None,
    };
    let branch = store
        .create_unit(&unit("HH-OLD", "Oldenfelde"))
        .await
        .unwrap();
    let other = store
        .create_unit(&unit("HH-VOL", "Volksdorf"))
        .await
        .unwrap();
    // External ids as the membership database gives them: numbers, nothing personal.
    let member = |id: &str, first: &str, last: &str, email: &str, unit_id: i64| NewMember {
        external_id: Some(id.into()),
        first_name: first.into(),
        last_name: last.into(),
        unit_id,
        email: Some(EmailAddress::parse(email).unwrap()),
    };
    let anna = store
        .create_member(&member(
            "100231",
            first_name,
            "Albers",
            "anna@example.org",
            branch,
        ))
        .await
        .unwrap();
    let ben = store
        .create_member(&member(
            "100232",
            "Ben",
            "Brandt",
            "ben@example.org",
            branch,
        ))
        .await
        .unwrap();
    let slug = |s: &str| AudienceSlug::parse(s).unwrap();
    let oldenfelde = store
        .create_audience(&NewAudience::structural(
            slug("oldenfelde"),
            "Ortsverband Oldenfelde",
            branch,
            false,
        ))
        .await
        .unwrap();
    let topic = |s: &str, name: &str, unit_id: i64, public: bool| {
        let mut a = NewAudience::structural(slug(s), name, unit_id, false);
        a.kind = verteiler_policies::AudienceKind::Topic;
        a.category = verteiler_policies::Category::Discussion;
        a.open_to_public = public;
        a
    };
    let klima = store
        .create_audience(&topic("klima", "AG Klima", branch, false))
        .await
        .unwrap();
    let elsewhere = store
        .create_audience(&topic("volksdorf-rad", "AG Rad Volksdorf", other, false))
        .await
        .unwrap();
    let newsletter = store
        .create_audience(&topic("newsletter", "Newsletter", other, true))
        .await
        .unwrap();
    let approvals = verteiler_store::ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: verteiler_policies::OrgLimits::default(),
        undo_window_secs: 120,
        approval_window_secs: 72 * 3600,
        portal_base_url: BASE.into(),
    };
    let uploads = tempfile::tempdir().unwrap();
    let imports = ImportSettings::new(ImportOptions::default());
    let app = router(AppState::new(
        store.clone(),
        PortalSettings::new(BASE)
            .with_approvals(approvals)
            .with_upload_dir(uploads.path())
            .with_imports(imports.clone())
            .with_list_rules(ListRules::standard())
            .with_mail_client(MailClientSetup {
                smtp_host: "smtp.example.org".into(),
                smtp_port: 587,
            })
            .with_api(api),
    ));
    Org {
        db,
        branch,
        app,
        anna,
        ben,
        klima,
        elsewhere,
        newsletter,
        oldenfelde,
        uploads,
        imports,
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }
}

pub struct Browser {
    app: Router,
    pub cookies: BTreeMap<String, String>,
    pub accept_language: Option<String>,
    last_page: String,
    /// The address the connection comes from (as the server's `ConnectInfo` gives it).
    pub peer: Option<std::net::SocketAddr>,
    /// Headers sent with every request (`X-Forwarded-For`, as a proxy adds it).
    pub headers: Vec<(String, String)>,
}

impl Browser {
    /// A browser of `app` without cookies.
    pub fn new(app: Router) -> Browser {
        Browser {
            app,
            cookies: BTreeMap::new(),
            accept_language: None,
            last_page: String::new(),
            peer: None,
            headers: Vec::new(),
        }
    }

    /// The same, with its connections from `peer` (an address, port 0).
    pub fn from(app: Router, peer: &str) -> Browser {
        let ip: std::net::IpAddr = peer.parse().unwrap();
        Browser {
            peer: Some((ip, 0).into()),
            ..Browser::new(app)
        }
    }

    pub async fn request(&mut self, method: &str, path: &str, form: Option<String>) -> Page {
        let body = form.map(|form| {
            (
                "application/x-www-form-urlencoded".to_string(),
                form.into_bytes(),
            )
        });
        self.send(method, path, body).await
    }

    /// Posts a `multipart/form-data` form as a browser does: the CSRF token of the last page
    /// first, then `fields`, then the file (`name`, file name, content).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        let token = self.csrf_token();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_multipart_raw(path, &all, file).await
    }

    /// Posts exactly these parts (no token added).
    pub async fn post_multipart_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        (name, file_name, content): (&str, &str, &[u8]),
    ) -> Page {
        let boundary = "----verteilerTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (field, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send("POST", path, Some((content_type, body))).await
    }

    /// Posts `body` as `content_type`, exactly as given.
    pub async fn post_bytes(&mut self, path: &str, content_type: &str, body: &[u8]) -> Page {
        let body = Some((content_type.to_string(), body.to_vec()));
        self.send("POST", path, body).await
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<(String, Vec<u8>)>) -> Page {
        let mut request = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(COOKIE, jar.join("; "));
        }
        if let Some(lang) = &self.accept_language {
            request = request.header(ACCEPT_LANGUAGE, lang);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(peer) = self.peer {
            request = request.extension(axum::extract::ConnectInfo(peer));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header(CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        if status == StatusCode::OK {
            self.last_page = body.clone();
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, None).await
    }

    /// Posts a form with the CSRF token of the last page shown.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let form = serde_urlencoded::to_string(fields).unwrap();
        self.request("POST", path, Some(form)).await
    }

    /// The token of the last page's forms; on a page without forms, this browser's CSRF
    /// cookie (what the anonymous forms carry).
    pub fn csrf_token(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        self.last_page
            .find(marker)
            .map(|at| {
                let rest = &self.last_page[at + marker.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .or_else(|| self.cookies.get("vt_csrf").cloned())
            .unwrap_or_default()
    }

    /// Requests a link for `email`, reads it from the outgoing mail, and uses it.
    pub async fn sign_in(&mut self, store: &Store, email: &str) {
        let link = self.request_link(store, email).await;
        let path = link.strip_prefix(BASE).unwrap().to_string();
        assert_eq!(self.get(&path).await.status, StatusCode::OK);
        let done = self.post(&path, &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), Some("/me"));
    }

    /// Requests a sign-in link through the form and returns it from the mail.
    pub async fn request_link(&mut self, store: &Store, email: &str) -> String {
        let before = mails(store, email, "portal.sign_in").await.len();
        assert_eq!(self.get("/signin").await.status, StatusCode::OK);
        let sent = self.post("/signin", &[("email", email)]).await;
        assert_eq!(sent.status, StatusCode::OK);
        let body = wait_for_mail(store, email, "portal.sign_in", before).await;
        link_in(&body, "/signin/link/")
    }
}

/// Bodies of queued mails of one kind to one address, oldest first.
pub async fn mails(store: &Store, to: &str, kind: &str) -> Vec<String> {
    store
        .notifications_to(to)
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _, _)| k == kind)
        .map(|(_, _, body)| body)
        .collect()
}

/// Waits (up to 10 s) for mail number `before + 1` of `kind` to `to`: some are queued by a
/// task of their own after the answer.
pub async fn wait_for_mail(store: &Store, to: &str, kind: &str, before: usize) -> String {
    for _ in 0..200 {
        let found = mails(store, to, kind).await;
        if found.len() > before {
            return found[before].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} mail to {to}");
}

/// The first link in `body` under `prefix`.
pub fn link_in(body: &str, prefix: &str) -> String {
    let start = body
        .find(&format!("{BASE}{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in {body}"));
    body[start..].split_whitespace().next().unwrap().to_string()
}
