//! Batches and receivers as the API shows them: counters derived from the
//! batch's messages (two grouped queries per page, never the stored
//! snapshot), the progress, and the ETA from the pace the batch will get
//! (platform defaults ← tenant ← account throttle, then the batch's own
//! strategy, the stricter applying).

use std::collections::HashMap;

use chrono::Duration;
use sea_orm::ConnectionTrait;
use wework_proto::message as pb;

use super::template_convert::{ts, ts_opt};
use crate::domain::batch::{BatchContent, BatchStatus, BatchStrategy};
use crate::domain::batch_progress::{BatchCounts, eta_secs, receiver_status};
use crate::domain::content;
use crate::domain::status::MessageStatus;
use crate::domain::throttle::{PolicyOverrides, ThrottlePolicy};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, entity::batch, entity::message, entity::receiver};

/// The API view of each of `rows`, in order, read through `db` (the writer
/// right after a change, so the answer shows it).
pub async fn batch_views<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    rows: &[batch::Model],
) -> Result<Vec<pb::Batch>> {
    let refs: Vec<&batch::Model> = rows.iter().collect();
    let counts = store::batches::counts(db, &refs).await?;
    let mut paces: HashMap<(String, String), ThrottlePolicy> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let status = status_of(row)?;
        let c = counts.get(&row.id).copied().unwrap_or_default();
        let strategy = strategy_of(row)?;
        let eta = if status.is_final() {
            0
        } else {
            let key = (row.tenant_id.clone(), row.account_id.clone());
            if !paces.contains_key(&key) {
                let pace = account_pace(state, &row.tenant_id, &row.account_id).await;
                paces.insert(key.clone(), pace);
            }
            let pace = paces.get(&key).cloned().unwrap_or_default();
            eta_secs(c.left(), &strategy.stricter(&pace))
        };
        out.push(batch_to_proto(row, status, &strategy, &c, eta)?);
    }
    Ok(out)
}

pub fn status_of(row: &batch::Model) -> Result<BatchStatus> {
    BatchStatus::parse(&row.status)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("batch {} has status {}", row.id, row.status)))
}

pub fn strategy_of(row: &batch::Model) -> Result<BatchStrategy> {
    Ok(row.send_strategy.as_deref().map(store::from_json).transpose()?.unwrap_or_default())
}

fn batch_to_proto(
    row: &batch::Model,
    status: BatchStatus,
    strategy: &BatchStrategy,
    c: &BatchCounts,
    eta_secs: u32,
) -> Result<pb::Batch> {
    let sent: BatchContent = store::from_json(&row.message_content)?;
    Ok(pb::Batch {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        creator_id: row.creator_id.clone(),
        name: row.task_name.clone(),
        account_id: row.account_id.clone(),
        template_id: row.template_id.clone().unwrap_or_default(),
        content: Some(content::to_proto(sent.content())),
        target_type: row.target_type.clone(),
        strategy: Some(strategy.to_proto()),
        status: status.to_proto(),
        total_count: c.total,
        sent_count: c.processed(),
        success_count: c.success(),
        failed_count: c.failed,
        cancelled_count: c.cancelled,
        progress_percent: c.progress_percent(),
        start_time: ts_opt(row.start_time),
        end_time: ts_opt(row.end_time),
        eta_secs,
        error_message: row.error_message.clone().unwrap_or_default(),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    })
}

/// The pace the dispatcher will give `account`: the platform's defaults,
/// then the tenant's and the account's overrides. Unreachable services
/// leave the defaults (an estimate is never worth failing a read). With
/// the throttle off, nothing but the batch's own strategy limits it.
pub async fn account_pace(state: &AppState, tenant: &str, account: &str) -> ThrottlePolicy {
    if !state.settings.throttle.enabled {
        return ThrottlePolicy {
            min_interval: Duration::zero(),
            jitter: Duration::zero(),
            per_minute: u32::MAX,
            per_day: u32::MAX,
            window: None,
        };
    }
    let defaults = state.settings.throttle.defaults.parse().unwrap_or_default();
    let tenant = state.tenants.overrides(tenant).await;
    let account = state.targets.get(account).await.map(|t| t.throttle.clone()).unwrap_or_default();
    ThrottlePolicy::merge(&layer(&defaults, &tenant), &account)
}

/// `top`'s settings over `base`'s.
fn layer(base: &PolicyOverrides, top: &PolicyOverrides) -> PolicyOverrides {
    PolicyOverrides {
        min_interval: top.min_interval.or(base.min_interval),
        jitter: top.jitter.or(base.jitter),
        per_minute: top.per_minute.or(base.per_minute),
        per_day: top.per_day.or(base.per_day),
        window: top.window.clone().or_else(|| base.window.clone()),
    }
}

pub fn chat_type_to_proto(s: &str) -> i32 {
    (match s {
        "group" => pb::ChatType::Group,
        "private" => pb::ChatType::Private,
        _ => pb::ChatType::Unspecified,
    }) as i32
}

/// A receiver and its message (if it was fed) as the API shows it.
pub fn receiver_to_proto(r: &receiver::Model, m: Option<&message::Model>) -> pb::ReceiverRow {
    let message_status = m.and_then(|m| MessageStatus::parse(&m.status));
    let error = m.and_then(|m| m.error_message.clone()).or_else(|| r.error_message.clone());
    pb::ReceiverRow {
        id: r.id.clone(),
        conversation_id: r.conversation_id.clone(),
        chat_type: chat_type_to_proto(&r.chat_type),
        name: r.receiver_name.clone().unwrap_or_default(),
        status: receiver_status(&r.status, message_status) as i32,
        message_id: r.message_id.clone().unwrap_or_default(),
        error_message: error.unwrap_or_default(),
    }
}
