//! The OpenAPI 3.1 document, generated at start from the same route table
//! the router serves and from the proto descriptors the JSON is converted
//! with — so paths, parameters and schemas cannot drift from what the code
//! accepts and returns. Schemas follow [`crate::convert::serialize_options`]:
//! proto field names, enums by name, 64-bit integers as numbers, bytes as
//! base64, well-known types in their JSON forms.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ArrayBuilder, ComponentsBuilder, ContentBuilder, InfoBuilder, KnownFormat, ObjectBuilder, OpenApi, OpenApiBuilder,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder, Schema, SchemaFormat, SecurityRequirement, Type,
};

use crate::convert::{FILTER_FIELD, PAGE_FIELD, is_query_leaf};
use crate::problem::CONTENT_TYPE as PROBLEM_JSON;
use crate::router::Bound;
use crate::routes::Body;

/// Where the document is served.
pub const PATH: &str = "/api/openapi.json";
const PROBLEM: &str = "Problem";
const BEARER: &str = "bearer";
const API_KEY: &str = "api_key";

/// The whole document: every route of `bound`, plus the event stream.
pub fn document(bound: &[Bound]) -> OpenApi {
    let mut schemas = Schemas::default();
    let mut paths = PathsBuilder::new();
    let mut operation_ids = HashSet::new();
    for b in bound {
        let method = http_method(&b.route.method);
        let op = operation(b, &mut schemas, &mut operation_ids);
        paths = paths.path(b.route.full_path(), utoipa::openapi::PathItem::new(method, op));
    }
    paths = paths.path(crate::sse::PATH, utoipa::openapi::PathItem::new(HttpMethod::Get, event_stream()));
    let mut components = ComponentsBuilder::new()
        .schema(PROBLEM, problem_schema())
        .security_scheme(
            BEARER,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        )
        .security_scheme(API_KEY, SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    for (name, schema) in schemas.done {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("WeWork Platform API").version(env!("CARGO_PKG_VERSION")).description(Some(
            "REST/JSON for front ends over the platform's gRPC services. Authenticate with \
                     `Authorization: Bearer <access token>` (from `POST /api/v1/auth/login`) or `X-Api-Key`. \
                     Errors are `application/problem+json`; lists page with `page_size` and `page_token`.",
        )))
        .paths(paths)
        .components(Some(components.build()))
        .security(Some([
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
            SecurityRequirement::new(API_KEY, Vec::<String>::new()),
        ]))
        .build()
}

fn http_method(method: &http::Method) -> HttpMethod {
    match *method {
        http::Method::POST => HttpMethod::Post,
        http::Method::PUT => HttpMethod::Put,
        http::Method::PATCH => HttpMethod::Patch,
        http::Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn operation(b: &Bound, schemas: &mut Schemas, ids: &mut HashSet<String>) -> utoipa::openapi::path::Operation {
    let route = &b.route;
    let input = &b.method.input;
    let mut id = lower_camel(&b.method.name);
    let mut n = 2;
    while !ids.insert(id.clone()) {
        id = format!("{}{n}", lower_camel(&b.method.name));
        n += 1;
    }
    let path_params = path_params(route.path);
    let mut op = OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(sentence(&b.method.name)))
        .description(Some(format!("Calls `{}`.", route.rpc)))
        .tag(b.method.service.trim_end_matches("Service"));
    for name in &path_params {
        let field = input.get_field_by_name(name);
        let schema = field.as_ref().map_or_else(|| string().into(), |f| schemas.field(f));
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(schema)),
        );
    }
    match route.body {
        Body::Query => {
            for (name, field) in query_params(input, &path_params) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Query)
                        .required(Required::False)
                        .schema(Some(schemas.field(&field))),
                );
            }
        }
        Body::Whole => {
            let schema = schemas.message(input);
            op = op.request_body(Some(json_body(schema)));
        }
        Body::Field(name) => {
            if let Some(field) = input.get_field_by_name(name) {
                op = op.request_body(Some(json_body(schemas.field(&field))));
            }
        }
    }
    let ok = ResponseBuilder::new()
        .description("Success")
        .content("application/json", ContentBuilder::new().schema(Some(schemas.message(&b.method.output))).build());
    op = op.response("200", ok);
    let mut errors = vec![
        ("400", "Invalid input (fields named in `errors`)"),
        ("404", "Not found"),
        ("429", "Rate limited or quota exhausted (see Retry-After)"),
        ("503", "A service is unavailable"),
    ];
    if !route.public {
        errors.push(("401", "Missing or invalid credentials"));
        errors.push(("403", "Permission denied"));
    }
    if matches!(route.body, Body::Whole | Body::Field(_)) {
        errors.push(("409", "Already exists or conflicting state"));
        errors.push(("413", "Body too large"));
    }
    errors.sort_unstable();
    for (code, description) in errors {
        op = op.response(code, problem_response(description));
    }
    op = op.response("default", problem_response("Any other error (405, 500, 504)"));
    if route.public {
        op = op.securities(Some(Vec::<SecurityRequirement>::new()));
    }
    op.build()
}

