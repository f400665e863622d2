//! `ConversationService` (here) and `DirectoryService` ([`sync`]), and the
//! hooks instance events call: an inbound message (11010) upserts its
//! conversation, a finished instance sync (11009) refreshes the directory.
//!
//! Every call finds the account within the caller's tenant first
//! ([`visible_account`]: another tenant's account is NotFound), then reaches
//! only that account's rows.

mod convert;
mod sync;

use chrono::DateTime;
use tonic::{Request, Response, Status};
use wework_client::callback::{ContactSyncData, NewMessageData};
use wework_proto::account::{self as pb, conversation_service_server::ConversationService};

use super::accounts::visible_account;
use super::context::Caller;
use super::{Api, page, respond};
use crate::domain::FieldError;
use crate::domain::directory::{self as rules, Activity, ConversationKind, MAX_NAME_CHARS, MAX_SUMMARY_CHARS};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::directory::{self as dir, ConversationChange, ConversationFilter};
use crate::store::entity::account;
use convert::conversation_to_proto;

/// An inbound message (11010) upserts its conversation: one more unread,
/// its summary and time as the last message (unless a later one is stored).
pub async fn record_inbound(state: &AppState, account: &account::Model, message: &NewMessageData) -> Result<()> {
    let activity = rules::inbound_activity(message, state.clock.now());
    if activity.conversation_id.is_empty() {
        return Err(FieldError::new("data_json", "chat_id is empty").into());
    }
    dir::record_activity(state.db.writer(), &account.tenant_id, &account.id, &activity, state.clock.now()).await?;
    Ok(())
}

