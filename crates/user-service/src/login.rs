//! Password login, refresh-token rotation with reuse detection, and token
//! issuance. The rules (lockout schedule, TOTP, token formats) live in
//! `domain`; this module sequences them against the store.
//!
//! Timing: an unknown tenant, an unknown user, a locked user and a wrong
//! password all cost one argon2 verification and end in the same
//! `Unauthenticated`, so a caller cannot tell them apart.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use wework_kit::auth::claims::AccessClaims;

use crate::domain::{lockout, signing, tokens, totp};
use crate::error::{Error, Result};
use crate::grpc::context::RequestMeta;
use crate::hashing;
use crate::state::AppState;
use crate::store;

/// What a caller presents to log in.
pub struct Credentials {
    pub tenant_code: String,
    pub login: String,
    pub password: SecretString,
    pub totp_code: Option<String>,
    pub device: Option<String>,
}

/// Tokens handed to a client after login or refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub session_id: String,
    pub user_id: String,
    pub tenant_id: String,
}

/// Reason codes in `ErrorInfo` that clients act on.
pub const TOTP_REQUIRED: &str = "TOTP_REQUIRED";
pub const TENANT_SUSPENDED: &str = "TENANT_SUSPENDED";
pub const USER_DISABLED: &str = "USER_DISABLED";

pub async fn login(state: &AppState, creds: Credentials, meta: &RequestMeta) -> Result<IssuedTokens> {
    let now = state.clock.now();
    let conn = state.db.writer();
    let tenant = store::find_tenant_by_code(conn, creds.tenant_code.trim()).await?.filter(store::tenant_not_deleted);
    let user = match &tenant {
        Some(t) => store::find_user_for_login(conn, &t.id, creds.login.trim()).await?,
        None => None,
    };
    let (Some(tenant), Some(user)) = (tenant, user) else {
        hashing::dummy_verify(creds.password).await?;
        return Err(Error::Unauthenticated);
    };
    if lockout::is_locked(user.locked_until, now) {
        hashing::dummy_verify(creds.password).await?;
        audit_login(state, &user.tenant_id, &user.id, meta, "locked").await;
        return Err(Error::Unauthenticated);
    }
    if !hashing::verify(user.password_hash.clone(), creds.password).await? {
        record_failure(state, &user.tenant_id, &user.id, now).await?;
        audit_login(state, &user.tenant_id, &user.id, meta, "bad_password").await;
        return Err(Error::Unauthenticated);
    }
    // The password is right: from here on the caller may learn why they can't log in.
    if !store::tenant_is_active(&tenant) {
        return Err(Error::precondition(TENANT_SUSPENDED, "tenant is suspended"));
    }
    if !store::user_is_active(&user) {
        return Err(Error::precondition(USER_DISABLED, "user is disabled"));
    }
    if user.two_factor_enabled {
        let Some(code) = creds.totp_code.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Err(Error::precondition(TOTP_REQUIRED, "a two-factor code is required"));
        };
        if !check_totp(state, &user, code, now).await? {
            record_failure(state, &user.tenant_id, &user.id, now).await?;
            audit_login(state, &user.tenant_id, &user.id, meta, "bad_totp").await;
            return Err(Error::Unauthenticated);
        }
    }
    store::record_login_success(conn, &user.tenant_id, &user.id, meta.ip.as_deref(), now).await?;
    let tokens = open_session(state, &user.tenant_id, &user.id, creds.device, meta, now).await?;
    crate::grpc::audit::record(
        state,
        crate::grpc::audit::Entry::by_user(&user.tenant_id, &user.id, "auth.login", "session", &tokens.session_id),
        meta,
    )
    .await;
    Ok(tokens)
}

async fn record_failure(state: &AppState, tenant_id: &str, user_id: &str, now: DateTime<Utc>) -> Result<()> {
    let txn = state.db.writer().begin().await?;
    let failures = store::increment_failed_logins(&txn, tenant_id, user_id).await?;
    if let Some(lock) = lockout::lock_duration(failures) {
        store::set_locked_until(&txn, tenant_id, user_id, Some(now + lock)).await?;
    }
    txn.commit().await?;
    state.cache.invalidate(&[crate::grpc::users::cache_key(tenant_id, user_id)]).await;
    Ok(())
}

async fn audit_login(state: &AppState, tenant_id: &str, user_id: &str, meta: &RequestMeta, why: &str) {
    let mut entry = crate::grpc::audit::Entry::by_user(tenant_id, user_id, "auth.login", "user", user_id);
    entry.failure = Some(why.to_owned());
    crate::grpc::audit::record(state, entry, meta).await;
}

async fn check_totp(state: &AppState, user: &store::UserModel, code: &str, now: DateTime<Utc>) -> Result<bool> {
    let Some(sealed) = user.two_factor_secret.as_deref() else { return Ok(false) };
    let secret = state.open_totp_secret(sealed)?;
    let Some(step) = totp::verify(&secret, code.trim(), now, user.two_factor_last_step) else { return Ok(false) };
    // Conditional on the last step, so a code replayed concurrently is accepted once.
    Ok(store::set_two_factor_last_step(state.db.writer(), &user.tenant_id, &user.id, step).await?)
}

