//! Cursor pagination (AIP-158): page-size limits and opaque page tokens.
//!
//! Contract: a page token is base64url (no padding) of a small JSON cursor.
//! Clients must treat it as opaque and send it back unchanged; the server
//! rejects anything it cannot decode with `INVALID_ARGUMENT` naming
//! `page.page_token`, so a tampered token never reaches a query. Sizes: 0 or
//! absent means [`DEFAULT_PAGE_SIZE`], larger than [`MAX_PAGE_SIZE`] is capped
//! (not rejected), negative is `INVALID_ARGUMENT` naming `page.page_size`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use wework_proto::common::{PageRequest, PageResponse};

pub mod keyset;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 500;

/// Tokens longer than this are rejected before decoding: no legitimate cursor
/// is that big, and it bounds the work an abusive client can cause.
const MAX_TOKEN_LEN: usize = 1_024;

/// The effective page size of a list request.
pub fn page_size(page: Option<&PageRequest>) -> Result<u64, Status> {
    let requested = page.map_or(0, |p| p.page_size);
    match u64::try_from(requested) {
        Err(_) => Err(invalid("page.page_size", "page_size must not be negative")),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) => Ok(n.min(MAX_PAGE_SIZE)),
    }
}

/// Decodes a page token produced by [`encode_token`]; `""` is the first page.
pub fn decode_token<C: DeserializeOwned>(token: &str) -> Result<Option<C>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || invalid("page.page_token", "page_token is not a token returned by this API");
    if token.len() > MAX_TOKEN_LEN {
        return Err(bad());
    }
    let json = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    serde_json::from_slice(&json).map(Some).map_err(|_| bad())
}

/// Encodes a cursor as an opaque page token.
pub fn encode_token<C: Serialize>(cursor: &C) -> String {
    // Serializing a plain cursor struct cannot fail; an empty token (= last
    // page) is the safe fallback if a caller passes something exotic.
    serde_json::to_vec(cursor).map(|json| URL_SAFE_NO_PAD.encode(json)).unwrap_or_default()
}

/// The common keyset cursor: the `(created_at, id)` of the last row of the
/// page, which with UUIDv7 ids is a strict total order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TimeCursor {
    /// `created_at` in unix microseconds.
    pub t: i64,
    pub id: String,
}

/// `next` is the next page's token, `None` on the last page.
pub fn page_response(next: Option<String>) -> PageResponse {
    PageResponse { next_page_token: next.unwrap_or_default() }
}

/// The keyset cursor of a list request: the decoded page token, `None` on the
/// first page. Pair with [`keyset_page`] and [`next_page`].
pub fn request_cursor(page: Option<&PageRequest>) -> Result<Option<keyset::Cursor>, Status> {
    let token = page.map(|p| p.page_token.as_str()).unwrap_or_default();
    let cursor: Option<TimeCursor> = decode_token(token)?;
    Ok(cursor.map(|c| keyset::Cursor {
        created_at: chrono::DateTime::from_timestamp_micros(c.t).unwrap_or_default(),
        id: c.id,
    }))
}

/// The response page for the cursor [`keyset_page`] returned.
pub fn next_page(next: Option<keyset::Cursor>) -> PageResponse {
    let token = next.map(|c| encode_token(&TimeCursor { t: c.created_at.timestamp_micros(), id: c.id }));
    page_response(token)
}

pub use keyset::{Cursor as KeysetCursor, fetch_page as keyset_page};

fn invalid(field: &str, description: &str) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        description.to_owned(),
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

/// `%q%` for a case-insensitive `LIKE` (see [`ilike`]), with `!` escaping
/// the wildcards so a user's `%` or `_` matches literally on both backends.
pub fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for ch in q.to_lowercase().chars() {
        if matches!(ch, '!' | '%' | '_') {
            p.push('!');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// `LOWER(col) LIKE pattern ESCAPE '!'` — case-insensitive on both backends
/// (MySQL tables use a binary collation, so plain `LIKE` is case-sensitive there).
pub fn ilike(col: impl sea_orm::sea_query::IntoColumnRef, pattern: &str) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('!'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(size: i32) -> PageRequest {
        PageRequest { page_size: size, page_token: String::new() }
    }

    fn violated_field(status: &Status) -> String {
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        bad.field_violations[0].field.clone()
    }

    #[test]
    fn page_size_defaults_caps_and_rejects_negative() {
        assert_eq!(page_size(None).expect("ok"), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(&req(0))).expect("ok"), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(&req(7))).expect("ok"), 7);
        assert_eq!(page_size(Some(&req(10_000))).expect("ok"), MAX_PAGE_SIZE);
        let err = page_size(Some(&req(-1))).expect_err("negative");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(violated_field(&err), "page.page_size");
    }

    #[test]
    fn token_round_trips() {
        let cursor = TimeCursor { t: 1_700_000_000_123_456, id: "0190-abc".into() };
        let token = encode_token(&cursor);
        assert!(!token.contains('='), "no padding: {token}");
        assert_eq!(decode_token::<TimeCursor>(&token).expect("decodes"), Some(cursor));
        assert_eq!(decode_token::<TimeCursor>("").expect("empty"), None);
    }

    #[test]
    fn garbage_tokens_are_invalid_argument() {
        let not_json = URL_SAFE_NO_PAD.encode(b"nope");
        let wrong_shape = encode_token(&serde_json::json!({"x": 1}));
        let huge = "A".repeat(MAX_TOKEN_LEN + 1);
        for token in ["%%%", not_json.as_str(), wrong_shape.as_str(), huge.as_str()] {
            let err = decode_token::<TimeCursor>(token).expect_err(token);
            assert_eq!(err.code(), Code::InvalidArgument);
            assert_eq!(violated_field(&err), "page.page_token");
        }
    }

    #[test]
    fn page_response_uses_empty_token_for_last_page() {
        assert_eq!(page_response(None).next_page_token, "");
        assert_eq!(page_response(Some("abc".into())).next_page_token, "abc");
    }
}
