//! Everything a handler and the worker share: database, cache, clock,
//! verifier, secret box, rate limiter, live events, the audit recorder, and
//! the built-in `platform` business system. Built once by [`crate::build`]; cheap to clone.

use std::sync::Arc;

use tokio::sync::Notify;
use wework_kit::audit::AuditRecorder;
use wework_kit::auth::Authenticator;
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::db::Db;
use wework_kit::events::LiveEvents;

use crate::delivery::SigningSecret;
use crate::error::{Error, Result};
use crate::ratelimit::RateLimiter;
use crate::settings::Settings;
use crate::store::entity::business_system;
use crate::store::{self, entity::endpoint};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cache: Cache,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub authn: Arc<Authenticator>,
    pub secrets: SecretBox,
    pub limiter: Arc<RateLimiter>,
    pub live: LiveEvents,
    /// Audit rows of management calls, sent to the user service in the
    /// background (a caller never waits for them).
    pub audit: AuditRecorder,
    /// Group commit of task creation (see [`crate::inserter`]).
    pub inserter: crate::inserter::TaskInserter,
    /// Woken by every create in this replica, so a due-now task does not
    /// wait for the worker's idle poll.
    pub wake: Arc<Notify>,
    /// The built-in system that service principals act as.
    pub platform: Arc<business_system::Model>,
}

impl AppState {
    /// The business system behind an `x-api-key`, cached briefly; updates
    /// and rotations invalidate it.
    pub async fn business_by_api_key(&self, api_key: &str) -> Result<Option<business_system::Model>> {
        let db = self.db.clone();
        let key = api_key.to_owned();
        self.cache
            .get_or_load(&business_cache_key(api_key), None, || async move {
                Ok::<_, Error>(store::find_business_by_api_key(db.reader(), &key).await?)
            })
            .await
    }

    /// A business system by id (the worker's view), cached like the above.
    pub async fn business_by_id(&self, id: &str) -> Result<Option<business_system::Model>> {
        let db = self.db.clone();
        let key = id.to_owned();
        self.cache
            .get_or_load(&format!("business:id:{id}"), None, || async move {
                Ok::<_, Error>(store::find_business_system(db.reader(), &key).await?)
            })
            .await
    }

    /// Must follow every write to a business system.
    pub async fn forget_business(&self, system: &business_system::Model) {
        self.cache.invalidate(&[business_cache_key(&system.api_key), format!("business:id:{}", system.id)]).await;
    }

    /// An endpoint by id (the worker's view: unscoped), cached; every
    /// endpoint write invalidates it.
    pub async fn endpoint_by_id(&self, id: &str) -> Result<Option<endpoint::Model>> {
        let db = self.db.clone();
        let key = id.to_owned();
        self.cache
            .get_or_load(&endpoint_cache_key(id), None, || async move {
                Ok::<_, Error>(store::find_endpoint(db.reader(), &key, None).await?)
            })
            .await
    }

    /// Must follow every write to an endpoint.
    pub async fn forget_endpoint(&self, id: &str) {
        self.cache.invalidate(&[endpoint_cache_key(id)]).await;
    }

    /// Seals a signing secret for storage.
    pub fn seal(&self, secret: &SigningSecret) -> String {
        seal_signing_secret(&self.secrets, secret)
    }

    /// Opens a sealed signing secret.
    pub fn open(&self, sealed: &str) -> Result<SigningSecret> {
        let bytes =
            self.secrets.decrypt(sealed).map_err(|e| Error::Internal(anyhow::anyhow!("signing secret: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Internal(e.into()))?;
        SigningSecret::parse_whsec(&text).map_err(|e| Error::Internal(anyhow::anyhow!("signing secret: {e}")))
    }

    /// The secrets a delivery signs with: the current one, plus the previous
    /// one while its rotation overlap lasts.
    pub fn signing_secrets(
        &self,
        current: &str,
        previous: Option<&str>,
        previous_until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<SigningSecret>> {
        let mut out = vec![self.open(current)?];
        if let (Some(prev), Some(until)) = (previous, previous_until)
            && until > self.clock.now()
        {
            out.push(self.open(prev)?);
        }
        Ok(out)
    }

    /// Secrets of an endpoint (see [`Self::signing_secrets`]).
    pub fn endpoint_secrets(&self, e: &endpoint::Model) -> Result<Vec<SigningSecret>> {
        self.signing_secrets(&e.signing_secret, e.previous_signing_secret.as_deref(), e.previous_secret_until)
    }
}

fn endpoint_cache_key(id: &str) -> String {
    format!("endpoint:{id}")
}

fn business_cache_key(api_key: &str) -> String {
    format!("business:key:{api_key}")
}

/// How a signing secret is stored (sealed `whsec_` text); also used at
/// start-up, before an `AppState` exists.
pub fn seal_signing_secret(secrets: &SecretBox, secret: &SigningSecret) -> String {
    secrets.encrypt(secret.to_whsec().as_bytes())
}
