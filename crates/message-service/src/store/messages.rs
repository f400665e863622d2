//! Creating and reading messages. Creation is set-wise (the group-commit
//! inserter hands over whole bursts): one multi-row insert that skips rows
//! whose idempotency key already exists in their tenant, one read of the
//! winners, and the statistics of the created rows, in one transaction.
//! Statistics count outgoing messages only: an inbound one (created
//! `delivered`) is no send and bumps nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};

use super::entity::message::{self, Column, Entity};
use super::statistics::{StatBump, bump_statistics};
use crate::domain::status::{MessageStatus, StatDelta};

/// A message to create. `content` and `at_list` are JSON already.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub tenant_id: String,
    pub account_id: String,
    pub conversation_id: String,
    pub chat_type: String,
    pub direction: &'static str,
    pub message_type: String,
    pub content: String,
    pub at_list: Option<String>,
    pub template_id: Option<String>,
    pub status: MessageStatus,
    pub wework_msg_id: Option<String>,
    pub send_time: Option<DateTime<Utc>>,
    pub batch_id: Option<String>,
    pub receiver_id: Option<String>,
    pub priority: i16,
    pub scheduled_time: Option<DateTime<Utc>>,
    /// When a pending message becomes due (`None` for inbound ones, or held).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    /// Inbound messages only: who wrote it.
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    /// The storing request's trace context (`wework_kit::telemetry::current_traceparent`).
    pub traceparent: Option<String>,
}

/// Rows per INSERT statement: 500 × 34 columns stays far below every
/// backend's limit on bind variables.
const INSERT_CHUNK: usize = 500;

pub const OUT: &str = "out";
pub const IN: &str = "in";

fn to_model(id: String, m: NewMessage, now: DateTime<Utc>) -> message::Model {
    let micros = |t: Option<DateTime<Utc>>| t.map(|t| t.trunc_subsecs(6));
    message::Model {
        id,
        tenant_id: m.tenant_id,
        account_id: m.account_id,
        conversation_id: m.conversation_id,
        chat_type: m.chat_type,
        direction: m.direction.to_owned(),
        message_type: m.message_type,
        content: m.content,
        at_list: m.at_list,
        template_id: m.template_id,
        status: m.status.as_str().to_owned(),
        wework_msg_id: m.wework_msg_id,
        send_time: micros(m.send_time),
        callback_time: None,
        error_code: None,
        error_message: None,
        retry_count: 0,
        batch_id: m.batch_id,
        receiver_id: m.receiver_id,
        priority: m.priority,
        scheduled_time: micros(m.scheduled_time),
        next_attempt_at: micros(m.next_attempt_at),
        idempotency_key: m.idempotency_key,
        claim_id: None,
        claimed_by: None,
        lease_until: None,
        sender_id: m.sender_id,
        sender_name: m.sender_name,
        created_at: now,
        updated_at: now,
        traceparent: m.traceparent,
    }
}

/// Counts uses of templates (one statement per distinct template of a burst).
async fn bump_template_usage<C: ConnectionTrait>(
    db: &C,
    uses: &BTreeMap<String, i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use super::entity::template;
    for (id, n) in uses {
        template::Entity::update_many()
            .col_expr(template::Column::UsageCount, Expr::col(template::Column::UsageCount).add(*n))
            .col_expr(template::Column::LastUsedTime, Expr::value(now))
            .filter(template::Column::Id.eq(id.as_str()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Creates `messages` (or finds, by tenant + idempotency key, the ones that
/// exist), in input order, with `created = false` for found ones. A key
/// repeated within the input is created by its first occurrence. Counts
/// the created outgoing rows in the statistics, in the same transaction.
pub async fn create_messages(
    db: &DatabaseConnection,
    messages: Vec<NewMessage>,
    now: DateTime<Utc>,
) -> Result<Vec<(message::Model, bool)>, DbErr> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    // What the database keeps (`datetime(6)`), so the answer equals a later read.
    let now = now.trunc_subsecs(6);
    let ours: Vec<message::Model> = messages.into_iter().map(|m| to_model(super::new_id(), m, now)).collect();
    let txn = db.begin().await?;
    // Bound the bind variables per statement (SQLite allows 32,766).
    for chunk in ours.chunks(INSERT_CHUNK) {
        Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .on_conflict(
                OnConflict::columns([Column::TenantId, Column::IdempotencyKey]).do_nothing_on([Column::Id]).to_owned(),
            )
            .try_insert()
            .exec(&txn)
            .await?;
    }
    // A keyless row cannot conflict: it was inserted as built. A keyed one
    // is read back by its key: our id means we created it.
    let mut per_tenant: HashMap<&str, Vec<&str>> = HashMap::new();
    for m in &ours {
        if let Some(key) = m.idempotency_key.as_deref() {
            per_tenant.entry(m.tenant_id.as_str()).or_default().push(key);
        }
    }
    let mut by_key: HashMap<(String, String), message::Model> = HashMap::new();
    for (tenant, mut wanted) in per_tenant {
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let found = Entity::find()
                .filter(Column::TenantId.eq(tenant))
                .filter(Column::IdempotencyKey.is_in(chunk.iter().map(|k| (*k).to_owned())))
                .all(&txn)
                .await?;
            for r in found {
                if let Some(k) = r.idempotency_key.clone() {
                    by_key.insert((r.tenant_id.clone(), k), r);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(ours.len());
    let mut bumps = Vec::new();
    let mut templates: BTreeMap<String, i64> = BTreeMap::new();
    for mine in ours {
        let my_id = mine.id.clone();
        let row = match &mine.idempotency_key {
            None => mine,
            Some(key) => by_key
                .get(&(mine.tenant_id.clone(), key.clone()))
                .cloned()
                .ok_or_else(|| DbErr::RecordNotFound(format!("message {}", mine.id)))?,
        };
        let created = row.id == my_id;
        out.push((row, created));
    }
    for (row, created) in &out {
        if *created && row.direction == OUT {
            bumps.push(StatBump::of(row, StatDelta { total: 1, ..created_delta(row) }));
            if let Some(template) = &row.template_id {
                *templates.entry(template.clone()).or_default() += 1;
            }
        }
    }
    bump_statistics(&txn, &bumps, now).await?;
    bump_template_usage(&txn, &templates, now).await?;
    txn.commit().await?;
    Ok(out)
}

/// What a row created in a later status (an inbound message) counts besides `total`.
fn created_delta(row: &message::Model) -> StatDelta {
    match MessageStatus::parse(&row.status) {
        Some(status) if status != MessageStatus::Pending => StatDelta::reaching(MessageStatus::Pending, status, None),
        _ => StatDelta::default(),
    }
}

/// A message by id; `tenant` confines the lookup (`None`: any tenant).
pub async fn find_message<C: ConnectionTrait>(
    db: &C,
    id: &str,
    tenant: Option<&str>,
) -> Result<Option<message::Model>, DbErr> {
    let mut select = Entity::find_by_id(id.to_owned());
    if let Some(t) = tenant {
        select = select.filter(Column::TenantId.eq(t));
    }
    select.one(db).await
}

/// Messages by id, any tenant (workers).
pub async fn find_messages<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<message::Model>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(Entity::find().filter(Column::Id.is_in(chunk.iter().cloned())).all(db).await?);
    }
    Ok(out)
}
