//! Hourly statistics: one row per (tenant, account, UTC date, hour of the
//! message's creation), bumped by upsert in the transaction that changes the
//! messages, so the counters always equal what the messages say.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};

use super::entity::message;
use crate::domain::status::StatDelta;

/// The statistics slot of a message: the UTC date and hour it was created.
pub fn slot_of(created_at: DateTime<Utc>) -> (String, i16) {
    (created_at.format("%Y-%m-%d").to_string(), i16::try_from(created_at.hour()).unwrap_or(0))
}

/// One message's change of counters.
#[derive(Debug, Clone)]
pub struct StatBump {
    pub tenant_id: String,
    pub account_id: String,
    pub created_at: DateTime<Utc>,
    pub delta: StatDelta,
}

impl StatBump {
    pub fn of(row: &message::Model, delta: StatDelta) -> Self {
        Self { tenant_id: row.tenant_id.clone(), account_id: row.account_id.clone(), created_at: row.created_at, delta }
    }
}

/// Adds `bumps` to their slots: one upsert per distinct slot, in a fixed
/// order (so two writers never lock slots in opposite orders).
pub async fn bump_statistics<C: ConnectionTrait>(db: &C, bumps: &[StatBump], now: DateTime<Utc>) -> Result<(), DbErr> {
    let mut slots: BTreeMap<(String, String, String, i16), StatDelta> = BTreeMap::new();
    for b in bumps.iter().filter(|b| !b.delta.is_zero()) {
        let (date, hour) = slot_of(b.created_at);
        slots.entry((b.tenant_id.clone(), b.account_id.clone(), date, hour)).or_default().add(&b.delta);
    }
    let backend = db.get_database_backend();
    let columns = "id, tenant_id, account_id, stat_date, stat_hour, total_count, sent_count, delivered_count, \
                   failed_count, latency_sum_ms, latency_samples, updated_at";
    let add = |c: &str| match backend {
        DatabaseBackend::MySql => format!("{c} = {c} + VALUES({c})"),
        _ => format!("{c} = {c} + excluded.{c}"),
    };
    let counters =
        ["total_count", "sent_count", "delivered_count", "failed_count", "latency_sum_ms", "latency_samples"];
    let mut set: Vec<String> = counters.iter().map(|c| add(c)).collect();
    set.push(match backend {
        DatabaseBackend::MySql => "updated_at = VALUES(updated_at)".to_owned(),
        _ => "updated_at = excluded.updated_at".to_owned(),
    });
    let conflict = match backend {
        DatabaseBackend::MySql => "ON DUPLICATE KEY UPDATE".to_owned(),
        _ => "ON CONFLICT (tenant_id, account_id, stat_date, stat_hour) DO UPDATE SET".to_owned(),
    };
    let sql = format!(
        "INSERT INTO message_statistics ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {conflict} {}",
        set.join(", ")
    );
    for ((tenant, account, date, hour), d) in slots {
        let values: Vec<Value> = vec![
            super::new_id().into(),
            tenant.into(),
            account.into(),
            date.into(),
            hour.into(),
            d.total.into(),
            d.sent.into(),
            d.delivered.into(),
            d.failed.into(),
            d.latency_sum_ms.into(),
            d.latency_samples.into(),
            now.into(),
        ];
        db.execute_raw(Statement::from_sql_and_values(backend, sql.clone(), values)).await?;
    }
    Ok(())
}
