//! `DirectoryService`: starting a directory sync ([`crate::directory_sync`])
//! and reading what it copied; the tenant's own remark and tags of a contact.

use serde_json::json;
use tonic::{Request, Response, Status};
use wework_proto::account::{self as pb, directory_service_server::DirectoryService};

use super::convert::{contact_to_proto, group_to_proto, member_to_proto};
use crate::directory_sync::{self, Requested};
use crate::domain::FieldError;
use crate::domain::directory::{self as rules, ContactType};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::grpc::accounts::visible_account;
use crate::grpc::context::Caller;
use crate::grpc::convert::ts_opt;
use crate::grpc::{Api, page, respond};
use crate::state::AppState;
use crate::store::directory::{self as dir, ContactFilter, GroupFilter, MemberFilter};

async fn sync(state: &AppState, caller: &Caller, r: &pb::SyncDirectoryRequest) -> Result<pb::SyncDirectoryResponse> {
    caller.require("contact:write")?;
    let account = visible_account(state, caller, &r.account_id).await?;
    let requested = directory_sync::request(state, &account.id, Some(&account.tenant_id)).await?;
    let started = matches!(requested, Requested::Started(_));
    if started {
        let entry = caller.audit(&account.tenant_id, "directory.sync", "account", &account.id);
        state.audit.record(entry.values(None, None));
    }
    let row = requested.account();
    Ok(pb::SyncDirectoryResponse {
        sync_status: row.sync_status.clone(),
        started,
        last_sync_time: ts_opt(row.last_sync_time),
    })
}

async fn list_contacts(
    state: &AppState,
    caller: &Caller,
    r: &pb::ListContactsRequest,
) -> Result<pb::ListContactsResponse> {
    caller.require("contact:read")?;
    let account = visible_account(state, caller, &r.account_id).await?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let mut errors = Vec::new();
    let contact_type = match r.contact_type {
        0 => None,
        v => ContactType::from_proto(v).map(ContactType::as_str).or_else(|| {
            errors.push(FieldError::new("contact_type", "unknown contact type"));
            None
        }),
    };
    let tag = rules::tag_filter(&r.tag).map_err(|e| errors.push(e)).ok().flatten();
    let text = rules::search_text(&r.text).map_err(|e| errors.push(e)).ok().flatten();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let filter = ContactFilter {
        tenant_id: account.tenant_id.clone(),
        account_id: account.id.clone(),
        contact_type,
        tag,
        text,
        include_removed: r.include_removed,
    };
    let (rows, next) = dir::list_contacts(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListContactsResponse {
        contacts: rows.iter().map(contact_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

async fn update_contact(state: &AppState, caller: &Caller, r: &pb::UpdateContactRequest) -> Result<pb::Contact> {
    caller.require("contact:write")?;
    let mut errors = Vec::new();
    let user_id = rules::wework_id("user_id", &r.user_id).map_err(|e| errors.push(e)).ok();
    let remark = r.remark.as_deref().map(validate::remark).transpose().map_err(|e| errors.push(e)).ok().flatten();
    let tags = r.set_tags.then(|| validate::tags(&r.tags)).transpose().map_err(|e| errors.push(e)).ok().flatten();
    let (Some(user_id), true) = (user_id, errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let account = visible_account(state, caller, &r.account_id).await?;
    let key = (account.tenant_id.as_str(), account.id.as_str(), user_id.as_str());
    let before = dir::find_contact(state.db.reader(), key.0, key.1, key.2).await?.ok_or(Error::NotFound("contact"))?;
    let tags_json = tags.as_ref().map(crate::store::to_json);
    let row = dir::update_contact(state.db.writer(), key, remark.as_deref(), tags_json.as_deref(), state.clock.now())
        .await?
        .ok_or(Error::NotFound("contact"))?;
    let entry = caller.audit(&account.tenant_id, "contact.update", "contact", &row.id);
    let values = |c: &crate::store::entity::contact::Model| json!({"remark": c.remark, "tags": c.tags});
    state.audit.record(entry.values(Some(values(&before)), Some(values(&row))));
    Ok(contact_to_proto(&row))
}

async fn list_groups(state: &AppState, caller: &Caller, r: &pb::ListGroupsRequest) -> Result<pb::ListGroupsResponse> {
    caller.require("group:read")?;
    let account = visible_account(state, caller, &r.account_id).await?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let filter = GroupFilter {
        tenant_id: account.tenant_id.clone(),
        account_id: account.id.clone(),
        text: rules::search_text(&r.text)?,
        include_left: r.include_left,
    };
    let (rows, next) = dir::list_groups(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListGroupsResponse {
        groups: rows.iter().map(group_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

async fn list_members(
    state: &AppState,
    caller: &Caller,
    r: &pb::ListGroupMembersRequest,
) -> Result<pb::ListGroupMembersResponse> {
    caller.require("group:read")?;
    let group_id = rules::wework_id("group_id", &r.group_id)?;
    let account = visible_account(state, caller, &r.account_id).await?;
    let (limit, cursor) = page(r.page.as_ref())?;
    if dir::find_group(state.db.reader(), &account.tenant_id, &account.id, &group_id).await?.is_none() {
        return Err(Error::NotFound("group"));
    }
    let filter = MemberFilter {
        tenant_id: account.tenant_id.clone(),
        account_id: account.id.clone(),
        group_id,
        include_left: r.include_left,
    };
    let (rows, next) = dir::list_members(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListGroupMembersResponse {
        members: rows.iter().map(member_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

#[tonic::async_trait]
impl DirectoryService for Api {
    async fn sync_directory(
        &self,
        req: Request<pb::SyncDirectoryRequest>,
    ) -> Result<Response<pb::SyncDirectoryResponse>, Status> {
        respond(async { sync(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn list_contacts(
        &self,
        req: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        respond(async { list_contacts(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn update_contact(&self, req: Request<pb::UpdateContactRequest>) -> Result<Response<pb::Contact>, Status> {
        respond(async { update_contact(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn list_groups(
        &self,
        req: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        respond(async { list_groups(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn list_group_members(
        &self,
        req: Request<pb::ListGroupMembersRequest>,
    ) -> Result<Response<pb::ListGroupMembersResponse>, Status> {
        respond(async { list_members(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }
}
