//! Dispatch rate to the simulator with the throttle off — a measurement,
//! not a check: `cargo test --release -p message-service --test it
//! dispatch_rate -- --ignored --nocapture` (MariaDB/Redis with the usual
//! env vars). Prints messages/s for one and for two dispatchers.

use std::time::Instant;

use message_service::worker::dispatcher;

use crate::helpers::spawn_app_with;

const MESSAGES: usize = 20_000;
const ACCOUNTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn dispatch_rate() {
    let app = spawn_app_with(|s| {
        s.dispatch.claim_batch = 500;
        s.dispatch.concurrency = 64;
    })
    .await;
    let t = app.tenant("bench", 1_000_000).await;
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        accounts.push(app.online_account(&t, &format!("bench-{i}")).await.0);
    }
    for replicas in [1usize, 2] {
        for account in &accounts {
            app.insert_texts(&t, account, MESSAGES / ACCOUNTS).await;
        }
        let states: Vec<_> = futures::future::join_all((0..replicas).map(|_| app.replica())).await;
        let started = Instant::now();
        let mut sent = 0;
        while sent < MESSAGES {
            let rounds = futures::future::join_all(states.iter().map(dispatcher::tick)).await;
            sent += rounds.into_iter().map(|r| r.expect("tick").sent).sum::<usize>();
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "dispatch, {replicas} dispatcher(s), {ACCOUNTS} accounts, throttle off: {MESSAGES} messages in {secs:.2} s = {:.0} msg/s",
            MESSAGES as f64 / secs
        );
    }
}
