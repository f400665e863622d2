//! Webhook endpoints. Scoped by owner: a tenant user passes
//! `tenant:<id>`, a business system `business:<code>`, the platform `None`.
//! The failure streak (`failing_since`) is kept here so the worker can
//! disable an endpoint that keeps failing.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TryIntoModel};

use super::entity::endpoint::{self, ActiveModel, Column, Entity};
use super::{Cursor, status};

pub struct EndpointUpsert {
    pub owner: String,
    pub name: String,
    pub tenant_id: Option<String>,
    pub url: String,
    pub description: Option<String>,
}

/// Creates the endpoint of (owner, name) with `sealed_secret`, or updates its
/// url and description (keeping its secret). Returns the row and whether it
/// was created.
pub async fn upsert_endpoint<C: ConnectionTrait>(
    db: &C,
    up: EndpointUpsert,
    sealed_secret: String,
    now: DateTime<Utc>,
) -> Result<(endpoint::Model, bool), DbErr> {
    let existing = Entity::find().filter(Column::Owner.eq(&up.owner)).filter(Column::Name.eq(&up.name)).one(db).await?;
    if let Some(current) = existing {
        let mut row: ActiveModel = current.into();
        row.url = Set(up.url);
        row.description = Set(up.description);
        row.updated_at = Set(now);
        return Ok((row.save(db).await?.try_into_model()?, false));
    }
    let row = ActiveModel {
        id: Set(super::new_id()),
        owner: Set(up.owner),
        name: Set(up.name),
        tenant_id: Set(up.tenant_id),
        url: Set(up.url),
        signing_secret: Set(sealed_secret),
        previous_signing_secret: Set(None),
        previous_secret_until: Set(None),
        status: Set(status::ENABLED.to_owned()),
        description: Set(up.description),
        failing_since: Set(None),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((row, true))
}

/// The endpoint `id` if `owner` (when given) owns it.
pub async fn find_endpoint<C: ConnectionTrait>(
    db: &C,
    id: &str,
    owner: Option<&str>,
) -> Result<Option<endpoint::Model>, DbErr> {
    let mut q = Entity::find_by_id(id.to_owned());
    if let Some(o) = owner {
        q = q.filter(Column::Owner.eq(o));
    }
    q.one(db).await
}

pub async fn list_endpoints<C: ConnectionTrait>(
    db: &C,
    owner: Option<&str>,
    status_filter: Option<&str>,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<(Vec<endpoint::Model>, Option<Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(o) = owner {
        select = select.filter(Column::Owner.eq(o));
    }
    if let Some(s) = status_filter {
        select = select.filter(Column::Status.eq(s));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |m| Cursor {
        created_at: m.created_at,
        id: m.id.clone(),
    })
    .await
}

/// Enabled endpoints of an owner: where a tenant event goes.
pub async fn enabled_endpoints_of<C: ConnectionTrait>(db: &C, owner: &str) -> Result<Vec<endpoint::Model>, DbErr> {
    Entity::find().filter(Column::Owner.eq(owner)).filter(Column::Status.eq(status::ENABLED)).all(db).await
}

/// Enabling clears the failure streak; disabling records why.
pub async fn set_endpoint_enabled<C: ConnectionTrait>(
    db: &C,
    current: endpoint::Model,
    enabled: bool,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<endpoint::Model, DbErr> {
    let mut row: ActiveModel = current.into();
    row.status = Set(if enabled { status::ENABLED } else { status::DISABLED }.to_owned());
    row.disabled_reason = Set(if enabled { None } else { reason });
    row.failing_since = Set(None);
    row.updated_at = Set(now);
    row.save(db).await?.try_into_model()
}

pub async fn rotate_endpoint_secret<C: ConnectionTrait>(
    db: &C,
    current: endpoint::Model,
    sealed_secret: String,
    previous_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<endpoint::Model, DbErr> {
    let previous = current.signing_secret.clone();
    let mut row: ActiveModel = current.into();
    row.signing_secret = Set(sealed_secret);
    row.previous_signing_secret = Set(Some(previous));
    row.previous_secret_until = Set(Some(previous_until));
    row.updated_at = Set(now);
    row.save(db).await?.try_into_model()
}

/// A delivery to the endpoint succeeded: the failure streak ends.
pub async fn endpoint_succeeded<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .filter(Column::FailingSince.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A delivery failed: starts the streak if none is running.
pub async fn endpoint_failed<C: ConnectionTrait>(db: &C, ids: &[String], now: DateTime<Utc>) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::FailingSince, Expr::value(now))
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .filter(Column::FailingSince.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Disables enabled endpoints among `ids` failing since before `cutoff`;
/// returns the ones this call disabled (so exactly one replica reports each).
pub async fn disable_failing_endpoints<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<endpoint::Model>, DbErr> {
    let mut disabled = Vec::new();
    for id in ids {
        let done = Entity::update_many()
            .col_expr(Column::Status, Expr::value(status::DISABLED))
            .col_expr(Column::DisabledReason, Expr::value("auto: deliveries kept failing"))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(id.as_str()))
            .filter(Column::Status.eq(status::ENABLED))
            .filter(Column::FailingSince.lt(cutoff))
            .exec(db)
            .await?;
        if done.rows_affected == 1
            && let Some(row) = Entity::find_by_id(id.clone()).one(db).await?
        {
            disabled.push(row);
        }
    }
    Ok(disabled)
}