fn event_stream() -> utoipa::openapi::path::Operation {
    let query = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(string()))
    };
    let events = ResponseBuilder::new()
        .description("An event stream: `ready` first, then one event per tenant event (event name = its type, id = its id, data = its JSON)")
        .content("text/event-stream", ContentBuilder::new().schema(Some(string())).build());
    OperationBuilder::new()
        .operation_id(Some("streamEvents"))
        .summary(Some("Live tenant events (Server-Sent Events)"))
        .tag("Events")
        .parameter(query("types", "Comma-separated type prefixes, e.g. `account.,message.delivered`"))
        .parameter(query("tenant_id", "Another tenant (platform administrators only)"))
        .parameter(query("access_token", "The bearer token, for EventSource clients that cannot send headers"))
        .response("200", events)
        .response("400", problem_response("Invalid query"))
        .response("401", problem_response("Missing or invalid credentials"))
        .response("403", problem_response("Permission denied"))
        .response("429", problem_response("Rate limited"))
        .response("503", problem_response("Live events unavailable"))
        .build()
}

/// `{name}` segments of a route path, in order.
pub fn path_params(path: &str) -> Vec<String> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect()
}

/// The query parameters a GET/DELETE route accepts (besides `a.b` nesting).
pub fn query_params(input: &MessageDescriptor, path_params: &[String]) -> Vec<(String, FieldDescriptor)> {
    let mut out = Vec::new();
    for field in input.fields() {
        if path_params.iter().any(|p| p == field.name()) {
            continue;
        }
        let hoisted = field.name() == PAGE_FIELD || field.name() == FILTER_FIELD;
        match field.kind() {
            Kind::Message(inner) if hoisted && !field.is_list() => {
                out.extend(inner.fields().filter(is_query_leaf).map(|f| (f.name().to_owned(), f)));
            }
            _ if is_query_leaf(&field) => out.push((field.name().to_owned(), field)),
            _ => {}
        }
    }
    out
}

fn json_body(schema: RefOr<Schema>) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::False))
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name(PROBLEM))).build())
        .build()
}

fn problem_schema() -> ObjectBuilder {
    let violation = ObjectBuilder::new()
        .property("field", string())
        .property("description", string())
        .required("field")
        .required("description");
    ObjectBuilder::new()
        .description(Some("RFC 9457 problem details"))
        .property("type", string())
        .property("title", string())
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .property("detail", string())
        .property("code", string().description(Some("gRPC code name, e.g. INVALID_ARGUMENT")))
        .property("reason", string().description(Some("Machine-readable reason, e.g. TOTP_REQUIRED")))
        .property("errors", ArrayBuilder::new().items(violation))
        .property("request_id", string())
        .required("type")
        .required("title")
        .required("status")
        .required("detail")
        .required("code")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn formatted(t: Type, format: KnownFormat) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(t).format(Some(SchemaFormat::KnownFormat(format)))
}

