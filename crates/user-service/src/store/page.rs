//! Paging and text search helpers of the store. Keyset pagination over
//! `(created_at DESC, id DESC)` is kit's, shared by every service.

/// The shared keyset paging (`wework_kit::pagination::keyset`).
pub use wework_kit::pagination::keyset::{Cursor, MAX_PAGE, fetch_page};

/// `%q%` for a case-insensitive `LIKE`, with `!` escaping the wildcards so a
/// user's `%` or `_` matches literally on both backends.
pub(crate) fn like_pattern(q: &str) -> String {
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
pub(crate) fn ilike(col: impl sea_orm::sea_query::IntoColumnRef, pattern: &str) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('!'))
}
