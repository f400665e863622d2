//! The batch feeder, in every replica. Each [`tick`] claims the batches that
//! need a replica (running, or with directory targets still to expand) with
//! a lease on `batch_send_tasks`, so one replica works on a batch at a time;
//! expands the next chunks ([`super::expander`]); and keeps at most
//! `dispatch.batch_window` messages of each running batch queued (pending or
//! sending) for the dispatcher:
//!
//! 1. the next pending receivers in `seq` order are rendered (template +
//!    the receiver's values, its name offered as `name`; a receiver that
//!    does not render fails with the reason, the batch goes on);
//! 2. the tenant's daily quota is reserved for them (all it still has, down
//!    to one; none left → the batch is paused with the reason);
//! 3. their messages are created through the inserter with idempotency key
//!    `batch:<batch>:<receiver key>`, so a receiver never gets two messages
//!    however often this runs (quota of a message that already existed is
//!    given back), and the receivers are linked to them, conditionally on
//!    still being pending.
//!
//! A batch whose status changed while a chunk was being queued is put
//! right afterwards (its new messages held, or cancelled). A running batch
//! whose receivers are all expanded and fed, with no message pending or
//! sending, is completed. Sending itself, with the batch's strategy and
//! the account's throttle, is the dispatcher's.

use std::collections::BTreeMap;
use std::time::Duration;

use sea_orm::TransactionTrait;
use wework_kit::shutdown::Shutdown;

use super::expander;
use crate::domain::batch::{BatchContent, BatchStatus};
use crate::domain::content;
use crate::domain::status::MessageStatus;
use crate::error::Error;
use crate::state::AppState;
use crate::store::batch_lease;
use crate::store::batches::{self as db, StatusChange};
use crate::store::entity::{batch, receiver};
use crate::store::{self, NewMessage, receivers};

/// Batches one tick works on at most.
const CLAIM_LIMIT: u64 = 64;
/// Extra rounds of queueing per batch and tick, beyond those that fill the
/// window a chunk at a time (a round falls short when receivers fail to
/// render).
const EXTRA_ROUNDS: u64 = 8;
/// Batch messages are a notch below single sends' default priority (5), so
/// an operator's message is not queued behind a whole batch window.
pub const BATCH_PRIORITY: i16 = 4;
/// Longest idempotency key the messages table stores.
const MAX_KEY_CHARS: usize = 128;
pub const QUOTA_SPENT: &str = "the tenant's daily message quota is spent";

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedReport {
    /// Batches claimed by this tick.
    pub batches: usize,
    /// Receivers added from the directory.
    pub expanded: u64,
    /// Messages created for receivers.
    pub queued: u64,
    /// Receivers failed because their content did not render.
    pub render_failed: u64,
    pub completed: usize,
    /// Batches paused because the tenant's daily quota is spent.
    pub paused: usize,
    /// Batches failed (targets that cannot be expanded).
    pub failed: usize,
}

/// Runs [`tick`] every `dispatch.tick_ms` until `shutdown` (when the
/// dispatch workers are enabled).
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    if !state.settings.dispatch.enabled {
        return;
    }
    let (state, stop) = (state.clone(), shutdown.clone());
    let every = Duration::from_millis(state.settings.dispatch.tick_ms);
    shutdown.spawn_worker("batch-feeder", async move {
        loop {
            if let Err(e) = tick(&state).await {
                tracing::warn!(error = %e, "batch feeder tick failed");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = stop.cancelled() => break,
            }
        }
    });
}

/// One round over the batches that need a replica; safe to run on any
/// number of replicas (and twice in one) at once.
pub async fn tick(state: &AppState) -> anyhow::Result<FeedReport> {
    let now = state.clock.now();
    let lease = chrono::Duration::seconds(i64::try_from(state.settings.dispatch.lease_secs).unwrap_or(60));
    let claim = batch_lease::claim_batches(state.db.writer(), &state.worker_id, now, now + lease, CLAIM_LIMIT).await?;
    let mut report = FeedReport { batches: claim.ids.len(), ..FeedReport::default() };
    for id in &claim.ids {
        if let Err(e) = work_on(state, id, &claim.claim_id, &mut report).await {
            tracing::warn!(batch = %id, error = %e, "batch not fed this round");
        }
        // A release that fails only delays the batch until its lease ends.
        if let Err(e) = batch_lease::release_batch(state.db.writer(), id, &claim.claim_id).await {
            tracing::warn!(batch = %id, error = %e, "batch lease not released");
        }
    }
    Ok(report)
}

