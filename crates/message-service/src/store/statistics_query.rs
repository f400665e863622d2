//! Reading the hourly statistics: sums over a date range of one tenant (or
//! one of its accounts), per hour or per day. Without an account filter the
//! tenant's accounts are added up (rows carry an empty account id), so the
//! answer stays small however many accounts a tenant has.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult, Statement, Value};

/// What to add up. Dates are `YYYY-MM-DD` (UTC), both inclusive.
#[derive(Debug, Clone)]
pub struct StatisticsQuery {
    /// `None` only for platform callers reaching every tenant.
    pub tenant_id: Option<String>,
    pub account_id: Option<String>,
    pub from_date: String,
    pub to_date: String,
    pub hourly: bool,
}

/// One row of the answer; `hour` is `None` for a whole day and
/// `account_id` empty for the whole tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticsRow {
    pub date: String,
    pub hour: Option<i16>,
    pub account_id: String,
    pub total: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub latency_sum_ms: i64,
    pub latency_samples: i64,
}

#[derive(FromQueryResult)]
struct Summed {
    stat_date: String,
    stat_hour: i16,
    account_id: String,
    total: i64,
    sent: i64,
    delivered: i64,
    failed: i64,
    latency_sum: i64,
    latency_samples: i64,
}

/// The rows of `q`, ordered by date, hour, account.
pub async fn query_statistics<C: ConnectionTrait>(db: &C, q: &StatisticsQuery) -> Result<Vec<StatisticsRow>, DbErr> {
    let backend = db.get_database_backend();
    // MySQL's SUM of a BIGINT is a DECIMAL; cast back so both backends decode as i64.
    let sum = |c: &str| match backend {
        DatabaseBackend::MySql => format!("CAST(COALESCE(SUM({c}), 0) AS SIGNED)"),
        _ => format!("COALESCE(SUM({c}), 0)"),
    };
    // A daily row's hour is not read; MIN keeps the column's own type on both backends.
    let hour = if q.hourly { "stat_hour" } else { "MIN(stat_hour)" };
    let account = if q.account_id.is_some() { "account_id" } else { "''" };
    let mut filters = vec!["stat_date >= ?", "stat_date <= ?"];
    let mut values: Vec<Value> = vec![q.from_date.clone().into(), q.to_date.clone().into()];
    if let Some(t) = &q.tenant_id {
        filters.push("tenant_id = ?");
        values.push(t.clone().into());
    }
    if let Some(a) = &q.account_id {
        filters.push("account_id = ?");
        values.push(a.clone().into());
    }
    let mut group = vec!["stat_date"];
    if q.hourly {
        group.push("stat_hour");
    }
    if q.account_id.is_some() {
        group.push("account_id");
    }
    let sql = format!(
        "SELECT stat_date, {hour} AS stat_hour, {account} AS account_id, {} AS total, {} AS sent, {} AS delivered, \
         {} AS failed, {} AS latency_sum, {} AS latency_samples FROM message_statistics WHERE {} GROUP BY {} \
         ORDER BY {}",
        sum("total_count"),
        sum("sent_count"),
        sum("delivered_count"),
        sum("failed_count"),
        sum("latency_sum_ms"),
        sum("latency_samples"),
        filters.join(" AND "),
        group.join(", "),
        group.join(", "),
    );
    let rows = Summed::find_by_statement(Statement::from_sql_and_values(backend, sql, values)).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| StatisticsRow {
            date: r.stat_date,
            hour: q.hourly.then_some(r.stat_hour),
            account_id: r.account_id,
            total: r.total,
            sent: r.sent,
            delivered: r.delivered,
            failed: r.failed,
            latency_sum_ms: r.latency_sum,
            latency_samples: r.latency_samples,
        })
        .collect())
}
