//! `wework`: the whole platform in one process, for a newcomer's first run and
//! for small installations — every service, the gateway and (in the dev
//! profile) a simulated WeWork instance. Each service keeps its own settings
//! (the same `WEWORK__…` variables and `config/<service>.toml` files as its
//! container), its own database file under `./data/` and its own ports;
//! Ctrl-C stops them all cleanly, and a restart keeps every byte of data.
//!
//! `wework demo` tours a running platform through the gateway.

use clap::{Parser, Subcommand};
use wework::demo;
use wework::platform::{self, Profile};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "wework", about = "The WeWork platform in one process", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the platform (the default).
    Run(RunArgs),
    /// A scripted tour of a running platform, through its gateway.
    Demo(demo::DemoArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// `dev` (default): the simulator runs, webhooks may reach loopback, and
    /// the first start keeps the admin password in `./data/admin-password`.
    /// `prod`: none of that.
    #[arg(long, value_enum, env = "WEWORK_PROFILE", default_value_t = Profile::Dev)]
    profile: Profile,
    /// Run the simulated WeWork instance (on by default in the dev profile).
    #[arg(long, conflicts_with = "no_sim")]
    with_sim: bool,
    /// Do not run the simulator, even in the dev profile.
    #[arg(long)]
    no_sim: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Demo(args)) => demo::run(args).await,
        Some(Command::Run(args)) => serve(args).await,
        None => serve(cli.run).await,
    }
}

async fn serve(args: RunArgs) -> anyhow::Result<()> {
    let with_sim = args.with_sim || (args.profile == Profile::Dev && !args.no_sim);
    platform::run(platform::Options { profile: args.profile, with_sim }).await
}
