//! AuthService: login, refresh, logout, sessions, two-factor, signing keys
//! and API-key authentication. Login and refresh flows live in
//! [`crate::login`]; this module adapts them to the wire.

use sea_orm::TransactionTrait;
use secrecy::SecretString;
use tonic::{Request, Response, Status};
use wework_kit::auth::PrincipalKind;
use wework_proto::common::PrincipalKind as PbKind;
use wework_proto::user::{self as pb, auth_service_server::AuthService};

use super::audit::{self, Entry};
use super::context::RequestMeta;
use super::convert::{non_empty, ts};
use super::{Api, handle};
use crate::domain::{tokens, totp};
use crate::error::{Error, Result};
use crate::login::{self, Credentials, IssuedTokens};
use crate::store;

fn token_pair(t: &IssuedTokens) -> pb::TokenPair {
    pb::TokenPair {
        access_token: t.access_token.clone(),
        access_expires_at: Some(ts(t.access_expires_at)),
        refresh_token: t.refresh_token.clone(),
        refresh_expires_at: Some(ts(t.refresh_expires_at)),
        token_type: "Bearer".into(),
        session_id: t.session_id.clone(),
    }
}

fn session_to_proto(s: store::SessionModel, current: &str) -> pb::Session {
    pb::Session {
        current: s.id == current,
        id: s.id,
        user_id: s.user_id,
        device: s.device.unwrap_or_default(),
        ip: s.ip.unwrap_or_default(),
        user_agent: s.user_agent.unwrap_or_default(),
        created_at: Some(ts(s.created_at)),
        last_activity_at: Some(ts(s.last_activity_at)),
        expires_at: Some(ts(s.expires_at)),
    }
}

/// Login carries the end user's address in the body when it comes through
/// the gateway; fall back to the connection's metadata.
fn login_meta(base: RequestMeta, ip: &str, user_agent: &str) -> RequestMeta {
    RequestMeta {
        ip: non_empty(ip).map(str::to_owned).or(base.ip),
        user_agent: non_empty(user_agent).map(str::to_owned).or(base.user_agent),
        request_id: base.request_id,
    }
}

#[tonic::async_trait]
impl AuthService for Api {
    async fn login(&self, req: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        handle!(async {
            let base = RequestMeta::from_request(&req);
            let r = req.into_inner();
            let mut errors = Vec::new();
            if r.tenant_code.trim().is_empty() {
                errors.push(crate::domain::FieldError::new("tenant_code", "required"));
            }
            if r.login.trim().is_empty() {
                errors.push(crate::domain::FieldError::new("login", "required"));
            }
            if r.password.is_empty() {
                errors.push(crate::domain::FieldError::new("password", "required"));
            }
            if r.password.len() > 1024 {
                errors.push(crate::domain::FieldError::new("password", "too long"));
            }
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            let meta = login_meta(base, &r.client_ip, &r.user_agent);
            let creds = Credentials {
                tenant_code: r.tenant_code,
                login: r.login,
                password: SecretString::from(r.password),
                totp_code: non_empty(&r.totp_code).map(str::to_owned),
                device: non_empty(&r.device).map(|d| d.chars().take(128).collect()),
            };
            let tokens = login::login(&self.state, creds, &meta).await?;
            Ok(pb::LoginResponse {
                tokens: Some(token_pair(&tokens)),
                user_id: tokens.user_id.clone(),
                tenant_id: tokens.tenant_id.clone(),
            })
        })
    }

