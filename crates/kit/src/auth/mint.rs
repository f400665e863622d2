//! Minting internal tokens (HS256, shared internal secret): service tokens for
//! service-to-service calls, and API-key tokens the gateway mints for callers
//! it authenticated by API key. See [`super::verify`] for the checking side.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use secrecy::{ExposeSecret, SecretString};

use super::claims::{INTERNAL_AUDIENCE, INTERNAL_ISSUER, InternalClaims, InternalKind};
use crate::clock::SharedClock;
use crate::grpc_client::BearerSource;

/// Mints (and caches) this service's token. Cheap to share (`Arc`).
pub struct ServiceTokenMinter {
    service: String,
    key: EncodingKey,
    ttl_secs: i64,
    clock: SharedClock,
    /// The current token and its expiry.
    current: Mutex<Option<(String, i64)>>,
}

impl std::fmt::Debug for ServiceTokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokenMinter").field("service", &self.service).field("ttl_secs", &self.ttl_secs).finish()
    }
}

impl ServiceTokenMinter {
    pub fn new(service: &str, internal_secret: &SecretString, ttl: Duration) -> Self {
        Self::with_clock(service, internal_secret, ttl, crate::clock::system())
    }

    pub fn with_clock(service: &str, internal_secret: &SecretString, ttl: Duration, clock: SharedClock) -> Self {
        Self {
            service: service.to_owned(),
            key: EncodingKey::from_secret(internal_secret.expose_secret().as_bytes()),
            ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(3_600).max(1),
            clock,
            current: Mutex::new(None),
        }
    }

    /// A platform-wide service token. Reused until less than a third of its
    /// life remains, so a token in flight never expires mid-call.
    pub fn mint(&self) -> String {
        let now = self.clock.now().timestamp();
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((token, exp)) = current.as_ref()
            && (exp - now) * 3 > self.ttl_secs
        {
            return token.clone();
        }
        let token = self.sign(InternalKind::Service, format!("service:{}", self.service), "", "", &[], self.ttl_secs);
        if !token.is_empty() {
            *current = Some((token.clone(), now + self.ttl_secs));
        }
        token
    }

    /// A token standing for an API-key caller of `tenant_id` (minted by the gateway).
    pub fn mint_for_api_key(
        &self,
        tenant_id: &str,
        user_id: &str,
        api_key_id: &str,
        permissions: &[String],
        ttl: Duration,
    ) -> String {
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(3_600).max(1);
        self.sign(InternalKind::ApiKey, format!("api_key:{api_key_id}"), tenant_id, user_id, permissions, ttl_secs)
    }

    /// Signing with an HMAC key cannot fail for these claims; should it ever,
    /// the error is logged and the token is empty (the call is then refused).
    fn sign(&self, kind: InternalKind, sub: String, tid: &str, uid: &str, perms: &[String], ttl_secs: i64) -> String {
        let iat = self.clock.now().timestamp();
        let claims = InternalClaims {
            iss: INTERNAL_ISSUER.to_owned(),
            aud: INTERNAL_AUDIENCE.to_owned(),
            sub,
            kind,
            svc: self.service.clone(),
            tid: tid.to_owned(),
            uid: uid.to_owned(),
            perms: perms.to_vec(),
            jti: uuid::Uuid::now_v7().to_string(),
            iat,
            exp: iat + ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.key).unwrap_or_else(|e| {
            tracing::error!(error = %e, "minting an internal token failed");
            String::new()
        })
    }
}

impl BearerSource for ServiceTokenMinter {
    fn bearer(&self) -> Option<String> {
        Some(self.mint()).filter(|t| !t.is_empty())
    }
}
