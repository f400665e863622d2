//! Helpers of the dispatcher, throttle and retention tests (next to
//! `helpers.rs`, which the harness owns).

use message_service::store::entity::{message, statistics};
use message_service::store::{self, NewMessage};
use message_service::worker::dispatcher::{self, DispatchReport};
use message_service::{AppState, Settings};
use sea_orm::EntityTrait;

use crate::helpers::{Tenant, TestApp, spawn_app_with};

/// An app with one tenant and one online account: `(app, tenant, account_id, guid)`.
pub async fn app_with_account(customize: impl FnOnce(&mut Settings)) -> (TestApp, Tenant, String, String) {
    let app = spawn_app_with(customize).await;
    let t = app.tenant("acme", 10_000).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    (app, t, account_id, guid)
}

/// One dispatch round of `state`.
pub async fn tick(state: &AppState) -> DispatchReport {
    dispatcher::tick(state).await.expect("dispatch round")
}

/// Creates one message; returns its id.
pub async fn insert(app: &TestApp, message: NewMessage) -> String {
    let created = app.state.inserter.create(vec![message]).await.expect("insert message");
    created.into_iter().next().expect("one row").0.id
}

pub async fn insert_all(app: &TestApp, messages: Vec<NewMessage>) -> Vec<String> {
    let created = app.state.inserter.create(messages).await.expect("insert messages");
    created.into_iter().map(|(row, _)| row.id).collect()
}

pub async fn stored(app: &TestApp, id: &str) -> message::Model {
    app.stored(id).await
}

pub async fn find(app: &TestApp, id: &str) -> Option<message::Model> {
    store::find_message(app.state.db.reader(), id, None).await.expect("find message")
}

/// Sums of every statistics row: (total, sent, delivered, failed, latency samples).
pub async fn stat_sums(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    let rows = statistics::Entity::find().all(app.state.db.reader()).await.expect("statistics");
    rows.iter().fold((0, 0, 0, 0, 0), |s, r| {
        (
            s.0 + r.total_count,
            s.1 + r.sent_count,
            s.2 + r.delivered_count,
            s.3 + r.failed_count,
            s.4 + r.latency_samples,
        )
    })
}

pub async fn statistics_rows(app: &TestApp) -> Vec<statistics::Model> {
    statistics::Entity::find().all(app.state.db.reader()).await.expect("statistics")
}

/// Turns the throttle on with an exact (jitter-free) spacing for `t`.
pub async fn tenant_throttle(app: &TestApp, t: &Tenant, throttle: serde_json::Value) {
    app.set_tenant_config(t, serde_json::json!({ "throttle": throttle })).await;
}
