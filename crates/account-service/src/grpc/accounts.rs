//! `AccountService`: account CRUD (cache-aside reads, invalidated on every
//! write), and the entry points of the login flow ([`super::login`]) and of
//! instance events ([`super::events`]).

use serde_json::json;
use tonic::{Request, Response, Status};
use wework_proto::account::{self as pb, account_service_server::AccountService};

use super::context::Caller;
use super::convert::{account_to_proto, config_json, history_to_proto};
use super::{Api, events, login, page, respond, send_target};
use crate::domain::{AccountStatus, FieldError, validate};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Decision, account_cache_key};
use crate::state::AppState;
use crate::store::{self, entity::account};

/// An account the caller may see, from the cache when possible. The cached
/// copy is shared by every caller; the tenant check runs on every read.
pub async fn visible_account(state: &AppState, caller: &Caller, id: &str) -> Result<account::Model> {
    let db = state.db.clone();
    let key = id.to_owned();
    let row: Option<account::Model> = state
        .cache
        .get_or_load(&account_cache_key(id), None, || async move {
            Ok::<_, Error>(store::find_account(db.reader(), &key, None).await?)
        })
        .await?;
    match (row, caller.row_scope()) {
        (Some(row), Some(tenant)) if row.tenant_id != tenant => Err(Error::NotFound("account")),
        (Some(row), _) => Ok(row),
        (None, _) => Err(Error::NotFound("account")),
    }
}

