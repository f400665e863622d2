//! The audit trail: append and filtered listing, scoped by tenant.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entity::audit_log::{self, ActiveModel, Column, Entity};
use super::json;
use super::page::{Cursor, fetch_page};

pub type AuditModel = audit_log::Model;

/// One audit row. Values must already be redacted: the store writes them as given.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub id: String,
    pub tenant_id: String,
    pub user_id: Option<String>,
    /// `PRINCIPAL_*`.
    pub principal_kind: String,
    pub actor: Option<String>,
    pub operation: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    /// `RESULT_SUCCESS` or `RESULT_FAILURE`.
    pub result: String,
    pub error_message: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub service: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub operation: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

pub async fn insert_audit<C: ConnectionTrait>(db: &C, new: NewAudit) -> Result<AuditModel, DbErr> {
    ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        user_id: Set(new.user_id),
        principal_kind: Set(new.principal_kind),
        actor: Set(new.actor),
        operation: Set(new.operation),
        resource_type: Set(new.resource_type),
        resource_id: Set(new.resource_id),
        old_value: Set(json::to_text_opt(new.old_value.as_ref())),
        new_value: Set(json::to_text_opt(new.new_value.as_ref())),
        result: Set(new.result),
        error_message: Set(new.error_message),
        ip: Set(new.ip),
        user_agent: Set(new.user_agent.map(|ua| ua.chars().take(512).collect())),
        request_id: Set(new.request_id),
        service: Set(new.service),
        created_at: Set(new.created_at),
    }
    .insert(db)
    .await
}

/// Newest first, keyset-paginated.
pub async fn list_audit<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    filter: &AuditFilter,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<AuditModel>, Option<Cursor>), DbErr> {
    let mut select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    if let Some(v) = &filter.user_id {
        select = select.filter(Column::UserId.eq(v.as_str()));
    }
    if let Some(v) = &filter.operation {
        select = select.filter(Column::Operation.eq(v.as_str()));
    }
    if let Some(v) = &filter.resource_type {
        select = select.filter(Column::ResourceType.eq(v.as_str()));
    }
    if let Some(v) = &filter.resource_id {
        select = select.filter(Column::ResourceId.eq(v.as_str()));
    }
    if let Some(v) = filter.since {
        select = select.filter(Column::CreatedAt.gte(v));
    }
    if let Some(v) = filter.until {
        select = select.filter(Column::CreatedAt.lt(v));
    }
    fetch_page(db, select, Column::CreatedAt, Column::Id, cursor.as_ref(), limit, |a| Cursor {
        created_at: a.created_at,
        id: a.id.clone(),
    })
    .await
}
