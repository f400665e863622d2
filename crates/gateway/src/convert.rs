//! JSON ↔ protobuf for one route, by reflection: the request message is
//! assembled from path parameters, the query string or the body (see
//! [`crate::routes`]), then parsed with the proto3 JSON mapping, which
//! refuses unknown fields and ill-typed values with the offending name.
//! Responses use proto field names (`snake_case`) and list every field
//! without presence, defaults included, so front ends never guess.

use bytes::Bytes;
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions};
use serde_json::{Map, Value};

use crate::problem::Problem;
use crate::routes::Body;

/// `page_size` / `page_token` fill this `common.v1.PageRequest` field.
pub const PAGE_FIELD: &str = "page";
/// A message field of this name has its fields named without the prefix.
pub const FILTER_FIELD: &str = "filter";

/// The caller's network identity, set on routes that record it.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

/// Everything a request carries that can become the RPC's input.
#[derive(Debug, Default)]
pub struct Inputs {
    pub path: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    pub client: Option<ClientInfo>,
}

/// Builds and encodes the input message of a route.
pub fn request(input: &MessageDescriptor, body_mode: Body, inputs: Inputs) -> Result<Bytes, Problem> {
    let mut object = match body_mode {
        Body::Query => query_object(input, &inputs.query)?,
        Body::Whole => match parse_body(&inputs.body)? {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(Problem::invalid("body", "must be a JSON object")),
        },
        Body::Field(field) => {
            let mut map = Map::new();
            let value = parse_body(&inputs.body)?;
            if !value.is_null() {
                map.insert(field.to_owned(), value);
            }
            map
        }
    };
    if body_mode != Body::Query && !inputs.query.is_empty() {
        let name = inputs.query.first().map_or("", |(k, _)| k.as_str());
        return Err(Problem::invalid(name, "query parameters are not accepted here; send fields in the JSON body"));
    }
    for (name, value) in inputs.path {
        // A body may not name a different resource than the path.
        if object.get(&name).is_some_and(|v| !v.is_null() && v.as_str() != Some(value.as_str())) {
            return Err(Problem::invalid(&name, "differs from the path"));
        }
        object.insert(name, Value::String(value));
    }
    if let Some(client) = inputs.client {
        object.insert("client_ip".to_owned(), Value::String(client.ip));
        object.insert("user_agent".to_owned(), Value::String(client.user_agent));
    }
    let source = if body_mode == Body::Query { "query" } else { "body" };
    let message = DynamicMessage::deserialize(input.clone(), Value::Object(object))
        .map_err(|e| Problem::invalid(source, e.to_string()))?;
    Ok(Bytes::from(message.encode_to_vec()))
}

fn parse_body(body: &Bytes) -> Result<Value, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| Problem::invalid("body", format!("is not valid JSON: {e}")))
}

/// Where a query parameter goes in the input message: (field path, leaf field).
pub fn query_target(input: &MessageDescriptor, name: &str) -> Option<(Vec<String>, FieldDescriptor)> {
    if let Some(field) = input.get_field_by_name(name)
        && is_query_leaf(&field)
    {
        return Some((vec![name.to_owned()], field));
    }
    for hoisted in [PAGE_FIELD, FILTER_FIELD] {
        if let Some(parent) = input.get_field_by_name(hoisted)
            && let Kind::Message(inner) = parent.kind()
            && !parent.is_list()
            && let Some(field) = inner.get_field_by_name(name).filter(is_query_leaf)
        {
            return Some((vec![hoisted.to_owned(), name.to_owned()], field));
        }
    }
    let (head, rest) = name.split_once('.')?;
    let parent = input.get_field_by_name(head).filter(|f| !f.is_list() && !f.is_map())?;
    let Kind::Message(inner) = parent.kind() else { return None };
    let (mut path, field) = query_target(&inner, rest)?;
    path.insert(0, head.to_owned());
    Some((path, field))
}

/// Scalars, enums, timestamps and lists of them can travel in a query string.
pub fn is_query_leaf(field: &FieldDescriptor) -> bool {
    if field.is_map() {
        return false;
    }
    match field.kind() {
        Kind::Message(m) => m.full_name() == "google.protobuf.Timestamp",
        _ => true,
    }
}

fn query_object(input: &MessageDescriptor, query: &[(String, String)]) -> Result<Map<String, Value>, Problem> {
    let mut root = Map::new();
    for (name, raw) in query {
        let (path, field) =
            query_target(input, name).ok_or_else(|| Problem::invalid(name, "unknown query parameter"))?;
        let value = match field.kind() {
            Kind::Bool => match raw.as_str() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err(Problem::invalid(name, "must be true or false")),
            },
            // Numbers stay strings: the proto3 JSON mapping accepts them so,
            // and reports a bad one against the field.
            _ => Value::String(raw.clone()),
        };
        let (leaf, parents) = path.split_last().ok_or_else(|| Problem::invalid(name, "unknown query parameter"))?;
        let mut map = &mut root;
        for parent in parents {
            let entry = map.entry(parent.clone()).or_insert_with(|| Value::Object(Map::new()));
            map = match entry {
                Value::Object(m) => m,
                _ => return Err(Problem::invalid(name, "conflicts with another parameter")),
            };
        }
        if field.is_list() {
            let list = map.entry(leaf.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(value);
            }
        } else if map.insert(leaf.clone(), value).is_some() {
            return Err(Problem::invalid(name, "given more than once"));
        }
    }
    Ok(root)
}

