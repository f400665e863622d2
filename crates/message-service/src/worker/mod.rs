//! Background work of every replica: the dispatcher (claims due messages and
//! sends them through the per-account throttle), the batch feeder (expands
//! targets and queues receivers' messages) and the retention job, plus the
//! dispatcher's queue gauges. Each loop stops when `shutdown` triggers, after
//! its current item.

pub mod batches;
pub mod dispatcher;
pub mod expander;
pub mod retention;
pub mod throttle_store;

use wework_kit::shutdown::Shutdown;

use crate::state::AppState;

/// Starts every enabled worker on the current runtime.
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    if state.settings.dispatch.enabled {
        dispatcher::spawn(state, shutdown);
        let db = state.db.clone();
        wework_kit::telemetry::queue::spawn_queue_gauges(shutdown, "message", state.clock.clone(), move |now| {
            let db = db.clone();
            async move { crate::store::due_backlog(db.reader(), now).await }
        });
    }
    if state.settings.retention.enabled {
        retention::spawn(state, shutdown);
    }
    batches::spawn(state, shutdown);
}
