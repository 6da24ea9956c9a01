//! `/api/v1/submissions` and `/api/v1/sends`: handing a message in over the API (JSON parts or
//! a raw message) through the same intake as SMTP, following and stopping one's own sends;
//! scopes, lists a token is limited to, other members' objects, dead tokens and retries.

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::api::{self, Answer};
use support::staff::make_chair;
use support::{org, Org};
use verteiler_store::SendState;

fn invitation(lists: &[&str]) -> Value {
    json!({
        "subject": "Sommerfest",
        "text": "Liebe Mitglieder,\n\nwir laden ein.",
        "html": "<p>Liebe <b>Mitglieder</b></p>",
        "sms_text": "Einladung: Sommerfest am Samstag, 15 Uhr.",
        "attachments": [{
            "filename": "einladung.txt",
            "content_type": "text/plain",
            "content_base64": "RWlubGFkdW5n"
        }],
        "lists": lists,
    })
}

fn raw_message(from: &str, to: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Vorstandssitzung\r\n\r\nLiebe Mitglieder,\r\nbis Montag.\r\n"
    )
    .into_bytes()
}

async fn post_raw(
    org: &Org,
    path: &str,
    token: &str,
    raw: Vec<u8>,
    headers: &[(&str, &str)],
) -> Answer {
    api::send(
        org,
        Method::POST,
        path,
        Some(token),
        Some("message/rfc822"),
        raw,
        headers,
    )
    .await
}

async fn post(org: &Org, path: &str, token: &str) -> Answer {
    api::send(org, Method::POST, path, Some(token), None, vec![], &[]).await
}

async fn submissions(org: &Org) -> u64 {
    org.store().count_submissions().await.unwrap()
}

#[tokio::test]
async fn a_chair_submits_as_json_follows_the_send_and_stops_it() {
    let org = org().await;
    make_chair(&org).await;
    let token = api::token(&org, org.ben, "send sends:read").await;
    let answer = api::post_json(
        &org,
        "/api/v1/submissions",
        &token,
        invitation(&["oldenfelde"]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let send = &answer.json["sends"][0];
    assert_eq!(send["decision"], "released", "{}", answer.text);
    assert_eq!(send["list"], "oldenfelde");
    assert_eq!(send["address"], "oldenfelde@lists.example.org");
    assert_eq!(send["recipients"], 2);
    assert!(send["undo_until"].as_i64().unwrap() > verteiler_store::now_ms());
    assert!(send["summary"]["en"]
        .as_str()
        .unwrap()
        .contains("accepted for 2 recipients"));
    let id = answer.json["submission_id"].as_i64().unwrap();
    let send_id = send["send_id"].as_i64().unwrap();

    // Built as the compose page builds it, through the same intake, audited as the API.
    let store = org.store();
    let raw = String::from_utf8(store.submission_raw(id).await.unwrap().unwrap()).unwrap();
    assert!(raw.contains("Subject: Sommerfest"), "{raw}");
    assert!(
        raw.contains("From: \"Ben Brandt (Oldenfelde)\" <ben@example.org>"),
        "{raw}"
    );
    assert!(raw.contains("To: <oldenfelde@lists.example.org>"), "{raw}");
    assert!(
        raw.contains("text/html") && raw.contains("einladung.txt"),
        "{raw}"
    );
    assert_eq!(
        store.submission_sms_text(id).await.unwrap().as_deref(),
        Some("Einladung: Sommerfest am Samstag, 15 Uhr.")
    );
    let audit = store.audit_of_submission(id).await.unwrap();
    assert_eq!(audit[0].details_json()["ingress"], "api");

    let listed = api::get(&org, "/api/v1/submissions", &token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.json["items"][0]["submission_id"], id);
    assert_eq!(listed.json["items"][0]["sends"][0]["state"], "scheduled");
    let one = api::get(&org, &format!("/api/v1/submissions/{id}"), &token).await;
    assert_eq!(one.json["subject"], "Sommerfest");
    assert_eq!(one.json["sends"][0]["send_id"], send_id);
    let detail = api::get(&org, &format!("/api/v1/sends/{send_id}"), &token).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.json["state"], "scheduled");
    assert_eq!(detail.json["decision"], "released");
    assert_eq!(detail.json["cancellable"], true);
    assert_eq!(detail.json["totals"]["sent"], 0);

    let cancelled = post(&org, &format!("/api/v1/sends/{send_id}/cancel"), &token).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.json["state"], "cancelled");
    assert_eq!(
        store.send_record(send_id).await.unwrap().unwrap().state,
        SendState::Cancelled
    );
    let again = post(&org, &format!("/api/v1/sends/{send_id}/cancel"), &token).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.problem_code(), "send_not_running");
}

