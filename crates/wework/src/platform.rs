//! Starts the five services, the gateway and the simulator in this process,
//! prints where they listen, and stops them all on Ctrl-C or when any of
//! them fails.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use rand::distributions::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::grpc_client::{intercepted, lazy_channel};
use wework_kit::server::Listeners;
use wework_kit::shutdown::{Shutdown, trigger_on_signal};
use wework_proto::account::instance_service_client::InstanceServiceClient;
use wework_proto::account::{ListInstancesRequest, RegisterInstanceRequest};

/// `dev`: the simulator, loopback webhooks and a kept admin password; `prod`: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    Dev,
    Prod,
}

/// Where the simulator listens in the all-in-one (the demo's default).
pub const SIM_ADDR: &str = "127.0.0.1:7070";
pub const SIM_TOKEN_ENV: &str = "WEWORK_SIM_TOKEN";
/// The dev profile keeps the generated admin password here (under data_dir).
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

pub struct Options {
    pub profile: Profile,
    pub with_sim: bool,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut user_settings = user_service::Settings::load()?;
    let _telemetry = wework_kit::telemetry::init("wework", &user_settings.log);
    let shutdown = Shutdown::new();
    tokio::spawn(trigger_on_signal(shutdown.clone()));
    let admin_password = match options.profile {
        Profile::Dev => dev_admin_password(&mut user_settings)?,
        Profile::Prod => None,
    };

    let user_listeners = Listeners::bind(&user_settings.server).await?;
    let user_grpc = user_listeners.grpc_addr();
    let user = user_service::build(user_settings, wework_kit::clock::system()).await?;
    let user_task = tokio::spawn(user_service::serve(user, user_listeners, shutdown.clone()));

    let mut task_settings = task_service::Settings::load()?;
    if options.profile == Profile::Dev && std::env::var_os("WEWORK__DELIVERY__ALLOW_LOOPBACK").is_none() {
        // Webhooks to a receiver on this machine (the demo's) must work.
        task_settings.delivery.allow_loopback = true;
        tracing::warn!(
            "dev profile: task deliveries may reach loopback (WEWORK__DELIVERY__ALLOW_LOOPBACK=false refuses)"
        );
    }
    let task_listeners = Listeners::bind(&task_settings.server).await?;
    let task_grpc = task_listeners.grpc_addr();
    let task = task_service::build(task_settings, wework_kit::clock::system()).await?;
    let task_task = tokio::spawn(task_service::serve(task, task_listeners, shutdown.clone()));

    let account_settings = account_service::Settings::load()?;
    let account_listeners = Listeners::bind(&account_settings.server).await?;
    let account_grpc = account_listeners.grpc_addr();
    let account_auth = account_settings.auth.clone();
    let account = account_service::build(account_settings, wework_kit::clock::system()).await?;
    let account_task = tokio::spawn(account_service::serve(account, account_listeners, shutdown.clone()));

    let message_settings = message_service::Settings::load()?;
    let message_listeners = Listeners::bind(&message_settings.server).await?;
    let message_grpc = message_listeners.grpc_addr();
    let message = message_service::build(message_settings, wework_kit::clock::system()).await?;
    let message_task = tokio::spawn(message_service::serve(message, message_listeners, shutdown.clone()));

    let callback_settings = callback_service::Settings::load()?;
    let callback_listeners = Listeners::bind(&callback_settings.server).await?;
    let callback_grpc = callback_listeners.grpc_addr();
    let callback_http = callback_listeners.http_addr();
    let callback = callback_service::build(callback_settings, wework_kit::clock::system()).await?;
    let callback_task = tokio::spawn(callback_service::serve(callback, callback_listeners, shutdown.clone()));

    let gateway_settings = gateway::Settings::load()?;
    let gateway_listeners = gateway::Listeners::bind(&gateway_settings).await?;
    let (api, ops) = (gateway_listeners.api_addr(), gateway_listeners.ops_addr());
    let gateway = gateway::build(gateway_settings, wework_kit::clock::system())?;
    let gateway_task = tokio::spawn(gateway::serve(gateway, gateway_listeners, shutdown.clone()));

    let sim = if options.with_sim {
        let sim = start_sim().await?;
        let account_url = format!("http://{account_grpc}");
        register_sim(&account_url, &account_auth, &sim).await?;
        Some(sim)
    } else {
        None
    };

