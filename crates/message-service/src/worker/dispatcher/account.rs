//! One account's share of a dispatch round, in claim order (priority, then
//! longest due), one message at a time: an account never has two sends in
//! flight, which is what the throttle's spacing assumes.
//!
//! Per message: account not reachable → wait ([`Round::offline`]); throttle
//! says wait → deferred; otherwise the send is recorded in the throttle and
//! made with the message id as the client message id, and its outcome
//! decides the rest (see [`Round::judge`]). Once one message of the account
//! has to wait (throttle, rate limit, instance trouble) the rest of its
//! round waits too, without asking again, each `k · min_interval` later
//! than the previous so the account's backlog comes due one by one instead
//! of being re-claimed together every round.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedSender;
use tracing::Instrument;
use wework_client::ProviderError;
use wework_client::protocol::{ChatType, MessageContent, SendMessageRequest};

use super::batch_rules::{self, BatchRules, Verdict};
use super::{ACCOUNT_OFFLINE, due_since, retry_backoff, secs};
use crate::domain::throttle::Decision;
use crate::error::Error;
use crate::integrations::SendTarget;
use crate::state::AppState;
use crate::store::entity::message;
use crate::store::{DispatchResult, Resolution};

/// Whether the account can send this round.
enum Reach {
    Online(Arc<SendTarget>),
    /// Not online, unknown, or without a client: why, for the error text.
    Away(String),
    /// The account service could not say: wait, but do not count it as offline.
    Unknown,
}

async fn reach(state: &AppState, account_id: &str) -> Reach {
    match state.targets.get(account_id).await {
        Ok(t) if !t.online => Reach::Away(format!("account {account_id} is {}", t.status)),
        Ok(t) if t.guid.is_empty() => Reach::Away(format!("account {account_id} has no WeWork client")),
        Ok(t) if t.api_url.is_empty() => Reach::Away(format!("account {account_id} has no instance")),
        Ok(t) => Reach::Online(t),
        Err(Error::NotFound(_)) => Reach::Away(format!("account {account_id} does not exist")),
        Err(e) => {
            tracing::warn!(account_id, error = %e, "send target unavailable; messages wait");
            Reach::Unknown
        }
    }
}

struct Round<'a> {
    state: &'a AppState,
    account_id: &'a str,
    out: &'a UnboundedSender<DispatchResult>,
    /// The account turned out not to be reachable: why.
    away: Option<String>,
    /// The account may not send before this; later messages are spread after it.
    blocked: Option<DateTime<Utc>>,
    /// Messages deferred behind `blocked` so far.
    spread_k: i32,
    spread: Duration,
}

