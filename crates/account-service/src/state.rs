//! Everything handlers and the watchdog share: database, cache, clock,
//! verifier, secret box, the services and instances it calls, the event
//! publisher and the audit recorder. Built once by [`crate::build`]; cheap to clone.

use std::sync::Arc;

use wework_kit::audit::AuditRecorder;
use wework_kit::auth::Authenticator;
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::db::Db;
use wework_kit::events::EventPublisher;

use crate::error::{Error, Result};
use crate::integrations::{AccountQuota, Providers};
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cache: Cache,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub authn: Arc<Authenticator>,
    /// Seals instance tokens and proxy passwords at rest.
    pub secrets: SecretBox,
    pub quota: AccountQuota,
    pub providers: Providers,
    /// `None` without a task service: status events stay in the outbox.
    pub events: Option<Arc<EventPublisher>>,
    pub audit: AuditRecorder,
}

impl AppState {
    pub fn seal(&self, plaintext: &str) -> String {
        self.secrets.encrypt(plaintext.as_bytes())
    }

    pub fn open(&self, sealed: &str) -> Result<String> {
        let bytes = self.secrets.decrypt(sealed).map_err(|e| Error::Internal(anyhow::anyhow!("sealed secret: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::Internal(e.into()))
    }
}
