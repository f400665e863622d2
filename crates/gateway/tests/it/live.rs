//! The QR login page's view: the event stream shows an account going online
//! (through the verify-code step), then a text message is sent and its
//! receipt arrives — all through the gateway.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::{Instant, timeout_at};
use wework_kit::testing::eventually;

use crate::platform::Platform;

/// Reads Server-Sent Events off a streaming response.
struct EventReader {
    res: reqwest::Response,
    buf: String,
}

impl EventReader {
    async fn open(p: &Platform, query: &str) -> Self {
        let res = p.http.get(format!("{}/api/v1/events/stream?{query}", p.gateway)).send().await.expect("open stream");
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().expect("ascii").starts_with("text/event-stream"));
        Self { res, buf: String::new() }
    }

    /// The next event as (name, data), or panics at the deadline.
    async fn next(&mut self, deadline: Instant) -> (String, Value) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut data) = (String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return (name, serde_json::from_str(&data).expect("event data is JSON"));
            }
            let chunk = timeout_at(deadline, self.res.chunk()).await.expect("event in time").expect("stream open");
            let chunk = chunk.expect("stream not ended");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Skips events until one satisfies `want`.
    async fn until(&mut self, deadline: Instant, want: impl Fn(&str, &Value) -> bool) -> Value {
        loop {
            let (name, data) = self.next(deadline).await;
            if want(&name, &data) {
                return data;
            }
        }
    }
}

#[tokio::test]
async fn the_event_stream_shows_the_login_and_a_message_is_delivered() {
    let p = Platform::start().await;
    let admin = p.admin().await;
    let (tenant, token) = p.tenant(&admin, "acme").await;
    let (_, other_token) = p.tenant(&admin, "globex").await;
    p.register_sim(&admin).await;
    let deadline = Instant::now() + Duration::from_secs(60);

    // EventSource-style: the token in the query string.
    let mut stream = EventReader::open(&p, &format!("access_token={token}&types=account.")).await;
    let mut other = EventReader::open(&p, &format!("access_token={other_token}")).await;
    let ready = stream.until(deadline, |name, _| name == "ready").await;
    assert_eq!(ready["tenant_id"], tenant.as_str());
    other.until(deadline, |name, _| name == "ready").await;

    let account = p.post("/api/v1/accounts", &token, json!({"account_name": "Sales"})).await.ok().json;
    let id = account["id"].as_str().expect("id").to_owned();
    let login = p.post(&format!("/api/v1/accounts/{id}/login"), &token, json!({})).await.ok().json;
    assert!(login["qr_code_url"].as_str().is_some_and(|u| !u.is_empty()), "{login}");
    let guid = login["account"]["guid"].as_str().expect("guid").to_owned();

    p.sim.require_verify(&guid, true).await.expect("verify step");
    p.sim.scan(&guid).await.expect("scan");
    p.sim.confirm(&guid).await.expect("confirm");
    let need_verify = stream
        .until(deadline, |name, e| name == "account.status_changed" && e["data"]["new_status"] == "need_verify")
        .await;
    assert_eq!(need_verify["subject"], id.as_str());
    p.post(&format!("/api/v1/accounts/{id}/login/verify-code"), &token, json!({"code": "123456"})).await.ok();
    let online =
        stream.until(deadline, |name, e| name == "account.status_changed" && e["data"]["new_status"] == "online").await;
    assert_eq!(online["tenant_id"], tenant.as_str());
    let account = p.get(&format!("/api/v1/accounts/{id}"), &token).await.ok().json;
    assert_eq!(account["status"], "ACCOUNT_STATUS_ONLINE");

    // Send a text; the instance's receipt marks it delivered.
    let send = json!({"account_id": id, "conversation_id": "wmCustomer1", "chat_type": "CHAT_TYPE_PRIVATE",
        "content": {"text": {"text": "Your order shipped"}}, "idempotency_key": "order-42"});
    let sent = p.post("/api/v1/messages", &token, send.clone()).await.ok().json;
    assert_eq!(sent["created"], true);
    let message_id = sent["message"]["id"].as_str().expect("message id").to_owned();
    let again = p.post("/api/v1/messages", &token, send).await.ok().json;
    assert_eq!((again["created"].as_bool(), again["message"]["id"].as_str()), (Some(false), Some(message_id.as_str())));
    let path = format!("/api/v1/messages/{message_id}");
    let delivered = eventually(Duration::from_secs(30), || async {
        let m = p.get(&path, &token).await.ok().json;
        (m["status"] == "MESSAGE_STATUS_DELIVERED").then_some(m)
    })
    .await;
    assert!(delivered["wework_msg_id"].as_str().is_some_and(|s| !s.is_empty()), "{delivered}");

    // The other tenant saw none of it.
    drop(stream);
    let quiet =
        tokio::time::timeout(Duration::from_millis(300), other.next(Instant::now() + Duration::from_secs(1))).await;
    assert!(quiet.is_err(), "another tenant's stream stays quiet: {quiet:?}");
}

#[tokio::test]
async fn the_stream_refuses_strangers_and_other_tenants() {
    let p = Platform::start().await;
    let admin = p.admin().await;
    let (_, token) = p.tenant(&admin, "acme").await;
    let (globex, _) = p.tenant(&admin, "globex").await;
    let url = format!("{}/api/v1/events/stream", p.gateway);
    assert_eq!(p.http.get(&url).send().await.expect("send").status(), 401);
    let res = p.http.get(format!("{url}?tenant_id={globex}")).bearer_auth(&token).send().await.expect("send");
    assert_eq!(res.status(), 403);
    let res = p.http.get(format!("{url}?bogus=1")).bearer_auth(&token).send().await.expect("send");
    assert_eq!(res.status(), 400);
    // A platform administrator may watch any tenant.
    let mut res = p.http.get(format!("{url}?tenant_id={globex}")).bearer_auth(&admin).send().await.expect("send");
    assert_eq!(res.status(), 200);
    let first =
        tokio::time::timeout(Duration::from_secs(10), res.chunk()).await.expect("ready in time").expect("chunk");
    assert!(String::from_utf8_lossy(&first.expect("data")).contains("event: ready"));

    // Shutting down ends open streams at once, well inside the 2 s drain
    // grace, instead of holding the drain until it gives up on them.
    p.stop();
    let ended =
        tokio::time::timeout(Duration::from_millis(1_000), async { while let Ok(Some(_)) = res.chunk().await {} })
            .await;
    assert!(ended.is_ok(), "the stream ends at shutdown");
}
