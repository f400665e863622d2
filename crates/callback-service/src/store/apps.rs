//! WeCom apps. Secrets arrive here already sealed; the store never sees them
//! in clear.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entity::app::{self, Column, Entity};

/// Whether `tenant` already has an app of `corp_id` + `agent_id` (other
/// than `except`): the pair is unique per tenant, enforced here because a
/// NULL agent repeats freely in a unique index.
pub async fn corp_agent_taken<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    corp_id: &str,
    agent_id: Option<i64>,
) -> Result<bool, DbErr> {
    let mut q = Entity::find().filter(Column::TenantId.eq(tenant)).filter(Column::CorpId.eq(corp_id));
    q = match agent_id {
        Some(a) => q.filter(Column::AgentId.eq(a)),
        None => q.filter(Column::AgentId.is_null()),
    };
    Ok(q.one(db).await?.is_some())
}

pub async fn insert_app<C: ConnectionTrait>(db: &C, row: app::Model) -> Result<app::Model, DbErr> {
    app::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(row.tenant_id),
        name: Set(row.name),
        corp_id: Set(row.corp_id),
        agent_id: Set(row.agent_id),
        token_sealed: Set(row.token_sealed),
        aes_key_sealed: Set(row.aes_key_sealed),
        status: Set(row.status),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    }
    .insert(db)
    .await
}

/// One app within the caller's tenant (`None`: any — ingest, platform callers).
pub async fn find_app<C: ConnectionTrait>(db: &C, tenant: Option<&str>, id: &str) -> Result<Option<app::Model>, DbErr> {
    let mut q = Entity::find_by_id(id.to_owned());
    if let Some(t) = tenant {
        q = q.filter(Column::TenantId.eq(t));
    }
    q.one(db).await
}

/// Changes of `UpdateApp`; `None` keeps the stored value.
#[derive(Default)]
pub struct AppChange {
    pub name: Option<String>,
    pub token_sealed: Option<String>,
    pub aes_key_sealed: Option<String>,
    pub status: Option<String>,
}

pub async fn update_app<C: ConnectionTrait>(
    db: &C,
    row: app::Model,
    change: AppChange,
    now: DateTime<Utc>,
) -> Result<app::Model, DbErr> {
    let mut active: app::ActiveModel = row.into();
    if let Some(v) = change.name {
        active.name = Set(v);
    }
    if let Some(v) = change.token_sealed {
        active.token_sealed = Set(v);
    }
    if let Some(v) = change.aes_key_sealed {
        active.aes_key_sealed = Set(v);
    }
    if let Some(v) = change.status {
        active.status = Set(v);
    }
    active.updated_at = Set(now);
    active.update(db).await
}

/// A page of apps of `tenant` (`None`: every tenant), newest first.
pub async fn list_apps<C: ConnectionTrait>(
    db: &C,
    tenant: Option<&str>,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<app::Model>, Option<super::Cursor>), DbErr> {
    let mut q = Entity::find();
    if let Some(t) = tenant {
        q = q.filter(Column::TenantId.eq(t));
    }
    wework_kit::pagination::keyset_page(db, q, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}
