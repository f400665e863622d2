//! Directory rows as the API shows them. Stored spellings the code never
//! writes read as the proto's unspecified value.

use wework_proto::account as pb;

use crate::domain::directory::{ContactType, ConversationKind};
use crate::grpc::convert::{ts, ts_opt};
use crate::store::entity::{contact, conversation, group, group_member};

fn tags(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

pub fn conversation_to_proto(row: &conversation::Model) -> pb::Conversation {
    pb::Conversation {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        conversation_id: row.conversation_id.clone(),
        name: row.conversation_name.clone(),
        r#type: ConversationKind::parse(&row.conversation_type).map_or(0, ConversationKind::to_proto),
        avatar_url: row.avatar_url.clone(),
        member_count: count(row.member_count),
        last_msg_time: ts(row.last_msg_time),
        last_msg_content: row.last_msg_content.clone(),
        unread_count: count(row.unread_count),
        is_active: row.is_active,
        is_pinned: row.is_pinned,
        tags: tags(&row.tags),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

pub fn contact_to_proto(row: &contact::Model) -> pb::Contact {
    let contact_type = match row.contact_type.as_str() {
        "internal" => ContactType::Internal.to_proto(),
        "external" => ContactType::External.to_proto(),
        _ => 0,
    };
    pb::Contact {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        user_id: row.user_id.clone(),
        name: row.name.clone(),
        alias: row.alias.clone(),
        avatar_url: row.avatar_url.clone(),
        contact_type,
        corp_name: row.corp_name.clone(),
        gender: row.gender,
        tags: tags(&row.tags),
        remark: row.remark.clone(),
        status: row.status.clone(),
        last_sync_time: ts(row.last_sync_time),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

pub fn group_to_proto(row: &group::Model) -> pb::Group {
    pb::Group {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        group_id: row.group_id.clone(),
        name: row.name.clone(),
        owner_id: row.owner_id.clone(),
        member_count: count(row.member_count),
        notice: row.notice.clone(),
        status: row.status.clone(),
        last_sync_time: ts(row.last_sync_time),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

pub fn member_to_proto(row: &group_member::Model) -> pb::GroupMember {
    pb::GroupMember {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        group_id: row.group_id.clone(),
        user_id: row.user_id.clone(),
        name: row.name.clone(),
        group_nickname: row.group_nickname.clone(),
        role: row.role.clone(),
        joined_at: ts_opt(row.joined_at),
        status: row.status.clone(),
        left_at: ts_opt(row.left_at),
        last_sync_time: ts(row.last_sync_time),
    }
}
