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
use super::{Api, respond};
use crate::domain::tokens;
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
        respond(async {
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
        .await
    }

    async fn refresh(&self, req: Request<pb::RefreshRequest>) -> Result<Response<pb::TokenPair>, Status> {
        respond(async {
            let base = RequestMeta::from_request(&req);
            let r = req.into_inner();
            if r.refresh_token.trim().is_empty() {
                return Err(Error::invalid("refresh_token", "required"));
            }
            let meta = login_meta(base, &r.client_ip, &r.user_agent);
            let tokens = login::refresh(&self.state, &r.refresh_token, &meta).await?;
            Ok(token_pair(&tokens))
        })
        .await
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Result<Response<pb::LogoutResponse>, Status> {
        respond(async {
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
        .await
    }

    async fn list_sessions(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        respond(self.list_sessions_body(req)).await
    }

    async fn revoke_session(
        &self,
        req: Request<pb::RevokeSessionRequest>,
    ) -> Result<Response<pb::RevokeSessionResponse>, Status> {
        respond(self.revoke_session_body(req)).await
    }

    async fn revoke_all_sessions(
        &self,
        req: Request<pb::RevokeAllSessionsRequest>,
    ) -> Result<Response<pb::RevokeAllSessionsResponse>, Status> {
        respond(self.revoke_all_sessions_body(req)).await
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<Response<pb::WhoAmIResponse>, Status> {
        respond(async {
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
        .await
    }

    async fn enroll_totp(
        &self,
        req: Request<pb::EnrollTotpRequest>,
    ) -> Result<Response<pb::EnrollTotpResponse>, Status> {
        respond(self.enroll_totp_body(req)).await
    }

    async fn confirm_totp(
        &self,
        req: Request<pb::ConfirmTotpRequest>,
    ) -> Result<Response<pb::ConfirmTotpResponse>, Status> {
        respond(self.confirm_totp_body(req)).await
    }

    async fn disable_totp(
        &self,
        req: Request<pb::DisableTotpRequest>,
    ) -> Result<Response<pb::DisableTotpResponse>, Status> {
        respond(self.disable_totp_body(req)).await
    }

    async fn get_signing_keys(
        &self,
        _req: Request<pb::GetSigningKeysRequest>,
    ) -> Result<Response<pb::GetSigningKeysResponse>, Status> {
        respond(async {
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
        .await
    }

    async fn rotate_signing_key(
        &self,
        req: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        respond(async {
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
        .await
    }

    async fn authenticate_api_key(
        &self,
        req: Request<pb::AuthenticateApiKeyRequest>,
    ) -> Result<Response<pb::AuthenticateApiKeyResponse>, Status> {
        respond(async {
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
        .await
    }
}
