//! JSON columns are stored as text (identical on MySQL and SQLite); these
//! helpers convert at the store boundary and report bad data as `DbErr::Json`.

use sea_orm::DbErr;
use serde_json::Value;

pub(crate) fn to_text(v: &Value) -> String {
    v.to_string()
}

pub(crate) fn to_text_opt(v: Option<&Value>) -> Option<String> {
    v.map(to_text)
}

pub(crate) fn list_to_text(items: &[String]) -> String {
    // A Vec<String> always serialises; fall back to an empty list rather than panic.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn parse_opt(s: Option<&str>) -> Result<Option<Value>, DbErr> {
    s.map(|s| serde_json::from_str(s).map_err(|e| DbErr::Json(e.to_string()))).transpose()
}

pub(crate) fn parse_list(s: &str) -> Result<Vec<String>, DbErr> {
    serde_json::from_str(s).map_err(|e| DbErr::Json(e.to_string()))
}