fn new_account(
    tenant: String,
    r: &pb::CreateAccountRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<account::Model> {
    let mut errors = Vec::new();
    let mut keep = |res: std::result::Result<String, FieldError>| res.map_err(|e| errors.push(e)).unwrap_or_default();
    let account_name = keep(validate::account_name(&r.account_name));
    let phone = keep(validate::phone(&r.phone));
    let email = keep(validate::email(&r.email));
    let remark = keep(validate::remark(&r.remark));
    let tags = validate::tags(&r.tags).map_err(|e| errors.push(e)).unwrap_or_default();
    let config = validate::config(config_json(r.config.as_ref())).map_err(|e| errors.push(e)).unwrap_or_default();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(account::Model {
        id: store::new_id(),
        tenant_id: tenant,
        user_id: None,
        account_name,
        phone,
        email,
        remark,
        tags: store::to_json(&tags),
        config: store::to_json(&config),
        guid: None,
        instance_id: None,
        status: AccountStatus::Created.as_str().to_owned(),
        qr_code_url: None,
        qr_expires_at: None,
        user_info: None,
        last_login_time: None,
        last_heartbeat_time: None,
        login_retry_count: 0,
        recover_attempts: 0,
        next_recover_at: None,
        error_message: None,
        last_event_id: None,
        sync_status: "never".to_owned(),
        last_sync_time: None,
        version: 0,
        created_at: now,
        updated_at: now,
    })
}

async fn create(state: &AppState, caller: &Caller, r: &pb::CreateAccountRequest) -> Result<pb::Account> {
    caller.require("account:create")?;
    let tenant = caller.own_tenant()?;
    let mut row = new_account(tenant.clone(), r, state.clock.now())?;
    row.user_id = caller.principal.user_id.clone();
    let max = state.quota.max_accounts(&tenant).await?;
    let txn = sea_orm::TransactionTrait::begin(state.db.writer()).await?;
    if !store::reserve_account_slot(&txn, &tenant, max, row.created_at).await? {
        txn.rollback().await?;
        return Err(Error::ResourceExhausted(format!("the tenant may have at most {max} accounts")));
    }
    let row = store::insert_account(&txn, row).await.map_err(|e| Error::duplicate_as(e, "account"))?;
    txn.commit().await?;
    let entry = caller.audit(&tenant, "account.create", "account", &row.id);
    state.audit.record(entry.values(None, Some(json!({"account_name": row.account_name}))));
    Ok(account_to_proto(&row))
}

async fn update(state: &AppState, caller: &Caller, r: &pb::UpdateAccountRequest) -> Result<pb::Account> {
    caller.require("account:update")?;
    let current = visible_account(state, caller, &r.id).await?;
    let mut errors = Vec::new();
    let name = r.account_name.as_deref().map(validate::account_name).transpose().map_err(|e| errors.push(e)).ok();
    let remark = r.remark.as_deref().map(validate::remark).transpose().map_err(|e| errors.push(e)).ok();
    let phone = r.phone.as_deref().map(validate::phone).transpose().map_err(|e| errors.push(e)).ok();
    let email = r.email.as_deref().map(validate::email).transpose().map_err(|e| errors.push(e)).ok();
    let tags = r.set_tags.then(|| validate::tags(&r.tags)).transpose().map_err(|e| errors.push(e)).ok();
    let config =
        r.config.as_ref().map(|c| validate::config(config_json(Some(c)))).transpose().map_err(|e| errors.push(e)).ok();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let before = json!({"account_name": current.account_name, "remark": current.remark});
    let outcome = lifecycle::update_account(state, &r.id, Some(&current.tenant_id), |row, _| {
        let mut next = row.clone();
        if let Some(Some(v)) = &name {
            next.account_name.clone_from(v);
        }
        if let Some(Some(v)) = &remark {
            next.remark.clone_from(v);
        }
        if let Some(Some(v)) = &phone {
            next.phone.clone_from(v);
        }
        if let Some(Some(v)) = &email {
            next.email.clone_from(v);
        }
        if let Some(Some(v)) = &tags {
            next.tags = store::to_json(v);
        }
        if let Some(Some(v)) = &config {
            next.config = store::to_json(v);
        }
        Ok(Decision::Write { row: Box::new(next), history: None })
    })
    .await
    .map_err(|e| match e {
        Error::Db { source } => Error::duplicate_as(source, "account"),
        other => other,
    })?;
    let row = outcome.into_account();
    let entry = caller.audit(&row.tenant_id, "account.update", "account", &row.id);
    let after = json!({"account_name": row.account_name, "remark": row.remark});
    state.audit.record(entry.values(Some(before), Some(after)));
    Ok(account_to_proto(&row))
}

async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<pb::DeleteAccountResponse> {
    caller.require("account:delete")?;
    let row = visible_account(state, caller, id).await?;
    // Best effort: a client left logged in on its instance keeps using a slot there.
    if let Some(guid) = row.guid.as_deref().filter(|_| lifecycle::status_of(&row).has_session()) {
        match login::driver_for(state, &row).await {
            Ok((driver, _)) => {
                if let Err(e) = driver.logout(guid).await {
                    tracing::warn!(error = %e, account = %row.id, "logout of a deleted account failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, account = %row.id, "no driver to log out a deleted account"),
        }
    }
    let now = state.clock.now();
    let txn = sea_orm::TransactionTrait::begin(state.db.writer()).await?;
    if !store::delete_account(&txn, &row.id, &row.tenant_id).await? {
        return Err(Error::NotFound("account"));
    }
    store::release_account_slot(&txn, &row.tenant_id, now).await?;
    if let Some(instance) = &row.instance_id {
        store::release_slot(&txn, instance, now).await?;
    }
    txn.commit().await?;
    lifecycle::forget_account(state, &row.id).await;
    let entry = caller.audit(&row.tenant_id, "account.delete", "account", &row.id);
    state.audit.record(entry.values(Some(json!({"account_name": row.account_name})), None));
    Ok(pb::DeleteAccountResponse {})
}

async fn list(state: &AppState, caller: &Caller, r: &pb::ListAccountsRequest) -> Result<pb::ListAccountsResponse> {
    caller.require("account:read")?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let status = match r.status {
        0 => None,
        v => Some(
            AccountStatus::from_proto(v)
                .ok_or_else(|| FieldError::new("status", "unknown status"))?
                .as_str()
                .to_owned(),
        ),
    };
    if r.text.chars().count() > 100 {
        return Err(FieldError::new("text", "must be at most 100 characters").into());
    }
    let filter = store::AccountFilter {
        tenant_id: caller.tenant_scope(&r.tenant_id)?,
        status,
        instance_id: Some(r.instance_id.trim().to_owned()).filter(|s| !s.is_empty()),
        text: Some(r.text.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let (rows, next) = store::list_accounts(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListAccountsResponse {
        accounts: rows.iter().map(account_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

async fn history(
    state: &AppState,
    caller: &Caller,
    r: &pb::ListStatusHistoryRequest,
) -> Result<pb::ListStatusHistoryResponse> {
    caller.require("account:read")?;
    let row = visible_account(state, caller, &r.account_id).await?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let (rows, next) = store::list_history(state.db.reader(), &row.id, cursor.as_ref(), limit).await?;
    Ok(pb::ListStatusHistoryResponse {
        changes: rows.iter().map(history_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

#[tonic::async_trait]
impl AccountService for Api {
    async fn create_account(&self, req: Request<pb::CreateAccountRequest>) -> Result<Response<pb::Account>, Status> {
        respond(async { create(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn get_account(&self, req: Request<pb::GetAccountRequest>) -> Result<Response<pb::Account>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require("account:read")?;
            Ok(account_to_proto(&visible_account(&self.state, &caller, &req.get_ref().id).await?))
        })
        .await
    }

    async fn list_accounts(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        respond(async { list(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn update_account(&self, req: Request<pb::UpdateAccountRequest>) -> Result<Response<pb::Account>, Status> {
        respond(async { update(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn delete_account(
        &self,
        req: Request<pb::DeleteAccountRequest>,
    ) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        respond(async { delete(&self.state, &self.state.caller(&req).await?, &req.get_ref().id).await }).await
    }

    async fn start_login(&self, req: Request<pb::StartLoginRequest>) -> Result<Response<pb::LoginState>, Status> {
        respond(async { login::start(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn refresh_qr(&self, req: Request<pb::RefreshQrRequest>) -> Result<Response<pb::LoginState>, Status> {
        respond(async { login::refresh_qr(&self.state, &self.state.caller(&req).await?, &req.get_ref().id).await })
            .await
    }

    async fn submit_verify_code(
        &self,
        req: Request<pb::SubmitVerifyCodeRequest>,
    ) -> Result<Response<pb::LoginState>, Status> {
        respond(async { login::submit_code(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Result<Response<pb::Account>, Status> {
        respond(async { login::logout(&self.state, &self.state.caller(&req).await?, &req.get_ref().id).await }).await
    }

    async fn recover(&self, req: Request<pb::RecoverRequest>) -> Result<Response<pb::Account>, Status> {
        respond(async { login::recover(&self.state, &self.state.caller(&req).await?, &req.get_ref().id).await }).await
    }

    async fn list_status_history(
        &self,
        req: Request<pb::ListStatusHistoryRequest>,
    ) -> Result<Response<pb::ListStatusHistoryResponse>, Status> {
        respond(async { history(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn report_event(
        &self,
        req: Request<pb::ReportEventRequest>,
    ) -> Result<Response<pb::ReportEventResponse>, Status> {
        respond(async { events::report(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn resolve_send_target(
        &self,
        req: Request<pb::ResolveSendTargetRequest>,
    ) -> Result<Response<pb::SendTarget>, Status> {
        respond(async { send_target::resolve(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }
}
