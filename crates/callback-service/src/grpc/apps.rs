//! `WecomAppService`: official WeCom apps whose encrypted callbacks ingest
//! accepts. The callback token and EncodingAESKey are checked (a key that
//! cannot decrypt is refused here, not at WeCom's first callback), sealed
//! with the master key, and never returned or logged.

use tonic::{Request, Response, Status};
use wework_proto::callback::{self as pb, wecom_app_service_server::WecomAppService};

use super::context::Caller;
use super::convert::app_to_proto;
use super::{Api, page, respond};
use crate::domain::FieldError;
use crate::domain::wecom_crypto::WecomCrypto;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, apps::AppChange, entity::app};

const ACTIVE: &str = "active";
const DISABLED: &str = "disabled";

fn name_problem(name: &str) -> Option<&'static str> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.chars().any(char::is_control) {
        Some("must be 1 to 100 printable characters")
    } else {
        None
    }
}

fn token_problem(token: &str) -> Option<&'static str> {
    if (3..=32).contains(&token.len()) && token.chars().all(|c| c.is_ascii_alphanumeric()) {
        None
    } else {
        Some("must be 3 to 32 letters or digits (as WeCom's console allows)")
    }
}

/// The corp id must be usable as WXBizMsgCrypt's receive id.
fn corp_problem(corp: &str) -> Option<&'static str> {
    if (1..=64).contains(&corp.len()) && corp.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        None
    } else {
        Some("must be 1 to 64 of [A-Za-z0-9_-]")
    }
}

async fn register(state: &AppState, caller: &Caller, r: &pb::RegisterAppRequest) -> Result<pb::WecomApp> {
    caller.require("callback:configure")?;
    let tenant = caller.own_tenant()?;
    let (name, corp, token, key) = (r.name.trim(), r.corp_id.trim(), r.token.trim(), r.encoding_aes_key.trim());
    let mut errors = Vec::new();
    let mut check = |field: &str, problem: Option<&str>| {
        if let Some(p) = problem {
            errors.push(FieldError::new(field, p));
        }
    };
    check("name", name_problem(name));
    check("corp_id", corp_problem(corp));
    check("token", token_problem(token));
    check("agent_id", (r.agent_id < 0).then_some("must not be negative (0 for corp-level callbacks)"));
    if WecomCrypto::new(token, key, corp).is_err() {
        check("encoding_aes_key", Some("must be the 43-character EncodingAESKey"));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let agent = Some(r.agent_id).filter(|a| *a > 0);
    let db = state.db.writer();
    if store::apps::corp_agent_taken(db, &tenant, corp, agent).await? {
        return Err(Error::AlreadyExists("app for this corp_id and agent_id"));
    }
    let now = state.clock.now();
    let row = app::Model {
        id: store::new_id(),
        tenant_id: tenant.clone(),
        name: name.to_owned(),
        corp_id: corp.to_owned(),
        agent_id: agent,
        token_sealed: state.secrets.encrypt(token.as_bytes()),
        aes_key_sealed: state.secrets.encrypt(key.as_bytes()),
        status: ACTIVE.to_owned(),
        created_at: now,
        updated_at: now,
    };
    let row = store::apps::insert_app(db, row).await.map_err(|e| Error::duplicate_as(e, "app with this name"))?;
    state.audit.record(caller.audit(&tenant, "wecom_app.register", "wecom_app", &row.id));
    Ok(app_to_proto(&row))
}

async fn visible_app(state: &AppState, caller: &Caller, id: &str) -> Result<app::Model> {
    let id = id.trim();
    if id.is_empty() || id.len() > 36 {
        return Err(FieldError::new("id", "must be an app id").into());
    }
    let scope = caller.row_scope();
    store::apps::find_app(state.db.writer(), scope.as_deref(), id).await?.ok_or(Error::NotFound("app"))
}

async fn update(state: &AppState, caller: &Caller, r: &pb::UpdateAppRequest) -> Result<pb::WecomApp> {
    caller.require("callback:configure")?;
    let row = visible_app(state, caller, &r.id).await?;
    let (name, token, key, status) = (r.name.trim(), r.token.trim(), r.encoding_aes_key.trim(), r.status.trim());
    let mut errors = Vec::new();
    if let Some(p) = Some(name).filter(|n| !n.is_empty()).and_then(name_problem) {
        errors.push(FieldError::new("name", p));
    }
    if let Some(p) = Some(token).filter(|t| !t.is_empty()).and_then(token_problem) {
        errors.push(FieldError::new("token", p));
    }
    if !key.is_empty() && WecomCrypto::new("check", key, &row.corp_id).is_err() {
        errors.push(FieldError::new("encoding_aes_key", "must be the 43-character EncodingAESKey"));
    }
    if !status.is_empty() && status != ACTIVE && status != DISABLED {
        errors.push(FieldError::new("status", "must be active or disabled"));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let change = AppChange {
        name: Some(name.to_owned()).filter(|n| !n.is_empty()),
        token_sealed: Some(token).filter(|t| !t.is_empty()).map(|t| state.secrets.encrypt(t.as_bytes())),
        aes_key_sealed: Some(key).filter(|k| !k.is_empty()).map(|k| state.secrets.encrypt(k.as_bytes())),
        status: Some(status.to_owned()).filter(|s| !s.is_empty()),
    };
    let tenant = row.tenant_id.clone();
    let row = store::apps::update_app(state.db.writer(), row, change, state.clock.now())
        .await
        .map_err(|e| Error::duplicate_as(e, "app with this name"))?;
    state.audit.record(caller.audit(&tenant, "wecom_app.update", "wecom_app", &row.id));
    Ok(app_to_proto(&row))
}

async fn list(state: &AppState, caller: &Caller, r: &pb::ListAppsRequest) -> Result<pb::ListAppsResponse> {
    caller.require("callback:read")?;
    let tenant = caller.tenant_scope(&r.tenant_id)?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let (rows, next) = store::apps::list_apps(state.db.reader(), tenant.as_deref(), cursor.as_ref(), limit).await?;
    Ok(pb::ListAppsResponse {
        apps: rows.iter().map(app_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

#[tonic::async_trait]
impl WecomAppService for Api {
    async fn register_app(&self, req: Request<pb::RegisterAppRequest>) -> Result<Response<pb::WecomApp>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            register(&self.state, &caller, req.get_ref()).await
        })
        .await
    }

    async fn update_app(&self, req: Request<pb::UpdateAppRequest>) -> Result<Response<pb::WecomApp>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            update(&self.state, &caller, req.get_ref()).await
        })
        .await
    }

    async fn get_app(&self, req: Request<pb::GetAppRequest>) -> Result<Response<pb::WecomApp>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require("callback:read")?;
            Ok(app_to_proto(&visible_app(&self.state, &caller, &req.get_ref().id).await?))
        })
        .await
    }

    async fn list_apps(&self, req: Request<pb::ListAppsRequest>) -> Result<Response<pb::ListAppsResponse>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            list(&self.state, &caller, req.get_ref()).await
        })
        .await
    }
}
