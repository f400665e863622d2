//! `ConversationService` and `DirectoryService`, and the hooks instance
//! events call: an inbound message upserts its conversation, a finished
//! instance sync refreshes the directory. (Filled in by the directory work.)

use wework_client::callback::{ContactSyncData, NewMessageData};
use wework_proto::account::{
    conversation_service_server::ConversationService, directory_service_server::DirectoryService,
};

use super::Api;
use crate::error::Result;
use crate::state::AppState;
use crate::store::entity::account;

/// An inbound message (11010) upserts its conversation.
pub async fn record_inbound(_state: &AppState, _account: &account::Model, _message: &NewMessageData) -> Result<()> {
    Ok(())
}

/// The instance finished a contact sync (11009): refresh the directory.
pub async fn instance_sync_finished(
    _state: &AppState,
    _account: &account::Model,
    _data: &ContactSyncData,
) -> Result<()> {
    Ok(())
}

#[tonic::async_trait]
impl ConversationService for Api {}

#[tonic::async_trait]
impl DirectoryService for Api {}
