//! The message service (issue #5, in progress): idempotent sends, templates,
//! throttled batches, schedules, receipts and statistics. So far: the
//! domain rules, pure and unit-tested; the gRPC layer, the store and the
//! dispatcher come next (see the issue notes).

pub mod domain;
