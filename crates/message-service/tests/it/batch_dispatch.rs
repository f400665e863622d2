//! The dispatcher and a batch's own rules: its send strategy applies on
//! top of the account's throttle (the stricter wins), its window besides
//! the account's, and a message claimed while its batch is paused or
//! cancelled is held or cancelled instead of sent.

use message_service::store::entity::batch;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use wework_proto::message as pb;

use crate::batch_support::{manual, text_batch};
use crate::dispatch_support::{app_with_account, tick};
use crate::helpers::TestApp;

/// Sets a batch's status behind the service's back: what a pause or a
/// cancel looks like to a dispatcher that claimed a message just before.
async fn force_status(app: &TestApp, batch_id: &str, status: &str) {
    batch::Entity::update_many()
        .col_expr(batch::Column::Status, Expr::value(status))
        .filter(batch::Column::Id.eq(batch_id))
        .exec(app.state.db.writer())
        .await
        .expect("set batch status");
}

#[tokio::test]
async fn a_batch_interval_stricter_than_the_accounts_spaces_its_sends() {
    let (app, t, account_id, guid) = app_with_account(|s| {
        s.throttle.enabled = true;
        s.throttle.defaults.min_interval_ms = Some(0);
        s.throttle.defaults.jitter_ms = Some(0);
        s.throttle.defaults.per_minute = Some(600);
    })
    .await;
    let mut req = text_batch(&account_id, manual(&["c-1", "c-2", "c-3"]), true);
    req.strategy = Some(pb::SendStrategy { min_interval_secs: 10, ..Default::default() });
    let created = app.create_batch(&t, req).await;
    let id = created.batch.expect("batch").id;
    app.feed().await;

    let first = tick(&app.state).await;
    assert_eq!((first.sent, first.deferred), (1, 2), "{first:?}");
    app.advance_secs(9);
    assert_eq!(tick(&app.state).await.sent, 0, "nine seconds are not ten");
    app.advance_secs(1);
    assert_eq!(tick(&app.state).await.sent, 1);
    app.advance_secs(10);
    assert_eq!(tick(&app.state).await.sent, 1);
    assert_eq!(app.sim.sends_of(&guid).len(), 3);
    let sends = app.sim.sends_of(&guid);
    assert!(sends.windows(2).all(|w| w[0].chat_id != w[1].chat_id));
    assert_eq!(app.get_batch(&t, &id).await.success_count, 3);
}

#[tokio::test]
async fn a_message_claimed_while_its_batch_is_paused_is_held_not_sent() {
    let (app, t, account_id, guid) = app_with_account(|_| {}).await;
    let created = app.create_batch(&t, text_batch(&account_id, manual(&["c-1", "c-2"]), true)).await;
    let id = created.batch.expect("batch").id;
    app.feed().await;
    force_status(&app, &id, "paused").await;

    let report = tick(&app.state).await;
    assert_eq!((report.sent, report.deferred), (0, 2), "{report:?}");
    assert!(app.sim.sends_of(&guid).is_empty());
    for m in app.batch_messages(&id).await {
        assert_eq!((m.status.as_str(), m.next_attempt_at), ("pending", None), "held: {m:?}");
    }
    // Resumed through the service: the held messages go out.
    let req = pb::BatchRef { id: id.clone() };
    app.batches().resume_batch(crate::helpers::authed(&t.token, req)).await.expect("resume");
    assert_eq!(tick(&app.state).await.sent, 2);
    assert_eq!(app.sim.sends_of(&guid).len(), 2);
}

#[tokio::test]
async fn a_message_claimed_while_its_batch_is_cancelled_is_cancelled_and_its_quota_returned() {
    let (app, t, account_id, guid) = app_with_account(|_| {}).await;
    let created = app.create_batch(&t, text_batch(&account_id, manual(&["c-1", "c-2"]), true)).await;
    let id = created.batch.expect("batch").id;
    app.feed().await;
    let used = app.state.quota.clone();
    force_status(&app, &id, "cancelled").await;

    let report = tick(&app.state).await;
    assert_eq!((report.sent, report.cancelled), (0, 2), "{report:?}");
    assert!(app.sim.sends_of(&guid).is_empty());
    for m in app.batch_messages(&id).await {
        assert_eq!(m.status, "cancelled");
        assert_eq!(m.error_code.as_deref(), Some("BATCH_CANCELLED"));
    }
    // The two reserved messages came back: the whole day's allowance is free.
    used.reserve(&t.id, 10_000).await.expect("the full quota is available again");
}