async fn work_on(state: &AppState, id: &str, claim_id: &str, report: &mut FeedReport) -> Result<(), Error> {
    let Some(mut row) = db::find_batch(state.db.writer(), id, None).await? else { return Ok(()) };
    if !row.expansion_done {
        expander::expand(state, &row, claim_id, report).await?;
        let Some(fresh) = db::find_batch(state.db.writer(), id, None).await? else { return Ok(()) };
        row = fresh;
    }
    if BatchStatus::parse(&row.status) == Some(BatchStatus::Running) {
        feed(state, &row, report).await?;
    }
    Ok(())
}

async fn feed(state: &AppState, row: &batch::Model, report: &mut FeedReport) -> Result<(), Error> {
    let sent: BatchContent = store::from_json(&row.message_content)?;
    let window = state.settings.dispatch.batch_window;
    let chunk = state.settings.dispatch.batch_chunk;
    for _ in 0..window.div_ceil(chunk.max(1)) + EXTRA_ROUNDS {
        let room = window.saturating_sub(db::queued_messages(state.db.writer(), &row.id).await?).min(chunk);
        if room == 0 {
            return Ok(());
        }
        let pending = receivers::next_pending(state.db.writer(), &row.id, room).await?;
        if pending.is_empty() {
            return complete_if_done(state, row, report).await;
        }
        let mut ready = Vec::with_capacity(pending.len());
        for r in pending {
            match sent.render(&values_of(&r)?) {
                Ok(body) => ready.push((r, body)),
                Err(errors) => {
                    let reason = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                    if receivers::mark_failed(state.db.writer(), &r.id, &reason, state.clock.now()).await? {
                        report.render_failed += 1;
                    }
                }
            }
        }
        if ready.is_empty() {
            continue;
        }
        let wanted = u32::try_from(ready.len()).unwrap_or(u32::MAX);
        let granted = reserve_up_to(state, &row.tenant_id, wanted).await?;
        ready.truncate(granted as usize);
        if !ready.is_empty() {
            queue(state, row, ready, &sent, report).await?;
            if !still_running(state, row).await? {
                return Ok(());
            }
        }
        if granted < wanted {
            let change = StatusChange { error_message: Some(Some(QUOTA_SPENT.to_owned())), ..StatusChange::default() };
            let now = state.clock.now();
            if db::change_status(state.db.writer(), &row.id, BatchStatus::Running, BatchStatus::Paused, change, now)
                .await?
            {
                report.paused += 1;
            }
            return Ok(());
        }
    }
    Ok(())
}

/// Creates the messages of rendered receivers (quota already reserved for
/// each) and links the receivers to them.
async fn queue(
    state: &AppState,
    row: &batch::Model,
    ready: Vec<(receiver::Model, content::MessageBody)>,
    sent: &BatchContent,
    report: &mut FeedReport,
) -> Result<(), Error> {
    let now = state.clock.now();
    let n = u32::try_from(ready.len()).unwrap_or(u32::MAX);
    let template_id = sent.spec().and(row.template_id.clone());
    let messages: Vec<NewMessage> = ready
        .iter()
        .map(|(r, body)| NewMessage {
            tenant_id: row.tenant_id.clone(),
            account_id: row.account_id.clone(),
            conversation_id: r.conversation_id.clone(),
            chat_type: r.chat_type.clone(),
            direction: store::OUT,
            message_type: content::kind(body).to_owned(),
            content: store::to_json(body.content()),
            at_list: None,
            template_id: template_id.clone(),
            status: MessageStatus::Pending,
            wework_msg_id: None,
            send_time: None,
            batch_id: Some(row.id.clone()),
            receiver_id: Some(r.id.clone()),
            priority: BATCH_PRIORITY,
            scheduled_time: None,
            next_attempt_at: Some(now),
            idempotency_key: Some(idempotency_key(&row.id, r)),
            sender_id: None,
            sender_name: None,
            // Queued by the feeder, not by a request: each send starts its own trace.
            traceparent: None,
        })
        .collect();
    let created = match state.inserter.create(messages).await {
        Ok(created) => created,
        Err(e) => {
            state.quota.release(&row.tenant_id, n).await;
            return Err(e.into());
        }
    };
    let repeated = created.iter().filter(|(_, fresh)| !fresh).count();
    state.quota.release(&row.tenant_id, u32::try_from(repeated).unwrap_or(u32::MAX)).await;
    report.queued += (created.len() - repeated) as u64;
    let links: Vec<(String, String)> =
        ready.iter().zip(&created).map(|((r, _), (m, _))| (r.id.clone(), m.id.clone())).collect();
    receivers::mark_queued(state.db.writer(), &links, state.clock.now()).await?;
    Ok(())
}

