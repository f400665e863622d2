//! Keyset pagination over `(created_at DESC, id DESC)`.
//!
//! A page fetches `limit + 1` rows: the extra row only says whether a next
//! page exists; the cursor is the last row actually returned. Ids are UUIDv7,
//! so `id` breaks ties between rows created in the same instant.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

/// Position after the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

/// Largest page any list returns, whatever the caller asks for.
pub const MAX_PAGE: u64 = 500;

/// Runs `select` as one keyset page; `key` reads `(created_at, id)` of a row.
pub async fn fetch_page<E, C>(
    db: &C,
    select: Select<E>,
    created_col: E::Column,
    id_col: E::Column,
    cursor: Option<&Cursor>,
    limit: u64,
    key: impl Fn(&E::Model) -> Cursor,
) -> Result<(Vec<E::Model>, Option<Cursor>), DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let limit = limit.clamp(1, MAX_PAGE);
    let mut select = select;
    if let Some(c) = cursor {
        select = select.filter(
            Condition::any()
                .add(created_col.lt(c.created_at))
                .add(Condition::all().add(created_col.eq(c.created_at)).add(id_col.lt(c.id.as_str()))),
        );
    }
    let mut rows = select.order_by_desc(created_col).order_by_desc(id_col).limit(limit + 1).all(db).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(&key)
    } else {
        None
    };
    Ok((rows, next))
}
