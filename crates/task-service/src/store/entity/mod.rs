//! sea-orm entities, one per table of `migrations/task`. JSON columns are
//! `text`, (de)serialised by the store.

pub mod business_system;
pub mod endpoint;
pub mod execution;
pub mod schedule;
pub mod schedule_tick;
pub mod task;
