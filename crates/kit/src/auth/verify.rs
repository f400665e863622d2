//! Token verification. Every service checks tokens locally:
//! - user access tokens: EdDSA, signed by the user service, verified with its
//!   published keys (cached by `kid`);
//! - internal tokens (service-to-service, API-key callers via the gateway):
//!   HS256 with the shared internal secret, issuer [`INTERNAL_ISSUER`].
//!
//! The token's `alg` picks the path and each path accepts only its algorithm,
//! so a token can never be verified with the other kind's key. Every failure is
//! the same generic `UNAUTHENTICATED`; the token is never echoed or logged.
//! Expiry is checked against the injected clock, not the system time, so tests
//! drive it.
//!
//! Verified tokens are remembered (keyed by the whole token, bounded in size
//! and age), so a client's repeated calls cost one signature check, not one per
//! RPC; expiry is still checked on every hit.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tonic::Status;

use super::claims::{AccessClaims, INTERNAL_AUDIENCE, INTERNAL_ISSUER, InternalClaims, InternalKind};
use super::keys::{KeySource, RemoteKeySource};
use super::principal::{Principal, PrincipalKind};
use super::{AuthError, internal_secret};
use crate::clock::SharedClock;
use crate::errors::unauthenticated;
use crate::settings::AuthSettings;

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: i64 = 30;
/// Unknown `kid`s trigger a refetch at most this often, so garbage tokens
/// cannot flood the user service.
const MIN_REFETCH_GAP_SECS: i64 = 5;
/// Longer bearer values are refused before any parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<DateTime<Utc>>,
    attempted_at: Option<DateTime<Utc>>,
    last_fetch_failed: bool,
}

/// Verifies bearer tokens into [`Principal`]s. Share one per process (`Arc`).
pub struct Authenticator {
    issuer: String,
    audience: String,
    internal_key: DecodingKey,
    source: Arc<dyn KeySource>,
    clock: SharedClock,
    refresh_every: chrono::Duration,
    cache: RwLock<KeyCache>,
    /// Serialises refetches, so concurrent misses cause one call.
    refetch: tokio::sync::Mutex<()>,
    verified: moka::sync::Cache<String, Arc<Verified>>,
}

/// A token whose signature and claims were checked; `exp` is re-checked on use.
struct Verified {
    principal: Principal,
    exp: i64,
}

/// Verified tokens kept; a token is at most ~1 KiB, so this bounds memory to a few MiB.
const VERIFIED_CAPACITY: u64 = 10_000;
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("issuer", &self.issuer).field("audience", &self.audience).finish()
    }
}

impl Authenticator {
    pub fn new(
        settings: &AuthSettings,
        internal_secret: &SecretString,
        source: Arc<dyn KeySource>,
        clock: SharedClock,
    ) -> Self {
        let refresh_secs = i64::try_from(settings.jwks_refresh_secs).unwrap_or(i64::MAX / 1_000).max(1);
        Self {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            internal_key: DecodingKey::from_secret(internal_secret.expose_secret().as_bytes()),
            source,
            clock,
            refresh_every: chrono::Duration::seconds(refresh_secs),
            cache: RwLock::default(),
            refetch: tokio::sync::Mutex::new(()),
            verified: moka::sync::Cache::builder().max_capacity(VERIFIED_CAPACITY).time_to_live(VERIFIED_TTL).build(),
        }
    }

    /// Keys from the user service, internal secret from settings or the data dir.
    /// Must be called inside a Tokio runtime.
    pub fn from_settings(settings: &AuthSettings, clock: SharedClock) -> Result<Self, AuthError> {
        let secret = internal_secret(settings)?;
        let source = Arc::new(RemoteKeySource::new(settings)?);
        Ok(Self::new(settings, &secret, source, clock))
    }

    /// The principal behind the request's `authorization: Bearer …` header.
    pub async fn authenticate<T>(&self, req: &tonic::Request<T>) -> Result<Principal, Status> {
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(unauthenticated)?;
        let token = strip_bearer(header).ok_or_else(unauthenticated)?;
        self.authenticate_token(token).await
    }

