//! `ResolveSendTarget`: the message service sends through the account's
//! instance directly (no extra hop through this service per message), so it
//! asks once, caches briefly, and gets the instance's address and opened
//! token. The callback service asks by guid, to check an instance
//! callback's signature with that instance's token. Service principals
//! only: the token never reaches a tenant.

use wework_proto::account as pb;

use super::accounts::visible_account;
use super::context::Caller;
use crate::domain::FieldError;
use crate::error::{Error, Result};
use crate::lifecycle::status_of;
use crate::state::AppState;
use crate::store;

pub async fn resolve(state: &AppState, caller: &Caller, r: &pb::ResolveSendTargetRequest) -> Result<pb::SendTarget> {
    caller.require_service()?;
    let (id, guid) = (r.account_id.trim(), r.guid.trim());
    let row = match (id.is_empty(), guid.is_empty()) {
        (false, true) if id.len() <= 36 => visible_account(state, caller, id).await?,
        (false, true) => return Err(FieldError::new("account_id", "must be an account id").into()),
        (true, false) if guid.len() <= 100 => {
            store::find_account_by_guid(state.db.reader(), guid).await?.ok_or(Error::NotFound("account"))?
        }
        (true, false) => return Err(FieldError::new("guid", "must be at most 100 characters").into()),
        _ => return Err(FieldError::new("account_id", "exactly one of account_id and guid").into()),
    };
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
