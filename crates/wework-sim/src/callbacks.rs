//! Outbound callback delivery. Each client has one queue and one delivery
//! task, so its callbacks arrive in the order they were emitted (a receiver
//! may rely on `login_success` before `contact_sync_finished`). A POST is
//! signed with the shared token, retried on non-2xx or a transport error with
//! bounded exponential backoff, and subject to the drop/duplicate faults.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wework_client::CallbackEnvelope;
use wework_client::callback::sign;
use wework_client::protocol::{HEADER_CALLBACK_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};

use crate::config::CallbackConfig;
use crate::faults::{Faults, roll};
use crate::stats::{Counters, bump};

/// One callback waiting for delivery. The drop/duplicate faults are rolled
/// when it is emitted, so a test that sets a fault, acts and clears it
/// knows which callbacks it hit.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub id: String,
    pub envelope: CallbackEnvelope,
    pub drop: bool,
    pub duplicate: bool,
}

impl Outgoing {
    pub fn new(envelope: CallbackEnvelope, faults: &RwLock<Faults>) -> Self {
        let faults = faults.read().unwrap_or_else(|e| e.into_inner());
        let mut rng = rand::thread_rng();
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            envelope,
            drop: roll(faults.drop_callback_rate, &mut rng),
            duplicate: roll(faults.duplicate_callback_rate, &mut rng),
        }
    }
}

/// A client's notify url, shared with its delivery task: each attempt reads
/// it, so callbacks not yet delivered go to a url set later.
pub(crate) type NotifyUrl = Arc<RwLock<Option<String>>>;

/// What every delivery task shares.
pub(crate) struct Delivery {
    pub token: String,
    pub http: reqwest::Client,
    pub config: CallbackConfig,
    pub stats: Arc<Counters>,
}

impl Delivery {
    /// Starts a client's delivery task; it ends when the sender is dropped.
    pub fn spawn(self: &Arc<Self>, url: NotifyUrl) -> (mpsc::UnboundedSender<Outgoing>, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                this.deliver(&url, item).await;
            }
        });
        (tx, task)
    }

    async fn deliver(&self, url: &NotifyUrl, item: Outgoing) {
        if read_url(url).is_none() {
            bump(&self.stats.callbacks_unroutable);
            return;
        }
        if item.drop {
            bump(&self.stats.callbacks_dropped);
            return;
        }
        let body = match serde_json::to_vec(&item.envelope) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "callback not serialisable");
                bump(&self.stats.callbacks_failed);
                return;
            }
        };
        self.post_with_retries(url, &item.id, &body).await;
        if item.duplicate {
            bump(&self.stats.callbacks_duplicated);
            self.post_with_retries(url, &item.id, &body).await;
        }
    }

    async fn post_with_retries(&self, url: &NotifyUrl, id: &str, body: &[u8]) {
        for attempt in 0..self.config.max_attempts.max(1) {
            if attempt > 0 {
                bump(&self.stats.callbacks_retried);
                tokio::time::sleep(backoff(&self.config, attempt - 1)).await;
            }
            let Some(url) = read_url(url) else { break };
            let timestamp = chrono::Utc::now().timestamp();
            let request = self
                .http
                .post(url)
                .timeout(self.config.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(HEADER_TIMESTAMP, timestamp.to_string())
                .header(HEADER_SIGNATURE, sign(self.token.as_bytes(), timestamp, body))
                .header(HEADER_CALLBACK_ID, id)
                .body(body.to_vec());
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    bump(&self.stats.callbacks_sent);
                    return;
                }
                Ok(response) => tracing::debug!(status = %response.status(), attempt, "callback refused"),
                Err(error) => tracing::debug!(timeout = error.is_timeout(), attempt, "callback transport error"),
            }
        }
        tracing::warn!(callback_id = id, "callback given up");
        bump(&self.stats.callbacks_failed);
    }
}

fn read_url(url: &NotifyUrl) -> Option<String> {
    url.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Backoff before retry number `retry` (0-based): base · 2^retry, capped.
pub(crate) fn backoff(config: &CallbackConfig, retry: u32) -> Duration {
    config.backoff_base.saturating_mul(1u32 << retry.min(16)).min(config.backoff_max)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let config = CallbackConfig { backoff_base: Duration::from_millis(50), ..CallbackConfig::default() };
        assert_eq!(backoff(&config, 0), Duration::from_millis(50));
        assert_eq!(backoff(&config, 2), Duration::from_millis(200));
        assert_eq!(backoff(&config, 30), config.backoff_max);
    }
}
