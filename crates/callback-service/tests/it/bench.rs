//! Ingest and end-to-end measurements — not checks: run in release with
//! `scripts/bench-callback.sh` (or `cargo test --release -p callback-service
//! --test it bench:: -- --ignored --nocapture --test-threads=1`; MariaDB and
//! Redis with the usual env vars). Everything runs in this one process on
//! the machine's cores: the services, the simulator's accounts, the load.
//!
//! - `ingest_rate`: signed new-message callbacks POSTed by `CALLERS`
//!   concurrent senders for `SECS`, processor off; acknowledgements/s, p50 /
//!   p99 ack latency, and every acknowledged callback counted in the table
//!   afterwards. Baseline in the same run: `GET /healthz` on the same port.
//! - `callback_to_webhook_latency`: callbacks at a fixed rate with the
//!   processor on, each routed (message service, account service) and
//!   published through the task center to a tenant webhook; p50 / p99 from
//!   the POST to the webhook's arrival.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use hdrhistogram::Histogram;
use serde_json::json;
use wework_client::NotifyType;
use wework_client::callback::sign;

use crate::helpers::{TestApp, spawn_app_with};

const SECS: u64 = 10;
const CALLERS: usize = 64;
const ACCOUNTS: usize = 20;

fn callers() -> usize {
    std::env::var("BENCH_CALLERS").ok().and_then(|s| s.parse().ok()).unwrap_or(CALLERS)
}

fn secs() -> u64 {
    std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(SECS)
}

/// A customer's message; `chat` picks the conversation (customers write in
/// their own chats, so a few hundred are spread over the accounts).
fn new_message(guid: &str, msg_id: &str, chat: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({"guid": guid, "notify_type": NotifyType::NewMessage.code(), "data": {
        "msg_id": msg_id, "chat_id": format!("customer-{}", chat % 500), "chat_type": "private", "sender_id": "customer",
        "msg_type": "text", "text": "Is my order on its way?", "sent_at": 1_700_000_000_000_i64}}))
    .expect("json")
}

async fn guids(app: &TestApp, n: usize) -> Vec<String> {
    let t = app.tenant("bench").await;
    let mut out = Vec::new();
    for i in 0..n {
        out.push(app.accounts.start_login(&t, &format!("bench-{i}")).await.1);
    }
    out
}

fn report(name: &str, hist: &Histogram<u64>, count: u64, errors: u64, elapsed: Duration) {
    eprintln!(
        "{name}: {count} in {:.1} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {errors}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        hist.value_at_quantile(0.5) as f64 / 1e3,
        hist.value_at_quantile(0.99) as f64 / 1e3,
        hist.max() as f64 / 1e3,
    );
}