/// A receiver's template values: its own, and its name as `name` unless
/// it sets one (a directory receiver's or an import's `name` column).
fn values_of(r: &receiver::Model) -> Result<BTreeMap<String, String>, Error> {
    let mut values: BTreeMap<String, String> =
        r.variables.as_deref().map(store::from_json).transpose()?.unwrap_or_default();
    if let Some(name) = r.receiver_name.as_ref().filter(|n| !n.is_empty()) {
        values.entry("name".to_owned()).or_insert_with(|| name.clone());
    }
    Ok(values)
}

/// `batch:<batch>:<receiver key>`; a key too long for the column uses the
/// receiver's id instead (just as unique within the batch).
pub fn idempotency_key(batch_id: &str, r: &receiver::Model) -> String {
    let key = format!("batch:{batch_id}:{}", r.receiver_key);
    if key.chars().count() <= MAX_KEY_CHARS { key } else { format!("batch:{batch_id}:#{}", r.id) }
}

/// Reserves as much of `wanted` as the tenant's quota still allows: a
/// refused amount is halved, a granted one taken and the rest tried again
/// (so 5 wanted with 3 left gets 3). 0 when it is spent.
async fn reserve_up_to(state: &AppState, tenant: &str, wanted: u32) -> Result<u32, Error> {
    let (mut granted, mut n) = (0, wanted);
    while n > 0 && granted < wanted {
        match state.quota.reserve(tenant, n).await {
            Ok(()) => {
                granted += n;
                n = n.min(wanted - granted);
            }
            Err(Error::ResourceExhausted(_)) => n /= 2,
            Err(e) => {
                state.quota.release(tenant, granted).await;
                return Err(e);
            }
        }
    }
    Ok(granted)
}

/// After queueing a chunk: a batch paused or cancelled meanwhile gets what
/// its pause or cancel did to its other messages. False if not running.
async fn still_running(state: &AppState, row: &batch::Model) -> Result<bool, Error> {
    let status = db::find_batch(state.db.writer(), &row.id, None).await?.and_then(|b| BatchStatus::parse(&b.status));
    let now = state.clock.now();
    match status {
        Some(BatchStatus::Running) => Ok(true),
        Some(BatchStatus::Paused) => {
            db::hold_messages(state.db.writer(), &row.id, now).await?;
            Ok(false)
        }
        Some(BatchStatus::Cancelled | BatchStatus::Failed) => {
            let txn = state.db.writer().begin().await?;
            let cancelled = db::cancel_rest(&txn, &row.id, now).await?;
            db::save_counts(&txn, row).await?;
            txn.commit().await?;
            state.quota.release(&row.tenant_id, u32::try_from(cancelled).unwrap_or(u32::MAX)).await;
            Ok(false)
        }
        _ => Ok(false),
    }
}

/// Completes the batch if every receiver is expanded and fed and none of
/// its messages is pending or sending.
async fn complete_if_done(state: &AppState, row: &batch::Model, report: &mut FeedReport) -> Result<(), Error> {
    let Some(fresh) = db::find_batch(state.db.writer(), &row.id, None).await? else { return Ok(()) };
    if !fresh.expansion_done || db::queued_messages(state.db.writer(), &row.id).await? > 0 {
        return Ok(());
    }
    let now = state.clock.now();
    let txn = state.db.writer().begin().await?;
    if receivers::has_pending(&txn, &row.id).await? {
        return Ok(());
    }
    let change = StatusChange { end_time: Some(now), ..StatusChange::default() };
    if db::change_status(&txn, &row.id, BatchStatus::Running, BatchStatus::Completed, change, now).await? {
        db::save_counts(&txn, &fresh).await?;
        report.completed += 1;
    }
    txn.commit().await?;
    Ok(())
}
