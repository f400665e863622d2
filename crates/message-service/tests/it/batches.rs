//! BatchService and the feeder: targets (manual, CSV import, group and
//! filter expansion from the account directory), the status machine, the
//! queue window, never two messages per receiver, pause/resume/cancel and
//! their effect on queued messages and the quota, restarts.

use std::collections::HashSet;

use message_service::store::entity::receiver;
use tonic::Code;
use wework_proto::common::PageRequest;
use wework_proto::message::{self as pb, targets::Kind};
use wework_sim::DirectorySpec;

use crate::batch_support::{group, import, manual, receivers, synced_account, text_batch};
use crate::helpers::{TestApp, assert_code, authed, spawn_app, spawn_app_with, violated_fields};

async fn app_with_window(window: u64) -> TestApp {
    spawn_app_with(|s| {
        s.dispatch.batch_window = window;
        s.dispatch.batch_chunk = 4;
    })
    .await
}

fn ids(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

async fn act(app: &TestApp, token: &str, action: &str, id: &str) -> Result<pb::Batch, tonic::Status> {
    let req = authed(token, pb::BatchRef { id: id.into() });
    let mut c = app.batches();
    let resp = match action {
        "start" => c.start_batch(req).await,
        "pause" => c.pause_batch(req).await,
        "resume" => c.resume_batch(req).await,
        _ => c.cancel_batch(req).await,
    };
    resp.map(tonic::Response::into_inner)
}

fn state_of(b: &pb::Batch) -> pb::BatchStatus {
    pb::BatchStatus::try_from(b.status).unwrap_or(pb::BatchStatus::Unspecified)
}

#[tokio::test]
async fn a_manual_batch_skips_duplicates_and_checks_its_request() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 1_000).await;
    let other = app.tenant("globex", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let (foreign, _) = app.online_account(&other, "theirs").await;
    let resp = app.create_batch(&t, text_batch(&account, manual(&["a", "b", "a", " b ", "c"]), false)).await;
    let batch = resp.batch.expect("batch");
    assert_eq!(
        (state_of(&batch), batch.total_count, batch.target_type.as_str()),
        (pb::BatchStatus::Created, 3, "manual")
    );
    let lines: Vec<(u32, &str)> = resp.row_errors.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(lines, [(3, "conversation_id"), (4, "conversation_id")]);
    assert_eq!(app.receiver_rows(&batch.id).await.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);

    let refused = |req: pb::CreateBatchRequest| async { app.batches().create_batch(authed(&t.token, req)).await };
    let status = assert_code(refused(text_batch(&foreign, manual(&["a"]), false)).await, Code::NotFound);
    assert!(status.message().contains("account"), "{status:?}");
    assert_code(refused(text_batch("no-such-account", manual(&["a"]), false)).await, Code::NotFound);
    let mut req = text_batch(&account, manual(&["a", ""]), false);
    req.name = String::new();
    req.template_id = "t-1".into();
    req.strategy = Some(pb::SendStrategy { window_start: "9:00".into(), ..Default::default() });
    let fields = violated_fields(&assert_code(refused(req).await, Code::InvalidArgument));
    assert_eq!(fields, ["name", "strategy.window_start", "strategy.window_end", "strategy.time_zone", "template_id"]);
    let fields = violated_fields(&assert_code(
        refused(text_batch(&account, manual(&["a", ""]), false)).await,
        Code::InvalidArgument,
    ));
    assert_eq!(fields, ["targets.manual.receivers[1].conversation_id"]);
    let fields = violated_fields(&assert_code(refused(text_batch(&account, None, false)).await, Code::InvalidArgument));
    assert_eq!(fields, ["targets"]);
    let too_many: Vec<String> = receivers(10_001);
    let status =
        assert_code(refused(text_batch(&account, manual(&ids(&too_many)), false)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["targets.manual.receivers"]);
    // Another tenant does not see the batch.
    let req = authed(&other.token, pb::BatchRef { id: batch.id.clone() });
    assert_code(app.batches().get_batch(req).await, Code::NotFound);
    assert_code(act(&app, &other.token, "start", &batch.id).await, Code::NotFound);
}

#[tokio::test]
async fn an_import_reports_row_errors_with_their_lines() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let csv = "conversation_id,chat_type,name,city\n\
               u1,private,Li,Shanghai\n\
               u2,robot,Wang,Beijing\n\
               ,private,Nobody,\n\
               u1,group,Again,Shanghai\n\
               u3,group,Team,\n\
               u4,private\n";
    let template = pb::CreateTemplateRequest {
        name: "city".into(),
        content: crate::helpers::text("Hi {{name}} from {{ city }}"),
        variables: vec![
            pb::Variable { name: "name".into(), ..Default::default() },
            pb::Variable { name: "city".into(), default_value: "your city".into(), ..Default::default() },
        ],
        ..Default::default()
    };
    let template = app.templates().create_template(authed(&t.token, template)).await.expect("template").into_inner();
    let mut req = text_batch(&account, import(csv), false);
    req.content = None;
    req.template_id = template.id.clone();
    let resp = app.create_batch(&t, req.clone()).await;
    let batch = resp.batch.expect("batch");
    assert_eq!(
        (batch.total_count, batch.target_type.as_str(), batch.template_id.as_str()),
        (2, "import", template.id.as_str())
    );
    let lines: Vec<(u32, &str)> = resp.row_errors.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(lines, [(3, "chat_type"), (4, "conversation_id"), (5, "conversation_id"), (7, "")]);
    let rows = app.receiver_rows(&batch.id).await;
    assert_eq!(
        rows.iter().map(|r| (r.conversation_id.as_str(), r.chat_type.as_str())).collect::<Vec<_>>(),
        [("u1", "private"), ("u3", "group")]
    );
    assert_eq!(rows[0].variables.as_deref(), Some(r#"{"city":"Shanghai"}"#));
    let used = app.templates().get_template(authed(&t.token, pb::GetTemplateRequest { id: template.id.clone() })).await;
    assert_eq!(used.expect("template").into_inner().usage_count, 1);

    // Columns must be the template's variables; fixed content takes none.
    req.targets = import("conversation_id,color\nu1,red\n");
    let status = assert_code(app.batches().create_batch(authed(&t.token, req.clone())).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["targets.import.csv"]);
    assert!(status.message().contains("`color`"), "{status:?}");
    req.targets = import("conversation_id\n,\n");
    let status = assert_code(app.batches().create_batch(authed(&t.token, req.clone())).await, Code::InvalidArgument);
    assert!(status.message().contains("no usable receiver"), "{status:?}");
    req.targets = import("name\nLi\n");
    assert_code(app.batches().create_batch(authed(&t.token, req)).await, Code::InvalidArgument);
}

#[tokio::test]
async fn group_and_filter_targets_are_expanded_from_the_directory() {
    let app = app_with_window(200).await;
    let t = app.tenant("acme", 1_000).await;
    let spec = DirectorySpec { contacts: 30, groups: 2, members_per_group: 10 };
    let (account, groups) = synced_account(&app, &t, "sales", spec).await;
    let batch = app.create_batch(&t, text_batch(&account, group(&groups[0]), false)).await.batch.expect("batch");
    assert_eq!((batch.total_count, batch.target_type.as_str()), (0, "group"));
    let report = app.feed().await;
    assert_eq!(report.expanded, 10, "{report:?}");
    let batch = app.get_batch(&t, &batch.id).await;
    assert_eq!(batch.total_count, 10);
    let rows = app.receiver_rows(&batch.id).await;
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    assert!(rows.iter().all(|r| r.receiver_name.is_some() && r.chat_type == "private"));
    assert_eq!(app.feed().await.expanded, 0, "an expanded batch is not expanded again");

    let filter = pb::Targets {
        kind: Some(Kind::Filter(pb::targets::ContactFilter {
            tags: vec!["vip".into()],
            contact_type: "external".into(),
            text: String::new(),
        })),
    };
    let batch = app.create_batch(&t, text_batch(&account, Some(filter), false)).await.batch.expect("filter batch");
    app.feed().await;
    // Contacts i % 5 == 0 are vip, i % 3 == 0 internal: 5, 10, 20, 25 of 0..30.
    assert_eq!(app.get_batch(&t, &batch.id).await.total_count, 4);

    let unknown = app.create_batch(&t, text_batch(&account, group("R-none"), true)).await.batch.expect("batch");
    assert_eq!(app.feed().await.failed, 1);
    let failed = app.get_batch(&t, &unknown.id).await;
    assert_eq!(state_of(&failed), pb::BatchStatus::Failed);
    assert!(failed.error_message.contains("group"), "{failed:?}");
}

#[tokio::test]
async fn the_feeder_keeps_at_most_a_window_queued_until_the_batch_completes() {
    let app = app_with_window(5).await;
    let t = app.tenant("acme", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let list = receivers(12);
    let batch = app.create_batch(&t, text_batch(&account, manual(&ids(&list)), false)).await.batch.expect("batch");
    app.feed().await;
    assert!(app.batch_messages(&batch.id).await.is_empty(), "a created batch is not fed");
    let started = act(&app, &t.token, "start", &batch.id).await.expect("start");
    assert_eq!(state_of(&started), pb::BatchStatus::Running);
    assert!(started.start_time.is_some());
    assert_eq!(app.feed().await.queued, 5);
    assert_eq!(app.feed().await.queued, 0, "the window is full");
    let messages = app.batch_messages(&batch.id).await;
    assert_eq!(messages.len(), 5);
    let first = &messages[0];
    assert_eq!(first.idempotency_key.as_deref(), Some(format!("batch:{}:c-0", batch.id).as_str()));
    assert_eq!((first.status.as_str(), first.priority, first.next_attempt_at.is_some()), ("pending", 4, true));
    let view = app.get_batch(&t, &batch.id).await;
    assert_eq!((view.total_count, view.sent_count, view.progress_percent), (12, 0, 0.0));

    app.mark_sending(&first.id).await;
    assert_eq!(app.feed().await.queued, 0, "sending still counts as queued");
    app.mark_batch_sent(&batch.id).await;
    assert_eq!(app.feed().await.queued, 5);
    app.mark_batch_sent(&batch.id).await;
    assert_eq!(app.feed().await.queued, 2);
    assert_eq!(app.feed().await.completed, 0, "messages still pending");
    app.mark_batch_sent(&batch.id).await;
    assert_eq!(app.feed().await.completed, 1);
    let done = app.get_batch(&t, &batch.id).await;
    assert_eq!(state_of(&done), pb::BatchStatus::Completed);
    assert_eq!((done.sent_count, done.success_count, done.failed_count, done.progress_percent), (12, 12, 0, 100.0));
    assert!(done.end_time.is_some());
    assert_eq!(done.eta_secs, 0);
    let status = assert_code(act(&app, &t.token, "pause", &batch.id).await, Code::FailedPrecondition);
    assert!(status.message().contains("completed"), "{status:?}");
}

#[tokio::test]
async fn concurrent_ticks_and_replicas_never_send_a_receiver_twice() {
    let app = app_with_window(100).await;
    let t = app.tenant("acme", 45).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let list = receivers(40);
    let batch = app.create_batch(&t, text_batch(&account, manual(&ids(&list)), true)).await.batch.expect("batch");
    let replica = app.replica().await;
    let (a, b, c) = tokio::join!(
        message_service::worker::batches::tick(&app.state),
        message_service::worker::batches::tick(&app.state),
        message_service::worker::batches::tick(&replica),
    );
    let queued = a.expect("a").queued + b.expect("b").queued + c.expect("c").queued;
    assert_eq!(queued, 40);
    let messages = app.batch_messages(&batch.id).await;
    assert_eq!(messages.len(), 40);
    let distinct: HashSet<_> = messages.iter().map(|m| m.receiver_id.clone()).collect();
    assert_eq!(distinct.len(), 40);
    assert!(app.receiver_rows(&batch.id).await.iter().all(|r| r.status == "queued" && r.message_id.is_some()));
    // Feeding the same receivers again (a crash before they were linked) creates nothing.
    receiver_reset(&app, &batch.id).await;
    assert_eq!(app.feed().await.queued, 0);
    assert_eq!(app.batch_messages(&batch.id).await.len(), 40);
    // Exactly 40 of the 45 were reserved: repeats gave theirs back.
    app.state.quota.reserve(&t.id, 5).await.expect("five left");
    assert_code(app.state.quota.reserve(&t.id, 1).await.map_err(tonic::Status::from), Code::ResourceExhausted);
}

/// Puts every receiver of the batch back to pending without its message,
/// as if the feeder had stopped between creating messages and linking them.
async fn receiver_reset(app: &TestApp, batch_id: &str) {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    receiver::Entity::update_many()
        .col_expr(receiver::Column::Status, Expr::value("pending"))
        .col_expr(receiver::Column::MessageId, Expr::value(Option::<String>::None))
        .filter(receiver::Column::BatchId.eq(batch_id))
        .exec(app.state.db.writer())
        .await
        .expect("reset receivers");
}

#[tokio::test]
async fn pause_holds_queued_messages_and_resume_releases_them() {
    let app = app_with_window(4).await;
    let t = app.tenant("acme", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let list = receivers(10);
    let batch = app.create_batch(&t, text_batch(&account, manual(&ids(&list)), true)).await.batch.expect("batch");
    app.feed().await;
    let paused = act(&app, &t.token, "pause", &batch.id).await.expect("pause");
    assert_eq!(state_of(&paused), pb::BatchStatus::Paused);
    assert!(app.batch_messages(&batch.id).await.iter().all(|m| m.status == "pending" && m.next_attempt_at.is_none()));
    app.mark_batch_sent(&batch.id).await;
    assert_eq!(app.feed().await.queued, 0, "a paused batch is not fed");
    let status = assert_code(act(&app, &t.token, "pause", &batch.id).await, Code::FailedPrecondition);
    assert!(status.message().contains("paused"), "{status:?}");
    assert_code(act(&app, &t.token, "start", &batch.id).await, Code::FailedPrecondition);

    let resumed = act(&app, &t.token, "resume", &batch.id).await.expect("resume");
    assert_eq!(state_of(&resumed), pb::BatchStatus::Running);
    assert_eq!(app.feed().await.queued, 4);
    app.advance_secs(30);
    act(&app, &t.token, "pause", &batch.id).await.expect("pause again");
    let held_at = app.now();
    act(&app, &t.token, "resume", &batch.id).await.expect("resume again");
    let pending: Vec<_> = app.batch_messages(&batch.id).await.into_iter().filter(|m| m.status == "pending").collect();
    assert_eq!(pending.len(), 4);
    assert!(pending.iter().all(|m| m.next_attempt_at == Some(held_at)), "due at once after resume");
}

#[tokio::test]
async fn cancel_cancels_the_rest_and_gives_back_their_quota() {
    let app = app_with_window(3).await;
    let t = app.tenant("acme", 10).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let list = receivers(8);
    let batch = app.create_batch(&t, text_batch(&account, manual(&ids(&list)), true)).await.batch.expect("batch");
    app.feed().await;
    let messages = app.batch_messages(&batch.id).await;
    app.mark_sending(&messages[0].id).await;
    let cancelled = act(&app, &t.token, "cancel", &batch.id).await.expect("cancel");
    assert_eq!(state_of(&cancelled), pb::BatchStatus::Cancelled);
    assert!(cancelled.end_time.is_some());
    let mut statuses: Vec<String> = app.batch_messages(&batch.id).await.into_iter().map(|m| m.status).collect();
    statuses.sort();
    assert_eq!(statuses, ["cancelled", "cancelled", "sending"], "a message being sent finishes");
    // Receivers never fed are cancelled; one message is still out.
    assert_eq!((cancelled.cancelled_count, cancelled.total_count, cancelled.sent_count), (7, 8, 0));
    let rows = app.receiver_rows(&batch.id).await;
    assert_eq!(rows.iter().filter(|r| r.status == "cancelled").count(), 5);
    assert_eq!(app.feed().await.queued, 0);
    // 3 reserved, 2 given back: 9 of 10 are left.
    app.state.quota.reserve(&t.id, 9).await.expect("nine left");
    let status = assert_code(act(&app, &t.token, "resume", &batch.id).await, Code::FailedPrecondition);
    assert!(status.message().contains("cancelled"), "{status:?}");
    assert_code(act(&app, &t.token, "cancel", &batch.id).await, Code::FailedPrecondition);
}

#[tokio::test]
async fn a_restarted_service_goes_on_where_the_last_one_stopped() {
    let app = spawn_app_with(|s| {
        s.dispatch.batch_window = 4;
        s.dispatch.batch_chunk = 2;
    })
    .await;
    let t = app.tenant("acme", 1_000).await;
    let spec = DirectorySpec { contacts: 10, groups: 1, members_per_group: 50 };
    let (account, groups) = synced_account(&app, &t, "sales", spec).await;
    let batch = app.create_batch(&t, text_batch(&account, group(&groups[0]), true)).await.batch.expect("batch");
    let first = app.feed().await;
    // 20 pages of 2 per tick: 40 of 50 expanded, 4 queued.
    assert_eq!((first.expanded, first.queued), (40, 4));
    app.mark_batch_sent(&batch.id).await;
    drop(app.state.clone());
    let restarted = app.replica().await;
    let second = message_service::worker::batches::tick(&restarted).await.expect("tick");
    assert_eq!((second.expanded, second.queued), (10, 4));
    let mut rounds = 0;
    loop {
        app.mark_batch_sent(&batch.id).await;
        let report = message_service::worker::batches::tick(&restarted).await.expect("tick");
        if report.completed == 1 {
            break;
        }
        rounds += 1;
        assert!(rounds < 30, "not completed: {report:?}");
    }
    let done = app.get_batch(&t, &batch.id).await;
    assert_eq!((state_of(&done), done.total_count, done.success_count), (pb::BatchStatus::Completed, 50, 50));
    let seqs: Vec<i64> = app.receiver_rows(&batch.id).await.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    assert_eq!(app.batch_messages(&batch.id).await.len(), 50);
}

#[tokio::test]
async fn a_spent_quota_pauses_the_batch_with_the_reason() {
    let app = app_with_window(10).await;
    let t = app.tenant("acme", 3).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let list = receivers(5);
    let batch = app.create_batch(&t, text_batch(&account, manual(&ids(&list)), true)).await.batch.expect("batch");
    let report = app.feed().await;
    assert_eq!((report.queued, report.paused), (3, 1));
    let paused = app.get_batch(&t, &batch.id).await;
    assert_eq!(state_of(&paused), pb::BatchStatus::Paused);
    assert_eq!(paused.error_message, "the tenant's daily message quota is spent");
    assert!(
        app.batch_messages(&batch.id).await.iter().all(|m| m.next_attempt_at.is_some()),
        "reserved ones still go out"
    );
    let resumed = act(&app, &t.token, "resume", &batch.id).await.expect("resume");
    assert_eq!(resumed.error_message, "");
    assert_eq!(app.feed().await.paused, 1);
}

#[tokio::test]
async fn a_receiver_that_does_not_render_fails_alone() {
    let app = app_with_window(10).await;
    let t = app.tenant("acme", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let template = pb::CreateTemplateRequest {
        name: "code".into(),
        content: crate::helpers::text("Your code: {{code}}"),
        variables: vec![pb::Variable {
            name: "code".into(),
            r#type: pb::VariableType::Number as i32,
            required: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    let template = app.templates().create_template(authed(&t.token, template)).await.expect("template").into_inner();
    let receiver = |id: &str, code: &str| pb::targets::Receiver {
        conversation_id: id.into(),
        variables: [("code".to_owned(), code.to_owned())].into(),
        ..Default::default()
    };
    let targets = pb::Targets {
        kind: Some(Kind::Manual(pb::targets::Manual {
            receivers: vec![receiver("a", "12"), receiver("b", "twelve"), receiver("c", "")],
        })),
    };
    let mut req = text_batch(&account, Some(targets), true);
    req.content = None;
    req.template_id = template.id.clone();
    let batch = app.create_batch(&t, req).await.batch.expect("batch");
    let report = app.feed().await;
    assert_eq!((report.queued, report.render_failed), (1, 2));
    let messages = app.batch_messages(&batch.id).await;
    assert_eq!(messages[0].content, r#"{"msg_type":"text","text":"Your code: 12"}"#);
    assert_eq!(messages[0].template_id.as_deref(), Some(template.id.as_str()));
    let failed = pb::ListReceiversRequest {
        batch_id: batch.id.clone(),
        status: pb::ReceiverStatus::Failed as i32,
        ..Default::default()
    };
    let rows = app.batches().list_receivers(authed(&t.token, failed)).await.expect("receivers").into_inner().receivers;
    assert_eq!(rows.iter().map(|r| r.conversation_id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    assert!(rows[0].error_message.starts_with("variables.code:"), "{:?}", rows[0]);
    let view = app.get_batch(&t, &batch.id).await;
    assert_eq!((state_of(&view), view.failed_count), (pb::BatchStatus::Running, 2));
}

#[tokio::test]
async fn batches_and_receivers_are_listed_with_filters_and_cursors() {
    let app = app_with_window(2).await;
    let t = app.tenant("acme", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let (other_account, _) = app.online_account(&t, "support").await;
    let list = receivers(5);
    let mut req = text_batch(&account, manual(&ids(&list)), true);
    req.strategy = Some(pb::SendStrategy { min_interval_secs: 10, ..Default::default() });
    let running = app.create_batch(&t, req).await.batch.expect("batch");
    assert_eq!(running.eta_secs, 50, "5 left at one per 10 s");
    let idle = app.create_batch(&t, text_batch(&other_account, manual(&["x"]), false)).await.batch.expect("batch");
    app.feed().await;
    app.mark_batch_sent(&running.id).await;

    let list_req = |status: pb::BatchStatus, account: &str| pb::ListBatchesRequest {
        status: status as i32,
        account_id: account.into(),
        ..Default::default()
    };
    let names = |r: pb::ListBatchesResponse| r.batches.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let all =
        app.batches().list_batches(authed(&t.token, list_req(pb::BatchStatus::Unspecified, ""))).await.expect("list");
    assert_eq!(names(all.into_inner()), [idle.id.as_str(), running.id.as_str()]);
    let created =
        app.batches().list_batches(authed(&t.token, list_req(pb::BatchStatus::Created, ""))).await.expect("list");
    assert_eq!(names(created.into_inner()), [idle.id.as_str()]);
    let by_account =
        app.batches().list_batches(authed(&t.token, list_req(pb::BatchStatus::Unspecified, &account))).await;
    let listed = by_account.expect("list").into_inner();
    assert_eq!(listed.batches[0].success_count, 2, "counts are derived from the messages");

    let page = |token: String, status: pb::ReceiverStatus| pb::ListReceiversRequest {
        batch_id: running.id.clone(),
        page: Some(PageRequest { page_size: 2, page_token: token }),
        status: status as i32,
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let resp = app.batches().list_receivers(authed(&t.token, page(token, pb::ReceiverStatus::Unspecified))).await;
        let resp = resp.expect("receivers").into_inner();
        seen.extend(resp.receivers.into_iter().map(|r| (r.conversation_id, r.status)));
        token = resp.page.expect("page").next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let sent = pb::ReceiverStatus::Sent as i32;
    let pending = pb::ReceiverStatus::Pending as i32;
    assert_eq!(
        seen,
        [
            ("c-0".into(), sent),
            ("c-1".into(), sent),
            ("c-2".into(), pending),
            ("c-3".into(), pending),
            ("c-4".into(), pending)
        ]
    );
    let only_pending =
        app.batches().list_receivers(authed(&t.token, page(String::new(), pb::ReceiverStatus::Pending))).await;
    assert_eq!(only_pending.expect("pending").into_inner().receivers.len(), 2);
    let bad = page("not-a-token".into(), pb::ReceiverStatus::Unspecified);
    let status = assert_code(app.batches().list_receivers(authed(&t.token, bad)).await, Code::InvalidArgument);
    assert!(status.message().contains("page_token"), "{status:?}");
}

/// 100,000 receivers from one CSV: written in chunks inside CreateBatch.
#[tokio::test]
async fn a_hundred_thousand_row_import_creates_every_receiver() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 1_000).await;
    let (account, _) = app.online_account(&t, "sales").await;
    let mut csv = String::from("conversation_id,name\n");
    for i in 0..100_000 {
        csv.push_str(&format!("wm{i:08},Customer {i}\n"));
    }
    let started = std::time::Instant::now();
    let resp = app.create_batch(&t, text_batch(&account, import(&csv), false)).await;
    let took = started.elapsed();
    let batch = resp.batch.expect("batch");
    eprintln!(
        "100,000-row import took {took:?} ({} backend)",
        if app.state.db.is_sqlite() { "SQLite" } else { "MariaDB" }
    );
    assert!(resp.row_errors.is_empty());
    assert_eq!(batch.total_count, 100_000);
    assert_eq!(app.receiver_count(&batch.id).await, 100_000);
}
