//! `wework`: the whole platform in one process, for a newcomer's first run and
//! for small installations. Each service keeps its own settings (the same
//! `WEWORK__…` variables and `config/<service>.toml` files as its container),
//! its own database file under `./data/` and its own ports; Ctrl-C stops them
//! all cleanly, and a restart keeps every byte of data.

use std::time::Duration;

use wework_kit::shutdown::{Shutdown, trigger_on_signal};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let user_settings = user_service::Settings::load()?;
    let _telemetry = wework_kit::telemetry::init("wework", &user_settings.log);
    let shutdown = Shutdown::new();
    tokio::spawn(trigger_on_signal(shutdown.clone()));

    let user_listeners = wework_kit::server::Listeners::bind(&user_settings.server).await?;
    let user_grpc = user_listeners.grpc_addr();
    let user_http = user_listeners.http_addr();
    let user = user_service::build(user_settings, wework_kit::clock::system()).await?;
    let user_task = tokio::spawn(user_service::serve(user, user_listeners, shutdown.clone()));

    let mut task_settings = task_service::Settings::load()?;
    if std::env::var_os("WEWORK__DELIVERY__ALLOW_LOOPBACK").is_none() {
        // The dev profile: webhooks to a receiver on this machine must work.
        task_settings.delivery.allow_loopback = true;
        tracing::warn!(
            "all-in-one: task deliveries may reach loopback (set WEWORK__DELIVERY__ALLOW_LOOPBACK=false to refuse)"
        );
    }
    let task_listeners = wework_kit::server::Listeners::bind(&task_settings.server).await?;
    let task_grpc = task_listeners.grpc_addr();
    let task_http = task_listeners.http_addr();
    let task = task_service::build(task_settings, wework_kit::clock::system()).await?;
    let task_task = tokio::spawn(task_service::serve(task, task_listeners, shutdown.clone()));

    let account_settings = account_service::Settings::load()?;
    let account_listeners = wework_kit::server::Listeners::bind(&account_settings.server).await?;
    let account_grpc = account_listeners.grpc_addr();
    let account_http = account_listeners.http_addr();
    let account = account_service::build(account_settings, wework_kit::clock::system()).await?;
    let account_task = tokio::spawn(account_service::serve(account, account_listeners, shutdown.clone()));

    let message_settings = message_service::Settings::load()?;
    let message_listeners = wework_kit::server::Listeners::bind(&message_settings.server).await?;
    let message_grpc = message_listeners.grpc_addr();
    let message_http = message_listeners.http_addr();
    let message = message_service::build(message_settings, wework_kit::clock::system()).await?;
    let message_task = tokio::spawn(message_service::serve(message, message_listeners, shutdown.clone()));

    let callback_settings = callback_service::Settings::load()?;
    let callback_listeners = wework_kit::server::Listeners::bind(&callback_settings.server).await?;
    let callback_grpc = callback_listeners.grpc_addr();
    let callback_http = callback_listeners.http_addr();
    let callback = callback_service::build(callback_settings, wework_kit::clock::system()).await?;
    let callback_task = tokio::spawn(callback_service::serve(callback, callback_listeners, shutdown.clone()));

    println!("WeWork platform is running (Ctrl-C to stop)");
    println!("  user-service   gRPC http://{user_grpc}   metrics http://{user_http}/metrics");
    println!("  account-service gRPC http://{account_grpc}   metrics http://{account_http}/metrics");
    println!("  message-service gRPC http://{message_grpc}   metrics http://{message_http}/metrics");
    println!("  callback-service gRPC http://{callback_grpc}   ingest + metrics http://{callback_http}");
    println!("  task-service   gRPC http://{task_grpc}   metrics http://{task_http}/metrics");
    println!("  first login:   tenant `platform`, user `admin` (password printed above on the first start)");

    // The first service to stop (Ctrl-C, or a failure) stops the platform.
    let result = tokio::select! {
        r = user_task => r,
        r = task_task => r,
        r = account_task => r,
        r = message_task => r,
        r = callback_task => r,
    };
    shutdown.trigger();
    shutdown.wait_workers(Duration::from_secs(10)).await;
    match result {
        Ok(inner) => inner,
        Err(e) => Err(e.into()),
    }
}