/// Runs the round of `account_id`'s `messages`; every message gets exactly
/// one result on `out`.
pub(super) async fn run(
    state: &AppState,
    account_id: &str,
    messages: Vec<message::Model>,
    out: &UnboundedSender<DispatchResult>,
) {
    let mut round = Round { state, account_id, out, away: None, blocked: None, spread_k: 0, spread: Duration::zero() };
    // A paused, cancelled or failed batch decides before the account is asked.
    let rules = batch_rules::load(state, &messages).await;
    let mut sendable = Vec::with_capacity(messages.len());
    for m in messages {
        match batch_rules::verdict(&rules, &m) {
            Verdict::Stop(resolution) => round.emit(m, resolution),
            Verdict::Send(batch) => sendable.push((m, batch.cloned())),
        }
    }
    let messages = sendable;
    let target = match reach(state, account_id).await {
        Reach::Online(target) => target,
        Reach::Away(why) => {
            round.away = Some(why);
            return messages.into_iter().for_each(|(m, batch)| round.offline(m, batch.as_ref()));
        }
        Reach::Unknown => {
            let at = state.clock.now() + recheck(state);
            return messages.into_iter().for_each(|(m, _)| round.emit(m, Resolution::Deferred { at }));
        }
    };
    let tenant = state.tenants.overrides(&target.tenant_id).await;
    let policy = state.throttle.policy(&tenant, &target.throttle);
    round.spread = policy.min_interval;
    let driver = state.providers.driver(&target.api_url, &target.token);
    let mut rng = StdRng::from_entropy();
    for (m, batch) in messages {
        if round.away.is_some() {
            round.offline(m, batch.as_ref());
            continue;
        }
        if m.tenant_id != target.tenant_id {
            // Another tenant's account is, to this message, no account at all.
            tracing::error!(message_id = %m.id, account_id, "message names another tenant's account");
            round.offline_because(m, &format!("account {account_id} does not exist"), batch.as_ref());
            continue;
        }
        let request = match request_of(&m, &target.guid) {
            Ok(r) => r,
            Err(why) => {
                let failed =
                    Resolution::Failed { error_code: "invalid_content".into(), error_message: why, attempt: false };
                round.emit(m, failed);
                continue;
            }
        };
        if let Some(until) = round.blocked {
            round.defer_spread(m, until);
            continue;
        }
        let now = state.clock.now();
        let policy = match &batch {
            None => policy.clone(),
            Some(rules) => {
                // The batch's own window, besides the account's (both must be open).
                if let Some(window) = rules.strategy.window()
                    && !window.is_open(now)
                {
                    metrics::counter!("message_throttled_total", "reason" => "batch_window").increment(1);
                    round.emit(m, Resolution::Deferred { at: window.next_open(now) });
                    continue;
                }
                rules.strategy.stricter(&policy)
            }
        };
        if let Decision::WaitUntil(at, reason) = state.throttle.try_acquire(account_id, &policy, now, &mut rng).await {
            metrics::counter!("message_throttled_total", "reason" => reason.as_str()).increment(1);
            round.blocked = Some(at);
            round.defer_spread(m, at);
            continue;
        }
        let started = std::time::Instant::now();
        let span = send_span(&m);
        let sent = driver.send_message(&request).instrument(span.clone()).await;
        metrics::histogram!("message_send_seconds").record(started.elapsed().as_secs_f64());
        round.judge(m, sent, batch.as_ref()).instrument(span).await;
    }
}

