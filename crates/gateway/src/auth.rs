//! Who is calling. A user's access token is verified here (so a bad one is
//! refused before any service is bothered, and rate limits know the
//! principal) and then passed through unchanged: the services verify it
//! again and take the tenant from it. An API key is exchanged once with the
//! user service for the principal it stands for, and the gateway calls the
//! services with a short-lived token minted for that principal. Internal
//! tokens (service or API-key tokens) are never accepted from outside, so a
//! client can only ever act as the user or key it authenticated as.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use wework_kit::auth::{Authenticator, Principal, PrincipalKind, ServiceTokenMinter};
use wework_kit::events::{API_KEY_REVOKED, EventStream, LiveEvents};
use wework_kit::grpc_client::{ServiceChannel, intercepted, lazy_channel};
use wework_proto::user::AuthenticateApiKeyRequest;
use wework_proto::user::auth_service_client::AuthServiceClient;

use crate::problem::Problem;
use crate::settings::{SERVICE_NAME, Settings};

pub const API_KEY_HEADER: &str = "x-api-key";
/// Longest credential looked at; anything longer is refused unread.
const MAX_CREDENTIAL_LEN: usize = 8 * 1024;

/// An authenticated caller and the credentials the services will see.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The `authorization` value sent to the services.
    pub authorization: String,
    /// Rate-limit bucket: the user, or the API key.
    pub bucket: String,
}

/// An API key's principal and the token minted for it.
#[derive(Debug)]
struct KeyGrant {
    principal: Principal,
    token: String,
}

type GrantCache = moka::future::Cache<[u8; 32], Arc<KeyGrant>>;

pub struct Auth {
    authn: Arc<Authenticator>,
    users: AuthServiceClient<ServiceChannel>,
    minter: Arc<ServiceTokenMinter>,
    /// sha256(key) → grant, for `api_key_cache_secs` (never the raw key).
    keys: GrantCache,
    token_ttl: Duration,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("cached_keys", &self.keys.entry_count()).finish()
    }
}

