//! Expands group and filter targets from the account service's directory,
//! `dispatch.batch_chunk` entries per page. Each page's receivers are added
//! in the same transaction as the batch's `expand_cursor`, counts and
//! `expansion_done` move on, and only while this replica's claim still
//! holds the batch; a replayed page adds nothing (receivers are unique per
//! batch and key). A restart therefore resumes at the stored cursor. A
//! target the directory refuses for good (the group is unknown, the account
//! gone) fails the batch; an unreachable account service is retried on a
//! later tick.

use std::collections::BTreeMap;

use sea_orm::TransactionTrait;

use super::batches::FeedReport;
use crate::domain::batch::BatchStatus;
use crate::domain::batch::TargetConfig;
use crate::domain::import::MAX_CONVERSATION_ID_CHARS;
use crate::error::Error;
use crate::integrations::DirectoryEntry;
use crate::state::AppState;
use crate::store::batch_lease;
use crate::store::batches::{self as db, StatusChange};
use crate::store::entity::batch;
use crate::store::{self, receivers::NewReceiver};

/// Pages expanded per batch and tick, so one huge group does not hold a
/// tick (and its lease) for long; the next tick continues.
pub const PAGES_PER_TICK: usize = 20;
const MAX_NAME_CHARS: usize = 200;

pub async fn expand(
    state: &AppState,
    row: &batch::Model,
    claim_id: &str,
    report: &mut FeedReport,
) -> Result<(), Error> {
    let target: TargetConfig = store::from_json(&row.target_config)?;
    let size = u32::try_from(state.settings.dispatch.batch_chunk).unwrap_or(500);
    let lease = chrono::Duration::seconds(i64::try_from(state.settings.dispatch.lease_secs).unwrap_or(60));
    let mut cursor = row.expand_cursor.clone().unwrap_or_default();
    for _ in 0..PAGES_PER_TICK {
        let page = match &target {
            TargetConfig::Group { group_id } => {
                state.directory.group_members(&row.account_id, group_id, &cursor, size).await
            }
            TargetConfig::Filter(filter) => state.directory.contacts(&row.account_id, filter, &cursor, size).await,
            // Written with the batch; nothing to expand.
            TargetConfig::Manual | TargetConfig::Import => return Ok(()),
        };
        let page = match page {
            Ok(page) => page,
            Err(Error::FailedPrecondition { message, .. }) => {
                if fail(state, row, &message).await? {
                    report.failed += 1;
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let chunk: Vec<NewReceiver> = page.entries.into_iter().filter_map(receiver_of).collect();
        let now = state.clock.now();
        let added = batch_lease::append_expanded(
            state.db.writer(),
            &row.id,
            claim_id,
            &chunk,
            page.next.as_deref(),
            now + lease,
            now,
        )
        .await?;
        let Some(added) = added else {
            tracing::info!(batch = %row.id, "batch lease lost while expanding; another replica goes on");
            return Ok(());
        };
        report.expanded += added;
        match page.next {
            Some(next) => cursor = next,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// A directory entry as a private-chat receiver (the feeder offers its name
/// to templates as `name`). Ids the messages table cannot hold are skipped.
fn receiver_of(e: DirectoryEntry) -> Option<NewReceiver> {
    let id = e.user_id.trim();
    if id.is_empty() || id.chars().count() > MAX_CONVERSATION_ID_CHARS {
        tracing::warn!(len = id.len(), "directory entry with an unusable user id skipped");
        return None;
    }
    let name: String = e.name.trim().chars().take(MAX_NAME_CHARS).collect();
    Some(NewReceiver { conversation_id: id.to_owned(), chat_type: "private", name, variables: BTreeMap::new() })
}

/// Fails a batch whose targets cannot be expanded: like a cancel (pending
/// messages cancelled and their quota given back, receivers not fed
/// cancelled), with the reason as its error message.
async fn fail(state: &AppState, row: &batch::Model, reason: &str) -> Result<bool, Error> {
    let Some(from) = BatchStatus::parse(&row.status).filter(|s| !s.is_final()) else { return Ok(false) };
    let now = state.clock.now();
    let change =
        StatusChange { end_time: Some(now), error_message: Some(Some(reason.to_owned())), ..StatusChange::default() };
    let txn = state.db.writer().begin().await?;
    if !db::change_status(&txn, &row.id, from, BatchStatus::Failed, change, now).await? {
        return Ok(false);
    }
    let cancelled = db::cancel_rest(&txn, &row.id, now).await?;
    db::save_counts(&txn, row).await?;
    txn.commit().await?;
    state.quota.release(&row.tenant_id, u32::try_from(cancelled).unwrap_or(u32::MAX)).await;
    Ok(true)
}
