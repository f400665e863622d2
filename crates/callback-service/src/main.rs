//! `callback-service`: one container of the platform. `callback-service healthcheck`
//! probes the local `/healthz` (the container HEALTHCHECK has no curl);
//! `callback-service migrate` applies the schema's pending migrations and exits
//! (a migration Job before a roll-out); no argument serves.

use anyhow::Context;
use callback_service::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use wework_kit::shutdown::{Shutdown, trigger_on_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let command = std::env::args().nth(1);
    if command.as_deref() == Some("healthcheck") {
        return wework_kit::healthcheck::probe(settings.server.http_addr).await;
    }
    let _telemetry = wework_kit::telemetry::init(callback_service::settings::SERVICE_NAME, &settings.log);
    match command.as_deref() {
        None => {}
        Some("migrate") => {
            return callback_service::migrate(&settings.database).await.context("callback-service migrate failed");
        }
        Some(other) => anyhow::bail!("unknown command {other:?} (expected healthcheck or migrate)"),
    }
    let shutdown = Shutdown::new();
    tokio::spawn(trigger_on_signal(shutdown.clone()));
    callback_service::run(settings, shutdown).await
}
