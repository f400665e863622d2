//! The one read of templates the send path needs: a template by id within
//! the sending tenant (another tenant's template is simply not found). The
//! template service owns every other query of `message_templates`.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entity::template::{self, Column, Entity};

/// The template `id` of `tenant`, active or not (the caller decides).
pub async fn find_template_for_send<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<template::Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).filter(Column::TenantId.eq(tenant)).one(db).await
}