#[tokio::test]
async fn a_raw_message_goes_to_the_lists_of_its_to_line_or_of_the_query() {
    let org = org().await;
    make_chair(&org).await;
    let token = api::token(&org, org.ben, "send").await;
    let raw = raw_message(
        "Ben Brandt <ben@example.org>",
        "Ortsverband <oldenfelde@lists.example.org>, someone@example.com",
    );
    let answer = post_raw(&org, "/api/v1/submissions", &token, raw.clone(), &[]).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let sends = answer.json["sends"].as_array().unwrap();
    assert_eq!(
        sends.len(),
        1,
        "only list addresses are lists: {}",
        answer.text
    );
    assert_eq!(sends[0]["address"], "oldenfelde@lists.example.org");

    let answer = post_raw(&org, "/api/v1/submissions?to=klima", &token, raw, &[]).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let sends = answer.json["sends"].as_array().unwrap();
    assert_eq!(sends.len(), 1, "{}", answer.text);
    assert_eq!(
        sends[0]["address"], "klima@lists.example.org",
        "the query decides"
    );

    let nothing = raw_message("ben@example.org", "someone@example.com");
    let answer = post_raw(&org, "/api/v1/submissions", &token, nothing, &[]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.problem_code(), "lists_missing");

    // Somebody else's From: is refused before any list, in both languages, nothing stored.
    let before = submissions(&org).await;
    let forged = raw_message("anna@example.org", "oldenfelde@lists.example.org");
    let answer = post_raw(&org, "/api/v1/submissions", &token, forged, &[]).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert_eq!(answer.problem_code(), "from_not_yours");
    assert!(answer.json["texts"]["de"]
        .as_str()
        .unwrap()
        .contains("anna@example.org"));
    assert_eq!(submissions(&org).await, before);
}