async fn open_session(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
    device: Option<String>,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<IssuedTokens> {
    let ttl = &state.settings.tokens;
    let session_id = uuid::Uuid::now_v7().to_string();
    let (refresh_token, refresh_hash) = tokens::new_refresh_token(&session_id);
    let refresh_expires_at = now + Duration::seconds(ttl.refresh_ttl_secs);
    let access = sign_access(state, tenant_id, user_id, &session_id, now).await?;
    store::insert_session(
        state.db.writer(),
        store::NewSession {
            id: session_id.clone(),
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
            refresh_token_hash: refresh_hash,
            access_token_hash: Some(tokens::hash_access_token(&access.0)),
            device,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            created_at: now,
            expires_at: refresh_expires_at,
        },
    )
    .await?;
    Ok(IssuedTokens {
        access_token: access.0,
        access_expires_at: access.1,
        refresh_token,
        refresh_expires_at,
        session_id,
        user_id: user_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
    })
}

/// Signs an access token carrying the user's current roles and permissions.
async fn sign_access(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>)> {
    let conn = state.db.reader();
    let roles = store::active_roles_of_user(conn, tenant_id, user_id, now).await?;
    let perms = store::effective_permissions(conn, tenant_id, user_id, now).await?;
    let exp = now + Duration::seconds(state.settings.tokens.access_ttl_secs);
    let claims = AccessClaims {
        iss: state.settings.auth.issuer.clone(),
        aud: state.settings.auth.audience.clone(),
        sub: user_id.to_owned(),
        tid: tenant_id.to_owned(),
        sid: session_id.to_owned(),
        roles: roles.into_iter().map(|(_, name)| name).collect(),
        perms,
        jti: uuid::Uuid::now_v7().to_string(),
        iat: now.timestamp(),
        exp: exp.timestamp(),
    };
    let key = state.keys.active().await;
    let token = signing::issue_access_token(&key, &claims).map_err(|e| Error::Internal(e.into()))?;
    Ok((token, exp))
}

/// Rotates a refresh token. The token just replaced stays usable for the
/// grace window (one retry after a lost response); any older or replayed
/// token revokes the whole session (RFC 9700 reuse detection).
pub async fn refresh(state: &AppState, presented: &str, meta: &RequestMeta) -> Result<IssuedTokens> {
    let now = state.clock.now();
    let (session_id, hash) = tokens::parse_refresh_token(presented.trim()).ok_or(Error::Unauthenticated)?;
    let conn = state.db.writer();
    let session = store::find_session(conn, &session_id).await?.ok_or(Error::Unauthenticated)?;
    if session.revoked_at.is_some() || session.expires_at <= now {
        return Err(Error::Unauthenticated);
    }
    let grace = Duration::seconds(state.settings.tokens.refresh_grace_secs);
    let current = session.refresh_token_hash == hash;
    let within_grace = session.previous_refresh_hash.as_deref() == Some(hash.as_str())
        && session.rotated_at.is_some_and(|at| now - at <= grace);
    if !current && !within_grace {
        store::revoke_session(conn, &session.tenant_id, &session.id, "refresh_token_reuse", now).await?;
        state.forget_sessions(std::slice::from_ref(&session.id)).await;
        let mut entry = crate::grpc::audit::Entry::by_user(
            &session.tenant_id,
            &session.user_id,
            "auth.refresh_reuse",
            "session",
            &session.id,
        );
        entry.failure = Some("refresh token reuse: session revoked".into());
        crate::grpc::audit::record(state, entry, meta).await;
        return Err(Error::Unauthenticated);
    }
    let user = store::find_user(conn, &session.tenant_id, &session.user_id).await?.ok_or(Error::Unauthenticated)?;
    let tenant = store::find_tenant(conn, &session.tenant_id).await?.ok_or(Error::Unauthenticated)?;
    if !store::user_is_active(&user) || !store::tenant_is_active(&tenant) {
        return Err(Error::Unauthenticated);
    }
    let (refresh_token, new_hash) = tokens::new_refresh_token(&session.id);
    let rotated = store::rotate_refresh(conn, &session.id, &session.refresh_token_hash, &new_hash, now).await?;
    if !rotated {
        // Another refresh of the same session won the race; this one is a replay.
        return Err(Error::Unauthenticated);
    }
    store::touch_session(conn, &session.id, now).await?;
    let access = sign_access(state, &session.tenant_id, &session.user_id, &session.id, now).await?;
    Ok(IssuedTokens {
        access_token: access.0,
        access_expires_at: access.1,
        refresh_token,
        refresh_expires_at: session.expires_at,
        session_id: session.id,
        user_id: session.user_id,
        tenant_id: session.tenant_id,
    })
}
