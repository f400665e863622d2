//! Creating and reading messages. Creation is set-wise (the group-commit
//! inserter hands over whole bursts): one multi-row insert that skips rows
//! whose idempotency key already exists in their tenant, one read of the
//! winners, and the statistics of the created rows, in one transaction.
//! Statistics count outgoing messages only: an inbound one (created
//! `delivered`) is no send and bumps nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait,
};

use super::entity::message::{self, ActiveModel, Column, Entity};
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
}

pub const OUT: &str = "out";
pub const IN: &str = "in";

fn to_row(id: String, m: NewMessage, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        id: Set(id),
        tenant_id: Set(m.tenant_id),
        account_id: Set(m.account_id),
        conversation_id: Set(m.conversation_id),
        chat_type: Set(m.chat_type),
        direction: Set(m.direction.to_owned()),
        message_type: Set(m.message_type),
        content: Set(m.content),
        at_list: Set(m.at_list),
        template_id: Set(m.template_id),
        status: Set(m.status.as_str().to_owned()),
        wework_msg_id: Set(m.wework_msg_id),
        send_time: Set(m.send_time),
        callback_time: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        retry_count: Set(0),
        batch_id: Set(m.batch_id),
        receiver_id: Set(m.receiver_id),
        priority: Set(m.priority),
        scheduled_time: Set(m.scheduled_time),
        next_attempt_at: Set(m.next_attempt_at),
        idempotency_key: Set(m.idempotency_key),
        claim_id: Set(None),
        claimed_by: Set(None),
        lease_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
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
    let txn = db.begin().await?;
    let mut ours = Vec::with_capacity(messages.len());
    let mut keys: Vec<Option<(String, String)>> = Vec::with_capacity(messages.len());
    let mut rows = Vec::with_capacity(messages.len());
    for m in messages {
        let id = super::new_id();
        ours.push(id.clone());
        keys.push(m.idempotency_key.clone().map(|k| (m.tenant_id.clone(), k)));
        rows.push(to_row(id, m, now));
    }
    Entity::insert_many(rows)
        .on_conflict(OnConflict::columns([Column::TenantId, Column::IdempotencyKey]).do_nothing_on([Column::Id]).to_owned())
        .try_insert()
        .exec(&txn)
        .await?;
    // Read back every row: ids for keyless rows, (tenant, key) for the rest.
    let mut by_id: HashMap<String, message::Model> = HashMap::with_capacity(ours.len());
    for chunk in ours.chunks(500) {
        let found = Entity::find().filter(Column::Id.is_in(chunk.iter().cloned())).all(&txn).await?;
        by_id.extend(found.into_iter().map(|r| (r.id.clone(), r)));
    }
    let mut by_key: HashMap<(String, String), message::Model> = HashMap::new();
    let missing: Vec<&(String, String)> =
        keys.iter().zip(&ours).filter(|(_, id)| !by_id.contains_key(*id)).filter_map(|(k, _)| k.as_ref()).collect();
    let mut per_tenant: HashMap<&str, Vec<String>> = HashMap::new();
    for (tenant, key) in missing {
        per_tenant.entry(tenant.as_str()).or_default().push(key.clone());
    }
    for (tenant, mut wanted) in per_tenant {
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let found = Entity::find()
                .filter(Column::TenantId.eq(tenant))
                .filter(Column::IdempotencyKey.is_in(chunk.iter().cloned()))
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
    for (key, id) in keys.into_iter().zip(ours) {
        let row = match by_id.get(&id) {
            Some(row) => {
                if row.direction == OUT {
                    bumps.push(StatBump::of(row, StatDelta { total: 1, ..created_delta(row) }));
                }
                (row.clone(), true)
            }
            None => {
                let row = key.and_then(|k| by_key.get(&k).cloned());
                (row.ok_or_else(|| DbErr::RecordNotFound(format!("message {id}")))?, false)
            }
        };
        out.push(row);
    }
    bump_statistics(&txn, &bumps, now).await?;
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