/// How responses are rendered (and documented, see [`crate::openapi`]).
pub fn serialize_options() -> SerializeOptions {
    SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false).stringify_64_bit_integers(false)
}

/// Decodes a response and renders it as JSON.
pub fn response(output: &MessageDescriptor, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let message = DynamicMessage::decode(output.clone(), bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(bytes.len() * 2 + 16);
    let mut serializer = serde_json::Serializer::new(&mut out);
    message.serialize_with_options(&mut serializer, &serialize_options()).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rpc: &str) -> MessageDescriptor {
        let pool = crate::rpc::platform_pool().expect("pool");
        crate::rpc::Method::resolve(&pool, rpc).expect("method").input
    }

    fn decode(desc: &MessageDescriptor, bytes: &Bytes) -> Value {
        let msg = DynamicMessage::decode(desc.clone(), bytes.as_ref()).expect("decode");
        serde_json::to_value(&msg).expect("json")
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn query_fills_page_filter_and_scalars() {
        let desc = input("wework.callback.v1.CallbackService/ListEvents");
        let inputs = Inputs { query: q(&[("page_size", "5"), ("guid", "g-1")]), ..Inputs::default() };
        let json = decode(&desc, &request(&desc, Body::Query, inputs).expect("ok"));
        assert_eq!(json["page"]["pageSize"], 5);
        assert_eq!(json["filter"]["guid"], "g-1");
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let desc = input("wework.message.v1.MessageService/ListMessages");
        for (pairs, field) in [
            (q(&[("nope", "1")]), "nope"),
            (q(&[("page_size", "x")]), "query"),
            (q(&[("status", "MESSAGE_STATUS_NOPE")]), "query"),
            (q(&[("account_id", "a"), ("account_id", "b")]), "account_id"),
        ] {
            let err = request(&desc, Body::Query, Inputs { query: pairs, ..Inputs::default() }).expect_err("bad");
            assert_eq!(err.status, 400);
            assert_eq!(err.errors[0].field, field, "{:?}", err.detail);
        }
    }

    #[test]
    fn body_and_path_make_the_request_and_cannot_disagree() {
        let desc = input("wework.account.v1.AccountService/SubmitVerifyCode");
        let path = vec![("id".to_owned(), "acc-1".to_owned())];
        let inputs = Inputs { path: path.clone(), body: Bytes::from(r#"{"code":"123456"}"#), ..Inputs::default() };
        let json = decode(&desc, &request(&desc, Body::Whole, inputs).expect("ok"));
        assert_eq!((json["id"].as_str(), json["code"].as_str()), (Some("acc-1"), Some("123456")));

        let inputs = Inputs { path, body: Bytes::from(r#"{"id":"acc-2"}"#), ..Inputs::default() };
        assert_eq!(request(&desc, Body::Whole, inputs).expect_err("differs").errors[0].field, "id");
    }

    #[test]
    fn unknown_fields_and_non_objects_are_refused() {
        let desc = input("wework.user.v1.TenantService/CreateTenant");
        for body in [r#"{"tenant_code":"a","bogus":1}"#, "[1]", "{not json"] {
            let inputs = Inputs { body: Bytes::from(body), ..Inputs::default() };
            assert_eq!(request(&desc, Body::Whole, inputs).expect_err(body).status, 400);
        }
    }

    #[test]
    fn client_info_is_the_gateways_not_the_clients() {
        let desc = input("wework.user.v1.AuthService/Login");
        let client = Some(ClientInfo { ip: "10.1.2.3".into(), user_agent: "ua".into() });
        let body = Bytes::from(r#"{"tenant_code":"t","login":"u","password":"p","client_ip":"6.6.6.6"}"#);
        let json =
            decode(&desc, &request(&desc, Body::Whole, Inputs { body, client, ..Inputs::default() }).expect("ok"));
        assert_eq!(json["clientIp"], "10.1.2.3");
    }

    #[test]
    fn responses_use_proto_names_and_keep_defaults() {
        let pool = crate::rpc::platform_pool().expect("pool");
        let method = crate::rpc::Method::resolve(&pool, "wework.user.v1.AuthService/WhoAmI").expect("method");
        let out = response(&method.output, &[]).expect("render");
        let json: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(json["tenant_id"], "");
        assert_eq!(json["roles"], Value::Array(vec![]));
    }
}
