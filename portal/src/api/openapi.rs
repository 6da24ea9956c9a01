//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations
//! and completed here with what every operation shares, so no handler can forget it: the
//! bearer requirement, the problem answers the door and the extractors give (401, 403, 404,
//! 400, 413, 415, 429), the servers and the tags' descriptions.
//!
//! A handler names the scope it needs in its security requirement,
//! `security(("bearer" = ["sends:read"]))` (OpenAPI 3.1 allows role names for any scheme);
//! the reference page shows it and the 403 answer is added for it.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

/// The tags, in the order the reference shows them, with what each is for. A tag a handler
/// uses that is missing here is listed after these, without a description (a test objects).
const TAGS: [(&str, &str); 8] = [
    (
        "tokens",
        "The calling token: whose it is and what it may do.",
    ),
    (
        "submissions",
        "Hand in a message (raw MIME or JSON) and read what became of it.",
    ),
    (
        "sends",
        "Follow a send's deliveries by channel, cancel it within its undo window.",
    ),
    (
        "held",
        "Four eyes: sends waiting for the caller's approval; approve or reject them.",
    ),
    (
        "approvals",
        "Four eyes: sends waiting for the caller's approval; approve or reject them.",
    ),
    (
        "audiences",
        "The lists the caller may send to, with their policy and size, never addresses.",
    ),
    (
        "policy",
        "Ask the policy engine what it would decide, without sending anything.",
    ),
    (
        "directory",
        "The membership database's door: push units and members, read members' own changes.",
    ),
];

/// Problem answers every operation may get, by status: (component name, description).
const PROBLEMS: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "The request could not be read (body, query or cursor).",
    ),
    (
        "401",
        "Unauthorized",
        "No token, or not a usable one (unknown, revoked, expired).",
    ),
    (
        "403",
        "Forbidden",
        "The token lacks the scope, or its owner the right, for this.",
    ),
    (
        "404",
        "NotFound",
        "No such resource, or not the caller's to see.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the server takes.",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not of a type this operation reads.",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests with this token; see Retry-After.",
    ),
];

pub(super) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document's frame: title, version, the bearer scheme. Paths come from the handlers.
pub(super) fn base() -> OpenApi {
    let mut api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("verteiler API")
                .version("1")
                .description(Some(
                    "Submit, follow, approve and sync the directory. Every request carries a \
                     personal token (`Authorization: Bearer vt_…`, made with `verteiler token \
                     create`); every error is `application/problem+json` with a stable `code` \
                     and texts in German and English. Lists page by cursor (`limit` 1–200, \
                     `cursor` from `next_cursor`).",
                ))
                .build(),
        )
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("vt_<id>_<64 hex digits>")
                .build(),
        ),
    );
    api
}

/// The generated document, completed (see the module's comment), as served.
pub(super) fn finish(document: OpenApi) -> Value {
    let mut doc = serde_json::to_value(document).expect("an OpenAPI document serialises");
    doc["servers"] = json!([{ "url": "/", "description": "This server" }]);
    add_problem_components(&mut doc);
    let mut used_tags: Vec<String> = Vec::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method) {
                    complete(op);
                    for tag in op["tags"].as_array().into_iter().flatten() {
                        let tag = tag.as_str().unwrap_or_default().to_string();
                        if !used_tags.contains(&tag) {
                            used_tags.push(tag);
                        }
                    }
                }
            }
        }
    }
    let mut tags: Vec<Value> = TAGS
        .iter()
        .filter(|(name, _)| used_tags.iter().any(|t| t == name))
        .map(|(name, description)| json!({ "name": name, "description": description }))
        .collect();
    for tag in used_tags
        .iter()
        .filter(|t| !TAGS.iter().any(|(n, _)| n == t))
    {
        tags.push(json!({ "name": tag }));
    }
    doc["tags"] = Value::Array(tags);
    doc
}

fn add_problem_components(doc: &mut Value) {
    let components = object(&mut doc["components"]);
    let responses = object(components.entry("responses").or_insert(json!({})));
    for (status, name, description) in PROBLEMS {
        let mut response = json!({
            "description": description,
            "content": { "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/ProblemBody" }
            } }
        });
        if status == "429" {
            response["headers"] = json!({ "Retry-After": {
                "description": "Seconds until the token may ask again.",
                "schema": { "type": "integer" }
            } });
        }
        responses.insert(name.to_string(), response);
    }
}

/// One operation: the bearer requirement if it names none, and the problem answers its shape
/// implies.
fn complete(op: &mut Value) {
    let unsecured = op["security"].as_array().is_none_or(|s| s.is_empty());
    if unsecured {
        op["security"] = json!([{ "bearer": [] }]);
    }
    let scoped = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|r| r.values())
        .any(|scopes| scopes.as_array().is_some_and(|s| !s.is_empty()));
    let params_in = |place: &str| {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["in"] == place)
    };
    let has_body = op.get("requestBody").is_some();
    let mut needed = vec!["401", "429"];
    if scoped {
        needed.push("403");
    }
    if params_in("path") {
        needed.push("404");
    }
    if params_in("path") || params_in("query") || has_body {
        needed.push("400");
    }
    if has_body {
        needed.extend(["413", "415"]);
    }
    let responses = object(&mut op["responses"]);
    for (status, name, _) in PROBLEMS {
        if needed.contains(&status) && !responses.contains_key(status) {
            responses.insert(
                status.to_string(),
                json!({ "$ref": format!("#/components/responses/{name}") }),
            );
        }
    }
}

/// The object at `value`, made one if it is not.
fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    value.as_object_mut().expect("just made an object")
}

pub(super) async fn json(State(document): State<Arc<Value>>) -> Response {
    axum::Json(document.as_ref().clone()).into_response()
}
