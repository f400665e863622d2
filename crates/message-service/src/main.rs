//! `message-service`: one container of the platform. `message-service healthcheck`
//! probes the local `/healthz` (the container HEALTHCHECK has no curl).

use message_service::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use wework_kit::shutdown::{Shutdown, trigger_on_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return wework_kit::healthcheck::probe(settings.server.http_addr).await;
    }
    let _telemetry = wework_kit::telemetry::init(message_service::settings::SERVICE_NAME, &settings.log);
    let shutdown = Shutdown::new();
    tokio::spawn(trigger_on_signal(shutdown.clone()));
    message_service::run(settings, shutdown).await
}