/// Runs `CALLERS` loops of `call` for `secs`; latencies in microseconds.
async fn closed_loop<F, Fut>(call: F, secs: u64) -> (Histogram<u64>, u64, u64, Duration)
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let seq = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..callers() {
        let (call, seq) = (call.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let (mut ok, mut errors) = (0u64, 0u64);
            while Instant::now() < until {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                if call(n).await {
                    ok += 1;
                    let _ = hist.record(t0.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (hist, ok, errors)
        }));
    }
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let (mut ok, mut errors) = (0, 0);
    for t in tasks {
        let (h, o, e) = t.await.expect("caller");
        hist.add(h).expect("merge");
        ok += o;
        errors += e;
    }
    (hist, ok, errors, started.elapsed())
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn ingest_rate() {
    let app = spawn_app_with(|s| s.ingest.guid_cache_ms = 60_000).await;
    let guids = Arc::new(guids(&app, ACCOUNTS).await);
    let client = reqwest::Client::builder().pool_max_idle_per_host(callers()).build().expect("client");
    let (http, token) = (app.http.clone(), app.sim.token().to_owned());
    eprintln!("backend {}, {} callers, {} s each", wework_kit::testing::backend_label(), callers(), secs());

    let health = format!("{http}/healthz");
    let c = client.clone();
    let (hist, ok, errors, elapsed) = closed_loop(
        move |_| {
            let (c, url) = (c.clone(), health.clone());
            async move { c.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
        },
        secs(),
    )
    .await;
    report("baseline GET /healthz", &hist, ok, errors, elapsed);

    let before = app.stored().await.len();
    let url = format!("{http}{}", callback_service::ingest::INSTANCE_PATH);
    let run = format!("{:x}", rand::random::<u32>());
    let (hist, ok, errors, elapsed) = closed_loop(
        move |n| {
            let (c, url, token, guids, run) = (client.clone(), url.clone(), token.clone(), guids.clone(), run.clone());
            async move {
                let guid = &guids[(n as usize) % guids.len()];
                let body = new_message(guid, &format!("bench-{run}-{n}"), n);
                let ts = chrono::Utc::now().timestamp();
                let sent = c
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-wework-timestamp", ts.to_string())
                    .header("x-wework-signature", sign(token.as_bytes(), ts, &body))
                    .body(body)
                    .send()
                    .await;
                sent.is_ok_and(|r| r.status().is_success())
            }
        },
        secs(),
    )
    .await;
    report("ingest POST /v1/callbacks/instance (signed, stored)", &hist, ok, errors, elapsed);
    let stored = app.stored().await.len() - before;
    eprintln!("stored rows {stored} for {ok} acknowledgements; process RSS {:.0} MiB", rss_mib());
    assert!(stored as u64 >= ok, "every acknowledged callback is stored");
}

#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<HashMap<String, Instant>>>);

async fn arrived(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(id) = v["data"]["data"]["msg_id"].as_str()
    {
        arrivals.0.lock().expect("lock").entry(id.to_owned()).or_insert_with(Instant::now);
    }
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn callback_to_webhook_latency() {
    let rate: u64 = std::env::var("BENCH_RATE").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let app = spawn_app_with(|s| {
        s.ingest.guid_cache_ms = 60_000;
        s.processor.enabled = true;
        s.processor.tick_ms = 50;
    })
    .await;
    let t = app.tenant("latency").await;
    let arrivals = Arrivals::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let router = Router::new().fallback(arrived).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.tasks.set_webhook(&t.token, &hook).await;
    let mut guids = Vec::new();
    for i in 0..ACCOUNTS {
        guids.push(app.online_account(&t, &format!("lat-{i}")).await.1);
    }
    eprintln!("backend {}, {rate} callbacks/s for {} s", wework_kit::testing::backend_label(), secs());
    let client = reqwest::Client::new();
    let url = format!("{}{}", app.http, callback_service::ingest::INSTANCE_PATH);
    let token = app.sim.token().to_owned();
    let total = rate * secs();
    let mut posted = HashMap::new();
    let started = Instant::now();
    let mut sends = Vec::new();
    for n in 0..total {
        let due = started + Duration::from_micros(n * 1_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        let id = format!("lat-{n}");
        let body = new_message(&guids[n as usize % guids.len()], &id, n);
        posted.insert(id, Instant::now());
        let ts = chrono::Utc::now().timestamp();
        let req = client
            .post(&url)
            .header("x-wework-timestamp", ts.to_string())
            .header("x-wework-signature", sign(token.as_bytes(), ts, &body))
            .body(body);
        sends.push(tokio::spawn(async move { req.send().await.is_ok_and(|r| r.status().is_success()) }));
    }
    let acked = futures::future::join_all(sends).await.into_iter().filter(|r| matches!(r, Ok(true))).count();
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrivals.0.lock().expect("lock").len() < acked && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = arrivals.0.lock().expect("lock").clone();
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    for (id, at) in &got {
        if let Some(sent) = posted.get(id) {
            let _ = hist.record(at.duration_since(*sent).as_micros() as u64);
        }
    }
    report("callback POST -> tenant webhook", &hist, got.len() as u64, (acked - got.len()) as u64, started.elapsed());
    eprintln!("acked {acked} of {total}; process RSS {:.0} MiB", rss_mib());
}
