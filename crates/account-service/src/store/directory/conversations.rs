//! Conversations: the atomic upsert an inbound message or an outbound send
//! makes (unread counted in SQL, never read-modify-write), the list and the
//! user's changes (read, pin, tags).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter};

use crate::domain::directory::Activity;
use crate::store::entity::conversation::{self, Column, Entity};

/// Filters of `ListConversations`.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub tenant_id: String,
    pub account_id: String,
    pub kind: Option<&'static str>,
    pub pinned_only: bool,
    pub unread_only: bool,
    pub tag: Option<String>,
    pub text: Option<String>,
}

/// Records one message in its conversation, creating it on first sight.
/// One statement: concurrent messages each count, and on MySQL the SET list
/// is evaluated left to right, so each expression reads the old values of
/// the columns set after it (`last_msg_id` last, `last_msg_time` after its
/// content).
pub async fn record_activity<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    account_id: &str,
    a: &Activity,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = conversation::Model {
        id: crate::store::new_id(),
        tenant_id: tenant_id.to_owned(),
        account_id: account_id.to_owned(),
        conversation_id: a.conversation_id.clone(),
        conversation_name: a.name.clone().unwrap_or_default(),
        conversation_type: a.kind.as_str().to_owned(),
        avatar_url: String::new(),
        member_count: 0,
        last_msg_time: a.sent_at,
        last_msg_content: a.summary.clone(),
        last_msg_id: a.msg_id.clone(),
        unread_count: a.unread_increment,
        is_active: true,
        is_pinned: false,
        tags: "[]".to_owned(),
        extra_info: "{}".to_owned(),
        created_at: now,
        updated_at: now,
    };
    let plus = Expr::col(Column::UnreadCount).add(a.unread_increment);
    let unread: Expr = match &a.msg_id {
        // A re-sent callback of the message just recorded counts nothing.
        Some(id) => Expr::case(Expr::col(Column::LastMsgId).eq(id.as_str()), Expr::col(Column::UnreadCount))
            .finally(plus)
            .into(),
        None => plus,
    };
    let newer = || Expr::col(Column::LastMsgTime).lte(a.sent_at);
    let mut on_conflict = OnConflict::columns([Column::AccountId, Column::ConversationId]);
    on_conflict
        .value(Column::UnreadCount, unread)
        .value(
            Column::LastMsgContent,
            Expr::case(newer(), Expr::value(a.summary.as_str())).finally(Expr::col(Column::LastMsgContent)),
        )
        .value(
            Column::LastMsgTime,
            Expr::case(newer(), Expr::value(a.sent_at)).finally(Expr::col(Column::LastMsgTime)),
        );
    if let Some(id) = &a.msg_id {
        on_conflict.value(Column::LastMsgId, Expr::value(id.as_str()));
    }
    if let Some(name) = &a.name {
        on_conflict.value(Column::ConversationName, Expr::value(name.as_str()));
    }
    on_conflict.value(Column::IsActive, Expr::value(true)).value(Column::UpdatedAt, Expr::value(now));
    Entity::insert(row.into_active_model()).on_conflict(on_conflict).exec_without_returning(db).await?;
    Ok(())
}

pub async fn find_conversation<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    account_id: &str,
    conversation_id: &str,
) -> Result<Option<conversation::Model>, DbErr> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::ConversationId.eq(conversation_id))
        .one(db)
        .await
}

/// Newest activity first, keyset on `(last_msg_time, id)`.
pub async fn list_conversations<C: ConnectionTrait>(
    db: &C,
    f: &ConversationFilter,
    cursor: Option<&crate::store::Cursor>,
    limit: u64,
) -> Result<(Vec<conversation::Model>, Option<crate::store::Cursor>), DbErr> {
    let mut select = Entity::find()
        .filter(Column::TenantId.eq(f.tenant_id.as_str()))
        .filter(Column::AccountId.eq(f.account_id.as_str()));
    if let Some(kind) = f.kind {
        select = select.filter(Column::ConversationType.eq(kind));
    }
    if f.pinned_only {
        select = select.filter(Column::IsPinned.eq(true));
    }
    if f.unread_only {
        select = select.filter(Column::UnreadCount.gt(0));
    }
    if let Some(tag) = &f.tag {
        select = select.filter(super::has_tag(Column::Tags, tag));
    }
    if let Some(text) = &f.text {
        select = select.filter(crate::store::ilike(Column::ConversationName, &crate::store::like_pattern(text)));
    }
    wework_kit::pagination::keyset_page(db, select, Column::LastMsgTime, Column::Id, cursor, limit, |r| {
        crate::store::Cursor { created_at: r.last_msg_time, id: r.id.clone() }
    })
    .await
}

/// A user's change to a conversation.
#[derive(Debug, Clone)]
pub enum ConversationChange {
    MarkRead,
    Pin(bool),
    /// The tags as their JSON list.
    Tags(String),
}

/// Applies `change`; the conversation as it is now, `None` if there is none.
pub async fn change_conversation<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    account_id: &str,
    conversation_id: &str,
    change: ConversationChange,
    now: DateTime<Utc>,
) -> Result<Option<conversation::Model>, DbErr> {
    let (col, value) = match change {
        ConversationChange::MarkRead => (Column::UnreadCount, Expr::value(0)),
        ConversationChange::Pin(pinned) => (Column::IsPinned, Expr::value(pinned)),
        ConversationChange::Tags(json) => (Column::Tags, Expr::value(json)),
    };
    Entity::update_many()
        .col_expr(col, value)
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::ConversationId.eq(conversation_id))
        .exec(db)
        .await?;
    // Re-read rather than trust rows_affected: MySQL counts a row written
    // with the values it had as unaffected.
    find_conversation(db, tenant_id, account_id, conversation_id).await
}
