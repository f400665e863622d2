//! sea-orm entities, one per table of `migrations/message`. JSON columns are
//! `text`, (de)serialised by the store.

pub mod batch;
pub mod message;
pub mod receiver;
pub mod statistics;
pub mod template;
