//! Claiming work across replicas with leases — the task center's tasks, the
//! message dispatcher's messages, the callback processor's events.
//!
//! Contract: the table has `id`, `claim_id`, `claimed_by` and `lease_until`
//! columns. [`claim`] stamps up to `limit` claimable rows with one fresh
//! claim id and a lease, atomically, so no two workers (in any replica) hold
//! the same row. On MySQL/MariaDB that is `SELECT … FOR UPDATE SKIP LOCKED`
//! then `UPDATE … WHERE id IN (…)` in one transaction (MySQL has no
//! `UPDATE … RETURNING`, nor an `UPDATE` whose subquery reads the same
//! table); on SQLite, which has one writer at a time, a single
//! `UPDATE … WHERE id IN (SELECT … LIMIT n)`. Every later write of a result
//! must be conditional on `claim_id`, so a worker whose lease expired and was
//! taken over cannot overwrite the new holder. [`reclaim_expired`] returns
//! rows whose holder vanished (crash, partition) to the claimable state.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, IsolationLevel, Statement, TransactionTrait, Value,
};

/// How one table is claimed. The SQL fragments are static (written by the
/// service, never from input); values are bound through `?` placeholders.
#[derive(Debug, Clone, Copy)]
pub struct LeaseSpec {
    pub table: &'static str,
    /// `WHERE` condition of claimable rows, e.g. `status = 'pending' AND next_execute_at <= ?`.
    pub claimable: &'static str,
    /// Claim order, e.g. `priority DESC, next_execute_at ASC`.
    pub order_by: &'static str,
    /// Extra assignments made by the claim, e.g. `status = 'running', attempts = attempts + 1`.
    pub on_claim: &'static str,
    /// Condition of a row whose lease ran out, e.g. `status = 'running'`
    /// (the `lease_until < now` part is added).
    pub held: &'static str,
    /// Assignments that return an expired row to the claimable state, e.g. `status = 'pending'`.
    pub on_expiry: &'static str,
}

/// The rows one [`claim`] took. Empty `ids` when nothing was claimable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub claim_id: String,
    pub ids: Vec<String>,
}

/// Claims up to `limit` rows for `worker` until `lease_until`.
/// `values` bind the `?` placeholders of `spec.claimable`, in order.
pub async fn claim(
    db: &DatabaseConnection,
    spec: &LeaseSpec,
    values: Vec<Value>,
    worker: &str,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Claim, DbErr> {
    let claim_id = uuid::Uuid::now_v7().to_string();
    let backend = db.get_database_backend();
    let stamp = |ids_sql: String| {
        format!(
            "UPDATE {t} SET claim_id = ?, claimed_by = ?, lease_until = ?, {set} WHERE id IN ({ids_sql})",
            t = spec.table,
            set = spec.on_claim
        )
    };
    let head: Vec<Value> = vec![claim_id.clone().into(), worker.to_owned().into(), lease_until.into()];
    if backend == DatabaseBackend::MySql {
        // READ COMMITTED: no gap locks, so claims and the single-row writes
        // of other workers (results, new tasks) do not deadlock on the
        // claim index; SKIP LOCKED already keeps claimers apart.
        let txn = db.begin_with_config(Some(IsolationLevel::ReadCommitted), None).await?;
        let select = format!(
            "SELECT id FROM {t} WHERE {c} ORDER BY {o} LIMIT {limit} FOR UPDATE SKIP LOCKED",
            t = spec.table,
            c = spec.claimable,
            o = spec.order_by
        );
        let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, select, values)).await?;
        let ids = rows.iter().map(|r| r.try_get::<String>("", "id")).collect::<Result<Vec<_>, _>>()?;
        if !ids.is_empty() {
            let placeholders = vec!["?"; ids.len()].join(", ");
            let mut bind = head;
            bind.extend(ids.iter().cloned().map(Value::from));
            txn.execute_raw(Statement::from_sql_and_values(backend, stamp(placeholders), bind)).await?;
        }
        txn.commit().await?;
        return Ok(Claim { claim_id, ids });
    }
    let inner = format!(
        "SELECT id FROM {t} WHERE {c} ORDER BY {o} LIMIT {limit}",
        t = spec.table,
        c = spec.claimable,
        o = spec.order_by
    );
    let mut bind = head;
    bind.extend(values);
    let done = db.execute_raw(Statement::from_sql_and_values(backend, stamp(inner), bind)).await?;
    if done.rows_affected() == 0 {
        return Ok(Claim { claim_id, ids: Vec::new() });
    }
    let select = format!("SELECT id FROM {t} WHERE claim_id = ?", t = spec.table);
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, select, [claim_id.clone().into()])).await?;
    let ids = rows.iter().map(|r| r.try_get::<String>("", "id")).collect::<Result<Vec<_>, _>>()?;
    Ok(Claim { claim_id, ids })
}

/// Extends the leases of `claim_ids` still held; returns how many rows kept
/// their lease (fewer than expected means some were taken over).
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    spec: &LeaseSpec,
    claim_ids: &[String],
    lease_until: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if claim_ids.is_empty() {
        return Ok(0);
    }
    let placeholders = vec!["?"; claim_ids.len()].join(", ");
    let sql = format!(
        "UPDATE {t} SET lease_until = ? WHERE {held} AND claim_id IN ({placeholders})",
        t = spec.table,
        held = spec.held
    );
    let mut bind: Vec<Value> = vec![lease_until.into()];
    bind.extend(claim_ids.iter().cloned().map(Value::from));
    let done = db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, bind)).await?;
    Ok(done.rows_affected())
}

/// Returns rows whose lease ran out before `now` to the claimable state, for
/// any replica to pick up; their old claim id stops matching.
pub async fn reclaim_expired<C: ConnectionTrait>(db: &C, spec: &LeaseSpec, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let sql = format!(
        "UPDATE {t} SET claim_id = NULL, claimed_by = NULL, lease_until = NULL, {set} \
         WHERE {held} AND lease_until < ?",
        t = spec.table,
        set = spec.on_expiry,
        held = spec.held
    );
    let done = db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, [now.into()])).await?;
    Ok(done.rows_affected())
}

/// Runs `work` while calling `renew` every `every` (real time: a slow
/// callee is slow in real time), so a claim held by a live worker is not
/// taken over as expired meanwhile; returns `work`'s output. `renew` logs
/// its own failures: a missed renewal only risks a takeover, which every
/// claim's conditional writes already tolerate.
pub async fn while_renewing<T, R, RF>(every: std::time::Duration, mut renew: R, work: impl Future<Output = T>) -> T
where
    R: FnMut() -> RF,
    RF: Future<Output = ()>,
{
    let renewing = async {
        loop {
            tokio::time::sleep(every).await;
            renew().await;
        }
    };
    tokio::pin!(work);
    tokio::select! {
        out = &mut work => out,
        () = renewing => work.await,
    }
}
