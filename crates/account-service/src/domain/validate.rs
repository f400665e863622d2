//! Request fields parsed into valid values. Each rule names the proto field
//! it checks, so an `InvalidArgument` points at the offending input; none
//! echoes the value back (a token or password must never appear in an error).

use wework_client::protocol::ProxyConfig;

use super::FieldError;

/// Limits of the free-form parts of an account.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LEN: usize = 32;
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        let msg = if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        };
        return Err(FieldError::new(field, msg));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

pub fn account_name(value: &str) -> Result<String, FieldError> {
    text("account_name", value, 1, 100)
}

pub fn remark(value: &str) -> Result<String, FieldError> {
    text("remark", value, 0, 500)
}

pub fn phone(value: &str) -> Result<String, FieldError> {
    let v = text("phone", value, 0, 20)?;
    if !v.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')) {
        return Err(FieldError::new("phone", "may hold only digits, '+', '-' and spaces"));
    }
    Ok(v)
}

pub fn email(value: &str) -> Result<String, FieldError> {
    let v = text("email", value, 0, 100)?;
    if !v.is_empty() {
        let ok = v.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if !ok || v.contains(char::is_whitespace) {
            return Err(FieldError::new("email", "must be an email address"));
        }
    }
    Ok(v)
}

/// Tags: trimmed, de-duplicated in order, at most [`MAX_TAGS`].
pub fn tags(values: &[String]) -> Result<Vec<String>, FieldError> {
    if values.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, t) in values.iter().enumerate() {
        let tag = text(&format!("tags[{i}]"), t, 1, MAX_TAG_LEN)?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// Free-form account settings: a JSON object of bounded size.
pub fn config(value: serde_json::Value) -> Result<serde_json::Value, FieldError> {
    if !value.is_object() {
        return Err(FieldError::new("config", "must be an object"));
    }
    if value.to_string().len() > MAX_CONFIG_BYTES {
        return Err(FieldError::new("config", format!("must be at most {MAX_CONFIG_BYTES} bytes as JSON")));
    }
    Ok(value)
}

pub fn verify_code(value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if !(4..=8).contains(&v.len()) || !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldError::new("code", "must be 4 to 8 digits"));
    }
    Ok(v.to_owned())
}

pub fn instance_name(value: &str) -> Result<String, FieldError> {
    let v = text("name", value, 1, 64)?;
    if !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(FieldError::new("name", "may hold only letters, digits, '-', '_' and '.'"));
    }
    Ok(v)
}

