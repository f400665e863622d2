//! Background work of every replica: the processor and the retention job.

pub mod processor;
pub mod retention;

use crate::state::AppState;
use wework_kit::shutdown::Shutdown;

/// Starts the processor and the retention job unless disabled (tests drive
/// [`processor::tick`] and [`retention::purge`] themselves).
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    if state.settings.processor.enabled {
        processor::spawn(state.clone(), shutdown.clone());
    }
    if state.settings.retention.enabled {
        retention::spawn(state.clone(), shutdown.clone());
    }
}