#[tokio::test]
async fn the_engine_refuses_a_list_the_sender_may_not_use_naming_its_reason() {
    let org = org().await;
    make_chair(&org).await;
    // Anna holds no office: the branch list refuses her, as by SMTP.
    let anna = api::token(&org, org.anna, "send").await;
    let answer = api::post_json(
        &org,
        "/api/v1/submissions",
        &anna,
        invitation(&["oldenfelde"]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let send = &answer.json["sends"][0];
    assert_eq!(send["decision"], "refused");
    assert_eq!(
        send["reasons"][0]["code"], "sender.not_authorised",
        "{}",
        answer.text
    );
    assert!(send.get("undo_until").is_none());

    // A switched-off list is refused, never widened; an unknown one too.
    org.store()
        .set_audience_active(org.oldenfelde, false)
        .await
        .unwrap();
    let ben = api::token(&org, org.ben, "send").await;
    let answer = api::post_json(
        &org,
        "/api/v1/submissions",
        &ben,
        invitation(&["oldenfelde", "gibtsnicht@lists.example.org"]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let codes: Vec<&str> = answer.json["sends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reasons"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["audience.inactive", "audience.unknown"],
        "{}",
        answer.text
    );
    let id = answer.json["submission_id"].as_i64().unwrap();
    let sends = org.store().sends_of(id).await.unwrap();
    assert!(sends.iter().all(|s| s.state == SendState::Rejected));
}

#[tokio::test]
async fn a_token_limited_to_lists_is_refused_any_other_before_the_intake() {
    let org = org().await;
    make_chair(&org).await;
    let token = api::token(&org, org.ben, "send:klima").await;
    for lists in [
        vec!["oldenfelde"],
        vec!["klima", "oldenfelde"],
        vec!["klima@elsewhere.example"],
    ] {
        let answer = api::post_json(&org, "/api/v1/submissions", &token, invitation(&lists)).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{lists:?}: {}",
            answer.text
        );
        assert_eq!(answer.problem_code(), "list_not_in_token");
    }
    let raw = raw_message("ben@example.org", "oldenfelde@lists.example.org");
    let answer = post_raw(&org, "/api/v1/submissions", &token, raw, &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.problem_code(), "list_not_in_token");
    assert_eq!(submissions(&org).await, 0, "nothing reached the intake");

    let answer = api::post_json(&org, "/api/v1/submissions", &token, invitation(&["klima"])).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);

    // Nor does it stop the owner's send to another list.
    let full = api::token(&org, org.ben, "send").await;
    let other = api::post_json(
        &org,
        "/api/v1/submissions",
        &full,
        invitation(&["oldenfelde"]),
    )
    .await;
    let send_id = other.json["sends"][0]["send_id"].as_i64().unwrap();
    let stop = post(&org, &format!("/api/v1/sends/{send_id}/cancel"), &token).await;
    assert_eq!(
        (stop.status, stop.problem_code()),
        (StatusCode::FORBIDDEN, "list_not_in_token")
    );
}

#[tokio::test]
async fn each_endpoint_asks_for_its_scope() {
    let org = org().await;
    make_chair(&org).await;
    let full = api::token(&org, org.ben, "send sends:read").await;
    let answer = api::post_json(
        &org,
        "/api/v1/submissions",
        &full,
        invitation(&["oldenfelde"]),
    )
    .await;
    let id = answer.json["submission_id"].as_i64().unwrap();
    let send_id = answer.json["sends"][0]["send_id"].as_i64().unwrap();

    let read_only = api::token(&org, org.ben, "sends:read").await;
    let refused = api::post_json(
        &org,
        "/api/v1/submissions",
        &read_only,
        invitation(&["oldenfelde"]),
    )
    .await;
    assert_eq!(
        (refused.status, refused.problem_code()),
        (StatusCode::FORBIDDEN, "scope_missing")
    );
    let refused = post(&org, &format!("/api/v1/sends/{send_id}/cancel"), &read_only).await;
    assert_eq!(
        (refused.status, refused.problem_code()),
        (StatusCode::FORBIDDEN, "scope_missing")
    );

    let send_only = api::token(&org, org.ben, "send").await;
    for path in [
        "/api/v1/submissions".to_string(),
        format!("/api/v1/submissions/{id}"),
        format!("/api/v1/sends/{send_id}"),
    ] {
        let refused = api::get(&org, &path, &send_only).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(refused.problem_code(), "scope_missing");
    }
    assert_eq!(
        org.store()
            .send_record(send_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        SendState::Scheduled,
        "nothing was stopped"
    );
}

#[tokio::test]
async fn another_members_submission_and_send_are_not_found() {
    let org = org().await;
    make_chair(&org).await;
    let ben = api::token(&org, org.ben, "send sends:read").await;
    let answer = api::post_json(
        &org,
        "/api/v1/submissions",
        &ben,
        invitation(&["oldenfelde"]),
    )
    .await;
    let id = answer.json["submission_id"].as_i64().unwrap();
    let send_id = answer.json["sends"][0]["send_id"].as_i64().unwrap();

    let anna = api::token(&org, org.anna, "send sends:read").await;
    let listed = api::get(&org, "/api/v1/submissions", &anna).await;
    assert_eq!(listed.json["items"], json!([]));
    for path in [
        format!("/api/v1/submissions/{id}"),
        format!("/api/v1/sends/{send_id}"),
        "/api/v1/sends/abc".to_string(),
    ] {
        let hidden = api::get(&org, &path, &anna).await;
        assert_eq!(
            (hidden.status, hidden.problem_code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let stop = post(&org, &format!("/api/v1/sends/{send_id}/cancel"), &anna).await;
    assert_eq!(
        (stop.status, stop.problem_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(
        org.store()
            .send_record(send_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        SendState::Scheduled
    );
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused_everywhere() {
    let org = org().await;
    make_chair(&org).await;
    let ben = api::token(&org, org.ben, "send sends:read").await;
    let answer = api::post_json(
        &org,
        "/api/v1/submissions",
        &ben,
        invitation(&["oldenfelde"]),
    )
    .await;
    let id = answer.json["submission_id"].as_i64().unwrap();
    let send_id = answer.json["sends"][0]["send_id"].as_i64().unwrap();

    let expired = api::token(&org, org.ben, "send sends:read").await;
    let expired_id = api::get(&org, "/api/v1/me", &expired).await.json["token_id"]
        .as_i64()
        .unwrap();
    verteiler_store::testing::expire_api_token(org.store(), expired_id)
        .await
        .unwrap();
    let revoked = api::token(&org, org.ben, "send sends:read").await;
    let revoked_id = api::get(&org, "/api/v1/me", &revoked).await.json["token_id"]
        .as_i64()
        .unwrap();
    assert!(org
        .store()
        .revoke_api_token(revoked_id, Some(org.ben))
        .await
        .unwrap());

    for token in [&expired, &revoked] {
        let answers = [
            api::post_json(
                &org,
                "/api/v1/submissions",
                token,
                invitation(&["oldenfelde"]),
            )
            .await,
            api::get(&org, "/api/v1/submissions", token).await,
            api::get(&org, &format!("/api/v1/submissions/{id}"), token).await,
            api::get(&org, &format!("/api/v1/sends/{send_id}"), token).await,
            post(&org, &format!("/api/v1/sends/{send_id}/cancel"), token).await,
        ];
        for answer in answers {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
            assert_eq!(answer.problem_code(), "token_invalid");
        }
    }
    assert_eq!(submissions(&org).await, 1);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_stores_once() {
    let org = org().await;
    make_chair(&org).await;
    let token = api::token(&org, org.ben, "send").await;
    let body = invitation(&["oldenfelde"]).to_string().into_bytes();
    let key = [("Idempotency-Key", "7c9e6679-7425-40de-944b-e07fc1f90ae7")];
    let submit = |body: Vec<u8>| {
        api::send(
            &org,
            Method::POST,
            "/api/v1/submissions",
            Some(&token),
            Some("application/json"),
            body,
            &key,
        )
    };
    let first = submit(body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let second = submit(body.clone()).await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(second.json, first.json, "the same answer");
    assert_eq!(submissions(&org).await, 1, "one submission");

    let other = invitation(&["klima"]).to_string().into_bytes();
    let mismatch = submit(other).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatch.problem_code(), "idempotency_mismatch");

    // A raw message with its own key is its own request.
    let raw = raw_message("ben@example.org", "oldenfelde@lists.example.org");
    let raw_key = [("Idempotency-Key", "raw-1")];
    let a = post_raw(&org, "/api/v1/submissions", &token, raw.clone(), &raw_key).await;
    let b = post_raw(&org, "/api/v1/submissions", &token, raw, &raw_key).await;
    assert_eq!((a.status, &a.json), (b.status, &b.json));
    assert_eq!(submissions(&org).await, 2);

    let bad = api::send(
        &org,
        Method::POST,
        "/api/v1/submissions",
        Some(&token),
        Some("application/json"),
        body,
        &[("Idempotency-Key", "")],
    )
    .await;
    assert_eq!(
        (bad.status, bad.problem_code()),
        (StatusCode::BAD_REQUEST, "idempotency_key_invalid")
    );
}

#[tokio::test]
async fn bad_requests_are_named_and_store_nothing() {
    let org = org().await;
    make_chair(&org).await;
    let token = api::token(&org, org.ben, "send").await;
    let mut no_subject = invitation(&["oldenfelde"]);
    no_subject["subject"] = json!("  ");
    let mut bad_file = invitation(&["oldenfelde"]);
    bad_file["attachments"][0]["content_base64"] = json!("not base64!");
    let mut no_lists = invitation(&[]);
    no_lists["lists"] = json!([]);
    for (body, status, code) in [
        (
            no_subject,
            StatusCode::UNPROCESSABLE_ENTITY,
            "subject_missing",
        ),
        (
            bad_file,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment_invalid",
        ),
        (no_lists, StatusCode::UNPROCESSABLE_ENTITY, "lists_missing"),
        (
            invitation(&["../etc"]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "list_invalid",
        ),
        (
            json!({"subject": "x"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ] {
        let answer = api::post_json(&org, "/api/v1/submissions", &token, body).await;
        assert_eq!(
            (answer.status, answer.problem_code()),
            (status, code),
            "{}",
            answer.text
        );
    }
    let answer = api::send(
        &org,
        Method::POST,
        "/api/v1/submissions",
        Some(&token),
        Some("text/plain"),
        b"hi".to_vec(),
        &[],
    )
    .await;
    assert_eq!(
        (answer.status, answer.problem_code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    assert_eq!(submissions(&org).await, 0);
}

#[tokio::test]
async fn the_document_describes_every_submission_and_send_endpoint() {
    let org = org().await;
    let doc = api::send(
        &org,
        Method::GET,
        "/api/v1/openapi.json",
        None,
        None,
        vec![],
        &[],
    )
    .await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = &doc.json["paths"];
    for (path, method) in [
        ("/api/v1/submissions", "post"),
        ("/api/v1/submissions", "get"),
        ("/api/v1/submissions/{id}", "get"),
        ("/api/v1/sends/{id}", "get"),
        ("/api/v1/sends/{id}/cancel", "post"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        // Shared answers are references to the document's problem responses.
        let unauthorised = &op["responses"]["401"];
        let unauthorised = match unauthorised["$ref"].as_str() {
            Some(target) => doc.json.pointer(target.trim_start_matches('#')).unwrap(),
            None => unauthorised,
        };
        assert!(
            unauthorised["content"]["application/problem+json"].is_object(),
            "{method} {path}"
        );
    }
    let submit = &paths["/api/v1/submissions"]["post"];
    assert!(submit["requestBody"]["content"]["message/rfc822"].is_object());
    assert!(submit["requestBody"]["content"]["application/json"].is_object());
    assert!(doc.json["components"]["schemas"]["SubmissionAccepted"].is_object());
}
