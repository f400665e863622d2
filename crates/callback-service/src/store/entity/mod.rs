//! sea-orm entities, one per table of `migrations/callback`.

pub mod app;
pub mod event;
