//! `GetStatistics`: the tenant's counters over at most 92 UTC days, per day
//! or per hour, for the whole tenant or one account. The counters are kept
//! per hour of the messages' creation, so a message counts in the slot it
//! was created in, whenever it was sent or delivered.

use chrono::NaiveDate;
use wework_proto::message as pb;

use super::context::Caller;
use super::send::{MAX_ID_CHARS, id_problem};
use crate::domain::FieldError;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, StatisticsQuery};

/// The longest range one call covers, in days (both ends included).
pub const MAX_DAYS: i64 = 92;

/// The date range of a request: `to_date` defaults to today, `from_date`
/// to `to_date`.
pub fn parse_range(from: &str, to: &str, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    let mut errors = Vec::new();
    let mut date = |value: &str, field: &str, default: Option<NaiveDate>| {
        let value = value.trim();
        if value.is_empty() {
            return default;
        }
        let parsed = (value.len() == 10).then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()).flatten();
        if parsed.is_none() {
            errors.push(FieldError::new(field, "must be a date YYYY-MM-DD"));
        }
        parsed
    };
    let to_date = date(to, "to_date", Some(today));
    let from_date = date(from, "from_date", to_date);
    if let (Some(f), Some(t)) = (from_date, to_date) {
        if f > t {
            errors.push(FieldError::new("from_date", "must not be after to_date"));
        } else if (t - f).num_days() + 1 > MAX_DAYS {
            errors.push(FieldError::new("to_date", format!("at most {MAX_DAYS} days from from_date (inclusive)")));
        }
    }
    match (from_date, to_date) {
        (Some(f), Some(t)) if errors.is_empty() => Ok((f, t)),
        _ => Err(Error::Invalid(errors)),
    }
}

pub fn row_to_proto(r: store::StatisticsRow) -> pb::StatisticsRow {
    let avg_latency_ms = if r.latency_samples > 0 { r.latency_sum_ms as f64 / r.latency_samples as f64 } else { 0.0 };
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    pb::StatisticsRow {
        date: r.date,
        hour: r.hour.map_or(-1, i32::from),
        account_id: r.account_id,
        total: count(r.total),
        sent: count(r.sent),
        delivered: count(r.delivered),
        failed: count(r.failed),
        avg_latency_ms,
    }
}

pub async fn get(state: &AppState, caller: &Caller, r: &pb::GetStatisticsRequest) -> Result<pb::GetStatisticsResponse> {
    caller.require("statistics:read")?;
    let today = state.clock.now().date_naive();
    let account_id = Some(r.account_id.trim()).filter(|a| !a.is_empty());
    let range = parse_range(&r.from_date, &r.to_date, today);
    let account_problem = account_id.and_then(|a| id_problem(a, MAX_ID_CHARS));
    let (from, to) = match (range, account_problem) {
        (Ok(range), None) => range,
        (range, problem) => {
            let mut errors = match range {
                Err(Error::Invalid(errors)) => errors,
                _ => Vec::new(),
            };
            errors.extend(problem.map(|p| FieldError::new("account_id", p)));
            return Err(Error::Invalid(errors));
        }
    };
    let query = StatisticsQuery {
        tenant_id: caller.tenant_scope("")?,
        account_id: account_id.map(str::to_owned),
        from_date: from.format("%Y-%m-%d").to_string(),
        to_date: to.format("%Y-%m-%d").to_string(),
        hourly: r.hourly,
    };
    let rows = store::query_statistics(state.db.reader(), &query).await?;
    Ok(pb::GetStatisticsResponse { rows: rows.into_iter().map(row_to_proto).collect() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fields(from: &str, to: &str) -> Vec<String> {
        match parse_range(from, to, day("2025-06-30")) {
            Err(Error::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn ranges_default_to_today_and_are_inclusive() {
        let today = day("2025-06-30");
        assert_eq!(parse_range("", "", today).unwrap(), (today, today));
        assert_eq!(parse_range("", "2025-06-01", today).unwrap(), (day("2025-06-01"), day("2025-06-01")));
        // 92 days, both ends included.
        assert_eq!(parse_range("2025-01-01", "2025-04-02", today).unwrap().1, day("2025-04-02"));
        assert_eq!(fields("2025-01-01", "2025-04-03"), ["to_date"]);
    }

    #[test]
    fn bad_dates_are_named() {
        assert_eq!(fields("2025-6-1", ""), ["from_date"]);
        assert_eq!(fields("", "2025-02-30"), ["to_date"]);
        assert_eq!(fields("2025-06-02", "2025-06-01"), ["from_date"]);
        assert_eq!(fields("x", "y"), ["to_date", "from_date"]);
    }

    #[test]
    fn averages_come_from_sums() {
        let row = store::StatisticsRow {
            date: "2025-06-01".into(),
            hour: None,
            account_id: String::new(),
            total: 4,
            sent: 3,
            delivered: 2,
            failed: 1,
            latency_sum_ms: 900,
            latency_samples: 3,
        };
        let p = row_to_proto(row.clone());
        assert_eq!((p.hour, p.total, p.avg_latency_ms), (-1, 4, 300.0));
        let p = row_to_proto(store::StatisticsRow { latency_samples: 0, hour: Some(7), ..row });
        assert_eq!((p.hour, p.avg_latency_ms), (7, 0.0));
    }
}