/// The instance finished a contact sync (11009): refresh the directory. An
/// account that is not online (any more) or already syncing is left alone.
pub async fn instance_sync_finished(state: &AppState, account: &account::Model, data: &ContactSyncData) -> Result<()> {
    match crate::directory_sync::request(state, &account.id, None).await {
        Ok(requested) => {
            let started = matches!(requested, crate::directory_sync::Requested::Started(_));
            tracing::debug!(account = %account.id, contacts = data.contacts, groups = data.groups, started,
                "instance sync finished");
            Ok(())
        }
        Err(Error::FailedPrecondition { message, .. }) => {
            tracing::debug!(account = %account.id, reason = %message, "instance sync finished; not syncing");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The account (in the caller's tenant) and the conversation id of a request.
async fn target(
    state: &AppState,
    caller: &Caller,
    account_id: &str,
    conversation_id: &str,
) -> Result<(account::Model, String)> {
    let conversation_id = rules::wework_id("conversation_id", conversation_id)?;
    Ok((visible_account(state, caller, account_id).await?, conversation_id))
}

async fn list(
    state: &AppState,
    caller: &Caller,
    r: &pb::ListConversationsRequest,
) -> Result<pb::ListConversationsResponse> {
    caller.require("conversation:read")?;
    let account = visible_account(state, caller, &r.account_id).await?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let mut errors = Vec::new();
    let kind = match r.r#type {
        0 => None,
        v => ConversationKind::from_proto(v).map(ConversationKind::as_str).or_else(|| {
            errors.push(FieldError::new("type", "unknown conversation type"));
            None
        }),
    };
    let tag = rules::tag_filter(&r.tag).map_err(|e| errors.push(e)).ok().flatten();
    let text = rules::search_text(&r.text).map_err(|e| errors.push(e)).ok().flatten();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let filter = ConversationFilter {
        tenant_id: account.tenant_id.clone(),
        account_id: account.id.clone(),
        kind,
        pinned_only: r.pinned_only,
        unread_only: r.unread_only,
        tag,
        text,
    };
    let (rows, next) = dir::list_conversations(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListConversationsResponse {
        conversations: rows.iter().map(conversation_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

async fn get(state: &AppState, caller: &Caller, r: &pb::GetConversationRequest) -> Result<pb::Conversation> {
    caller.require("conversation:read")?;
    let (account, conversation_id) = target(state, caller, &r.account_id, &r.conversation_id).await?;
    let row = dir::find_conversation(state.db.reader(), &account.tenant_id, &account.id, &conversation_id).await?;
    Ok(conversation_to_proto(&row.ok_or(Error::NotFound("conversation"))?))
}

async fn change(
    state: &AppState,
    caller: &Caller,
    (account_id, conversation_id): (&str, &str),
    change: impl FnOnce() -> Result<ConversationChange>,
) -> Result<pb::Conversation> {
    caller.require("conversation:write")?;
    let (account, conversation_id) = target(state, caller, account_id, conversation_id).await?;
    let change = change()?;
    let row = dir::change_conversation(
        state.db.writer(),
        &account.tenant_id,
        &account.id,
        &conversation_id,
        change,
        state.clock.now(),
    )
    .await?;
    Ok(conversation_to_proto(&row.ok_or(Error::NotFound("conversation"))?))
}

async fn upsert(state: &AppState, caller: &Caller, r: &pb::UpsertConversationRequest) -> Result<pb::Conversation> {
    caller.require_service()?;
    let mut errors = Vec::new();
    let conversation_id = rules::wework_id("conversation_id", &r.conversation_id).map_err(|e| errors.push(e)).ok();
    let kind = ConversationKind::from_proto(r.r#type);
    if kind.is_none() {
        errors.push(FieldError::new("type", "must be private or group"));
    }
    if r.msg_id.chars().count() > 64 {
        errors.push(FieldError::new("msg_id", "must be at most 64 characters"));
    }
    if r.unread_increment > 10_000 {
        errors.push(FieldError::new("unread_increment", "must be at most 10000"));
    }
    let now = state.clock.now();
    let sent_at = match &r.last_msg_time {
        None => Some(now),
        Some(t) => {
            DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)).filter(|t| t.timestamp() > 0)
        }
    };
    if sent_at.is_none() {
        errors.push(FieldError::new("last_msg_time", "must be a time after 1970"));
    }
    let (Some(conversation_id), Some(kind), Some(sent_at), true) = (conversation_id, kind, sent_at, errors.is_empty())
    else {
        return Err(Error::Invalid(errors));
    };
    let account = visible_account(state, caller, &r.account_id).await?;
    let activity = Activity {
        conversation_id,
        kind,
        name: Some(rules::clip(&r.name, MAX_NAME_CHARS)).filter(|n| !n.is_empty()),
        summary: rules::clip(&r.last_msg_content, MAX_SUMMARY_CHARS),
        sent_at,
        msg_id: Some(r.msg_id.trim().to_owned()).filter(|m| !m.is_empty()),
        unread_increment: i32::try_from(r.unread_increment).unwrap_or(0),
    };
    dir::record_activity(state.db.writer(), &account.tenant_id, &account.id, &activity, now).await?;
    let row =
        dir::find_conversation(state.db.writer(), &account.tenant_id, &account.id, &activity.conversation_id).await?;
    Ok(conversation_to_proto(&row.ok_or(Error::NotFound("conversation"))?))
}

#[tonic::async_trait]
impl ConversationService for Api {
    async fn list_conversations(
        &self,
        req: Request<pb::ListConversationsRequest>,
    ) -> Result<Response<pb::ListConversationsResponse>, Status> {
        respond(async { list(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn get_conversation(
        &self,
        req: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        respond(async { get(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn mark_conversation_read(
        &self,
        req: Request<pb::MarkConversationReadRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        respond(async {
            let (caller, r) = (self.state.caller(&req).await?, req.get_ref());
            change(&self.state, &caller, (&r.account_id, &r.conversation_id), || Ok(ConversationChange::MarkRead)).await
        })
        .await
    }

    async fn pin_conversation(
        &self,
        req: Request<pb::PinConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        respond(async {
            let (caller, r) = (self.state.caller(&req).await?, req.get_ref());
            change(&self.state, &caller, (&r.account_id, &r.conversation_id), || Ok(ConversationChange::Pin(r.pinned)))
                .await
        })
        .await
    }

    async fn tag_conversation(
        &self,
        req: Request<pb::TagConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        respond(async {
            let (caller, r) = (self.state.caller(&req).await?, req.get_ref());
            change(&self.state, &caller, (&r.account_id, &r.conversation_id), || {
                let tags = validate::tags(&r.tags)?;
                Ok(ConversationChange::Tags(crate::store::to_json(&tags)))
            })
            .await
        })
        .await
    }

    async fn upsert_conversation(
        &self,
        req: Request<pb::UpsertConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        respond(async { upsert(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }
}
