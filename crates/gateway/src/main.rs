//! `gateway`: the REST/JSON front door of the platform, one container.
//! `gateway healthcheck` probes the local ops `/healthz` (the container
//! HEALTHCHECK has no curl); `gateway openapi` prints the OpenAPI document;
//! no argument serves.

use gateway::Settings;
use wework_kit::shutdown::{Shutdown, trigger_on_signal};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("healthcheck") => return wework_kit::healthcheck::probe(settings.server.http_addr).await,
        Some("openapi") => {
            println!("{}", gateway::openapi_json()?);
            return Ok(());
        }
        Some(other) => anyhow::bail!("unknown command {other:?} (expected healthcheck or openapi)"),
    }
    let _telemetry = wework_kit::telemetry::init(gateway::settings::SERVICE_NAME, &settings.log);
    let shutdown = Shutdown::new();
    tokio::spawn(trigger_on_signal(shutdown.clone()));
    gateway::run(settings, shutdown).await
}
