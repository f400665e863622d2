//! The callback service: receives instance callbacks and official WeCom
//! callbacks, stores each durably before acknowledging it, and processes it
//! exactly once per dedup key. This first slice holds the pure building
//! blocks (WXBizMsgCrypt, WeCom XML, dedup keys); ingest, store and
//! processor build on them.

pub mod domain;
