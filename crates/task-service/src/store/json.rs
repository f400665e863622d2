//! JSON columns are text on both backends; these convert at the store
//! boundary and report bad stored data as `DbErr::Json`.

use sea_orm::DbErr;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Serialises a value the store writes (lists, maps, templates).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Plain data types always serialise; an empty object is a safe fallback.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Parses a stored JSON column.
pub fn from_json_list<T: DeserializeOwned>(text: &str) -> Result<T, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Json(e.to_string()))
}