/// An instance's base url: absolute http(s), no credentials, query or fragment.
pub fn api_url(value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let parsed = reqwest::Url::parse(v).map_err(|_| FieldError::new("api_url", "must be an absolute http(s) url"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || v.len() > 512 {
        return Err(FieldError::new("api_url", "must be an absolute http(s) url of at most 512 characters"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FieldError::new("api_url", "must not carry credentials; use the token"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FieldError::new("api_url", "must not have a query or fragment"));
    }
    Ok(v.trim_end_matches('/').to_owned())
}

pub fn token(value: &str) -> Result<String, FieldError> {
    if !(8..=256).contains(&value.len()) || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(FieldError::new("token", "must be 8 to 256 visible characters"));
    }
    Ok(value.to_owned())
}

pub fn max_accounts(value: u32) -> Result<i32, FieldError> {
    if !(1..=10_000).contains(&value) {
        return Err(FieldError::new("max_accounts", "must be within 1..=10000"));
    }
    Ok(value as i32)
}

pub fn region(value: &str) -> Result<String, FieldError> {
    text("region", value, 0, 64)
}

/// A proxy as given (password possibly empty: "keep the stored one").
pub fn proxy(p: &wework_proto::account::ProxyConfig) -> Result<ProxyConfig, FieldError> {
    let scheme = p.scheme.trim().to_ascii_lowercase();
    if !matches!(scheme.as_str(), "socks5" | "http") {
        return Err(FieldError::new("proxy.scheme", "must be socks5 or http"));
    }
    let host = text("proxy.host", &p.host, 1, 255)?;
    if host.contains(char::is_whitespace) {
        return Err(FieldError::new("proxy.host", "must be a host name or address"));
    }
    if !(1..=65_535).contains(&p.port) {
        return Err(FieldError::new("proxy.port", "must be within 1..=65535"));
    }
    let username = text("proxy.username", &p.username, 0, 128)?;
    if p.password.len() > 256 || p.password.chars().any(char::is_control) {
        return Err(FieldError::new("proxy.password", "must be at most 256 visible characters"));
    }
    Ok(ProxyConfig {
        scheme,
        host,
        port: p.port as u16,
        username: Some(username).filter(|u| !u.is_empty()),
        password: Some(p.password.clone()).filter(|pw| !pw.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_fields_name_themselves() {
        assert_eq!(account_name("  Sales 1 ").ok().as_deref(), Some("Sales 1"));
        assert_eq!(account_name("").map_err(|e| e.field), Err("account_name".to_owned()));
        assert_eq!(account_name(&"x".repeat(101)).map_err(|e| e.field), Err("account_name".to_owned()));
        assert_eq!(phone("+86 138-0000").ok().as_deref(), Some("+86 138-0000"));
        assert_eq!(phone("call me").map_err(|e| e.field), Err("phone".to_owned()));
        assert!(email("").is_ok() && email("a@b.co").is_ok());
        assert_eq!(email("a@b").map_err(|e| e.field), Err("email".to_owned()));
        assert_eq!(remark(&"r".repeat(501)).map_err(|e| e.field), Err("remark".to_owned()));
        assert_eq!(verify_code("12a4").map_err(|e| e.field), Err("code".to_owned()));
        assert_eq!(verify_code(" 123456 ").ok().as_deref(), Some("123456"));
    }

    #[test]
    fn tags_are_deduplicated_and_bounded() {
        let given = vec!["vip".to_owned(), " vip ".to_owned(), "cn".to_owned()];
        assert_eq!(tags(&given).ok(), Some(vec!["vip".to_owned(), "cn".to_owned()]));
        assert_eq!(tags(&["".to_owned()]).map_err(|e| e.field), Err("tags[0]".to_owned()));
        assert_eq!(tags(&vec!["t".to_owned(); 21]).map_err(|e| e.field), Err("tags".to_owned()));
    }

    #[test]
    fn config_must_be_a_small_object() {
        assert!(config(serde_json::json!({"a": 1})).is_ok());
        assert!(config(serde_json::json!([1])).is_err());
        assert!(config(serde_json::json!({"a": "x".repeat(MAX_CONFIG_BYTES)})).is_err());
    }

    #[test]
    fn instance_fields_never_echo_secrets() {
        assert_eq!(api_url("http://10.0.0.5:7070/").ok().as_deref(), Some("http://10.0.0.5:7070"));
        for bad in ["ftp://x", "not a url", "http://u:p@host", "http://h/?token=1"] {
            assert_eq!(api_url(bad).map_err(|e| e.field), Err("api_url".to_owned()), "{bad}");
        }
        let err = token("short").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("token:") && !err.contains("short"));
        assert_eq!(instance_name("sim-1").ok().as_deref(), Some("sim-1"));
        assert!(instance_name("a b").is_err());
        assert!(max_accounts(0).is_err() && max_accounts(10_001).is_err());
    }

    #[test]
    fn proxies_are_checked_field_by_field() {
        let mut p = wework_proto::account::ProxyConfig {
            scheme: "SOCKS5".into(),
            host: "proxy.local".into(),
            port: 1080,
            username: "u".into(),
            password: "secret-pw".into(),
            has_password: false,
        };
        let parsed = proxy(&p).ok();
        assert_eq!(parsed.as_ref().map(|x| x.scheme.as_str()), Some("socks5"));
        assert_eq!(parsed.and_then(|x| x.password).as_deref(), Some("secret-pw"));
        p.port = 0;
        assert_eq!(proxy(&p).map_err(|e| e.field), Err("proxy.port".to_owned()));
        p.port = 1080;
        p.scheme = "ftp".into();
        assert_eq!(proxy(&p).map_err(|e| e.field), Err("proxy.scheme".to_owned()));
    }
}
