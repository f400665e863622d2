//! Resolves a method name against the platform's descriptor set and converts
//! its messages between JSON (canonical proto3 JSON mapping: camelCase field
//! names, enums by name, 64-bit integers as strings) and protobuf bytes.

use prost::Message;
use prost::bytes::Bytes;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use tonic::codegen::http::uri::PathAndQuery;

/// Why a method or a message could not be resolved or converted.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    #[error("the embedded descriptor set does not decode: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    #[error("method must look like `package.Service/Method`, got `{0}`")]
    BadName(String),
    #[error("no service `{0}` in the descriptor set")]
    UnknownService(String),
    #[error("service `{service}` has no method `{method}`")]
    UnknownMethod { service: String, method: String },
    #[error("`{0}` is a streaming method; only unary methods are supported")]
    Streaming(String),
    #[error("request JSON does not match `{message}`: {source}")]
    Json { message: String, source: serde_json::Error },
    #[error("response bytes do not decode as `{message}`: {source}")]
    Decode { message: String, source: prost::DecodeError },
}

/// One unary method, with what is needed to call it with raw bytes.
#[derive(Debug, Clone)]
pub struct Method {
    /// `/package.Service/Method`, the HTTP/2 path of the call.
    pub path: PathAndQuery,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
}

/// The descriptor pool of every proto in the workspace.
pub fn platform_pool() -> Result<DescriptorPool, MethodError> {
    Ok(DescriptorPool::decode(wework_proto::FILE_DESCRIPTOR_SET)?)
}

impl Method {
    /// Accepts `package.Service/Method` or `/package.Service/Method`
    /// (a `.` between service and method is accepted too, as grpcurl does).
    pub fn resolve(pool: &DescriptorPool, name: &str) -> Result<Self, MethodError> {
        let trimmed = name.trim_start_matches('/');
        let (service_name, method_name) = trimmed
            .rsplit_once('/')
            .or_else(|| trimmed.rsplit_once('.'))
            .filter(|(s, m)| !s.is_empty() && !m.is_empty())
            .ok_or_else(|| MethodError::BadName(name.to_owned()))?;
        let service = pool
            .get_service_by_name(service_name)
            .ok_or_else(|| MethodError::UnknownService(service_name.to_owned()))?;
        let method = service.methods().find(|m| m.name() == method_name).ok_or_else(|| MethodError::UnknownMethod {
            service: service_name.to_owned(),
            method: method_name.to_owned(),
        })?;
        if method.is_client_streaming() || method.is_server_streaming() {
            return Err(MethodError::Streaming(name.to_owned()));
        }
        let path = format!("/{}/{}", service.full_name(), method.name());
        let path = PathAndQuery::try_from(path).map_err(|_| MethodError::BadName(name.to_owned()))?;
        Ok(Self { path, input: method.input(), output: method.output() })
    }

    /// Encodes a JSON request body as the method's input message.
    pub fn encode_json(&self, json: &str) -> Result<Bytes, MethodError> {
        let json_err = |source| MethodError::Json { message: self.input.full_name().to_owned(), source };
        let mut de = serde_json::Deserializer::from_str(json);
        let msg = DynamicMessage::deserialize(self.input.clone(), &mut de).map_err(json_err)?;
        de.end().map_err(json_err)?;
        Ok(Bytes::from(msg.encode_to_vec()))
    }

    /// Decodes a response as the method's output message and renders it as JSON.
    pub fn decode_json(&self, bytes: &[u8]) -> Result<serde_json::Value, MethodError> {
        let message = self.output.full_name().to_owned();
        let msg = DynamicMessage::decode(self.output.clone(), bytes)
            .map_err(|source| MethodError::Decode { message: message.clone(), source })?;
        serde_json::to_value(&msg).map_err(|source| MethodError::Json { message, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wework_proto::bench::{EchoRequest, EchoResponse};

    fn echo() -> Method {
        let pool = platform_pool().expect("descriptor set");
        Method::resolve(&pool, "wework.bench.v1.EchoService/Echo").expect("echo method")
    }

    #[test]
    fn resolves_all_spellings_to_the_same_path() {
        let pool = platform_pool().expect("descriptor set");
        for name in [
            "wework.bench.v1.EchoService/Echo",
            "/wework.bench.v1.EchoService/Echo",
            "wework.bench.v1.EchoService.Echo",
        ] {
            let m = Method::resolve(&pool, name).expect(name);
            assert_eq!(m.path.as_str(), "/wework.bench.v1.EchoService/Echo");
            assert_eq!(m.input.full_name(), "wework.bench.v1.EchoRequest");
        }
    }

    #[test]
    fn unknown_names_are_reported() {
        let pool = platform_pool().expect("descriptor set");
        assert!(matches!(Method::resolve(&pool, "Echo"), Err(MethodError::BadName(_))));
        assert!(matches!(Method::resolve(&pool, "nope.Svc/Echo"), Err(MethodError::UnknownService(_))));
        assert!(matches!(
            Method::resolve(&pool, "wework.bench.v1.EchoService/Nope"),
            Err(MethodError::UnknownMethod { .. })
        ));
    }

    #[test]
    fn json_encodes_to_the_same_bytes_as_generated_code() {
        let bytes = echo().encode_json(r#"{"message":"héllo"}"#).expect("encode");
        let decoded = EchoRequest::decode(bytes).expect("decode");
        assert_eq!(decoded.message, "héllo");
    }

    #[test]
    fn bad_json_names_the_message() {
        let err = echo().encode_json(r#"{"nope":1}"#).expect_err("unknown field");
        assert!(err.to_string().contains("wework.bench.v1.EchoRequest"), "{err}");
        assert!(echo().encode_json(r#"{"message":"a"} trailing"#).is_err());
    }

    #[test]
    fn response_bytes_render_as_camel_case_json() {
        let bytes = EchoResponse { message: "pong".into() }.encode_to_vec();
        let json = echo().decode_json(&bytes).expect("decode");
        assert_eq!(json, serde_json::json!({"message": "pong"}));
    }

    #[test]
    fn every_user_service_method_resolves() {
        let pool = platform_pool().expect("descriptor set");
        let login = Method::resolve(&pool, "wework.user.v1.AuthService/Login").expect("login");
        let body = login.encode_json(r#"{"tenantCode":"platform","login":"admin","password":"x"}"#);
        assert!(body.is_ok(), "{body:?}");
    }
}
