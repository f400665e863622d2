//! Driving one run: serve the sink, create the tasks from concurrent callers,
//! wait until every accepted task has reached the sink, then summarise.
//!
//! Callers take the next index (or the next `batch` of them) from a shared
//! counter, so the tasks are spread evenly whatever each call costs. The run
//! is bounded by the plan's timeout: no new call starts after it, and the wait
//! for deliveries ends there too (the report then says `timed_out`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};
use tonic::Status;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use wework_proto::task::task_service_client::TaskServiceClient;
use wework_proto::task::{
    BatchCreateTasksRequest, CreateTaskRequest, HttpMethod, HttpTarget, Task, TaskSpec, task_spec,
};

use super::{CreateOutcome, Created, Sink, WebhookPlan, WebhookReport, latency_ms, summarize};
use crate::client;
use crate::load::ErrorCount;

/// `BatchCreateTasks` takes at most this many tasks.
const MAX_BATCH: usize = 500;
/// How often the sink is checked for completeness; receipt times are stamped
/// by the sink itself, so this only bounds how long the run lingers.
const POLL: Duration = Duration::from_millis(10);

/// Runs `plan`, with the sink on `sink_listener` (which must be a loopback address).
pub async fn run(plan: &WebhookPlan, sink_listener: TcpListener) -> anyhow::Result<WebhookReport> {
    anyhow::ensure!(plan.tasks > 0 && plan.concurrency > 0, "tasks and concurrency must be at least 1");
    anyhow::ensure!(plan.batch.is_none_or(|k| (1..=MAX_BATCH).contains(&k)), "batch must be within 1..={MAX_BATCH}");
    anyhow::ensure!(
        plan.timeout + plan.settle <= crate::MAX_RUN,
        "timeout + settle must not exceed {:?}",
        crate::MAX_RUN
    );
    let sink_addr = sink_listener.local_addr()?;
    anyhow::ensure!(sink_addr.ip().is_loopback(), "the sink must listen on a loopback address, not {sink_addr}");
    let sink_url = format!("http://{sink_addr}/hook");
    let auth = AsciiMetadataValue::try_from(format!("Bearer {}", plan.token)).context("the token is not ASCII")?;
    let channels = connect(&plan.targets, plan.connections).await?;

    let sink = Sink::default();
    let server = tokio::spawn(axum::serve(sink_listener, sink.router()).into_future());
    let deadline = Instant::now() + plan.timeout;
    let shared = Arc::new(Shared {
        next: AtomicUsize::new(0),
        tasks: plan.tasks,
        step: plan.batch.unwrap_or(1),
        batched: plan.batch.is_some(),
        run_id: plan.run_id.clone(),
        sink_url: sink_url.clone(),
        auth,
        deadline,
    });
    let outcome = create_all(&channels, shared, plan.concurrency).await?;

    let mut timed_out = false;
    while sink.distinct() < outcome.created.len() || sink.missing(&outcome.created) > 0 {
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        sleep(POLL).await;
    }
    if !timed_out {
        sleep(plan.settle).await;
    }
    let (received, unlabelled) = sink.snapshot();
    server.abort();

    let empty = Histogram::new_from(&outcome.latency_us);
    let mut report = WebhookReport {
        targets: plan.targets.clone(),
        sink: sink_url,
        run_id: plan.run_id.clone(),
        tasks: plan.tasks,
        batch: plan.batch,
        concurrency: plan.concurrency,
        connections: channels.len(),
        created: 0,
        create_errors: BTreeMap::new(),
        create_secs: 0.0,
        create_rps: 0.0,
        create_latency_ms: latency_ms(&empty),
        delivered: 0,
        missing: 0,
        duplicates: 0,
        unexpected: 0,
        e2e_secs: 0.0,
        delivered_rps: 0.0,
        lag_after_creates_secs: 0.0,
        due_to_attempt_ms: latency_ms(&empty),
        timed_out,
    };
    summarize(&mut report, &outcome, &received, unlabelled);
    Ok(report)
}

/// `connections` connections in all, round-robin over `targets` (at least one each).
async fn connect(targets: &[String], connections: usize) -> anyhow::Result<Vec<Channel>> {
    anyhow::ensure!(!targets.is_empty(), "at least one target is needed");
    let mut channels = Vec::with_capacity(connections.max(targets.len()));
    for (index, target) in targets.iter().enumerate() {
        let share = connections / targets.len() + usize::from(index < connections % targets.len());
        channels.extend(client::connect(target, share.max(1)).await?);
    }
    Ok(channels)
}

/// What every caller shares.
struct Shared {
    next: AtomicUsize,
    tasks: usize,
    step: usize,
    batched: bool,
    run_id: String,
    sink_url: String,
    auth: AsciiMetadataValue,
    deadline: Instant,
}

