//! GetStatistics equals what the messages say: totals per hour of creation,
//! sent / delivered / failed as receipts arrive, the accept → sent latency,
//! inbound messages not counted, other tenants not seen.

use std::collections::BTreeMap;

use chrono::{DurationRound, TimeDelta};
use tonic::Code;
use wework_proto::message::{self as pb, ChatType, MessageStatus};

use crate::helpers::{TestApp, assert_code, authed, spawn_app, text, violated_fields};
use wework_testkit::Tenant;

async fn stats(app: &TestApp, t: &Tenant, req: pb::GetStatisticsRequest) -> Vec<pb::StatisticsRow> {
    app.messages().get_statistics(authed(&t.token, req)).await.expect("statistics").into_inner().rows
}

/// (total, sent, delivered, failed) per (date, hour) from the messages themselves.
async fn from_messages(app: &TestApp, t: &Tenant) -> BTreeMap<(String, i32), (u64, u64, u64, u64)> {
    let mut out: BTreeMap<(String, i32), (u64, u64, u64, u64)> = BTreeMap::new();
    let req = pb::ListMessagesRequest { direction: pb::Direction::Out as i32, ..Default::default() };
    for m in app.list(t, req).await.expect("list").messages {
        let at = chrono::DateTime::from_timestamp(m.created_at.expect("created").seconds, 0).expect("time");
        let slot = out.entry((at.format("%Y-%m-%d").to_string(), at.format("%H").to_string().parse().expect("hour")));
        let e = slot.or_default();
        e.0 += 1;
        let s = MessageStatus::try_from(m.status).expect("status");
        e.1 += u64::from(matches!(s, MessageStatus::Sent | MessageStatus::Delivered));
        e.2 += u64::from(s == MessageStatus::Delivered);
        e.3 += u64::from(s == MessageStatus::Failed);
    }
    out
}

#[tokio::test]
async fn statistics_match_the_messages_per_hour() {
    let app = spawn_app().await;
    // Ten minutes into the previous hour: an hour later is still before the
    // tokens (minted on the real clock) expire.
    let start = app.now().duration_trunc(TimeDelta::hours(1)).expect("trunc") - TimeDelta::minutes(50);
    app.clock.set(start);
    let t = app.tenant("acme", 100).await;
    let other = app.tenant("globex", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let (second, _) = app.online_account(&t, "sales-2").await;
    let (foreign, _) = app.online_account(&other, "g-1").await;

    let mut first_hour = Vec::new();
    for i in 0..4 {
        first_hour.push(app.send_ok(&t, &account, &format!("wm-{i}"), "hi").await.id);
    }
    app.send_ok(&t, &second, "wm-x", "hi").await;
    app.send_ok(&other, &foreign, "wm-y", "not ours").await;
    app.advance_secs(3);
    app.receipt_for(&first_hour[0], MessageStatus::Sent).await.expect("sent");
    app.receipt_for(&first_hour[1], MessageStatus::Delivered).await.expect("delivered");
    app.receipt_for(&first_hour[2], MessageStatus::Failed).await.expect("failed");
    app.receipt_for(&first_hour[1], MessageStatus::Sent).await.expect("late sent");

    app.advance_secs(3_600);
    let next_hour = app.send_ok(&t, &account, "wm-9", "later").await;
    app.advance_secs(1);
    app.receipt_for(&next_hour.id, MessageStatus::Sent).await.expect("sent");
    app.receipt_for(&next_hour.id, MessageStatus::Delivered).await.expect("delivered");
    let inbound = pb::RecordInboundRequest {
        account_id: account.clone(),
        wework_msg_id: "ww-in".into(),
        conversation_id: "wm-0".into(),
        chat_type: ChatType::Private as i32,
        content: text("a reply"),
        ..Default::default()
    };
    app.messages().record_inbound(app.as_service(inbound)).await.expect("inbound");

    let (from, to) = (start.format("%Y-%m-%d").to_string(), app.now().format("%Y-%m-%d").to_string());
    let range = |hourly: bool, account_id: &str| pb::GetStatisticsRequest {
        account_id: account_id.into(),
        from_date: from.clone(),
        to_date: to.clone(),
        hourly,
    };
    let hourly = stats(&app, &t, range(true, "")).await;
    let got: BTreeMap<(String, i32), (u64, u64, u64, u64)> =
        hourly.iter().map(|r| ((r.date.clone(), r.hour), (r.total, r.sent, r.delivered, r.failed))).collect();
    assert_eq!(got, from_messages(&app, &t).await);
    assert_eq!(got.values().map(|v| v.0).sum::<u64>(), 6, "inbound and other tenants are not counted");
    let first = &hourly[0];
    assert_eq!((first.total, first.sent, first.delivered, first.failed), (5, 2, 1, 1));
    assert_eq!(first.avg_latency_ms, 3_000.0);
    assert_eq!(hourly[1].avg_latency_ms, 1_000.0);
    assert!(hourly.iter().all(|r| r.account_id.is_empty()));

    let daily = stats(&app, &t, range(false, "")).await;
    assert!(daily.iter().all(|r| r.hour == -1));
    assert_eq!(daily.iter().map(|r| r.total).sum::<u64>(), 6);
    assert_eq!(daily.iter().map(|r| r.delivered).sum::<u64>(), 2);
    let one = stats(&app, &t, range(true, &second)).await;
    assert_eq!(one.iter().map(|r| (r.total, r.account_id.as_str())).collect::<Vec<_>>(), [(1, second.as_str())]);
    assert!(stats(&app, &t, range(true, &foreign)).await.is_empty(), "another tenant's account shows nothing");

    let too_long =
        pb::GetStatisticsRequest { from_date: "2025-01-01".into(), to_date: "2025-04-03".into(), ..range(false, "") };
    let status = assert_code(app.messages().get_statistics(authed(&t.token, too_long)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["to_date"]);
}
