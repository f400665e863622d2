//! Two-factor enrolment: EnrollTotp stores a new secret (encrypted at rest)
//! without enabling it; ConfirmTotp proves the user's app has it; DisableTotp
//! needs the password and a current code. Codes are single-use.

use sea_orm::TransactionTrait;
use secrecy::SecretString;
use tonic::Request;
use wework_proto::user as pb;

use super::Api;
use super::audit::{self, Entry};
use super::convert::non_empty;
use crate::domain::totp;
use crate::error::{Error, Result};
use crate::store;

impl Api {
    pub(super) async fn enroll_totp_body(&self, req: Request<pb::EnrollTotpRequest>) -> Result<pb::EnrollTotpResponse> {
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
    }

    pub(super) async fn confirm_totp_body(
        &self,
        req: Request<pb::ConfirmTotpRequest>,
    ) -> Result<pb::ConfirmTotpResponse> {
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
        let secret = self.state.open_totp_secret(&sealed)?;
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
    }

    pub(super) async fn disable_totp_body(
        &self,
        req: Request<pb::DisableTotpRequest>,
    ) -> Result<pb::DisableTotpResponse> {
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
        let secret = self.state.open_totp_secret(&sealed)?;
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
    }
}
