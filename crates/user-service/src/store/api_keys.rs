//! Tenant API keys. `find_api_key_by_prefix` is the authentication entry
//! point and therefore unscoped; everything else is scoped by tenant.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use super::entity::api_key::{self, ActiveModel, Column, Entity};
use super::json;
use super::page::{Cursor, fetch_page};
use super::status::{STATUS_ACTIVE, STATUS_REVOKED};

/// An API key row with its permission list decoded (stored as JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyModel {
    pub id: String,
    pub tenant_id: String,
    pub created_by: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub permissions: Vec<String>,
    /// `STATUS_ACTIVE` or `STATUS_REVOKED`.
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<api_key::Model> for ApiKeyModel {
    type Error = DbErr;

    fn try_from(m: api_key::Model) -> Result<Self, DbErr> {
        Ok(Self {
            permissions: m.permission_list()?,
            id: m.id,
            tenant_id: m.tenant_id,
            created_by: m.created_by,
            name: m.name,
            prefix: m.prefix,
            key_hash: m.key_hash,
            status: m.status,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn decode(row: Option<api_key::Model>) -> Result<Option<ApiKeyModel>, DbErr> {
    row.map(ApiKeyModel::try_from).transpose()
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: String,
    pub tenant_id: String,
    /// The user who created the key; the key acts on their behalf.
    pub created_by: String,
    pub name: String,
    pub prefix: String,
    /// SHA-256 hex of the secret part.
    pub key_hash: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_api_key<C: ConnectionTrait>(db: &C, new: NewApiKey) -> Result<ApiKeyModel, DbErr> {
    ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        created_by: Set(new.created_by),
        name: Set(new.name),
        prefix: Set(new.prefix),
        key_hash: Set(new.key_hash),
        permissions: Set(json::list_to_text(&new.permissions)),
        status: Set(STATUS_ACTIVE.to_owned()),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(new.created_at),
        updated_at: Set(new.created_at),
    }
    .insert(db)
    .await?
    .try_into()
}

/// Any key with this public prefix, whatever its tenant or status.
pub async fn find_api_key_by_prefix<C: ConnectionTrait>(db: &C, prefix: &str) -> Result<Option<ApiKeyModel>, DbErr> {
    decode(Entity::find().filter(Column::Prefix.eq(prefix)).one(db).await?)
}

/// Newest first; `status` is `STATUS_ACTIVE` / `STATUS_REVOKED` or all.
pub async fn list_api_keys<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    status: Option<&str>,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<ApiKeyModel>, Option<Cursor>), DbErr> {
    let mut select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    if let Some(s) = status {
        select = select.filter(Column::Status.eq(s));
    }
    let (rows, next) = fetch_page(db, select, Column::CreatedAt, Column::Id, cursor.as_ref(), limit, |k| Cursor {
        created_at: k.created_at,
        id: k.id.clone(),
    })
    .await?;
    let rows = rows.into_iter().map(ApiKeyModel::try_from).collect::<Result<_, _>>()?;
    Ok((rows, next))
}

/// Revokes a key (idempotent: an already revoked key keeps its first
/// `revoked_at`). `None` if the tenant has no such key.
pub async fn revoke_api_key<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<ApiKeyModel>, DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_REVOKED))
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .exec(db)
        .await?;
    decode(Entity::find().filter(Column::TenantId.eq(tenant_id)).filter(Column::Id.eq(id)).one(db).await?)
}

pub async fn touch_api_key<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many().col_expr(Column::LastUsedAt, Expr::value(now)).filter(Column::Id.eq(id)).exec(db).await?;
    Ok(())
}
