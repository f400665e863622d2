//! `callback-service`: one container of the platform. `callback-service healthcheck`
//! probes the local `/healthz` (the container HEALTHCHECK has no curl).

use callback_service::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use wework_kit::shutdown::{Shutdown, trigger_on_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return wework_kit::healthcheck::probe(settings.server.http_addr).await;
    }
    let _telemetry = wework_kit::telemetry::init(callback_service::settings::SERVICE_NAME, &settings.log);
    let shutdown = Shutdown::new();
    tokio::spawn(trigger_on_signal(shutdown.clone()));
    callback_service::run(settings, shutdown).await
}
