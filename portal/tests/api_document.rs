//! The OpenAPI document: valid 3.1, complete for every operation, naming only routes the
//! router has; the reference page shows all of it; wrong methods and paths answer problems.

mod support;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use support::{api, staff};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(org: &support::Org, token: &str) -> Value {
    let answer = api::get(org, "/api/v1/openapi.json", token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json
}

/// Every (method, path, operation) of the document.
fn operations(doc: &Value) -> Vec<(&'static str, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                all.push((method, path.clone(), op.clone()));
            }
        }
    }
    assert!(!all.is_empty());
    all
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_operation_is_complete() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let doc = document(&org, &token).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("the document reads as OpenAPI");
    assert_eq!(
        serde_json::to_value(&parsed).unwrap()["paths"],
        doc["paths"]
    );
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for tag in doc["tags"].as_array().expect("tags") {
        assert!(
            tag["description"].is_string(),
            "tag without description: {tag}"
        );
    }
    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        assert!(path.starts_with("/api/v1/"), "{name}");
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: summary"
        );
        assert!(op["tags"][0].is_string(), "{name}: tag");
        let security = op["security"].as_array().expect("security");
        assert!(
            security.iter().all(|r| r.get("bearer").is_some()),
            "{name}: {security:?}"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.contains_key("401") && responses.contains_key("429"),
            "{name}"
        );
        for (status, response) in responses {
            let response = match response["$ref"].as_str() {
                Some(r) => doc.pointer(r.trim_start_matches('#')).expect(r).clone(),
                None => response.clone(),
            };
            if status.starts_with('4') {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{name} {status}: not a problem answer"
                );
            }
        }
    }
}

/// Without a token every documented operation answers 401 from the token door (or 400 for a
/// query it cannot read), not the API's 404 for unknown paths nor the portal's page: the
/// router has each route the document names. With a token none answers 405.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let org = support::org().await;
    let admin = staff::admin(&org).await;
    let token = api::token(&org, admin, "send sends:read approve directory:sync admin").await;
    let doc = document(&org, &token).await;
    for (method, path, _) in operations(&doc) {
        let concrete: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let json = Some("application/json");
        let anonymous = api::send(
            &org,
            method.clone(),
            &concrete,
            None,
            json,
            b"{}".to_vec(),
            &[],
        )
        .await;
        // The door's 401 (or a 400 for a query read before the token): never the
        // 404 that paths the router lacks get.
        let code = anonymous.problem_code().to_string();
        assert!(
            (anonymous.status, code.as_str()) == (StatusCode::UNAUTHORIZED, "token_missing")
                || anonymous.status == StatusCode::BAD_REQUEST,
            "{method} {concrete}: {}",
            anonymous.text
        );
        let with_token = api::send(
            &org,
            method.clone(),
            &concrete,
            Some(&token),
            json,
            b"{}".to_vec(),
            &[],
        )
        .await;
        assert!(
            !with_token.content_type().starts_with("text/html"),
            "{method} {concrete}: {}",
            with_token.text
        );
        assert_ne!(
            with_token.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}"
        );
        if with_token.status == StatusCode::NOT_FOUND {
            // A resource that is not there, said by the handler: never the unknown-path answer.
            assert_eq!(
                with_token.problem_code(),
                "not_found",
                "{method} {concrete}"
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_method_or_path_answers_a_problem() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    for path in ["/api/v1/me", "/api/v1/openapi.json", "/api/v1/reference"] {
        let wrong = api::send(&org, Method::DELETE, path, Some(&token), None, vec![], &[]).await;
        assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(wrong.problem_code(), "method_not_allowed");
        assert!(
            wrong.headers["allow"].to_str().unwrap().contains("GET"),
            "{path}"
        );
    }
    for method in [Method::GET, Method::POST, Method::OPTIONS] {
        let unknown = api::send(
            &org,
            method,
            "/api/v1/no/such/thing",
            Some(&token),
            None,
            vec![],
            &[],
        )
        .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.problem_code(), "not_found");
    }
}

#[tokio::test]
async fn the_reference_page_shows_every_operation_in_both_languages() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let doc = document(&org, &token).await;
    for (lang, heading) in [("en", "API reference"), ("de", "API-Referenz")] {
        let page = api::send(
            &org,
            Method::GET,
            "/api/v1/reference",
            None,
            None,
            vec![],
            &[("cookie", &format!("vt_lang={lang}"))],
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.content_type().starts_with("text/html"));
        assert!(page.text.contains(heading), "{lang}");
        for (method, path, op) in operations(&doc) {
            let shown = format!("{} {path}", method.to_uppercase());
            assert!(page.text.contains(&shown), "{shown} missing");
            let summary = op["summary"].as_str().unwrap();
            assert!(
                page.text.contains(&maud::html! { (summary) }.into_string()),
                "{summary}"
            );
        }
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(
                page.text.contains(&format!("id=\"schema-{name}\"")),
                "{name}"
            );
        }
        assert!(page.text.contains("ProblemBody"));
    }
}

/// A problem's `type` leads to its code's explanation.
#[tokio::test]
async fn a_problems_type_names_a_row_of_the_problems_page() {
    let org = support::org().await;
    let refused = api::send(&org, Method::GET, "/api/v1/me", None, None, vec![], &[]).await;
    let kind = refused.json["type"].as_str().unwrap().to_string();
    let (path, code) = kind.split_once('#').expect("a fragment");
    assert_eq!(code, "token_missing");
    let page = api::send(&org, Method::GET, path, None, None, vec![], &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains(&format!("<tr id=\"{code}\">")),
        "{}",
        page.text
    );
    for code in [
        "token_invalid",
        "scope_missing",
        "not_found",
        "method_not_allowed",
    ] {
        assert!(page.text.contains(&format!("id=\"{code}\"")), "{code}");
    }
    assert!(page.text.contains(
        refused.json["texts"]["en"]
            .as_str()
            .unwrap()
            .split('`')
            .next()
            .unwrap()
    ));
}

/// Every `$ref` of the document names a part it has: a dangling one makes a client (and
/// schemathesis) skip what it describes.
#[tokio::test]
async fn every_reference_of_the_document_resolves() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let doc = document(&org, &token).await;
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("a reference outside the document: {target}"));
        assert!(doc.pointer(pointer).is_some(), "{target} names nothing");
    }
}
