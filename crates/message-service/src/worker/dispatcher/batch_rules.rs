//! What a batch message's batch says about sending it now: a paused batch
//! holds it, a cancelled or failed one cancels it, a running one adds its
//! send strategy on top of the account's throttle (the stricter interval
//! and per-minute cap; its window besides the account's; its own offline
//! wait). Read once per batch per round.

use std::collections::HashMap;

use crate::domain::batch::{BatchStatus, BatchStrategy};
use crate::state::AppState;
use crate::store::{self, Resolution, entity::message};

/// A batch as the dispatcher sees it.
#[derive(Debug, Clone)]
pub(super) struct BatchRules {
    pub status: BatchStatus,
    pub strategy: BatchStrategy,
}

/// What to do with a batch message before the account is even asked.
pub(super) enum Verdict<'a> {
    /// Send it, within these rules (`None`: not a batch message, or its
    /// batch is gone — it is sent like a single message).
    Send(Option<&'a BatchRules>),
    Stop(Resolution),
}

/// The rules of every batch the round's messages belong to.
pub(super) async fn load(state: &AppState, messages: &[message::Model]) -> HashMap<String, BatchRules> {
    let mut rules = HashMap::new();
    for id in messages.iter().filter_map(|m| m.batch_id.as_deref()) {
        if rules.contains_key(id) {
            continue;
        }
        match store::batches::find_batch(state.db.reader(), id, None).await {
            Ok(Some(row)) => {
                let Some(status) = BatchStatus::parse(&row.status) else { continue };
                let strategy = row
                    .send_strategy
                    .as_deref()
                    .and_then(|json| serde_json::from_str::<BatchStrategy>(json).ok())
                    .unwrap_or_default();
                rules.insert(id.to_owned(), BatchRules { status, strategy });
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(batch_id = id, error = %e, "batch rules unavailable; its messages are sent as single ones")
            }
        }
    }
    rules
}

pub(super) fn verdict<'a>(rules: &'a HashMap<String, BatchRules>, m: &message::Model) -> Verdict<'a> {
    let Some(r) = m.batch_id.as_deref().and_then(|id| rules.get(id)) else { return Verdict::Send(None) };
    match r.status {
        BatchStatus::Paused => Verdict::Stop(Resolution::Held),
        BatchStatus::Cancelled | BatchStatus::Failed => Verdict::Stop(Resolution::Cancelled {
            error_code: "BATCH_CANCELLED".into(),
            error_message: format!("the batch was {} before this message was sent", r.status.as_str()),
        }),
        BatchStatus::Created | BatchStatus::Running | BatchStatus::Completed => Verdict::Send(Some(r)),
    }
}
