//! sea-orm entities, one per table of `migrations/account`. JSON columns are
//! `text`, (de)serialised by the store.

pub mod account;
pub mod instance;
pub mod status_history;
pub mod tenant_usage;

// The directory (conversations, contacts, groups): see `store::directory`.
pub mod contact;
pub mod conversation;
pub mod group;
pub mod group_member;
