//! Writing received callbacks (one multi-row insert per burst; a copy of a
//! stored event is skipped by the UNIQUE dedup key) and reading them for the
//! API: filtered keyset lists, one event, replays.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::entity::event::{self, Column, Entity};
use crate::domain::status::EventStatus;

/// Rows per INSERT statement (SQLite's bind-variable limit is 32,766; 25 columns each).
const ROWS_PER_STATEMENT: usize = 500;

/// A callback as ingest accepted it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: String,
    pub tenant_id: Option<String>,
    pub account_id: Option<String>,
    pub guid: String,
    pub notify_type: i32,
    pub event_type: String,
    pub source: &'static str,
    pub app_id: Option<String>,
    pub dedup_key: String,
    pub order_key: Option<String>,
    pub raw_data: String,
    /// Set for a callback stored only for diagnosis (`failed` at once).
    pub rejected: Option<String>,
    pub received_time: DateTime<Utc>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

fn active(e: &NewEvent, now: DateTime<Utc>) -> event::ActiveModel {
    let (status, process_time) = match &e.rejected {
        Some(_) => (EventStatus::Failed, Some(now)),
        None => (EventStatus::Received, None),
    };
    event::ActiveModel {
        id: Set(e.id.clone()),
        tenant_id: Set(e.tenant_id.clone()),
        account_id: Set(e.account_id.clone()),
        guid: Set(e.guid.clone()),
        notify_type: Set(e.notify_type),
        event_type: Set(e.event_type.clone()),
        source: Set(e.source.to_owned()),
        app_id: Set(e.app_id.clone()),
        dedup_key: Set(e.dedup_key.clone()),
        order_key: Set(e.order_key.clone()),
        raw_data: Set(e.raw_data.clone()),
        parsed_data: Set(None),
        status: Set(status.as_str().to_owned()),
        error: Set(e.rejected.clone()),
        retry_count: Set(0),
        next_attempt_at: Set(e.received_time),
        claim_id: Set(None),
        claimed_by: Set(None),
        lease_until: Set(None),
        process_time: Set(process_time),
        received_time: Set(e.received_time),
        source_ip: Set(e.source_ip.clone()),
        user_agent: Set(e.user_agent.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Stores a burst of callbacks in one transaction; copies of stored events
/// (same dedup key, also within the burst) are skipped.
pub async fn insert_events(
    db: &sea_orm::DatabaseConnection,
    rows: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let chunk: Vec<event::ActiveModel> = chunk.iter().map(|e| active(e, now)).collect();
        Entity::insert_many(chunk)
            .on_conflict(OnConflict::column(Column::DedupKey).do_nothing_on([Column::Id]).to_owned())
            .try_insert()
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

/// One event within the caller's tenant (`None`: any).
pub async fn find_event<C: ConnectionTrait>(
    db: &C,
    tenant: Option<&str>,
    id: &str,
) -> Result<Option<event::Model>, DbErr> {
    let mut select = Entity::find_by_id(id.to_owned());
    if let Some(t) = tenant {
        select = select.filter(Column::TenantId.eq(t));
    }
    select.one(db).await
}

/// The event stored under a dedup key (tests and diagnostics).
pub async fn find_by_dedup_key<C: ConnectionTrait>(db: &C, key: &str) -> Result<Option<event::Model>, DbErr> {
    Entity::find().filter(Column::DedupKey.eq(key)).one(db).await
}

/// What `ListEvents` and `ReplayEvents` filter on; `None` is no filter.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// `None` only for platform callers that asked for every tenant.
    pub tenant_id: Option<String>,
    pub guid: Option<String>,
    pub account_id: Option<String>,
    pub event_type: Option<String>,
    pub notify_type: Option<i32>,
    pub status: Option<EventStatus>,
    pub source: Option<&'static str>,
    /// Inclusive.
    pub received_after: Option<DateTime<Utc>>,
    /// Exclusive.
    pub received_before: Option<DateTime<Utc>>,
}

impl EventFilter {
    fn apply(&self, mut select: sea_orm::Select<Entity>) -> sea_orm::Select<Entity> {
        if let Some(t) = &self.tenant_id {
            select = select.filter(Column::TenantId.eq(t.as_str()));
        }
        if let Some(g) = &self.guid {
            select = select.filter(Column::Guid.eq(g.as_str()));
        }
        if let Some(a) = &self.account_id {
            select = select.filter(Column::AccountId.eq(a.as_str()));
        }
        if let Some(t) = &self.event_type {
            select = select.filter(Column::EventType.eq(t.as_str()));
        }
        if let Some(n) = self.notify_type {
            select = select.filter(Column::NotifyType.eq(n));
        }
        if let Some(s) = self.status {
            select = select.filter(Column::Status.eq(s.as_str()));
        }
        if let Some(s) = self.source {
            select = select.filter(Column::Source.eq(s));
        }
        if let Some(t) = self.received_after {
            select = select.filter(Column::ReceivedTime.gte(t));
        }
        if let Some(t) = self.received_before {
            select = select.filter(Column::ReceivedTime.lt(t));
        }
        select
    }
}

/// One page of events, newest first, and the cursor of the next page.
pub async fn list_events<C: ConnectionTrait>(
    db: &C,
    filter: &EventFilter,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<event::Model>, Option<super::Cursor>), DbErr> {
    let select = filter.apply(Entity::find());
    wework_kit::pagination::keyset_page(db, select, Column::ReceivedTime, Column::Id, cursor, limit, |r| {
        super::Cursor { created_at: r.received_time, id: r.id.clone() }
    })
    .await
}

/// Puts a finished event back to `received`, due now, with its attempts
/// reset. `false` when it is not finished (waiting or being processed) or
/// not within `tenant`.
pub async fn replay_event<C: ConnectionTrait>(
    db: &C,
    tenant: Option<&str>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(replay_ids(db, tenant, &[id.to_owned()], now).await? == 1)
}

/// Replays up to `limit` finished events matching `filter`; returns how many.
pub async fn replay_matching<C: ConnectionTrait>(
    db: &C,
    filter: &EventFilter,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let finished = [EventStatus::Processed, EventStatus::Failed, EventStatus::Ignored].map(EventStatus::as_str);
    let ids: Vec<String> = filter
        .apply(Entity::find())
        .filter(Column::Status.is_in(finished))
        .select_only()
        .column(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut replayed = 0;
    for chunk in ids.chunks(500) {
        replayed += replay_ids(db, filter.tenant_id.as_deref(), chunk, now).await?;
    }
    Ok(replayed)
}

async fn replay_ids<C: ConnectionTrait>(
    db: &C,
    tenant: Option<&str>,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let finished = [EventStatus::Processed, EventStatus::Failed, EventStatus::Ignored].map(EventStatus::as_str);
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(EventStatus::Received.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::RetryCount, Expr::value(0))
        .col_expr(Column::Error, Expr::value(Option::<String>::None))
        .col_expr(Column::ClaimId, Expr::value(Option::<String>::None))
        .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .filter(Column::Status.is_in(finished));
    if let Some(t) = tenant {
        update = update.filter(Column::TenantId.eq(t));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// Deletes up to `batch` finished events received before `cutoff`; returns
/// how many. Waiting and running events are kept whatever their age.
pub async fn purge_finished<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>, batch: u64) -> Result<u64, DbErr> {
    let finished = [EventStatus::Processed, EventStatus::Failed, EventStatus::Ignored].map(EventStatus::as_str);
    let ids: Vec<String> = Entity::find()
        .filter(Column::ReceivedTime.lt(cutoff))
        .filter(Column::Status.is_in(finished))
        .select_only()
        .column(Column::Id)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let done =
        Entity::delete_many().filter(Column::Id.is_in(ids)).filter(Column::Status.is_in(finished)).exec(db).await?;
    Ok(done.rows_affected)
}
