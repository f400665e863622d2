//! `ResolveSendTarget`: the message service sends through the account's
//! instance directly (no extra hop through this service per message), so it
//! asks once, caches briefly, and gets the instance's address and opened
//! token. Service principals only: the token never reaches a tenant.

use wework_proto::account as pb;

use super::accounts::visible_account;
use super::context::Caller;
use crate::domain::FieldError;
use crate::error::Result;
use crate::lifecycle::status_of;
use crate::state::AppState;
use crate::store;

pub async fn resolve(state: &AppState, caller: &Caller, r: &pb::ResolveSendTargetRequest) -> Result<pb::SendTarget> {
    caller.require_service()?;
    let id = r.account_id.trim();
    if id.is_empty() || id.len() > 36 {
        return Err(FieldError::new("account_id", "must be an account id").into());
    }
    let row = visible_account(state, caller, id).await?;
    let mut target = pb::SendTarget {
        account_id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        status: status_of(&row).to_proto(),
        guid: row.guid.clone().unwrap_or_default(),
        instance_id: row.instance_id.clone().unwrap_or_default(),
        config_json: row.config.clone(),
        ..Default::default()
    };
    if let Some(instance_id) = row.instance_id.as_deref()
        && let Some(inst) = store::find_instance(state.db.reader(), instance_id).await?
    {
        target.instance_api_url = inst.api_url.clone();
        target.instance_token = state.open(&inst.token_sealed)?;
    }
    Ok(target)
}
