//! The watchdog's rules, one [`tick`] at a time:
//! 1. online accounts silent past the heartbeat timeout go `offline`
//!    (recovery scheduled);
//! 2. offline/recovering accounts whose restore attempt is due are restored
//!    on their instance: `online`, or the next attempt backed off, or
//!    `error` once the attempts are spent;
//! 3. status events the task center has not acknowledged are re-sent;
//! 4. instances not heard from for `instance_probe_secs` are asked for their
//!    health; a new `boot_id` counts a restart and checks their accounts.
//!
//! Replicas race safely: every step is a compare-and-set on the account, and
//! a restore attempt first pushes `next_recover_at` past its own run, so
//! only one replica restores an account at a time.

use chrono::Duration;
use wework_client::ProviderError;
use wework_client::protocol::ClientState;

use crate::domain::recovery::RecoveryPolicy;
use crate::domain::{AccountStatus, OperatorType};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Cause, Decision, move_to, status_of};
use crate::state::AppState;
use crate::store::{self, entity::account};

/// How long one restore attempt holds an account against other replicas.
const ATTEMPT_LEASE: Duration = Duration::seconds(60);

/// What a tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub went_offline: usize,
    pub restore_attempts: usize,
    pub restored: usize,
    pub gave_up: usize,
    pub events_relayed: usize,
    pub instances_probed: usize,
    pub instance_restarts: usize,
}

pub fn policy(state: &AppState) -> RecoveryPolicy {
    let w = &state.settings.watchdog;
    RecoveryPolicy {
        heartbeat_timeout: Duration::seconds(w.heartbeat_timeout_secs as i64),
        max_attempts: w.max_recover_attempts,
        backoff: Duration::seconds(w.recover_backoff_secs as i64),
        backoff_max: Duration::seconds(w.recover_backoff_max_secs as i64),
    }
}

pub async fn tick(state: &AppState) -> Result<TickReport> {
    let mut report = TickReport::default();
    let batch = state.settings.watchdog.batch;
    let now = state.clock.now();
    for row in store::silent_online_accounts(state.db.reader(), policy(state).stale_before(now), batch).await? {
        if went_offline(state, &row.id, "heartbeat timeout", true).await? {
            report.went_offline += 1;
        }
    }
    for row in store::due_recoveries(state.db.reader(), state.clock.now(), batch).await? {
        report.restore_attempts += 1;
        match status_of(&attempt_restore(state, &row).await?) {
            AccountStatus::Online => report.restored += 1,
            AccountStatus::Error => report.gave_up += 1,
            _ => {}
        }
    }
    report.events_relayed = relay_events(state).await?;
    (report.instances_probed, report.instance_restarts) = probe_instances(state).await?;
    Ok(report)
}

/// Asks silent instances for their health, concurrently; an unreachable
/// instance is only logged (its accounts' own heartbeats tell the rest).
async fn probe_instances(state: &AppState) -> Result<(usize, usize)> {
    let before = state.clock.now() - Duration::seconds(state.settings.watchdog.instance_probe_secs as i64);
    let due = store::instances_due_for_probe(state.db.reader(), before, 100).await?;
    let probes = due.iter().map(|inst| async move {
        let token = state.open(&inst.token_sealed)?;
        match state.providers.driver(&inst.api_url, &token).health().await {
            Ok(h) => {
                let now = state.clock.now();
                let restarted =
                    store::record_instance_heartbeat(state.db.writer(), &inst.id, &h.boot_id, &h.version, now).await?;
                if restarted == Some(true) {
                    tracing::warn!(instance = %inst.name, "instance restarted; checking its accounts");
                    instance_restarted(state, &inst.id).await?;
                    return Ok::<_, Error>(true);
                }
                Ok(false)
            }
            Err(e) => {
                tracing::warn!(instance = %inst.name, error = %e.code(), "instance health probe failed");
                Ok(false)
            }
        }
    });
    let results = futures::future::join_all(probes).await;
    let restarts = results.iter().filter(|r| matches!(r, Ok(true))).count();
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(e);
    }
    Ok((due.len(), restarts))
}

