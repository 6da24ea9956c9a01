//! `/api/v1/reference`: the OpenAPI document as a portal page — per tag each operation with
//! its scope, parameters, body fields and answers, then every schema it names. Rendered from
//! the served document itself, so page and document cannot disagree; no script, no assets
//! from elsewhere. The page's frame speaks the reader's language, the document stays English.

use super::openapi::METHODS;
use crate::i18n::Lang;
use crate::page::{layout, respond, Frame};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use std::sync::Arc;

pub(super) async fn page(lang: Lang, State(doc): State<Arc<Value>>) -> Response {
    let frame = Frame::anonymous(lang, "/api/v1/reference");
    let t = |key: &str| lang.text(key);
    let body = html! {
        @if let Some(text) = doc["info"]["description"].as_str() { p { (prose(text)) } }
        p {
            (t("api_reference_document")) " "
            a href="/api/v1/openapi.json" { code { "/api/v1/openapi.json" } }
        }
        p { a href="/api/v1/problems" { (t("api_problems_title")) } }
        nav aria-label=(t("api_reference_contents")) {
            ul {
                @for tag in tags(&doc) {
                    li { a href={ "#tag-" (tag.0) } { (tag.0) } }
                }
                li { a href="#schemas" { (t("api_reference_schemas")) } }
            }
        }
        @for (name, description) in tags(&doc) {
            section aria-labelledby={ "tag-" (name) } {
                h2 id={ "tag-" (name) } { (name) }
                @if let Some(d) = description { p { (prose(&d)) } }
                @for (method, path, op) in operations(&doc, &name) {
                    (operation(&doc, lang, method, path, op))
                }
            }
        }
        section aria-labelledby="schemas" {
            h2 id="schemas" { (t("api_reference_schemas")) }
            @for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
                h3 id={ "schema-" (name) } { code { (name) } }
                @if let Some(d) = schema["description"].as_str() { p { (prose(d)) } }
                (fields(&doc, lang, schema))
            }
        }
    };
    let title = t("api_reference_title");
    respond(StatusCode::OK, layout(&frame, title, body))
}

/// `/api/v1/problems`: every problem code with its text, one row each with the code as its
/// anchor, so a problem's `type` (`/api/v1/problems#<code>`) leads to its explanation.
pub(super) async fn problems(lang: Lang) -> Response {
    let frame = Frame::anonymous(lang, "/api/v1/problems");
    let t = |key: &str| lang.text(key);
    let body = html! {
        p { (t("api_problems_intro")) " " a href="/api/v1/reference" { (t("api_reference_title")) } }
        table {
            thead { tr {
                th scope="col" { (t("api_reference_code")) }
                th scope="col" { (t("api_reference_description")) }
            } }
            tbody { @for (key, text) in verteiler_texts::with_prefix(lang.policies(), "api.") {
                @let code = key.trim_start_matches("api.");
                tr id=(code) { td { code { (code) } } td { (text) } }
            } }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, t("api_problems_title"), body),
    )
}

/// The document's tags in order, with descriptions.
fn tags(doc: &Value) -> Vec<(String, Option<String>)> {
    doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t["name"].as_str()?.to_string();
            Some((name, t["description"].as_str().map(str::to_string)))
        })
        .collect()
}

/// Every operation with the tag, as (method, path, operation).
pub(crate) fn operations<'a>(doc: &'a Value, tag: &str) -> Vec<(&'static str, &'a str, &'a Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let op = &item[method];
            let tagged = op["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == tag));
            if tagged {
                found.push((method, path.as_str(), op));
            }
        }
    }
    found
}

