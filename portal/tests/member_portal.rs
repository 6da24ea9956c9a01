//! The member portal through its router: sign-in, sessions, CSRF, every member page and form,
//! and that no member reaches another member's data by changing an id.

mod support;

use axum::http::StatusCode;
use support::{link_in, mails, org, org_with_first_name, wait_for_mail, BASE};
use verteiler_store::SubscriptionState;

#[tokio::test]
async fn a_member_signs_in_with_the_link_from_the_mail_once() {
    let org = org().await;
    let mut browser = org.browser();
    assert_eq!(
        browser.get("/me").await.location(),
        Some("/signin"),
        "without a session the member pages send to the sign-in"
    );
    let link = browser.request_link(org.store(), "anna@example.org").await;
    let path = link.strip_prefix(BASE).unwrap().to_string();
    // The link shows a button; fetching it (as a mail scanner does) signs nobody in.
    let shown = browser.get(&path).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(!browser.cookies.contains_key("vt_session"));
    let used = browser.post(&path, &[]).await;
    assert_eq!(used.status, StatusCode::SEE_OTHER);
    let session = used
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("vt_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"), "plain http in this test");
    let me = browser.get("/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body.contains("Oldenfelde"), "{}", me.body);
    assert!(me.body.contains("Anna Albers"));

    // The same link again, from another browser: refused.
    let mut other = org.browser();
    other.get(&path).await;
    let again = other.post(&path, &[]).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(!other.cookies.contains_key("vt_session"));
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let org = org().await;
    let mut browser = org.browser();
    let link = browser.request_link(org.store(), "anna@example.org").await;
    verteiler_store::testing::expire_portal_secrets(org.store())
        .await
        .unwrap();
    let path = link.strip_prefix(BASE).unwrap().to_string();
    browser.get(&path).await;
    assert_eq!(browser.post(&path, &[]).await.status, StatusCode::GONE);
    assert_eq!(browser.get("/me").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_sign_in_answer_is_the_same_for_known_and_unknown_addresses() {
    let org = org().await;
    let mut browser = org.browser();
    browser.get("/signin").await;
    let known = browser
        .post("/signin", &[("email", "anna@example.org")])
        .await;
    let unknown = browser
        .post("/signin", &[("email", "nobody@example.org")])
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body.as_bytes(), unknown.body.as_bytes());
    let headers = |p: &support::Page| {
        let mut h: Vec<String> = p
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&known), headers(&unknown));
    // Only the known address gets mail.
    wait_for_mail(org.store(), "anna@example.org", "portal.sign_in", 0).await;
    assert!(mails(org.store(), "nobody@example.org", "portal.sign_in")
        .await
        .is_empty());
}