    async fn refresh(&self, req: Request<pb::RefreshRequest>) -> Result<Response<pb::TokenPair>, Status> {
        handle!(async {
            let base = RequestMeta::from_request(&req);
            let r = req.into_inner();
            if r.refresh_token.trim().is_empty() {
                return Err(Error::invalid("refresh_token", "required"));
            }
            let meta = login_meta(base, &r.client_ip, &r.user_agent);
            let tokens = login::refresh(&self.state, &r.refresh_token, &meta).await?;
            Ok(token_pair(&tokens))
        })
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Result<Response<pb::LogoutResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            call.user_id()?; // only a signed-in user has a session to end
            let sid = call.principal.session_id.clone().unwrap_or_default();
            let tid = call.principal.tenant_id.clone();
            let txn = self.state.db.writer().begin().await?;
            store::revoke_session(&txn, &tid, &sid, "logout", self.state.clock.now()).await?;
            audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "auth.logout", "session", &sid), &call.meta)
                .await?;
            txn.commit().await?;
            self.state.forget_sessions(&[sid]).await;
            Ok(pb::LogoutResponse {})
        })
    }

    async fn list_sessions(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let r = req.into_inner();
            let tid = call.principal.tenant_id.clone();
            let user_id = match non_empty(&r.user_id) {
                Some(other) if Some(other) != call.principal.user_id.as_deref() => {
                    call.require("session:read")?;
                    store::find_user(self.state.db.reader(), &tid, other).await?.ok_or(Error::NotFound("user"))?.id
                }
                _ => call.user_id()?.to_owned(),
            };
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let cursor = super::page_cursor(r.page.as_ref())?;
            let (rows, next) = store::list_active_sessions(
                self.state.db.reader(),
                &tid,
                &user_id,
                self.state.clock.now(),
                cursor,
                limit,
            )
            .await?;
            let current = call.principal.session_id.clone().unwrap_or_default();
            Ok(pb::ListSessionsResponse {
                sessions: rows.into_iter().map(|s| session_to_proto(s, &current)).collect(),
                page: Some(super::next_page(next)),
            })
        })
    }

    async fn revoke_session(
        &self,
        req: Request<pb::RevokeSessionRequest>,
    ) -> Result<Response<pb::RevokeSessionResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let sid = non_empty(&req.get_ref().session_id)
                .ok_or_else(|| Error::invalid("session_id", "required"))?
                .to_owned();
            let tid = call.principal.tenant_id.clone();
            let session = store::find_session(self.state.db.reader(), &sid)
                .await?
                .filter(|s| s.tenant_id == tid)
                .ok_or(Error::NotFound("session"))?;
            if Some(session.user_id.as_str()) != call.principal.user_id.as_deref() {
                call.require("session:revoke")?;
            }
            let txn = self.state.db.writer().begin().await?;
            store::revoke_session(&txn, &tid, &sid, "revoked", self.state.clock.now()).await?;
            audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "session.revoke", "session", &sid), &call.meta)
                .await?;
            txn.commit().await?;
            self.state.forget_sessions(&[sid]).await;
            Ok(pb::RevokeSessionResponse {})
        })
    }

    async fn revoke_all_sessions(
        &self,
        req: Request<pb::RevokeAllSessionsRequest>,
    ) -> Result<Response<pb::RevokeAllSessionsResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let tid = call.principal.tenant_id.clone();
            let user_id = match non_empty(&req.get_ref().user_id) {
                Some(other) if Some(other) != call.principal.user_id.as_deref() => {
                    call.require("session:revoke")?;
                    store::find_user(self.state.db.reader(), &tid, other).await?.ok_or(Error::NotFound("user"))?.id
                }
                _ => call.user_id()?.to_owned(),
            };
            let txn = self.state.db.writer().begin().await?;
            let revoked = self.revoke_all(&txn, &tid, &user_id, "revoked_all").await?;
            audit::record_in(
                &txn,
                &self.state,
                Entry::by(&call, &tid, "session.revoke_all", "user", &user_id),
                &call.meta,
            )
            .await?;
            txn.commit().await?;
            self.state.forget_sessions(&revoked).await;
            Ok(pb::RevokeAllSessionsResponse { revoked: i32::try_from(revoked.len()).unwrap_or(i32::MAX) })
        })
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<Response<pb::WhoAmIResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let p = call.principal;
            let kind = match p.kind {
                PrincipalKind::User => PbKind::User,
                PrincipalKind::Service => PbKind::Service,
                PrincipalKind::ApiKey => PbKind::ApiKey,
            };
            Ok(pb::WhoAmIResponse {
                kind: kind as i32,
                tenant_id: p.tenant_id,
                user_id: p.user_id.unwrap_or_default(),
                roles: p.roles,
                permissions: p.permissions,
                session_id: p.session_id.unwrap_or_default(),
            })
        })
    }

    async fn enroll_totp(
        &self,
        req: Request<pb::EnrollTotpRequest>,
    ) -> Result<Response<pb::EnrollTotpResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let uid = call.user_id()?.to_owned();
            let tid = call.principal.tenant_id.clone();
            let user = store::find_user(self.state.db.reader(), &tid, &uid).await?.ok_or(Error::NotFound("user"))?;
            if user.two_factor_enabled {
                return Err(Error::precondition("TOTP_ENABLED", "two-factor is already enabled; disable it first"));
            }
            let secret = totp::generate_secret();
            let sealed = self.state.secrets.encrypt(secret.as_bytes());
            store::set_two_factor(self.state.db.writer(), &tid, &uid, false, Some(sealed)).await?;
            let tenant = super::tenants::cached_tenant(&self.state, &tid).await?.ok_or(Error::NotFound("tenant"))?;
            let account = format!("{}@{}", user.username, tenant.tenant_code);
            Ok(pb::EnrollTotpResponse { otpauth_uri: totp::otpauth_uri("WeWork Platform", &account, &secret), secret })
        })
    }

    async fn confirm_totp(
        &self,
        req: Request<pb::ConfirmTotpRequest>,
    ) -> Result<Response<pb::ConfirmTotpResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let uid = call.user_id()?.to_owned();
            let tid = call.principal.tenant_id.clone();
            let code = non_empty(&req.get_ref().code).ok_or_else(|| Error::invalid("code", "required"))?.to_owned();
            let user = store::find_user(self.state.db.reader(), &tid, &uid).await?.ok_or(Error::NotFound("user"))?;
            let Some(sealed) = user.two_factor_secret.clone() else {
                return Err(Error::precondition("TOTP_NOT_ENROLLED", "call EnrollTotp first"));
            };
            if user.two_factor_enabled {
                return Err(Error::precondition("TOTP_ENABLED", "two-factor is already enabled"));
            }
            let secret =
                self.state.secrets.decrypt(&sealed).map_err(|e| Error::Internal(anyhow::anyhow!("totp: {e}")))?;
            let secret = String::from_utf8(secret).map_err(|e| Error::Internal(e.into()))?;
            let step = totp::verify(&secret, &code, self.state.clock.now(), user.two_factor_last_step)
                .ok_or_else(|| Error::invalid("code", "does not match"))?;
            let txn = self.state.db.writer().begin().await?;
            store::set_two_factor(&txn, &tid, &uid, true, Some(sealed)).await?;
            store::set_two_factor_last_step(&txn, &tid, &uid, step).await?;
            audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "auth.totp_enable", "user", &uid), &call.meta)
                .await?;
            txn.commit().await?;
            self.state.cache.invalidate(&[super::users::cache_key(&tid, &uid)]).await;
            Ok(pb::ConfirmTotpResponse {})
        })
    }

    async fn disable_totp(
        &self,
        req: Request<pb::DisableTotpRequest>,
    ) -> Result<Response<pb::DisableTotpResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            let uid = call.user_id()?.to_owned();
            let tid = call.principal.tenant_id.clone();
            let r = req.into_inner();
            if r.password.is_empty() {
                return Err(Error::invalid("password", "required"));
            }
            let user = store::find_user(self.state.db.reader(), &tid, &uid).await?.ok_or(Error::NotFound("user"))?;
            if !user.two_factor_enabled {
                return Err(Error::precondition("TOTP_NOT_ENABLED", "two-factor is not enabled"));
            }
            if !crate::hashing::verify(user.password_hash.clone(), SecretString::from(r.password)).await? {
                return Err(Error::PermissionDenied("password is wrong".into()));
            }
            let sealed = user.two_factor_secret.clone().unwrap_or_default();
            let secret =
                self.state.secrets.decrypt(&sealed).map_err(|e| Error::Internal(anyhow::anyhow!("totp: {e}")))?;
            let secret = String::from_utf8(secret).map_err(|e| Error::Internal(e.into()))?;
            if totp::verify(&secret, r.code.trim(), self.state.clock.now(), user.two_factor_last_step).is_none() {
                return Err(Error::invalid("code", "does not match"));
            }
            let txn = self.state.db.writer().begin().await?;
            store::set_two_factor(&txn, &tid, &uid, false, None).await?;
            audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "auth.totp_disable", "user", &uid), &call.meta)
                .await?;
            txn.commit().await?;
            self.state.cache.invalidate(&[super::users::cache_key(&tid, &uid)]).await;
            Ok(pb::DisableTotpResponse {})
        })
    }

    async fn get_signing_keys(
        &self,
        _req: Request<pb::GetSigningKeysRequest>,
    ) -> Result<Response<pb::GetSigningKeysResponse>, Status> {
        handle!(async {
            let keys = self.state.keys.published(self.state.clock.now()).await?;
            Ok(pb::GetSigningKeysResponse {
                keys: keys
                    .into_iter()
                    .map(|k| pb::Jwk {
                        kid: k.kid,
                        kty: "OKP".into(),
                        crv: "Ed25519".into(),
                        alg: "EdDSA".into(),
                        r#use: "sig".into(),
                        x: k.x,
                    })
                    .collect(),
                issuer: self.state.settings.auth.issuer.clone(),
                audience: self.state.settings.auth.audience.clone(),
            })
        })
    }

    async fn rotate_signing_key(
        &self,
        req: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            call.require_platform_admin()?;
            let now = self.state.clock.now();
            // Old tokens live at most access_ttl; keep their key a little longer for clock skew.
            let keep = chrono::Duration::seconds(self.state.settings.tokens.access_ttl_secs + 300);
            let kid = self.state.keys.rotate(now, keep).await?;
            self.state.authn.reload_keys().await;
            audit::record(
                &self.state,
                Entry::by(&call, &call.principal.tenant_id, "signing_key.rotate", "signing_key", &kid),
                &call.meta,
            )
            .await;
            Ok(pb::RotateSigningKeyResponse { kid })
        })
    }

    async fn authenticate_api_key(
        &self,
        req: Request<pb::AuthenticateApiKeyRequest>,
    ) -> Result<Response<pb::AuthenticateApiKeyResponse>, Status> {
        handle!(async {
            let call = self.state.call(&req).await?;
            if !call.principal.is_service() {
                return Err(Error::PermissionDenied("only services authenticate API keys".into()));
            }
            let raw = req.get_ref().api_key.trim();
            if raw.is_empty() {
                return Err(Error::invalid("api_key", "required"));
            }
            let (prefix, hash) = tokens::parse_api_key(raw).ok_or(Error::Unauthenticated)?;
            let now = self.state.clock.now();
            let key =
                store::find_api_key_by_prefix(self.state.db.reader(), &prefix).await?.ok_or(Error::Unauthenticated)?;
            let live = key.status == store::STATUS_ACTIVE && key.expires_at.is_none_or(|exp| exp > now);
            if !live || !wework_kit::crypto::constant_time_eq(key.key_hash.as_bytes(), hash.as_bytes()) {
                return Err(Error::Unauthenticated);
            }
            let tenant =
                super::tenants::cached_tenant(&self.state, &key.tenant_id).await?.ok_or(Error::Unauthenticated)?;
            if !store::tenant_is_active(&tenant) {
                return Err(Error::precondition(login::TENANT_SUSPENDED, "tenant is suspended"));
            }
            store::touch_api_key(self.state.db.writer(), &key.id, now).await?;
            Ok(pb::AuthenticateApiKeyResponse {
                api_key_id: key.id,
                tenant_id: key.tenant_id,
                user_id: key.created_by,
                permissions: key.permissions,
            })
        })
    }
}