impl Round<'_> {
    fn emit(&self, message: message::Model, resolution: Resolution) {
        // The receiver lives as long as the round; a send error means the
        // writer is gone, and the lease brings the message back.
        let _ = self.out.send(DispatchResult { message, resolution });
    }

    fn defer_spread(&mut self, m: message::Model, until: DateTime<Utc>) {
        let at = until + self.spread * self.spread_k;
        self.spread_k += 1;
        self.emit(m, Resolution::Deferred { at });
    }

    fn offline(&mut self, m: message::Model, batch: Option<&BatchRules>) {
        let why = self.away.clone().unwrap_or_default();
        self.offline_because(m, &why, batch);
    }

    /// The account cannot send: the message waits `offline_recheck_secs`,
    /// unless it has been due longer than `offline_wait_secs` (or its
    /// batch's own `offline_wait_secs`) already.
    fn offline_because(&mut self, m: message::Model, why: &str, batch: Option<&BatchRules>) {
        let settings = &self.state.settings.dispatch;
        let now = self.state.clock.now();
        let wait = batch
            .map(|b| u64::from(b.strategy.offline_wait_secs))
            .filter(|w| *w > 0)
            .unwrap_or(settings.offline_wait_secs);
        let resolution = if now - due_since(&m) > secs(wait) {
            Resolution::Failed {
                error_code: ACCOUNT_OFFLINE.into(),
                error_message: format!("{why}: not online within {wait}s of the message being due"),
                attempt: false,
            }
        } else {
            Resolution::Deferred { at: now + recheck(self.state) }
        };
        self.emit(m, resolution);
    }

    /// What a send's outcome makes of the message (and of the rest of the round).
    async fn judge(
        &mut self,
        m: message::Model,
        sent: Result<wework_client::protocol::SendMessageResponse, ProviderError>,
        batch: Option<&BatchRules>,
    ) {
        let now = self.state.clock.now();
        let settings = &self.state.settings.dispatch;
        let e = match sent {
            Ok(resp) => {
                if resp.duplicate {
                    tracing::info!(message_id = %m.id, "instance had sent this message already (retry de-duplicated)");
                }
                let latency_ms = (now - due_since(&m)).num_milliseconds().max(0);
                return self.emit(m, Resolution::Sent { wework_msg_id: resp.msg_id, send_time: now, latency_ms });
            }
            Err(e) => e,
        };
        metrics::counter!("message_send_errors_total", "code" => e.code()).increment(1);
        match e {
            ProviderError::RateLimited { retry_after } => {
                // Not an attempt: the instance refused before sending.
                let until = now + Duration::from_std(retry_after).unwrap_or(Duration::seconds(1));
                self.state.throttle.pause(self.account_id, until).await;
                tracing::info!(account_id = self.account_id, %until, "instance rate limit; account paused");
                self.blocked = Some(until);
                self.spread_k = 0;
                self.defer_spread(m, until);
            }
            ProviderError::NotLoggedIn(_) | ProviderError::UnknownClient(_) => {
                // Our cached view was stale: look again next time, wait meanwhile.
                self.state.targets.forget(self.account_id);
                self.away =
                    Some(format!("account {} is not logged in on its instance ({})", self.account_id, e.code()));
                self.offline(m, batch);
            }
            ProviderError::Unavailable { .. } => {
                let attempts = u32::try_from(m.retry_count).unwrap_or(0).saturating_add(1);
                let resolution = if attempts >= settings.max_attempts {
                    Resolution::Failed {
                        error_code: e.code().into(),
                        error_message: format!("{e} (gave up after {attempts} attempts)"),
                        attempt: true,
                    }
                } else {
                    let delay = retry_backoff(settings, attempts, &mut rand::thread_rng());
                    Resolution::Retry { at: now + delay, error_code: e.code().into(), error_message: e.to_string() }
                };
                // The instance is in trouble: the rest of this account's round
                // waits one first backoff instead of piling onto it.
                self.blocked = Some(now + secs(settings.retry_backoff_secs));
                self.spread_k = 0;
                self.emit(m, resolution);
            }
            ProviderError::InvalidRequest(_) | ProviderError::AccountRestricted(_) | ProviderError::Unauthorized => {
                let failed =
                    Resolution::Failed { error_code: e.code().into(), error_message: e.to_string(), attempt: false };
                self.emit(m, failed);
            }
        }
    }
}

/// One send's span, a child of the request that queued the message (stored
/// with it), so the instance call continues that request's trace.
fn send_span(m: &message::Model) -> tracing::Span {
    let span = tracing::info_span!(
        "message.send",
        message_id = %m.id,
        account_id = %m.account_id,
        attempt = m.retry_count + 1,
        otel.kind = "client",
    );
    wework_kit::telemetry::with_parent(span, m.traceparent.as_deref())
}

fn recheck(state: &AppState) -> Duration {
    secs(state.settings.dispatch.offline_recheck_secs)
}

/// The instance request of a stored message; `Err` names what is unreadable.
fn request_of(m: &message::Model, guid: &str) -> Result<SendMessageRequest, String> {
    let content: MessageContent =
        serde_json::from_str(&m.content).map_err(|e| format!("stored content is unreadable: {e}"))?;
    let chat_type: ChatType = serde_json::from_value(serde_json::Value::String(m.chat_type.clone()))
        .map_err(|_| format!("unknown chat type {:?}", m.chat_type))?;
    let at_list = match m.at_list.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(json) => serde_json::from_str(json).map_err(|e| format!("stored at_list is unreadable: {e}"))?,
    };
    Ok(SendMessageRequest {
        guid: guid.to_owned(),
        client_msg_id: m.id.clone(),
        chat_id: m.conversation_id.clone(),
        chat_type,
        content,
        at_list,
    })
}
