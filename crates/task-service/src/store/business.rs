//! Business systems: registration, lookup by api key (authentication),
//! rotation, updates. Platform-wide table (not tenant-scoped); only platform
//! administrators reach the management queries, and each system reads itself.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TryIntoModel};

use super::entity::business_system::{self, ActiveModel, Column, Entity};
use super::{Cursor, status};

/// Code of the built-in system that service principals act as.
pub const PLATFORM_BUSINESS_CODE: &str = "platform";

pub struct NewBusinessSystem {
    pub id: String,
    pub business_code: String,
    pub business_name: String,
    pub api_key: String,
    pub api_secret_hash: String,
    pub sealed_signing_secret: String,
    pub rate_limit: u32,
    pub description: Option<String>,
}

pub async fn insert_business_system<C: ConnectionTrait>(
    db: &C,
    new: NewBusinessSystem,
    now: DateTime<Utc>,
) -> Result<business_system::Model, DbErr> {
    ActiveModel {
        id: Set(new.id),
        business_code: Set(new.business_code),
        business_name: Set(new.business_name),
        api_key: Set(new.api_key),
        api_secret_hash: Set(new.api_secret_hash),
        signing_secret: Set(new.sealed_signing_secret),
        previous_signing_secret: Set(None),
        previous_secret_until: Set(None),
        rate_limit: Set(i32::try_from(new.rate_limit).unwrap_or(i32::MAX)),
        status: Set(status::ACTIVE.to_owned()),
        description: Set(new.description),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn find_business_system<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<business_system::Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn find_business_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<business_system::Model>, DbErr> {
    Entity::find().filter(Column::BusinessCode.eq(code)).one(db).await
}

/// Authentication entry point: unscoped by design.
pub async fn find_business_by_api_key<C: ConnectionTrait>(
    db: &C,
    api_key: &str,
) -> Result<Option<business_system::Model>, DbErr> {
    Entity::find().filter(Column::ApiKey.eq(api_key)).one(db).await
}

pub async fn list_business_systems<C: ConnectionTrait>(
    db: &C,
    status_filter: Option<&str>,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<(Vec<business_system::Model>, Option<Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(s) = status_filter {
        select = select.filter(Column::Status.eq(s));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |m| Cursor {
        created_at: m.created_at,
        id: m.id.clone(),
    })
    .await
}

/// Fields an update may change; `None` leaves a field alone.
#[derive(Default)]
pub struct BusinessChanges {
    pub business_name: Option<String>,
    pub rate_limit: Option<u32>,
    pub status: Option<&'static str>,
    pub description: Option<String>,
}

pub async fn update_business_system<C: ConnectionTrait>(
    db: &C,
    current: business_system::Model,
    changes: BusinessChanges,
    now: DateTime<Utc>,
) -> Result<business_system::Model, DbErr> {
    let mut row: ActiveModel = current.into();
    if let Some(v) = changes.business_name {
        row.business_name = Set(v);
    }
    if let Some(v) = changes.rate_limit {
        row.rate_limit = Set(i32::try_from(v).unwrap_or(i32::MAX));
    }
    if let Some(v) = changes.status {
        row.status = Set(v.to_owned());
    }
    if let Some(v) = changes.description {
        row.description = Set(Some(v));
    }
    row.updated_at = Set(now);
    row.save(db).await?.try_into_model()
}

/// New api secret hash and signing secret; the old signing secret keeps
/// signing until `previous_until`.
pub async fn rotate_business_secrets<C: ConnectionTrait>(
    db: &C,
    current: business_system::Model,
    api_secret_hash: String,
    sealed_signing_secret: String,
    previous_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<business_system::Model, DbErr> {
    let previous = current.signing_secret.clone();
    let mut row: ActiveModel = current.into();
    row.api_secret_hash = Set(api_secret_hash);
    row.signing_secret = Set(sealed_signing_secret);
    row.previous_signing_secret = Set(Some(previous));
    row.previous_secret_until = Set(Some(previous_until));
    row.updated_at = Set(now);
    row.save(db).await?.try_into_model()
}