#[tokio::test]
async fn sign_in_requests_are_limited_per_address() {
    let org = org().await;
    let mut browser = org.browser();
    browser.get("/signin").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            browser
                .post("/signin", &[("email", "ben@example.org")])
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn forms_without_the_right_token_change_nothing() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/app-passwords").await;
    let forged = anna
        .post_raw(
            "/me/app-passwords",
            &[("csrf", "0".repeat(64).as_str()), ("name", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = anna.post_raw("/me/app-passwords", &[("name", "x")]).await;
    assert!(missing.status.is_client_error(), "{:?}", missing.status);
    assert!(org
        .store()
        .list_app_passwords(org.anna)
        .await
        .unwrap()
        .is_empty());
    // The sign-in form needs the token that matches this browser's cookie.
    let mut stranger = org.browser();
    let no_cookie = stranger
        .post_raw(
            "/signin",
            &[
                ("csrf", "a".repeat(64).as_str()),
                ("email", "anna@example.org"),
            ],
        )
        .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    // Signing out is a form too.
    let out = anna.post_raw("/signout", &[("csrf", "nonsense")]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert_eq!(anna.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_member_cannot_touch_another_members_data_by_id() {
    let org = org().await;
    let store = org.store();
    let (bens_password, _) = store
        .create_app_password(org.ben, "Bens Thunderbird")
        .await
        .unwrap();
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/me/contact").await;
    assert_eq!(
        ben.post("/me/contact/phone", &[("phone", "0151 1234567")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let bens_phone = store
        .member_contacts(org.ben)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "phone")
        .unwrap()
        .id;

    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    let page = anna.get("/me/contact").await;
    assert!(!page.body.contains("ben@example.org"));
    assert!(!page.body.contains("+491511234567"));
    for path in [
        format!("/me/app-passwords/{bens_password}/revoke"),
        format!("/me/contact/{bens_phone}/remove"),
        format!("/me/contact/{bens_phone}/resend"),
    ] {
        anna.get("/me").await;
        let answer = anna.post(&path, &[]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    anna.get("/me").await;
    let code = anna
        .post(
            &format!("/me/contact/{bens_phone}/verify"),
            &[("code", "123456")],
        )
        .await;
    assert_eq!(code.status, StatusCode::GONE);
    // Ben's data is as it was.
    assert_eq!(store.list_app_passwords(org.ben).await.unwrap().len(), 1);
    let phone = store
        .member_contacts(org.ben)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == bens_phone)
        .expect("Ben's number is still there");
    assert!(!phone.verified);
    assert_eq!(
        store.sms_outbox_for("+491511234567").await.unwrap().len(),
        1,
        "no code was sent on Anna's request"
    );
    // A topic list of another branch cannot be joined by id.
    anna.get("/me").await;
    let join = anna
        .post(&format!("/me/subscriptions/{}/join", org.elsewhere), &[])
        .await;
    assert_eq!(join.status, StatusCode::NOT_FOUND);
    // The export holds Anna's data only.
    let export = anna.get("/me/export").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.body.contains("anna@example.org"));
    assert!(!export.body.contains("ben@example.org"));
    assert!(!export.body.contains("Bens Thunderbird"));
}

#[tokio::test]
async fn names_are_escaped() {
    let org = org_with_first_name("<script>alert(1)</script>").await;
    let mut anna = org.signed_in("anna@example.org").await;
    let me = anna.get("/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!me.body.contains("<script>"));
}

#[tokio::test]
async fn a_phone_number_is_verified_with_the_code_from_the_sms() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    let added = anna
        .post("/me/contact/phone", &[("phone", "040 1234567")])
        .await;
    assert_eq!(added.location(), Some("/me/contact"));
    let sms = org.store().sms_outbox_for("+49401234567").await.unwrap();
    assert_eq!(sms.len(), 1);
    let code: String = sms[0]
        .1
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let phone = org
        .store()
        .member_contacts(org.anna)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "phone")
        .unwrap();
    let page = anna.get("/me/contact").await;
    assert!(page
        .body
        .contains(&format!("/me/contact/{}/verify", phone.id)));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = anna
        .post(
            &format!("/me/contact/{}/verify", phone.id),
            &[("code", wrong)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    anna.get("/me/contact").await;
    let ok = anna
        .post(
            &format!("/me/contact/{}/verify", phone.id),
            &[("code", &code)],
        )
        .await;
    assert_eq!(ok.location(), Some("/me/contact"));
    let verified = org
        .store()
        .member_contacts(org.anna)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == phone.id)
        .unwrap();
    assert!(verified.verified);
}

#[tokio::test]
async fn a_phone_code_stops_working_after_five_wrong_guesses() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    anna.post("/me/contact/phone", &[("phone", "040 7654321")])
        .await;
    let sms = org.store().sms_outbox_for("+49407654321").await.unwrap();
    let code: String = sms[0]
        .1
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let id = org
        .store()
        .member_contacts(org.anna)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "phone")
        .unwrap()
        .id;
    for _ in 0..5 {
        anna.get("/me/contact").await;
        let r = anna
            .post(&format!("/me/contact/{id}/verify"), &[("code", wrong)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    anna.get("/me/contact").await;
    let late = anna
        .post(&format!("/me/contact/{id}/verify"), &[("code", &code)])
        .await;
    assert_eq!(
        late.status,
        StatusCode::GONE,
        "the right code after five wrong ones"
    );
}

#[tokio::test]
async fn a_topic_list_is_joined_by_confirming_the_mail_and_left_at_once() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let lists = anna.get("/me/subscriptions").await;
    assert!(lists.body.contains("AG Klima"));
    assert!(
        !lists.body.contains("AG Rad Volksdorf"),
        "another branch's list"
    );
    let join = anna
        .post(&format!("/me/subscriptions/{}/join", org.klima), &[])
        .await;
    assert_eq!(join.status, StatusCode::OK);
    let state = |lists: Vec<verteiler_store::TopicList>| {
        lists
            .into_iter()
            .find(|l| l.audience_id == org.klima)
            .and_then(|l| l.state)
    };
    assert_eq!(
        state(org.store().topic_lists_for(org.anna).await.unwrap()),
        Some(SubscriptionState::Pending),
        "nothing is sent before the confirmation"
    );
    let mail = wait_for_mail(
        org.store(),
        "anna@example.org",
        "portal.confirm_subscription",
        0,
    )
    .await;
    let link = link_in(&mail, "/confirm/");
    let path = link.strip_prefix(BASE).unwrap().to_string();
    // Confirming works from any browser (the mail may be read on a phone).
    let mut phone = org.browser();
    let shown = phone.get(&path).await;
    assert!(shown.body.contains("AG Klima"));
    assert_eq!(
        state(org.store().topic_lists_for(org.anna).await.unwrap()),
        Some(SubscriptionState::Pending),
        "showing the link confirms nothing"
    );
    assert_eq!(phone.post(&path, &[]).await.status, StatusCode::OK);
    assert_eq!(
        state(org.store().topic_lists_for(org.anna).await.unwrap()),
        Some(SubscriptionState::Confirmed)
    );
    assert_eq!(
        phone.post(&path, &[]).await.status,
        StatusCode::GONE,
        "once"
    );
    anna.get("/me/subscriptions").await;
    let leave = anna
        .post(&format!("/me/subscriptions/{}/leave", org.klima), &[])
        .await;
    assert_eq!(leave.location(), Some("/me/subscriptions"));
    assert_eq!(
        state(org.store().topic_lists_for(org.anna).await.unwrap()),
        Some(SubscriptionState::Unsubscribed)
    );
}

#[tokio::test]
async fn anyone_can_subscribe_to_a_public_list_with_double_opt_in() {
    let org = org().await;
    let mut visitor = org.browser();
    let page = visitor.get("/lists/newsletter").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Newsletter"));
    let sent = visitor
        .post("/lists/newsletter", &[("email", "Guest@Example.net")])
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    // The mail goes to the address as typed (only the domain is case-insensitive).
    let mail = wait_for_mail(
        org.store(),
        "Guest@example.net",
        "portal.confirm_subscription",
        0,
    )
    .await;
    let path = link_in(&mail, "/confirm/")
        .strip_prefix(BASE)
        .unwrap()
        .to_string();
    visitor.get(&path).await;
    let done = visitor.post(&path, &[]).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("Newsletter"));
    // A second request answers the same and sends nothing.
    visitor.get("/lists/newsletter").await;
    let again = visitor
        .post("/lists/newsletter", &[("email", "guest@example.net")])
        .await;
    assert_eq!(again.body, sent.body);
    assert_eq!(
        mails(
            org.store(),
            "Guest@example.net",
            "portal.confirm_subscription"
        )
        .await
        .len(),
        1
    );
    // A list that is not public has no such page.
    assert_eq!(
        visitor.get("/lists/klima").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn statutory_mail_can_be_moved_but_not_switched_off() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let page = anna.get("/me/subscriptions").await;
    assert!(page.body.contains("channel-statutory"));
    let off = anna
        .post(
            "/me/channels",
            &[("category", "statutory"), ("channel", "none")],
        )
        .await;
    assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY);
    anna.get("/me/subscriptions").await;
    let post = anna
        .post(
            "/me/channels",
            &[("category", "statutory"), ("channel", "post")],
        )
        .await;
    assert_eq!(post.location(), Some("/me/subscriptions"));
    let prefs = org.store().channel_preferences(org.anna).await.unwrap();
    assert_eq!(
        prefs[0],
        (
            verteiler_policies::Category::Statutory,
            Some(verteiler_policies::ChannelPreference::Post)
        )
    );
}

#[tokio::test]
async fn a_structural_list_can_be_left_from_the_portal() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let page = anna.get("/me/subscriptions").await;
    assert!(page
        .body
        .contains(&format!("/me/subscriptions/{}/leave", org.oldenfelde)));
    let left = anna
        .post(&format!("/me/subscriptions/{}/leave", org.oldenfelde), &[])
        .await;
    assert_eq!(left.location(), Some("/me/subscriptions"));
    let overview = org
        .store()
        .member_overview(org.anna)
        .await
        .unwrap()
        .unwrap();
    let list = overview
        .audiences
        .iter()
        .find(|a| a.audience_id == org.oldenfelde)
        .unwrap();
    assert!(list.left);
}

#[tokio::test]
async fn an_added_address_is_used_only_after_its_link_is_followed() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    let added = anna
        .post("/me/contact/email", &[("email", "anna.work@example.com")])
        .await;
    assert_eq!(added.status, StatusCode::OK);
    let is_verified = || async {
        org.store()
            .member_contacts(org.anna)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.value == "anna.work@example.com")
            .unwrap()
            .verified
    };
    assert!(!is_verified().await);
    // Unverified, it cannot be used to sign in.
    let mut other = org.browser();
    other.get("/signin").await;
    other
        .post("/signin", &[("email", "anna.work@example.com")])
        .await;
    let mail = wait_for_mail(
        org.store(),
        "anna.work@example.com",
        "portal.verify_email",
        0,
    )
    .await;
    assert!(
        mails(org.store(), "anna.work@example.com", "portal.sign_in")
            .await
            .is_empty()
    );
    let path = link_in(&mail, "/confirm/")
        .strip_prefix(BASE)
        .unwrap()
        .to_string();
    anna.get(&path).await;
    assert_eq!(anna.post(&path, &[]).await.status, StatusCode::OK);
    assert!(is_verified().await);
    // The invalid input gets a clear answer.
    anna.get("/me/contact").await;
    let bad = anna
        .post("/me/contact/email", &[("email", "not an address")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_last_verified_address_and_imported_data_stay() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let only = org
        .store()
        .member_contacts(org.anna)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "email")
        .unwrap();
    anna.get("/me/contact").await;
    let refused = anna
        .post(&format!("/me/contact/{}/remove", only.id), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_app_password_is_shown_once_and_can_be_revoked() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/app-passwords").await;
    let created = anna
        .post("/me/app-passwords", &[("name", "Thunderbird <Laptop>")])
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body.contains("Thunderbird &lt;Laptop&gt;"));
    let start = created.body.find("id=\"app-password\">").unwrap() + 18;
    let length = created.body[start..].find('<').unwrap();
    let password = &created.body[start..start + length];
    assert!(password.contains('_') && password.len() > 29, "{password}");
    assert_eq!(
        org.store()
            .verify_app_password("anna@example.org", password)
            .await
            .unwrap()
            .map(|(member, _)| member),
        Some(org.anna)
    );
    let list = anna.get("/me/app-passwords").await;
    assert!(!list.body.contains(password), "shown only once");
    let id = org.store().list_app_passwords(org.anna).await.unwrap()[0].id;
    let revoked = anna
        .post(&format!("/me/app-passwords/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.location(), Some("/me/app-passwords"));
    assert!(org
        .store()
        .verify_app_password("anna@example.org", password)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_password_signs_in_and_sign_out_everywhere_ends_every_session() {
    let org = org().await;
    let mut laptop = org.signed_in("anna@example.org").await;
    laptop.get("/me/account").await;
    let saved = laptop
        .post(
            "/me/password",
            &[
                ("password", "lange genug 123"),
                ("repeat", "lange genug 123"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let mut phone = org.browser();
    phone.get("/signin").await;
    let wrong = phone
        .post(
            "/signin/password",
            &[("email", "anna@example.org"), ("password", "falsch")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    phone.get("/signin").await;
    let right = phone
        .post(
            "/signin/password",
            &[
                ("email", "anna@example.org"),
                ("password", "lange genug 123"),
            ],
        )
        .await;
    assert_eq!(right.location(), Some("/me"));
    assert_eq!(phone.get("/me").await.status, StatusCode::OK);
    let everywhere = phone.post("/signout/everywhere", &[]).await;
    assert_eq!(everywhere.location(), Some("/signin"));
    assert_eq!(phone.get("/me").await.location(), Some("/signin"));
    assert_eq!(laptop.get("/me").await.location(), Some("/signin"));
}

#[tokio::test]
async fn signing_out_ends_this_session_only() {
    let org = org().await;
    let mut laptop = org.signed_in("anna@example.org").await;
    let mut phone = org.signed_in("anna@example.org").await;
    laptop.get("/me").await;
    let out = laptop.post("/signout", &[]).await;
    assert_eq!(out.location(), Some("/signin"));
    assert_eq!(laptop.get("/me").await.location(), Some("/signin"));
    assert_eq!(phone.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_deletion_request_is_recorded_once() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/account").await;
    assert_eq!(anna.post("/me/delete", &[]).await.status, StatusCode::OK);
    let page = anna.get("/me/account").await;
    assert!(!page.body.contains("action=\"/me/delete\""));
    assert!(org
        .store()
        .open_deletion_request(org.anna)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn every_page_speaks_german_and_english_and_carries_the_security_headers() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let pages = [
        "/me",
        "/me/subscriptions",
        "/me/contact",
        "/me/app-passwords",
        "/me/account",
    ];
    for path in pages {
        let german = anna.get(path).await;
        assert_eq!(german.status, StatusCode::OK, "{path}");
        assert!(german.body.contains("<html lang=\"de\""), "{path}");
        let csp = german.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(german.headers["x-content-type-options"], "nosniff");
        assert_eq!(german.headers["cache-control"], "no-store");
    }
    anna.accept_language = Some("en-GB,en;q=0.9".into());
    for path in pages {
        let english = anna.get(path).await;
        assert!(english.body.contains("<html lang=\"en\""), "{path}");
    }
    // The switch is remembered over the browser's preference.
    let switched = anna.get("/lang/de?back=/me/contact").await;
    assert_eq!(switched.location(), Some("/me/contact"));
    assert!(anna.get("/me").await.body.contains("<html lang=\"de\""));
    let elsewhere = anna.get("/lang/en?back=//evil.example").await;
    assert_eq!(elsewhere.location(), Some("/"));
    for path in ["/signin", "/lists/newsletter"] {
        let public = org.browser().get(path).await;
        assert_eq!(public.status, StatusCode::OK, "{path}");
        assert!(public.headers.contains_key("content-security-policy"));
    }
}

#[tokio::test]
async fn spent_secrets_are_purged_a_day_after_they_run_out() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/me/contact").await;
    anna.post("/me/contact/email", &[("email", "spare@example.com")])
        .await;
    let now = verteiler_store::now_ms();
    assert_eq!(
        org.store().purge_portal_secrets(now).await.unwrap(),
        0,
        "nothing has run out yet"
    );
    // The used sign-in link and the waiting verification, a day and a bit later; the session
    // has been idle longer than allowed by then.
    let later = now + 5 * 24 * 3_600 * 1000;
    assert_eq!(org.store().purge_portal_secrets(later).await.unwrap(), 3);
    assert_eq!(anna.get("/me").await.location(), Some("/signin"));
}

#[tokio::test]
async fn an_admin_completes_a_deletion_request_and_the_person_is_gone() {
    let org = org().await;
    let store = org.store();
    let mut anna = org.signed_in("anna@example.org").await;
    store.create_app_password(org.anna, "Laptop").await.unwrap();
    let admin = store.acting_as("cli:admin");
    assert!(
        !admin.complete_deletion(org.anna).await.unwrap(),
        "nothing without a request"
    );
    anna.get("/me/subscriptions").await;
    anna.post(&format!("/me/subscriptions/{}/join", org.klima), &[])
        .await;
    anna.get("/me/account").await;
    anna.post("/me/delete", &[]).await;
    assert_eq!(
        store
            .open_deletion_requests()
            .await
            .unwrap()
            .iter()
            .map(|(id, name, _)| (*id, name.as_str()))
            .collect::<Vec<_>>(),
        [(org.anna, "Anna Albers")]
    );
    assert!(admin.complete_deletion(org.anna).await.unwrap());
    assert!(store.open_deletion_requests().await.unwrap().is_empty());
    // Signed out, unreachable, and nothing left that names her.
    assert_eq!(anna.get("/me").await.location(), Some("/signin"));
    assert!(store.member_contacts(org.anna).await.unwrap().is_empty());
    assert!(store
        .topic_lists_for(org.anna)
        .await
        .unwrap()
        .iter()
        .all(|l| l.state.is_none()));
    let export = store.export_member_data(org.anna).await.unwrap().unwrap();
    let text = export.to_string();
    assert!(
        !text.contains("Anna") && !text.contains("Albers") && !text.contains("anna@"),
        "{text}"
    );
    assert!(!text.contains("Laptop"));
    assert!(store
        .verify_app_password("anna@example.org", "anything")
        .await
        .unwrap()
        .is_none());
    // Ben is untouched.
    assert_eq!(store.member_contacts(org.ben).await.unwrap().len(), 1);
    assert!(!admin.complete_deletion(org.anna).await.unwrap(), "once");
}