    println!("\nWeWork platform is running (Ctrl-C to stop; started in {:.2} s)", started.elapsed().as_secs_f64());
    println!("  gateway          http://{api}/api/v1   (metrics http://{ops}/metrics)");
    println!("  API docs         http://{api}/docs     (OpenAPI http://{api}/api/openapi.json)");
    println!("  user-service     gRPC {user_grpc}");
    println!("  account-service  gRPC {account_grpc}");
    println!("  message-service  gRPC {message_grpc}");
    println!("  callback-service gRPC {callback_grpc}   callbacks http://{callback_http}/v1/callbacks/instance");
    println!("  task-service     gRPC {task_grpc}");
    match &sim {
        Some(sim) => println!("  simulator        {}   (registered as instance `simulator`)", sim.base_url()),
        None => println!("  simulator        off (--with-sim to run it)"),
    }
    match &admin_password {
        Some(pw) => println!(
            "  first login      tenant `platform`, user `admin`, password `{}` (dev profile: kept in data/{ADMIN_PASSWORD_FILE})",
            pw.expose_secret()
        ),
        None => {
            println!("  first login      tenant `platform`, user `admin` (the password was printed on the first start)")
        }
    }
    println!("  tour             cargo run --release -p wework -- demo\n");

    // The first part to stop (Ctrl-C, or a failure) stops the platform.
    let result = tokio::select! {
        r = user_task => r,
        r = task_task => r,
        r = account_task => r,
        r = message_task => r,
        r = callback_task => r,
        r = gateway_task => r,
    };
    shutdown.trigger();
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    shutdown.wait_workers(Duration::from_secs(10)).await;
    match result {
        Ok(inner) => inner,
        Err(e) => Err(e.into()),
    }
}

/// In the dev profile the admin password is generated once, before the user
/// database exists, and kept (mode 0600) beside the other dev-only secrets
/// in the data dir, so `wework demo` and a newcomer can find it again. An
/// explicit `WEWORK__BOOTSTRAP__ADMIN_PASSWORD` wins and is never written.
fn dev_admin_password(settings: &mut user_service::Settings) -> anyhow::Result<Option<SecretString>> {
    if let Some(pw) = &settings.bootstrap.admin_password {
        return Ok(Some(pw.clone()));
    }
    let dir = &settings.auth.data_dir;
    let file = dir.join(ADMIN_PASSWORD_FILE);
    if let Ok(saved) = std::fs::read_to_string(&file) {
        let pw = SecretString::from(saved.trim().to_owned());
        settings.bootstrap.admin_password = Some(pw.clone());
        return Ok(Some(pw));
    }
    if user_database_exists(settings) {
        return Ok(None); // created before: its password was printed then
    }
    let pw: String = rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_private(&file, &pw)?;
    let pw = SecretString::from(pw);
    settings.bootstrap.admin_password = Some(pw.clone());
    Ok(Some(pw))
}

fn user_database_exists(settings: &user_service::Settings) -> bool {
    let url = &settings.database.url;
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return true; // a server database: assume it was bootstrapped
    };
    Path::new(path.split('?').next().unwrap_or(path)).exists()
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

async fn start_sim() -> anyhow::Result<wework_sim::Simulator> {
    let token = std::env::var(SIM_TOKEN_ENV).unwrap_or_else(|_| "sim-token".to_owned());
    let config = wework_sim::SimConfig { listen: SIM_ADDR.parse()?, token, ..wework_sim::SimConfig::default() };
    wework_sim::Simulator::start(config)
        .await
        .with_context(|| format!("starting the simulator on {SIM_ADDR} (is the port taken? --no-sim skips it)"))
}

/// Registers the simulator as an instance unless one with its URL exists,
/// with a service token (services are platform principals).
async fn register_sim(
    account_url: &str,
    auth: &wework_kit::settings::AuthSettings,
    sim: &wework_sim::Simulator,
) -> anyhow::Result<()> {
    let secret = wework_kit::auth::internal_secret(auth)?;
    let minter = Arc::new(ServiceTokenMinter::new("wework", &secret, Duration::from_secs(300)));
    let channel = lazy_channel(account_url, Duration::from_secs(2), Duration::from_secs(5))?;
    let mut instances = InstanceServiceClient::new(intercepted(channel, Some(minter)));
    let mut delay = Duration::from_millis(50);
    let existing = loop {
        match instances.list_instances(ListInstancesRequest::default()).await {
            Ok(r) => break r.into_inner().instances,
            Err(e) if delay < Duration::from_secs(3) && wework_kit::grpc_client::is_transient(&e) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(anyhow::anyhow!("listing instances: {}", e.message())),
        }
    };
    if existing.iter().any(|i| i.api_url == sim.base_url()) {
        return Ok(());
    }
    let request = RegisterInstanceRequest {
        name: "simulator".to_owned(),
        api_url: sim.base_url(),
        token: sim.token().to_owned(),
        ..Default::default()
    };
    match instances.register_instance(request).await {
        Ok(_) => Ok(()),
        // Registered under this name before (with another URL, or beyond the
        // first page listed): the platform still starts; the operator decides.
        Err(e) if e.code() == tonic::Code::AlreadyExists => {
            tracing::warn!("an instance named `simulator` exists already; not registering this one");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("registering the simulator: {}", e.message())),
    }
}