impl Shared {
    fn spec(&self, i: usize) -> TaskSpec {
        TaskSpec {
            business_unique_id: format!("bench-{}-{i}", self.run_id),
            target: Some(task_spec::Target::Http(HttpTarget {
                url: self.sink_url.clone(),
                method: HttpMethod::Post.into(),
                ..Default::default()
            })),
            body: format!("{{\"i\":{i}}}").into_bytes(),
            ..Default::default()
        }
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("authorization", self.auth.clone());
        request
    }
}

/// One caller's share of the create phase.
struct Part {
    created: Vec<Created>,
    errors: BTreeMap<String, ErrorCount>,
    latency_us: Histogram<u64>,
}

async fn create_all(channels: &[Channel], shared: Arc<Shared>, concurrency: usize) -> anyhow::Result<CreateOutcome> {
    // 1 µs .. 1 h at 3 significant digits; values outside saturate.
    let template = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let started = Utc::now();
    let mut callers = JoinSet::new();
    for index in 0..concurrency {
        let Some(channel) = channels.get(index % channels.len().max(1)).cloned() else { break };
        let part = Part { created: Vec::new(), errors: BTreeMap::new(), latency_us: Histogram::new_from(&template) };
        callers.spawn(caller(TaskServiceClient::new(channel), Arc::clone(&shared), part));
    }
    let mut total = CreateOutcome {
        created: Vec::new(),
        errors: BTreeMap::new(),
        latency_us: template,
        started,
        finished: started,
    };
    while let Some(joined) = callers.join_next().await {
        let part = joined.context("a create caller panicked")?;
        total.created.extend(part.created);
        // Same bounds on both sides, so adding cannot fail.
        let _ = total.latency_us.add(&part.latency_us);
        for (code, e) in part.errors {
            note(&mut total.errors, &code, &e.sample, e.count);
        }
    }
    total.finished = Utc::now();
    Ok(total)
}

async fn caller(mut client: TaskServiceClient<Channel>, shared: Arc<Shared>, mut part: Part) -> Part {
    loop {
        let from = shared.next.fetch_add(shared.step, Ordering::Relaxed);
        if from >= shared.tasks || Instant::now() >= shared.deadline {
            break;
        }
        let to = (from + shared.step).min(shared.tasks);
        let sent = Instant::now();
        let answer = send(&mut client, &shared, from, to).await;
        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        part.latency_us.saturating_record(micros);
        match answer {
            Ok(items) => {
                for item in items {
                    match item {
                        Ok(created) => part.created.push(created),
                        Err((code, sample)) => note(&mut part.errors, code, &sample, 1),
                    }
                }
            }
            Err(status) => {
                let code = format!("{:?}", status.code());
                note(&mut part.errors, &code, status.message(), (to - from) as u64);
            }
        }
    }
    part
}

type Item = Result<Created, (&'static str, String)>;

/// Creates tasks `from..to`: one `CreateTask`, or one `BatchCreateTasks` for the range.
async fn send(
    client: &mut TaskServiceClient<Channel>,
    shared: &Shared,
    from: usize,
    to: usize,
) -> Result<Vec<Item>, Status> {
    if !shared.batched {
        let answer = client.create_task(shared.request(CreateTaskRequest { task: Some(shared.spec(from)) })).await?;
        let answer = answer.into_inner();
        return Ok(vec![accepted(answer.task, answer.created)]);
    }
    let tasks = (from..to).map(|i| shared.spec(i)).collect();
    let answer = client.batch_create_tasks(shared.request(BatchCreateTasksRequest { tasks })).await?;
    Ok(answer
        .into_inner()
        .results
        .into_iter()
        .map(|r| if r.error.is_empty() { accepted(r.task, r.created) } else { Err(("ItemRejected", r.error)) })
        .collect())
}

/// A task the service says it created, with the time it is due.
fn accepted(task: Option<Task>, created: bool) -> Item {
    let task = task.ok_or(("NoTask", "the answer carries no task".to_owned()))?;
    if !created {
        // A fresh run id makes every business_unique_id new; an old task would never be delivered again.
        return Err(("AlreadyExisted", format!("task {} existed before this run", task.id)));
    }
    let due = task
        .scheduled_at
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .ok_or(("NoScheduledAt", format!("task {} has no valid scheduled_at", task.id)))?;
    let id = if task.webhook_id.is_empty() { task.id } else { task.webhook_id };
    Ok(Created { id, due })
}

fn note(errors: &mut BTreeMap<String, ErrorCount>, code: &str, sample: &str, count: u64) {
    let entry = errors.entry(code.to_owned()).or_default();
    if entry.count == 0 {
        entry.sample = sample.chars().take(200).collect();
    }
    entry.count += count;
}