    /// Verifies a raw token (e.g. from an HTTP header at the gateway).
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal, Status> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(unauthenticated());
        }
        if let Some(hit) = self.verified.get(token) {
            self.check_exp(hit.exp)?;
            return Ok(hit.principal.clone());
        }
        let header = decode_header(token).map_err(|_| unauthenticated())?;
        let verified = match header.alg {
            Algorithm::HS256 => self.verify_internal(token)?,
            Algorithm::EdDSA => {
                let kid = header.kid.ok_or_else(unauthenticated)?;
                let key = self.key_for(&kid).await?;
                self.verify_user(token, &key)?
            }
            _ => return Err(unauthenticated()),
        };
        let principal = verified.principal.clone();
        self.verified.insert(token.to_owned(), Arc::new(verified));
        Ok(principal)
    }

    /// Makes newly published keys usable at once (the user service calls it
    /// after rotating its own key).
    pub async fn reload_keys(&self) {
        let _refetching = self.refetch.lock().await;
        self.refetch_keys().await;
    }

    fn verify_user(&self, token: &str, key: &DecodingKey) -> Result<Verified, Status> {
        let claims: AccessClaims = self.decode(token, key, Algorithm::EdDSA, &self.issuer, &self.audience)?;
        self.check_exp(claims.exp)?;
        let exp = claims.exp;
        let principal = Principal {
            kind: PrincipalKind::User,
            tenant_id: claims.tid,
            user_id: Some(claims.sub),
            roles: claims.roles,
            permissions: claims.perms,
            session_id: Some(claims.sid),
            service: None,
            api_key_id: None,
        };
        Ok(Verified { principal, exp })
    }

    fn verify_internal(&self, token: &str) -> Result<Verified, Status> {
        let claims: InternalClaims =
            self.decode(token, &self.internal_key, Algorithm::HS256, INTERNAL_ISSUER, INTERNAL_AUDIENCE)?;
        self.check_exp(claims.exp)?;
        let exp = claims.exp;
        let principal = match claims.kind {
            InternalKind::Service => Principal::service(&claims.svc, &claims.tid),
            InternalKind::ApiKey => {
                if claims.tid.is_empty() {
                    return Err(unauthenticated());
                }
                let api_key_id = claims.sub.strip_prefix("api_key:").unwrap_or(&claims.sub).to_owned();
                Principal {
                    kind: PrincipalKind::ApiKey,
                    tenant_id: claims.tid,
                    user_id: (!claims.uid.is_empty()).then_some(claims.uid),
                    roles: Vec::new(),
                    permissions: claims.perms,
                    session_id: None,
                    service: Some(claims.svc),
                    api_key_id: Some(api_key_id),
                }
            }
        };
        Ok(Verified { principal, exp })
    }

    fn decode<C: DeserializeOwned>(
        &self,
        token: &str,
        key: &DecodingKey,
        alg: Algorithm,
        issuer: &str,
        audience: &str,
    ) -> Result<C, Status> {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // Expiry is checked against the injected clock instead (see check_exp).
        validation.validate_exp = false;
        decode::<C>(token, key, &validation).map(|data| data.claims).map_err(|_| unauthenticated())
    }

    fn check_exp(&self, exp: i64) -> Result<(), Status> {
        if self.clock.now().timestamp() > exp.saturating_add(LEEWAY_SECS) {
            return Err(unauthenticated());
        }
        Ok(())
    }

    /// The key for `kid`: cached, refetched when the cache is older than the
    /// refresh interval, or at once (rate-limited) when `kid` is unknown.
    async fn key_for(&self, kid: &str) -> Result<DecodingKey, Status> {
        if let Some(key) = self.cached_key(kid, true) {
            return Ok(key);
        }
        let _refetching = self.refetch.lock().await;
        // Another caller may have refetched while we waited.
        if let Some(key) = self.cached_key(kid, true) {
            return Ok(key);
        }
        if self.may_refetch() {
            self.refetch_keys().await;
        }
        if let Some(key) = self.cached_key(kid, false) {
            return Ok(key);
        }
        let failed = self.cache.read().unwrap_or_else(PoisonError::into_inner).last_fetch_failed;
        if failed { Err(Status::unavailable("signing keys unavailable, retry")) } else { Err(unauthenticated()) }
    }

    fn cached_key(&self, kid: &str, require_fresh: bool) -> Option<DecodingKey> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let fresh = cache.fetched_at.is_some_and(|at| self.clock.now() - at < self.refresh_every);
        if require_fresh && !fresh {
            return None;
        }
        cache.keys.get(kid).cloned()
    }

    fn may_refetch(&self) -> bool {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        cache.attempted_at.is_none_or(|at| self.clock.now() - at >= chrono::Duration::seconds(MIN_REFETCH_GAP_SECS))
    }

    async fn refetch_keys(&self) {
        let now = self.clock.now();
        self.cache.write().unwrap_or_else(PoisonError::into_inner).attempted_at = Some(now);
        let fetched = self.source.signing_keys().await;
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        match fetched {
            Ok(jwks) => {
                let mut keys = HashMap::with_capacity(jwks.len());
                for jwk in jwks {
                    match DecodingKey::from_ed_components(&jwk.x) {
                        Ok(key) => {
                            keys.insert(jwk.kid, key);
                        }
                        Err(_) => tracing::warn!(kid = %jwk.kid, "published signing key is malformed; skipped"),
                    }
                }
                cache.keys = keys;
                cache.fetched_at = Some(now);
                cache.last_fetch_failed = false;
            }
            Err(e) => {
                // Keep the previous keys: tokens they signed are still valid.
                tracing::warn!(error = %e, "fetching signing keys failed");
                cache.last_fetch_failed = true;
            }
        }
    }
}

fn strip_bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
