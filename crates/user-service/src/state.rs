//! Everything a handler shares: database, cache, clock, keys, verifier, and
//! the clients of the services it calls.
//! Built once by [`crate::build`] and cloned (cheaply) into every service.

use std::sync::Arc;

use tonic::Request;
use wework_kit::auth::{Authenticator, PrincipalKind};
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::db::Db;

use crate::error::{Error, Result};
use crate::grpc::context::{Call, RequestMeta};
use crate::keyring::KeyRing;
use crate::settings::Settings;
use crate::store;
use crate::webhooks::TenantWebhooks;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cache: Cache,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyRing>,
    pub authn: Arc<Authenticator>,
    pub secrets: SecretBox,
    /// Keeps tenants' `webhook_url` in the task center.
    pub webhooks: TenantWebhooks,
    /// Platform notices (revoked API keys) for the gateways' caches.
    pub notices: wework_kit::events::LiveEvents,
}

impl AppState {
    /// Authenticates a call. For user tokens the session must still be live:
    /// logout and revocation take effect here at once, while other services
    /// honour the token until it expires (15 minutes).
    pub async fn call<T>(&self, req: &Request<T>) -> Result<Call> {
        let principal = self.authn.authenticate(req).await.map_err(|_| Error::Unauthenticated)?;
        if principal.kind == PrincipalKind::User {
            let sid = principal.session_id.clone().unwrap_or_default();
            if !self.session_live(&sid).await? {
                return Err(Error::Unauthenticated);
            }
        }
        Ok(Call { principal, meta: RequestMeta::from_request(req) })
    }

    async fn session_live(&self, session_id: &str) -> Result<bool> {
        let now = self.clock.now();
        let db = self.db.clone();
        let sid = session_id.to_owned();
        let key = session_cache_key(session_id);
        let expires_at: Option<i64> = self
            .cache
            .get_or_load(&key, None, || async move {
                let row = store::find_session(db.reader(), &sid).await?;
                Ok::<_, Error>(row.filter(|s| s.revoked_at.is_none()).map(|s| s.expires_at.timestamp()))
            })
            .await?;
        Ok(expires_at.is_some_and(|exp| exp > now.timestamp()))
    }

    /// The base32 TOTP secret of a user, decrypted from its sealed column.
    pub fn open_totp_secret(&self, sealed: &str) -> Result<String> {
        let bytes = self.secrets.decrypt(sealed).map_err(|e| Error::Internal(anyhow::anyhow!("totp secret: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::Internal(e.into()))
    }

    /// Must follow every write that revokes a session.
    pub async fn forget_sessions(&self, session_ids: &[String]) {
        let keys: Vec<String> = session_ids.iter().map(|s| session_cache_key(s)).collect();
        self.cache.invalidate(&keys).await;
    }
}

pub fn session_cache_key(session_id: &str) -> String {
    format!("session:{session_id}")
}
