//! The one way an account changes: read it, let the caller decide on the
//! fresh row (a [`Decision`]), write it compare-and-set on `version` with its
//! history row in the same transaction, re-deciding on a lost race. After
//! the commit the cached copy is dropped and the status change is published
//! as `account.status_changed` (the history row is the outbox: a failed
//! publish is re-sent by the watchdog's relay, with the same event id).

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde_json::json;

use crate::domain::status::{Change, IllegalTransition, check_transition};
use crate::domain::{AccountStatus, OperatorType};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, entity::account, entity::status_history};

/// Event type of every status change.
pub const STATUS_CHANGED: &str = "account.status_changed";
/// Lost compare-and-set races tolerated before giving up as Unavailable.
const MAX_RACES: usize = 8;

/// What to do with the freshly read account.
pub enum Decision {
    /// Write this row; `history` when the status changed.
    Write { row: Box<account::Model>, history: Option<Box<status_history::Model>> },
    /// Change nothing; the text says why (reported to event senders).
    Skip(String),
}

/// The result of [`update_account`].
pub enum Outcome {
    Applied { account: Box<account::Model>, change: Option<Box<status_history::Model>> },
    Skipped { account: Box<account::Model>, note: String },
}

impl Outcome {
    pub fn account(&self) -> &account::Model {
        match self {
            Outcome::Applied { account, .. } | Outcome::Skipped { account, .. } => account,
        }
    }

    pub fn into_account(self) -> account::Model {
        match self {
            Outcome::Applied { account, .. } | Outcome::Skipped { account, .. } => *account,
        }
    }
}

/// Who caused a change and why, for the history row.
#[derive(Debug, Clone)]
pub struct Cause {
    pub reason: String,
    pub operator: OperatorType,
    pub operator_id: Option<String>,
    pub error: Option<String>,
    pub extra: Option<serde_json::Value>,
}

impl Cause {
    pub fn new(reason: impl Into<String>, operator: OperatorType, operator_id: Option<String>) -> Self {
        Self { reason: reason.into(), operator, operator_id, error: None, extra: None }
    }

    pub fn with_error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }

    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

/// Moves `row` to `to` (status only; the caller sets the details on the
/// returned row). `Stay` gives no history row.
pub fn move_to(
    row: &account::Model,
    to: AccountStatus,
    cause: &Cause,
    now: DateTime<Utc>,
) -> Result<(account::Model, Option<Box<status_history::Model>>), IllegalTransition> {
    let from = status_of(row);
    let change = check_transition(from, to)?;
    let mut next = row.clone();
    next.status = to.as_str().to_owned();
    let history = (change == Change::Transition).then(|| {
        Box::new(status_history::Model {
            id: store::new_id(),
            tenant_id: row.tenant_id.clone(),
            account_id: row.id.clone(),
            old_status: Some(from.as_str().to_owned()),
            new_status: to.as_str().to_owned(),
            reason: cause.reason.chars().take(500).collect(),
            error_message: cause.error.clone(),
            extra_data: cause.extra.as_ref().map(store::to_json),
            operator_id: cause.operator_id.clone(),
            operator_type: cause.operator.as_str().to_owned(),
            published_at: None,
            created_at: now,
        })
    });
    Ok((next, history))
}

/// The stored status; an unknown spelling (never written by this code) reads as `error`.
pub fn status_of(row: &account::Model) -> AccountStatus {
    AccountStatus::parse(&row.status).unwrap_or(AccountStatus::Error)
}

/// An illegal transition as the caller sees it.
pub fn refused(e: IllegalTransition) -> Error {
    Error::precondition("ILLEGAL_TRANSITION", e.to_string())
}

/// Reads the account (confined to `tenant` when given), decides, writes.
pub async fn update_account<F>(state: &AppState, id: &str, tenant: Option<&str>, mut decide: F) -> Result<Outcome>
where
    F: FnMut(&account::Model, DateTime<Utc>) -> Result<Decision>,
{
    for _ in 0..MAX_RACES {
        let Some(current) = store::find_account(state.db.writer(), id, tenant).await? else {
            return Err(Error::NotFound("account"));
        };
        let now = state.clock.now();
        let (mut row, history) = match decide(&current, now)? {
            Decision::Skip(note) => return Ok(Outcome::Skipped { account: Box::new(current), note }),
            Decision::Write { row, history } => (*row, history),
        };
        row.version = current.version + 1;
        row.updated_at = now;
        let txn = state.db.writer().begin().await?;
        if !store::write_account_if_unchanged(&txn, &row).await? {
            txn.rollback().await?;
            continue;
        }
        if let Some(h) = &history {
            store::insert_history(&txn, (**h).clone()).await?;
        }
        txn.commit().await?;
        forget_account(state, &row.id).await;
        if let Some(h) = &history {
            spawn_publish(state, (**h).clone());
        }
        return Ok(Outcome::Applied { account: Box::new(row), change: history });
    }
    Err(Error::Unavailable("the account is changing too fast; retry".to_owned()))
}

/// The cache key of an account (GetAccount's cache-aside copy).
pub fn account_cache_key(id: &str) -> String {
    format!("account:{id}")
}

/// Must follow every write to an account.
pub async fn forget_account(state: &AppState, id: &str) {
    state.cache.invalidate(&[account_cache_key(id)]).await;
}

/// Publishes a status change in the background; the relay retries failures.
pub fn spawn_publish(state: &AppState, change: status_history::Model) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = publish_change(&state, &change).await {
            tracing::warn!(error = %e, history_id = %change.id, "status event not published yet; the relay retries");
        }
    });
}

/// Sends one status change to the task center (event id = history id, so a
/// re-send is de-duplicated there) and marks it published.
pub async fn publish_change(state: &AppState, change: &status_history::Model) -> Result<()> {
    let Some(events) = &state.events else {
        return Ok(());
    };
    let data = json!({
        "account_id": change.account_id,
        "old_status": change.old_status,
        "new_status": change.new_status,
        "reason": change.reason,
        "error_message": change.error_message,
        "operator_type": change.operator_type,
    });
    let mut event = events
        .envelope()
        .build_at(&change.tenant_id, STATUS_CHANGED, &change.account_id, data, change.created_at)
        .map_err(|e| Error::Internal(anyhow::anyhow!("status event: {e}")))?;
    event.id = change.id.clone();
    events.publish(event).await.map_err(Error::Status)?;
    store::mark_published(state.db.writer(), &change.id, state.clock.now()).await?;
    Ok(())
}
