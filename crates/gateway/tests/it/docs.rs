//! The OpenAPI document: it lists every route the router serves and
//! nothing it does not, every reference resolves, and Swagger UI is served
//! from the binary (no CDN).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::platform::Platform;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn the_document_lists_every_route_and_every_documented_route_is_served() {
    let p = Platform::start().await;
    let spec: Value =
        p.http.get(format!("{}/api/openapi.json", p.gateway)).send().await.expect("send").json().await.expect("json");
    assert_eq!(spec["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                documented.insert((method.to_uppercase(), path.clone()));
                assert!(op["responses"]["200"].is_object(), "{method} {path} documents its success");
                assert!(op["operationId"].is_string(), "{method} {path} has an operationId");
                for param in braces(path) {
                    let declared = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["name"] == param.as_str() && p["in"] == "path");
                    assert!(declared, "{method} {path}: path parameter {param} is declared");
                }
            }
        }
    }
    let mut served: BTreeSet<(String, String)> =
        gateway::routes::table().iter().map(|r| (r.method.to_string(), r.full_path())).collect();
    served.insert(("GET".to_owned(), gateway::sse::PATH.to_owned()));
    assert_eq!(documented, served, "documented routes == served routes");

    let ids: Vec<&str> = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)?["operationId"].as_str()))
        .collect();
    assert_eq!(ids.len(), ids.iter().collect::<BTreeSet<_>>().len(), "operationIds are unique");

    // Every $ref points at a component that exists.
    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(spec["components"]["schemas"][name].is_object(), "{r} resolves");
    }

    // Every documented operation is served: without credentials it is refused
    // as unauthenticated or invalid — never "no such route" or "method not allowed".
    for (method, path) in &documented {
        let concrete = braces(path).iter().fold(path.clone(), |acc, p| acc.replace(&format!("{{{p}}}"), "x"));
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let res = p.http.request(method.clone(), format!("{}{concrete}", p.gateway)).send().await.expect("send");
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{method} {path}");
        assert_ne!(body["detail"], "no such route", "{method} {path}");
        assert!(matches!(status, 200 | 400 | 401 | 404), "{method} {path}: {status} {body}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let p = Platform::start().await;
    let res = p.http.get(format!("{}/docs/", p.gateway)).send().await.expect("send");
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    let init = p.http.get(format!("{}/docs/swagger-initializer.js", p.gateway)).send().await.expect("send");
    assert_eq!(init.status(), 200);
    assert!(init.text().await.expect("js").contains("/api/openapi.json"));

    // The ops port counts requests by route template, not by raw path.
    let res = p.http.get(format!("{}/api/v1/accounts/some-id", p.gateway)).send().await.expect("send");
    assert_eq!(res.status(), 401);
    let metrics = p.http.get(format!("{}/metrics", p.ops)).send().await.expect("send").text().await.expect("text");
    let counted = metrics.lines().any(|l| {
        l.starts_with("gateway_http_requests_total")
            && l.contains(r#"route="/api/v1/accounts/{id}""#)
            && l.contains(r#"status="401""#)
    });
    assert!(counted, "{metrics}");
    assert!(!metrics.contains("some-id"));
}

#[tokio::test]
async fn responses_match_their_documented_schemas() {
    let p = Platform::start().await;
    let spec: Value =
        p.http.get(format!("{}/api/openapi.json", p.gateway)).send().await.expect("send").json().await.expect("json");
    let admin = p.admin().await;
    let (tenant, token) = p.tenant(&admin, "acme").await;
    p.register_sim(&admin).await;
    let account = p.post("/api/v1/accounts", &token, serde_json::json!({"account_name": "Sales"})).await.ok().json;
    let id = account["id"].as_str().expect("id");
    for (path, route, who) in [
        ("/api/v1/auth/me".to_owned(), "/api/v1/auth/me", &token),
        (format!("/api/v1/tenants/{tenant}"), "/api/v1/tenants/{tenant_id}", &admin),
        ("/api/v1/users".to_owned(), "/api/v1/users", &token),
        (format!("/api/v1/accounts/{id}"), "/api/v1/accounts/{id}", &token),
        ("/api/v1/accounts".to_owned(), "/api/v1/accounts", &token),
        ("/api/v1/roles".to_owned(), "/api/v1/roles", &token),
    ] {
        let body = p.get(&path, who).await.ok().json;
        let schema = &spec["paths"][route]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        conforms(&spec, schema, &body, route);
    }
    let bad = p.get("/api/v1/accounts/nope", &token).await;
    conforms(&spec, &serde_json::json!({"$ref": "#/components/schemas/Problem"}), &bad.json, "problem");
}

/// A small JSON Schema check covering what the generator emits: `$ref`,
/// `type`, `properties`, `required`, `items`, `additionalProperties`, `enum`.
fn conforms(spec: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(spec, &spec["components"]["schemas"][name], value, at);
    }
    if let Some(t) = schema["type"].as_str() {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        assert!(ok, "{at}: {value} is not {t}");
    }
    if let Some(values) = schema["enum"].as_array() {
        assert!(values.contains(value), "{at}: {value} not in enum");
    }
    if let Some(required) = schema["required"].as_array() {
        for name in required.iter().filter_map(Value::as_str) {
            assert!(value.get(name).is_some(), "{at}: required {name} missing in {value}");
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for (name, v) in object {
            let sub = props.get(name).unwrap_or_else(|| panic!("{at}: {name} is not documented"));
            conforms(spec, sub, v, &format!("{at}.{name}"));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            conforms(spec, items, v, &format!("{at}[{i}]"));
        }
    }
}

fn braces(path: &str) -> Vec<String> {
    gateway::openapi::path_params(path)
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
