//! Message templates. Every read is confined by a [`TemplateScope`]: the
//! caller's tenant and, for a plain tenant user, the templates it may see
//! (public ones and its own). Names are unique per tenant (the unique index
//! answers the race, the caller maps it to AlreadyExists).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
};
use wework_kit::pagination::{ilike, like_pattern};

use super::entity::template::{self, Column, Entity};

/// Which templates a caller reaches.
#[derive(Debug, Clone, Default)]
pub struct TemplateScope {
    /// `None` only for platform callers (any tenant).
    pub tenant_id: Option<String>,
    /// `Some(creator)`: only public templates and those `creator` made;
    /// `None`: every template of the tenant (tenant administrators).
    pub viewer: Option<String>,
}

impl TemplateScope {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(t) = &self.tenant_id {
            c = c.add(Column::TenantId.eq(t.as_str()));
        }
        if let Some(v) = &self.viewer {
            c = c.add(Condition::any().add(Column::IsPublic.eq(true)).add(Column::CreatorId.eq(v.as_str())));
        }
        c
    }
}

/// Filters of `ListTemplates`.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub category: Option<String>,
    /// Substring of the name or the description, case-insensitive.
    pub text: Option<String>,
    pub active_only: bool,
    /// An exact tag (case-insensitive).
    pub tag: Option<String>,
}

pub async fn insert_template<C: ConnectionTrait>(db: &C, row: template::Model) -> Result<template::Model, DbErr> {
    row.into_active_model().insert(db).await
}

pub async fn find_template<C: ConnectionTrait>(
    db: &C,
    id: &str,
    scope: &TemplateScope,
) -> Result<Option<template::Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).filter(scope.condition()).one(db).await
}

/// Writes every changed column of `row` (its id and tenant stay); false
/// when it no longer exists.
pub async fn save_template<C: ConnectionTrait>(db: &C, row: &template::Model) -> Result<bool, DbErr> {
    let mut active = row.clone().into_active_model().reset_all();
    for column in [Column::Id, Column::TenantId, Column::CreatorId, Column::CreatedAt, Column::UsageCount] {
        active.not_set(column);
    }
    active.not_set(Column::LastUsedTime);
    let res = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::TenantId.eq(row.tenant_id.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn delete_template<C: ConnectionTrait>(db: &C, id: &str, tenant: &str) -> Result<bool, DbErr> {
    let res = Entity::delete_many().filter(Column::Id.eq(id)).filter(Column::TenantId.eq(tenant)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

pub async fn list_templates<C: ConnectionTrait>(
    db: &C,
    scope: &TemplateScope,
    filter: &TemplateFilter,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<template::Model>, Option<super::Cursor>), DbErr> {
    let mut select = Entity::find().filter(scope.condition());
    if let Some(c) = &filter.category {
        select = select.filter(Column::Category.eq(c.as_str()));
    }
    if filter.active_only {
        select = select.filter(Column::IsActive.eq(true));
    }
    if let Some(text) = &filter.text {
        let pattern = like_pattern(text);
        select = select.filter(
            Condition::any().add(ilike(Column::TemplateName, &pattern)).add(ilike(Column::Description, &pattern)),
        );
    }
    if let Some(tag) = &filter.tag {
        // `"tag"` inside the JSON list: an exact element, not a substring.
        select = select.filter(ilike(Column::Tags, &like_pattern(&super::to_json(tag))));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// Counts one use of template `id` (a message or a batch was created from
/// it) at `now`. A deleted template is not an error: the use still stands.
pub async fn mark_used<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::UsageCount, Expr::col(Column::UsageCount).add(1))
        .col_expr(Column::LastUsedTime, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
