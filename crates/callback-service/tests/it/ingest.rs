//! The instance ingest endpoint: only callbacks signed with the guid's
//! instance token are stored; malformed and oversize bodies are refused with
//! a reason; a copy of a stored callback is answered 200 and stored once;
//! when the database cannot store, the answer is 503 so the sender retries.

use serde_json::json;
use wework_client::NotifyType;

use crate::helpers::{TestApp, spawn_app};

fn body(guid: &str, notify: i32, data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"guid": guid, "notify_type": notify, "data": data})).expect("json")
}

/// Stored rows whose raw body contains `marker`.
async fn stored_with(app: &TestApp, marker: &str) -> Vec<callback_service::store::entity::event::Model> {
    app.stored().await.into_iter().filter(|e| e.raw_data.contains(marker)).collect()
}

#[tokio::test]
async fn a_forged_stale_or_unknown_callback_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let t = app.tenant("forge").await;
    let (_, guid) = app.accounts.start_login(&t, "sales-1").await;
    let forged = body(&guid, NotifyType::Logout.code(), json!({"reason": "forged-marker"}));

    let wrong_token = app.post_signed("not-the-instance-token", &forged, None).await;
    assert_eq!(wrong_token.status, 401, "{wrong_token:?}");
    assert!(!wrong_token.body.contains(app.sim.token()), "the answer never names the token");

    let old = chrono::Utc::now().timestamp() - 3_600;
    let stale_sig = wework_client::callback::sign(app.sim.token().as_bytes(), old, &forged);
    let stale = app
        .post_instance(&forged, &[("x-wework-timestamp", old.to_string()), ("x-wework-signature", stale_sig)], None)
        .await;
    assert_eq!(stale.status, 401);

    let unsigned = app.post_instance(&forged, &[], None).await;
    assert_eq!(unsigned.status, 401);

    let stranger = body("no-such-guid", NotifyType::Logout.code(), json!({"reason": "forged-marker"}));
    assert_eq!(app.post_signed(app.sim.token(), &stranger, None).await.status, 401);

    assert!(stored_with(&app, "forged-marker").await.is_empty(), "a refused callback is never stored");
    let genuine = body(&guid, NotifyType::Logout.code(), json!({"reason": "genuine-marker"}));
    assert_eq!(app.post_signed(app.sim.token(), &genuine, None).await.status, 200);
    assert_eq!(stored_with(&app, "genuine-marker").await.len(), 1);
}

#[tokio::test]
async fn malformed_and_oversize_bodies_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let t = app.tenant("malformed").await;
    let (_, guid) = app.accounts.start_login(&t, "sales-1").await;
    let token = app.sim.token().to_owned();

    let not_json = app.post_signed(&token, b"{not json", None).await;
    assert_eq!(not_json.status, 400);
    assert!(not_json.body.contains("not JSON"), "{not_json:?}");
    let no_guid = app.post_signed(&token, br#"{"notify_type": 11001, "data": {}}"#, None).await;
    assert_eq!(no_guid.status, 400);
    assert!(no_guid.body.contains("envelope"), "{no_guid:?}");

    let huge = body(&guid, 11010, json!({"text": "x".repeat(2 * 1024 * 1024)}));
    assert_eq!(app.post_signed(&token, &huge, None).await.status, 413);

    // Signed by its instance, but the data does not fit the type: refused
    // with the reason and kept for diagnosis as `failed`.
    let misfit = body(&guid, NotifyType::LoginSuccess.code(), json!({"misfit-marker": 1}));
    let answer = app.post_signed(&token, &misfit, None).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("11003"), "{answer:?}");
    let kept = stored_with(&app, "misfit-marker").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].status, "failed");
    assert!(kept[0].error.as_deref().unwrap_or_default().contains("malformed"));
    // The sender retries; the copy is not stored again.
    assert_eq!(app.post_signed(&token, &misfit, None).await.status, 400);
    assert_eq!(stored_with(&app, "misfit-marker").await.len(), 1);
}

#[tokio::test]
async fn a_resent_callback_is_stored_once_and_distinct_events_are_all_kept() {
    let app = spawn_app().await;
    let t = app.tenant("dedup").await;
    let (_, guid) = app.accounts.start_login(&t, "sales-1").await;
    let token = app.sim.token().to_owned();
    let message = body(
        &guid,
        NotifyType::NewMessage.code(),
        json!({"msg_id": "ww-dup-1", "chat_id": "c1", "chat_type": "private", "sender_id": "u1",
               "msg_type": "text", "text": "dup-marker", "sent_at": 1}),
    );
    for _ in 0..3 {
        assert_eq!(app.post_signed(&token, &message, None).await.status, 200);
    }
    assert_eq!(stored_with(&app, "dup-marker").await.len(), 1);

    // The same body under two callback ids: two logouts, both kept.
    let logout = body(&guid, NotifyType::Logout.code(), json!({"reason": "twice-marker"}));
    assert_eq!(app.post_signed(&token, &logout, Some("cb-1")).await.status, 200);
    assert_eq!(app.post_signed(&token, &logout, Some("cb-1")).await.status, 200);
    assert_eq!(app.post_signed(&token, &logout, Some("cb-2")).await.status, 200);
    assert_eq!(stored_with(&app, "twice-marker").await.len(), 2);
}

#[tokio::test]
async fn database_down_answers_503_and_the_resend_is_stored() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let t = app.tenant("dbdown").await;
    let (_, guid) = app.accounts.start_login(&t, "sales-1").await;
    let token = app.sim.token().to_owned();
    let db = app.state.db.writer();
    db.execute_unprepared("ALTER TABLE callback_events RENAME TO callback_events_away").await.expect("break");
    let logout = body(&guid, NotifyType::Logout.code(), json!({"reason": "outage-marker"}));
    let answer = app.post_signed(&token, &logout, Some("cb-outage")).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(!answer.body.to_lowercase().contains("callback_events"), "no internal error text: {answer:?}");
    db.execute_unprepared("ALTER TABLE callback_events_away RENAME TO callback_events").await.expect("mend");
    assert_eq!(app.post_signed(&token, &logout, Some("cb-outage")).await.status, 200);
    assert_eq!(stored_with(&app, "outage-marker").await.len(), 1);
}