fn operation(doc: &Value, lang: Lang, method: &str, path: &str, op: &Value) -> Markup {
    let t = |key: &str| lang.text(key);
    let scopes: Vec<&str> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|r| r.values())
        .flat_map(|s| s.as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let parameters: Vec<&Value> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .collect();
    let anchor = format!("{method}-{}", path.replace(['/', '{', '}'], "-"));
    html! {
        article {
            h3 id=(anchor) { code { (method.to_uppercase()) " " (path) } }
            @if let Some(s) = op["summary"].as_str() { p { strong { (s) } } }
            @if let Some(d) = op["description"].as_str() { p { (prose(d)) } }
            dl class="facts" {
                dt { (t("api_reference_scope")) }
                dd {
                    @if scopes.is_empty() { (t("api_reference_any_token")) }
                    @for s in &scopes { code { (s) } " " }
                }
            }
            @if !parameters.is_empty() {
                h4 { (t("api_reference_parameters")) }
                table {
                    thead { tr {
                        th scope="col" { (t("api_reference_name")) }
                        th scope="col" { (t("api_reference_in")) }
                        th scope="col" { (t("api_reference_type")) }
                        th scope="col" { (t("api_reference_description")) }
                    } }
                    tbody { @for p in &parameters { tr {
                        td { code { (p["name"].as_str().unwrap_or_default()) }
                             @if p["required"] == true { " " (t("api_reference_required")) } }
                        td { (p["in"].as_str().unwrap_or_default()) }
                        td { (type_of(&p["schema"])) }
                        td { (prose(p["description"].as_str().unwrap_or_default())) }
                    } } }
                }
            }
            @if let Some(body) = op.get("requestBody").map(|b| resolve(doc, b)) {
                h4 { (t("api_reference_body")) }
                @if let Some(d) = body["description"].as_str() { p { (prose(d)) } }
                @for (media, content) in body["content"].as_object().into_iter().flatten() {
                    p { code { (media) } ": " (type_of(&content["schema"])) }
                    (fields(doc, lang, &content["schema"]))
                }
            }
            h4 { (t("api_reference_responses")) }
            table {
                thead { tr {
                    th scope="col" { (t("api_reference_status")) }
                    th scope="col" { (t("api_reference_description")) }
                    th scope="col" { (t("api_reference_content")) }
                } }
                tbody { @for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    @let response = resolve(doc, response);
                    tr {
                        td { (status) }
                        td { (prose(response["description"].as_str().unwrap_or_default())) }
                        td { @for (media, content) in response["content"].as_object().into_iter().flatten() {
                            code { (media) } " " (type_of(&content["schema"])) br;
                        } }
                    }
                } }
            }
        }
    }
}

/// An object schema's fields as a table (nothing for other schemas).
fn fields(doc: &Value, lang: Lang, schema: &Value) -> Markup {
    let t = |key: &str| lang.text(key);
    let schema = resolve(doc, schema);
    let mut properties: Vec<(&String, &Value)> = Vec::new();
    let mut required: Vec<&str> = Vec::new();
    // `allOf` parts (flattened structs) contribute their fields.
    for part in std::iter::once(schema).chain(
        schema["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(doc, p)),
    ) {
        properties.extend(part["properties"].as_object().into_iter().flatten());
        required.extend(
            part["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        );
    }
    html! {
        @if !properties.is_empty() {
            table {
                thead { tr {
                    th scope="col" { (t("api_reference_field")) }
                    th scope="col" { (t("api_reference_type")) }
                    th scope="col" { (t("api_reference_description")) }
                } }
                tbody { @for (name, property) in &properties { tr {
                    td { code { (name) }
                         @if required.contains(&name.as_str()) { " " (t("api_reference_required")) } }
                    td { (type_of(property)) }
                    td { (prose(property["description"].as_str().unwrap_or_default())) }
                } } }
            }
        }
    }
}

/// A description's text with its `backticked` parts as code (the one piece of Markdown the
/// handlers' doc comments use).
fn prose(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// A schema's type as a reader wants it: a link for a named schema, `array of …`, `a | b`,
/// the allowed values of an enum.
fn type_of(schema: &Value) -> Markup {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return html! { a href={ "#schema-" (name) } { (name) } };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = schema[key].as_array() {
            return html! { @for (i, part) in parts.iter().enumerate() {
                @if i > 0 { " | " } (type_of(part))
            } };
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return html! { @for (i, v) in values.iter().enumerate() {
            @if i > 0 { " | " } code { (v) }
        } };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    html! {
        @for (i, ty) in types.iter().enumerate() {
            @if i > 0 { " | " }
            @if *ty == "array" { "array of " (type_of(&schema["items"])) } @else { (ty) }
        }
        @if let Some(format) = schema["format"].as_str() { " (" (format) ")" }
        @if types.is_empty() && schema.get("allOf").is_some() {
            @for part in schema["allOf"].as_array().into_iter().flatten() { (type_of(part)) " " }
        }
    }
}

/// Follows a local `$ref` (`#/components/…`); anything else is returned as it is.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(value),
        None => value,
    }
}
