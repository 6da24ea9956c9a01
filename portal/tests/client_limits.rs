//! Per-client limits count the real client: behind a trusted reverse proxy the address it
//! forwards for, from anybody else the connection's own address (IPv6 per /64); and nothing a
//! stranger does for a member's address keeps the member's right password out.

mod support;

use axum::http::StatusCode;
use axum::Router;
use std::time::Duration;
use support::{org, Browser, Org, BASE};
use verteiler_portal::{quota, router, AppState, PortalSettings, SignInLimits, TrustedProxies};

/// The portal behind a proxy on 127.0.0.1, with `limits`.
fn behind_proxy(org: &Org, limits: SignInLimits) -> Router {
    let proxies = TrustedProxies::parse(&["127.0.0.1", "::1"]).unwrap();
    router(AppState::with_limits(
        org.store().clone(),
        PortalSettings::new(BASE).with_trusted_proxies(proxies),
        limits,
    ))
}

/// Two link requests per client, then none; plenty per address.
fn two_per_client() -> SignInLimits {
    SignInLimits::with(
        quota(100, Duration::from_secs(3600)),
        quota(2, Duration::from_secs(3600)),
    )
}

/// A browser whose requests come through the proxy for `client`.
fn through_proxy(app: &Router, client: &str) -> Browser {
    let mut browser = Browser::from(app.clone(), "127.0.0.1");
    browser
        .headers
        .push(("x-forwarded-for".into(), client.into()));
    browser
}

/// Link requests for `n` different addresses: their statuses.
async fn link_requests(browser: &mut Browser, n: usize) -> Vec<StatusCode> {
    browser.get("/signin").await;
    let mut statuses = Vec::new();
    for i in 0..n {
        let email = format!("someone{i}@example.org");
        statuses.push(browser.post("/signin", &[("email", &email)]).await.status);
    }
    statuses
}

const OK: StatusCode = StatusCode::OK;
const LIMITED: StatusCode = StatusCode::TOO_MANY_REQUESTS;

#[tokio::test]
async fn clients_behind_a_trusted_proxy_do_not_share_a_bucket() {
    let org = org().await;
    let app = behind_proxy(&org, two_per_client());
    let mut first = through_proxy(&app, "198.51.100.1");
    assert_eq!(link_requests(&mut first, 3).await, [OK, OK, LIMITED]);
    let mut second = through_proxy(&app, "203.0.113.50, 198.51.100.2");
    assert_eq!(link_requests(&mut second, 1).await, [OK]);
}

#[tokio::test]
async fn an_untrusted_peers_forwarding_headers_are_ignored() {
    let org = org().await;
    let app = behind_proxy(&org, two_per_client());
    let mut forger = Browser::from(app.clone(), "203.0.113.9");
    forger.get("/signin").await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        // A fresh address in each header: were they believed, each would be a new bucket.
        forger.headers = vec![
            ("x-forwarded-for".into(), format!("192.0.2.{i}")),
            ("forwarded".into(), format!("for=192.0.2.{i}")),
        ];
        let email = format!("probe{i}@example.org");
        statuses.push(forger.post("/signin", &[("email", &email)]).await.status);
    }
    assert_eq!(statuses, [OK, OK, LIMITED]);
}

#[tokio::test]
async fn two_ipv6_addresses_in_one_64_share_a_bucket() {
    let org = org().await;
    let app = behind_proxy(&org, two_per_client());
    let mut one = Browser::from(app.clone(), "2001:db8:1:2::1");
    assert_eq!(link_requests(&mut one, 2).await, [OK, OK]);
    let mut neighbour = Browser::from(app.clone(), "2001:db8:1:2:ffff:ffff:ffff:ffff");
    assert_eq!(link_requests(&mut neighbour, 1).await, [LIMITED]);
    let mut elsewhere = Browser::from(app.clone(), "2001:db8:1:3::1");
    assert_eq!(link_requests(&mut elsewhere, 1).await, [OK]);
    // Behind the proxy, a forwarded IPv6 client counts per /64 too.
    let mut forwarded = through_proxy(&app, "2001:db8:1:2::abcd");
    assert_eq!(link_requests(&mut forwarded, 1).await, [LIMITED]);
}

async fn sign_in_with_password(browser: &mut Browser, password: &str) -> StatusCode {
    browser.get("/signin").await;
    let fields = [("email", "anna@example.org"), ("password", password)];
    browser.post("/signin/password", &fields).await.status
}

#[tokio::test]
async fn a_stranger_cannot_keep_a_member_from_signing_in_with_their_password() {
    let org = org().await;
    org.store()
        .set_portal_password(org.anna, "lange genug 123")
        .await
        .unwrap();
    let app = behind_proxy(&org, SignInLimits::new());
    let mut stranger = through_proxy(&app, "192.0.2.66");
    stranger.get("/signin").await;
    let mut links = Vec::new();
    for _ in 0..5 {
        let asked = stranger
            .post("/signin", &[("email", "anna@example.org")])
            .await;
        links.push(asked.status);
    }
    assert_eq!(
        links,
        [OK, OK, OK, LIMITED, LIMITED],
        "Anna's link bucket is empty"
    );
    for _ in 0..5 {
        let guess = sign_in_with_password(&mut stranger, "falsch").await;
        assert_eq!(guess, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in_with_password(&mut stranger, "lange genug 123").await,
        LIMITED,
        "the client that guessed wrong is locked out of Anna's account"
    );

    let mut anna = through_proxy(&app, "198.51.100.7");
    assert_eq!(
        sign_in_with_password(&mut anna, "lange genug 123").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(anna.get("/me").await.status, OK);
}