/// Online → offline with a recovery scheduled now. False if the account
/// was no longer online, or (`only_if_silent`) a heartbeat arrived since
/// the scan — another replica or the instance got there first.
async fn went_offline(state: &AppState, id: &str, reason: &str, only_if_silent: bool) -> Result<bool> {
    let cause = Cause::new(reason, OperatorType::Auto, None);
    let stale_before = policy(state).stale_before(state.clock.now());
    let outcome = lifecycle::update_account(state, id, None, |current, now| {
        let still_silent = current.last_heartbeat_time.is_none_or(|t| t < stale_before);
        if status_of(current) != AccountStatus::Online || (only_if_silent && !still_silent) {
            return Ok(Decision::Skip("no longer silent".to_owned()));
        }
        let (mut next, history) = move_to(current, AccountStatus::Offline, &cause, now).map_err(lifecycle::refused)?;
        next.next_recover_at = Some(now);
        next.recover_attempts = 0;
        next.error_message = Some(reason.to_owned());
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    Ok(matches!(outcome, lifecycle::Outcome::Applied { .. }))
}

/// An instance restarted: its online and recovering accounts may have lost
/// their sessions; they go offline with recovery scheduled.
pub async fn instance_restarted(state: &AppState, instance_id: &str) -> Result<usize> {
    let mut n = 0;
    for row in store::accounts_with_sessions_on(state.db.writer(), instance_id, 10_000).await? {
        if status_of(&row) == AccountStatus::Online && went_offline(state, &row.id, "instance restarted", false).await?
        {
            n += 1;
        }
    }
    Ok(n)
}

/// One restore attempt of an offline or recovering account; returns the
/// account as the attempt left it.
pub async fn attempt_restore(state: &AppState, row: &account::Model) -> Result<account::Model> {
    // Claim: recovering, and the next attempt pushed past this one.
    let cause = Cause::new("restoring the session", OperatorType::Auto, None);
    let claimed = lifecycle::update_account(state, &row.id, None, |current, now| {
        let due = current.next_recover_at.is_some_and(|t| t <= now);
        if !due || !matches!(status_of(current), AccountStatus::Offline | AccountStatus::Recovering) {
            return Ok(Decision::Skip("not due".to_owned()));
        }
        let (mut next, history) =
            move_to(current, AccountStatus::Recovering, &cause, now).map_err(lifecycle::refused)?;
        next.next_recover_at = Some(now + ATTEMPT_LEASE);
        next.recover_attempts += 1;
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    let lifecycle::Outcome::Applied { account, .. } = claimed else {
        return Ok(claimed.into_account());
    };
    let result = match (&account.guid, crate::grpc::login::driver_for(state, &account).await) {
        (Some(guid), Ok((driver, _))) => driver.restore(guid).await.map(|r| r.state),
        (None, _) => Ok(ClientState::Created),
        (_, Err(e)) => Err(ProviderError::Unavailable { message: e.to_string(), timed_out: false }),
    };
    let attempts = u32::try_from(account.recover_attempts).unwrap_or(u32::MAX);
    let (to, reason, error, retry) = match result {
        Ok(ClientState::Online) => (AccountStatus::Online, "session restored".to_owned(), None, false),
        // Definitive answers: the session is gone for good; a QR login is needed.
        Ok(other) => {
            let msg = format!("the session cannot be restored (instance reports {other:?}); log in again");
            (AccountStatus::Error, "restore refused".to_owned(), Some(msg), false)
        }
        Err(ProviderError::AccountRestricted(_)) => (
            AccountStatus::Error,
            "restore refused".to_owned(),
            Some("WeWork restricted this account".to_owned()),
            false,
        ),
        Err(ProviderError::UnknownClient(_)) => {
            let msg = "the instance no longer knows this client; log in again".to_owned();
            (AccountStatus::Error, "restore refused".to_owned(), Some(msg), false)
        }
        Err(e) => {
            (AccountStatus::Recovering, "restore failed".to_owned(), Some(format!("instance: {}", e.code())), true)
        }
    };
    let next_at = if retry { policy(state).next_attempt(state.clock.now(), attempts) } else { None };
    let to = if retry && next_at.is_none() { AccountStatus::Error } else { to };
    let cause = Cause::new(
        if to == AccountStatus::Error && retry { "restore attempts exhausted" } else { &reason },
        OperatorType::Auto,
        None,
    )
    .with_error(error.clone());
    let done = lifecycle::update_account(state, &account.id, None, |current, now| {
        if status_of(current) != AccountStatus::Recovering {
            return Ok(Decision::Skip("changed during the attempt".to_owned()));
        }
        let (mut next, history) = move_to(current, to, &cause, now).map_err(lifecycle::refused)?;
        next.error_message.clone_from(&error);
        next.next_recover_at = next_at;
        if to == AccountStatus::Online {
            next.last_heartbeat_time = Some(now);
            next.recover_attempts = 0;
        }
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    Ok(done.into_account())
}

/// Re-sends status events older than `outbox_retry_secs` that were never
/// acknowledged. Returns how many were sent.
async fn relay_events(state: &AppState) -> Result<usize> {
    if state.events.is_none() {
        return Ok(0);
    }
    let before = state.clock.now() - Duration::seconds(state.settings.watchdog.outbox_retry_secs as i64);
    let mut sent = 0;
    for change in store::unpublished_history(state.db.reader(), before, state.settings.watchdog.batch).await? {
        match lifecycle::publish_change(state, &change).await {
            Ok(()) => sent += 1,
            Err(Error::Status(s)) => {
                tracing::warn!(code = ?s.code(), "status event relay: task center unavailable");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}
