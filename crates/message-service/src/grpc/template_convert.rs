//! Templates between rows and protos, who sees which template, and the
//! checks of a template's plain fields (name, category, description, tags).
//! Stored JSON that no longer parses is an internal error, never a panic.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wework_client::protocol::MessageContent;
use wework_kit::auth::Principal;
use wework_proto::message as pb;

use super::context::Caller;
use crate::domain::FieldError;
use crate::domain::content;
use crate::domain::template::{TemplateContent, TemplateSpec};
use crate::error::Result;
use crate::store::{self, entity::template, templates::TemplateScope};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_CATEGORY_CHARS: usize = 50;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 32;
pub const MAX_SEARCH_CHARS: usize = 100;
/// Roles that see every template of their tenant, private ones included.
const TENANT_ADMIN_ROLES: [&str; 2] = ["owner", "admin"];

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) })
}

pub fn ts_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.and_then(ts)
}

/// Who made something, as stored in `creator_id`: the user, else the API
/// key, else the service.
pub fn creator_of(p: &Principal) -> String {
    p.user_id.clone().or_else(|| p.api_key_id.clone()).or_else(|| p.service.clone()).unwrap_or_default()
}

/// The templates `caller` reaches: its tenant's public ones and its own;
/// every one of the tenant for its administrators; any for platform callers.
pub fn template_scope(caller: &Caller) -> TemplateScope {
    let p = &caller.principal;
    let admin = caller.is_platform() || p.roles.iter().any(|r| TENANT_ADMIN_ROLES.contains(&r.as_str()));
    TemplateScope { tenant_id: caller.row_scope(), viewer: (!admin).then(|| creator_of(p)) }
}

/// The stored variables and content of a template.
pub fn stored_parts(row: &template::Model) -> Result<(TemplateSpec, TemplateContent)> {
    Ok((store::from_json(&row.variables)?, store::from_json(&row.template_content)?))
}

pub fn stored_preview(row: &template::Model) -> Result<HashMap<String, String>> {
    Ok(row.preview_data.as_deref().map(store::from_json).transpose()?.unwrap_or_default())
}

pub fn template_to_proto(row: &template::Model) -> Result<pb::Template> {
    let (spec, content) = stored_parts(row)?;
    let tags: Vec<String> = store::from_json(&row.tags)?;
    Ok(pb::Template {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        creator_id: row.creator_id.clone(),
        name: row.template_name.clone(),
        category: row.category.clone().unwrap_or_default(),
        description: row.description.clone().unwrap_or_default(),
        content: Some(content::to_proto(content.content())),
        variables: spec.to_proto(),
        preview_data: stored_preview(row)?,
        usage_count: u64::try_from(row.usage_count).unwrap_or(0),
        last_used_time: ts_opt(row.last_used_time),
        is_public: row.is_public,
        is_active: row.is_active,
        tags,
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    })
}

/// The stored `template_type`: the content kind, named as messages name it.
pub fn kind_name(c: &MessageContent) -> &'static str {
    match c {
        MessageContent::MiniProgram { .. } => "miniprogram",
        MessageContent::ContactCard { .. } => "card",
        other => other.kind(),
    }
}

/// A visible, trimmed text of `min..=max` characters without control characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min {
        return Err(FieldError::new(field, "required"));
    }
    if n > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(v.to_owned())
}

/// An optional text: empty is `None`.
pub fn optional(field: &str, value: &str, max: usize) -> Result<Option<String>, FieldError> {
    text(field, value, 0, max).map(|v| Some(v).filter(|v| !v.is_empty()))
}

pub fn name(value: &str) -> Result<String, FieldError> {
    text("name", value, 1, MAX_NAME_CHARS)
}

/// At most [`MAX_TAGS`] tags of 1–[`MAX_TAG_CHARS`] characters; repeats dropped.
pub fn tags(values: &[String]) -> Result<Vec<String>, FieldError> {
    if values.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, t) in values.iter().enumerate() {
        let tag = text(&format!("tags[{i}]"), t, 1, MAX_TAG_CHARS)?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// Preview values: declared, typed (the domain's check) and no longer than a text.
pub fn preview_data(spec: &TemplateSpec, values: &HashMap<String, String>) -> Vec<FieldError> {
    let mut errors = crate::domain::template::check_preview_data(spec, values);
    let mut long: Vec<&String> =
        values.iter().filter(|(_, v)| v.chars().count() > content::MAX_TEXT_CHARS).map(|(k, _)| k).collect();
    long.sort();
    for name in long.into_iter().filter(|n| spec.get(n).is_some()) {
        let limit = content::MAX_TEXT_CHARS;
        errors.push(FieldError::new(format!("preview_data.{name}"), format!("must be at most {limit} characters")));
    }
    errors
}
