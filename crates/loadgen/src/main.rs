//! `loadgen` CLI: `echo-server`, `run` (bounded gRPC load), `http` (the same
//! load over HTTP/1.1), `call` (one request) and `webhooks` (the task center
//! end to end, into a local sink).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;
use wework_loadgen::http::{HttpTarget, run_http_load};
use wework_loadgen::load::Plan;
use wework_loadgen::report::Report;
use wework_loadgen::webhooks::{self, WebhookPlan};
use wework_loadgen::{ECHO_DEFAULT_ADDR, ECHO_METHOD, Target, call_once, echo, parse_duration, run_load};

#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about = "Load generator for the platform's unary gRPC methods and HTTP endpoints")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the bare echo RPC: the ceiling other numbers are compared against.
    EchoServer {
        #[arg(long, default_value = ECHO_DEFAULT_ADDR)]
        addr: String,
    },
    /// Send N concurrent calls for a bounded time and print throughput and latency.
    Run(RunArgs),
    /// The same bounded load as HTTP/1.1 requests (keep-alive, one connection per worker).
    Http(HttpArgs),
    /// Make one call and print the response as JSON.
    Call(TargetArgs),
    /// Create tasks in the task service aimed at a local sink and time them until delivered.
    Webhooks(WebhooksArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("auth").required(true).args(["token", "internal_secret"])))]
struct WebhooksArgs {
    /// The task service's gRPC endpoint (loopback only); repeat it for several replicas.
    #[arg(long = "target", default_value = "http://127.0.0.1:50055")]
    targets: Vec<String>,
    /// A platform service token (bearer).
    #[arg(long, env = "LOADGEN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The service's internal secret (`WEWORK__AUTH__INTERNAL_SECRET`), to mint a service token with.
    #[arg(long, env = "LOADGEN_INTERNAL_SECRET", hide_env_values = true)]
    internal_secret: Option<String>,
    /// Tasks to create.
    #[arg(long, default_value_t = 20_000)]
    tasks: usize,
    /// Create calls in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections the callers are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Tasks per BatchCreateTasks call (1..=500); without it, one CreateTask per task.
    #[arg(long)]
    batch: Option<usize>,
    /// Where the sink listens (loopback only; port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    sink_addr: SocketAddr,
    /// Bound on the whole run, creates and deliveries (300s, 5m).
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    timeout: Duration,
    /// How long the sink keeps counting after the last delivery, for late duplicates.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    settle: Duration,
    /// Names this run's business_unique_ids (`bench-<run>-<i>`); default a fresh UUID.
    #[arg(long)]
    run_id: Option<String>,
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// gRPC endpoint (loopback only). Defaults to the user service, or the echo server with --echo.
    #[arg(long)]
    target: Option<String>,
    /// `package.Service/Method`, e.g. wework.user.v1.UserService/GetUser.
    #[arg(long, required_unless_present = "echo")]
    method: Option<String>,
    /// Request message as proto3 JSON (camelCase field names); `@path` reads
    /// it from a file (bodies past the command-line limit, e.g. a CSV import).
    #[arg(long)]
    data: Option<String>,
    /// Request metadata `key=value`; repeatable.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Shorthand for the echo method against the echo server.
    #[arg(long, conflicts_with = "method")]
    echo: bool,
}

impl TargetArgs {
    fn into_target(self) -> anyhow::Result<Target> {
        let (default_url, default_json) = if self.echo {
            (format!("http://{ECHO_DEFAULT_ADDR}"), r#"{"message":"ping"}"#)
        } else {
            ("http://127.0.0.1:50051".into(), "{}")
        };
        let json = match self.data {
            Some(data) => match data.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--data {data}: {e}"))?,
                None => data,
            },
            None => default_json.into(),
        };
        Ok(Target {
            url: self.target.unwrap_or(default_url),
            method: self.method.unwrap_or_else(|| ECHO_METHOD.into()),
            json,
            headers: self.headers,
        })
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// HTTP/2 connections the workers are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Args)]
struct HttpArgs {
    /// Full URL (plain http, loopback only), e.g. http://127.0.0.1:8080/healthz.
    #[arg(long)]
    url: String,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Request header `name: value`; repeatable.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Request body: JSON (sent as application/json unless a content-type
    /// header says otherwise), or `@path` to read it from a file.
    #[arg(long)]
    body: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
}

/// How hard and how long, and how to report: shared by `run` and `http`.
#[derive(Debug, Args)]
struct LoadArgs {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Measured time (10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured time before it.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Open-loop target rate in req/s over all workers (default: closed loop, as fast as answered).
    #[arg(long)]
    rate: Option<f64>,
    /// Read this process's memory (VmRSS) at the end, e.g. the service under test.
    #[arg(long)]
    pid: Option<u32>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

impl LoadArgs {
    fn plan(&self) -> Plan {
        Plan { concurrency: self.concurrency, warmup: self.warmup, duration: self.duration, rate: self.rate }
    }

    /// Prints the report; a run in which nothing succeeded fails.
    fn print(&self, report: &Report) -> anyhow::Result<ExitCode> {
        if self.json {
            println!("{}", serde_json::to_string(report)?);
        } else {
            print!("{}", report.render_text());
        }
        if report.ok == 0 {
            eprintln!("loadgen: no request succeeded");
            return Ok(ExitCode::FAILURE);
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::EchoServer { addr } => {
            let listener = TcpListener::bind(&addr).await?;
            // Scripts may bind port 0 and read the real address from this line.
            println!("echo server listening on {}", listener.local_addr()?);
            echo::serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Command::Call(args) => {
            let answer = call_once(&args.into_target()?).await?;
            println!("{answer}");
        }
        Command::Run(args) => {
            let report =
                run_load(&args.target.into_target()?, args.connections, args.load.plan(), args.load.pid).await?;
            return args.load.print(&report);
        }
        Command::Http(args) => {
            let target = HttpTarget { url: args.url, method: args.method, headers: args.headers, body: args.body };
            let report = run_http_load(&target, args.load.plan(), args.load.pid).await?;
            return args.load.print(&report);
        }
        Command::Webhooks(args) => return webhooks_run(args).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// Human lines on stderr, one JSON object on stdout; fails unless every task was created and delivered.
async fn webhooks_run(args: WebhooksArgs) -> anyhow::Result<ExitCode> {
    let token = match (args.token, args.internal_secret) {
        (Some(token), _) => token,
        (None, Some(secret)) => webhooks::service_token(&secret, args.timeout + Duration::from_secs(600))?,
        (None, None) => anyhow::bail!("pass --token or --internal-secret"),
    };
    let plan = WebhookPlan {
        targets: args.targets,
        token,
        tasks: args.tasks,
        concurrency: args.concurrency,
        connections: args.connections,
        batch: args.batch,
        timeout: args.timeout,
        settle: args.settle,
        run_id: args.run_id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string()),
    };
    anyhow::ensure!(args.sink_addr.ip().is_loopback(), "--sink-addr must be a loopback address");
    let listener = TcpListener::bind(args.sink_addr).await?;
    let report = webhooks::run(&plan, listener).await?;
    eprint!("{}", report.render_text());
    println!("{}", serde_json::to_string(&report)?);
    let complete = report.created == report.tasks as u64 && report.missing == 0 && !report.timed_out;
    if !complete {
        eprintln!("loadgen: not every task was created and delivered");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