impl Auth {
    /// Must be called inside a Tokio runtime.
    pub fn new(settings: &Settings, authn: Arc<Authenticator>) -> anyhow::Result<Self> {
        let minter = Arc::new(ServiceTokenMinter::new(
            SERVICE_NAME,
            &wework_kit::auth::internal_secret(&settings.auth)?,
            Duration::from_secs(settings.auth.service_token_ttl_secs),
        ));
        let timeout = Duration::from_millis(settings.gateway.connect_timeout_ms);
        let channel = lazy_channel(&settings.auth.user_service_url, timeout, Duration::from_secs(5))?;
        let users = AuthServiceClient::new(intercepted(channel, Some(minter.clone())));
        let keys = moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(settings.gateway.api_key_cache_secs))
            .build();
        Ok(Self { authn, users, minter, keys, token_ttl: Duration::from_secs(settings.gateway.api_key_token_ttl_secs) })
    }

    /// The caller behind `Authorization: Bearer …` or `X-Api-Key`; `token`
    /// is a bearer token from elsewhere (the event stream's query string).
    pub async fn authenticate(&self, headers: &HeaderMap, token: Option<&str>) -> Result<Caller, Problem> {
        if let Some(key) = header(headers, API_KEY_HEADER) {
            return self.api_key(key).await;
        }
        let bearer = match header(headers, "authorization") {
            Some(value) => strip_bearer(value).ok_or_else(Problem::unauthenticated)?,
            None => token.ok_or_else(Problem::unauthenticated)?,
        };
        if bearer.len() > MAX_CREDENTIAL_LEN {
            return Err(Problem::unauthenticated());
        }
        let principal = self.authn.authenticate_token(bearer).await.map_err(|s| auth_problem(&s))?;
        if principal.kind != PrincipalKind::User {
            // Internal tokens stay inside the platform.
            return Err(Problem::unauthenticated());
        }
        let bucket = format!("user:{}", principal.user_id.as_deref().unwrap_or_default());
        Ok(Caller { principal, authorization: format!("Bearer {bearer}"), bucket })
    }

    async fn api_key(&self, key: &str) -> Result<Caller, Problem> {
        if key.is_empty() || key.len() > MAX_CREDENTIAL_LEN {
            return Err(Problem::unauthenticated());
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let grant = self
            .keys
            .try_get_with(digest, self.exchange(key))
            .await
            .map_err(|status: Arc<tonic::Status>| auth_problem(&status))?;
        let bucket = format!("api_key:{}", grant.principal.api_key_id.as_deref().unwrap_or_default());
        Ok(Caller { principal: grant.principal.clone(), authorization: format!("Bearer {}", grant.token), bucket })
    }

    /// Drops a remembered API key as soon as the user service announces its
    /// revocation, instead of up to `api_key_cache_secs` later. When the
    /// notices stop (Redis lost), every remembered key is forgotten once — a
    /// revocation may have been missed — and the listener subscribes again.
    pub fn forget_revoked_keys(&self, notices: LiveEvents, stop: CancellationToken) {
        let keys = self.keys.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while !stop.is_cancelled() {
                match notices.subscribe(API_KEY_REVOKED).await {
                    Ok(revoked) => {
                        backoff = Duration::from_millis(100);
                        if forget_while_listening(&keys, revoked, &stop).await {
                            tracing::warn!("API key revocation notices lost; forgetting every remembered key");
                            keys.invalidate_all();
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "API key revocation notices unavailable; retrying"),
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
    }

    async fn exchange(&self, key: &str) -> Result<Arc<KeyGrant>, tonic::Status> {
        let request = AuthenticateApiKeyRequest { api_key: key.to_owned() };
        let found = self.users.clone().authenticate_api_key(request).await?.into_inner();
        let token = self.minter.mint_for_api_key(
            &found.tenant_id,
            &found.user_id,
            &found.api_key_id,
            &found.permissions,
            self.token_ttl,
        );
        if token.is_empty() {
            return Err(tonic::Status::internal("minting an API-key token failed"));
        }
        let principal = self.authn.authenticate_token(&token).await?;
        Ok(Arc::new(KeyGrant { principal, token }))
    }
}

/// Drops each announced key until the notices end (true) or `stop` (false).
async fn forget_while_listening(keys: &GrantCache, mut revoked: EventStream, stop: &CancellationToken) -> bool {
    loop {
        let notice = tokio::select! {
            () = stop.cancelled() => return false,
            notice = revoked.next() => notice,
        };
        let Some(notice) = notice else { return true };
        if let Some(digest) = digest_from_hex(&notice.subject) {
            keys.invalidate(&digest).await;
        }
    }
}

/// A key's sha256 as the user service announces it (hex) → the cache key.
fn digest_from_hex(hex_digest: &str) -> Option<[u8; 32]> {
    hex::decode(hex_digest).ok()?.try_into().ok()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn strip_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// Bad credentials are 401 whatever the reason; an unreachable user service is 503.
fn auth_problem(status: &tonic::Status) -> Problem {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Internal | Code::Unknown => {
            Problem::from_status(status)
        }
        // A suspended tenant or disabled user says so.
        Code::FailedPrecondition => Problem::from_status(status),
        // The gateway is not trusted as a service: a deployment fault, not the caller's.
        Code::PermissionDenied => Problem::from_status(&tonic::Status::internal(status.message().to_owned())),
        _ => Problem::unauthenticated(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(strip_bearer("Bearer abc"), Some("abc"));
        assert_eq!(strip_bearer("bearer  abc "), Some("abc"));
        assert_eq!(strip_bearer("Basic abc"), None);
        assert_eq!(strip_bearer("Bearer "), None);
        assert_eq!(strip_bearer("Bearer"), None);
    }

    #[test]
    fn a_revocation_notice_names_the_cache_key() {
        let digest: [u8; 32] = Sha256::digest(b"wk_key").into();
        assert_eq!(digest_from_hex(&hex::encode(digest)), Some(digest));
        assert_eq!(digest_from_hex("not hex"), None);
        assert_eq!(digest_from_hex("abcd"), None, "too short");
    }
}
