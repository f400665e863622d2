//! Background work of every replica: the processor.

pub mod processor;

use crate::state::AppState;
use wework_kit::shutdown::Shutdown;

/// Starts the processor unless `processor.enabled` is off (tests drive
/// [`processor::tick`] themselves).
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    if state.settings.processor.enabled {
        processor::spawn(state.clone(), shutdown.clone());
    }
}