/// Message schemas, each emitted once as a component named by its full name.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, RefOr<Schema>>,
    pending: BTreeSet<String>,
}

impl Schemas {
    fn message(&mut self, desc: &MessageDescriptor) -> RefOr<Schema> {
        if let Some(wkt) = well_known(desc) {
            return wkt;
        }
        let name = desc.full_name().to_owned();
        if !self.done.contains_key(&name) && self.pending.insert(name.clone()) {
            let mut object = ObjectBuilder::new().schema_type(Type::Object);
            for field in desc.fields() {
                object = object.property(field.name(), self.field(&field));
                // Fields without presence are always in responses.
                if !field.supports_presence() {
                    object = object.required(field.name());
                }
            }
            self.done.insert(name.clone(), object.into());
            self.pending.remove(&name);
        }
        Ref::from_schema_name(name).into()
    }

    fn field(&mut self, field: &FieldDescriptor) -> RefOr<Schema> {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else { return ObjectBuilder::new().into() };
            let value = entry.map_entry_value_field();
            let inner = self.single(&value);
            return ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::RefOr(inner)))
                .into();
        }
        let single = self.single(field);
        if field.is_list() { ArrayBuilder::new().items(single).into() } else { single }
    }

    fn single(&mut self, field: &FieldDescriptor) -> RefOr<Schema> {
        match field.kind() {
            Kind::Double => formatted(Type::Number, KnownFormat::Double).into(),
            Kind::Float => formatted(Type::Number, KnownFormat::Float).into(),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => formatted(Type::Integer, KnownFormat::Int32).into(),
            Kind::Uint32 | Kind::Fixed32 => formatted(Type::Integer, KnownFormat::Int64).minimum(Some(0)).into(),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => formatted(Type::Integer, KnownFormat::Int64).into(),
            Kind::Uint64 | Kind::Fixed64 => formatted(Type::Integer, KnownFormat::Int64).minimum(Some(0)).into(),
            Kind::Bool => ObjectBuilder::new().schema_type(Type::Boolean).into(),
            Kind::String => string().into(),
            Kind::Bytes => string().content_encoding("base64").into(),
            Kind::Enum(e) => string().enum_values(Some(e.values().map(|v| v.name().to_owned()))).into(),
            Kind::Message(m) => self.message(&m),
        }
    }
}

/// JSON forms of the well-known types (proto3 JSON mapping).
fn well_known(desc: &MessageDescriptor) -> Option<RefOr<Schema>> {
    let schema: RefOr<Schema> = match desc.full_name() {
        "google.protobuf.Timestamp" => formatted(Type::String, KnownFormat::DateTime).into(),
        "google.protobuf.Duration" => string().description(Some("seconds with an `s` suffix, e.g. `1.5s`")).into(),
        "google.protobuf.FieldMask" => string().description(Some("comma-separated field paths")).into(),
        "google.protobuf.Struct" => ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
            .into(),
        "google.protobuf.Value" => {
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue).into()
        }
        "google.protobuf.ListValue" => ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue))
            .into(),
        "google.protobuf.Empty" => ObjectBuilder::new().schema_type(Type::Object).into(),
        "google.protobuf.StringValue" => string().into(),
        "google.protobuf.BoolValue" => ObjectBuilder::new().schema_type(Type::Boolean).into(),
        "google.protobuf.Int32Value"
        | "google.protobuf.UInt32Value"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value" => ObjectBuilder::new().schema_type(Type::Integer).into(),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => {
            ObjectBuilder::new().schema_type(Type::Number).into()
        }
        "google.protobuf.BytesValue" => string().content_encoding("base64").into(),
        _ => return None,
    };
    Some(schema)
}

/// `ListUsers` → `listUsers`.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// `ListStatusHistory` → `List status history`.
fn sentence(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_well() {
        assert_eq!(lower_camel("ListUsers"), "listUsers");
        assert_eq!(sentence("ListStatusHistory"), "List status history");
        assert_eq!(path_params("/accounts/{account_id}/groups/{group_id}/members"), vec!["account_id", "group_id"]);
    }
}
