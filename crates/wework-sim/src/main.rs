//! `wework-sim`: a WeWork protocol instance simulator for development and
//! demos. Prints its base url and serves until Ctrl-C. The `/control` routes
//! are unauthenticated, so keep `--listen` on loopback unless the network is
//! trusted.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use wework_sim::{DirectorySpec, SimConfig, Simulator};

#[derive(Debug, Parser)]
#[command(name = "wework-sim", about = "Simulates a WeWork protocol instance")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Shared token: API Bearer token and callback signing key.
    #[arg(long, env = "WEWORK_SIM_TOKEN", default_value = "sim-token", hide_env_values = true)]
    token: String,
    /// Heartbeat period (0 disables).
    #[arg(long, default_value_t = 30)]
    heartbeat_secs: u64,
    #[arg(long, default_value_t = 50)]
    contacts: u32,
    #[arg(long, default_value_t = 5)]
    groups: u32,
    #[arg(long, default_value_t = 20)]
    members: u32,
    #[arg(long, default_value = "123456")]
    verify_code: String,
    #[arg(long, default_value_t = 20)]
    delivery_delay_ms: u64,
    /// Scan and confirm every QR code 1 s after it is fetched (demos).
    #[arg(long)]
    auto_login: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries only the base url, for scripts.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = SimConfig {
        listen: args.listen,
        token: args.token,
        heartbeat_interval: Duration::from_secs(args.heartbeat_secs),
        verify_code: args.verify_code,
        delivery_delay: Duration::from_millis(args.delivery_delay_ms),
        directory: DirectorySpec { contacts: args.contacts, groups: args.groups, members_per_group: args.members },
        auto_login: args.auto_login.then_some(Duration::from_secs(1)),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await?;
    println!("{}", sim.base_url());
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}
