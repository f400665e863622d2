//! Background work of every replica: the processor (with its queue gauges)
//! and the retention job.

pub mod processor;
pub mod retention;

use crate::state::AppState;
use wework_kit::shutdown::Shutdown;

/// Starts the processor and the retention job unless disabled (tests drive
/// [`processor::tick`] and [`retention::purge`] themselves).
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    if state.settings.processor.enabled {
        processor::spawn(state.clone(), shutdown.clone());
        let db = state.db.clone();
        wework_kit::telemetry::queue::spawn_queue_gauges(shutdown, "callback", state.clock.clone(), move |now| {
            let db = db.clone();
            async move { crate::store::due_backlog(db.reader(), now).await }
        });
    }
    if state.settings.retention.enabled {
        retention::spawn(state.clone(), shutdown.clone());
    }
}
