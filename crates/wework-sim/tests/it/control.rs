//! The HTTP control surface drives the same simulator as the Rust handle.

use serde_json::{Value, json};
use wework_client::NotifyType;
use wework_client::WeworkProvider;
use wework_client::protocol::ClientState;

use crate::helpers::TestSim;

async fn control(t: &TestSim, path: &str, body: Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(format!("{}/control/{path}", t.sim.base_url())).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_login_send_and_kick_through_the_control_routes() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    t.provider.get_qr_code(&guid).await.unwrap();
    assert_eq!(control(&t, "scan", json!({ "guid": guid })).await.0, 200);
    assert_eq!(control(&t, "confirm", json!({ "guid": guid })).await.0, 200);
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::Online));

    let (status, body) =
        control(&t, "inbound", json!({ "guid": guid, "content": {"msg_type": "text", "text": "yo"} })).await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)));
    t.receiver.wait_for(&guid, NotifyType::NewMessage).await;

    let (status, body) = control(&t, "faults", json!({ "rate_limit_per_minute": 7 })).await;
    assert_eq!((status, body["data"]["rate_limit_per_minute"].as_u64()), (200, Some(7)));
    assert_eq!(t.sim.faults().rate_limit_per_minute, 7);

    assert_eq!(control(&t, "kick", json!({ "guid": guid, "reason": "other_device" })).await.0, 200);
    t.receiver.wait_for(&guid, NotifyType::LoggedInElsewhere).await;
    let (status, body) = control(&t, "kick", json!({ "guid": guid, "reason": "other_device" })).await;
    assert_eq!((status, body["code"].as_i64()), (409, Some(40900)));
    assert_eq!(control(&t, "kick", json!({ "guid": "nope", "reason": "logout" })).await.0, 404);
    assert_eq!(control(&t, "kick", json!({ "guid": guid, "reason": "bored" })).await.0, 400);

    let (_, callbacks) = control(&t, "callbacks", json!({ "guid": guid })).await;
    assert_eq!(callbacks["data"].as_array().map(Vec::len), Some(t.sim.callbacks_of(&guid).len()));
    let stats: Value = reqwest::get(format!("{}/control/stats", t.sim.base_url())).await.unwrap().json().await.unwrap();
    assert!(stats["data"]["api_calls"]["/api/v1/client/create"].as_u64() >= Some(1));
    t.sim.shutdown().await;
}
