//! `TemplateService`: templates of the caller's tenant (`template:read`,
//! `template:write`). A template is seen by its creator, by the tenant's
//! administrators and, once public, by every user of the tenant; another
//! tenant's template is simply not found. Content and variables are checked
//! together (every placeholder declared, the content valid with sample
//! values); names are unique per tenant.

use std::collections::HashMap;

use serde_json::json;
use tonic::{Request, Response, Status};
use wework_proto::message::{self as pb, template_service_server::TemplateService};

use super::context::Caller;
use super::template_convert::{self as conv, stored_parts, template_scope, template_to_proto};
use super::{Api, page, respond};
use crate::domain::template::{self, TemplateContent, TemplateSpec};
use crate::domain::{FieldError, content};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, entity::template as row, templates as db};

/// A template the caller may use to send: visible to it and active.
pub async fn usable_template(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(row::Model, TemplateSpec, TemplateContent)> {
    let found = visible(state, caller, id).await?;
    if !found.is_active {
        return Err(Error::precondition("TEMPLATE_INACTIVE", "the template is not active"));
    }
    let (spec, content) = stored_parts(&found)?;
    Ok((found, spec, content))
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<row::Model> {
    db::find_template(state.db.reader(), id.trim(), &template_scope(caller)).await?.ok_or(Error::NotFound("template"))
}

/// Keeps the errors of a check and its value (or the default).
fn keep<T: Default>(errors: &mut Vec<FieldError>, checked: std::result::Result<T, FieldError>) -> T {
    checked.map_err(|e| errors.push(e)).unwrap_or_default()
}

async fn create(state: &AppState, caller: &Caller, r: &pb::CreateTemplateRequest) -> Result<pb::Template> {
    caller.require("template:write")?;
    let tenant = caller.own_tenant()?;
    let mut errors = Vec::new();
    let name = keep(&mut errors, conv::name(&r.name));
    let category = keep(&mut errors, conv::optional("category", &r.category, conv::MAX_CATEGORY_CHARS));
    let description = keep(&mut errors, conv::optional("description", &r.description, conv::MAX_DESCRIPTION_CHARS));
    let tags = keep(&mut errors, conv::tags(&r.tags));
    let checked = TemplateSpec::parse(&r.variables, "variables").and_then(|spec| {
        let content = TemplateContent::parse(&spec, r.content.as_ref(), "content")?;
        let preview = conv::preview_data(&spec, &r.preview_data);
        if preview.is_empty() { Ok((spec, content)) } else { Err(preview) }
    });
    let (spec, body) = match checked {
        Ok(parts) if errors.is_empty() => parts,
        Ok(_) => return Err(Error::Invalid(errors)),
        Err(more) => return Err(Error::Invalid(errors.into_iter().chain(more).collect())),
    };
    let now = state.clock.now();
    let new = row::Model {
        id: store::new_id(),
        tenant_id: tenant.clone(),
        creator_id: conv::creator_of(&caller.principal),
        template_name: name,
        template_type: conv::kind_name(body.content()).to_owned(),
        category,
        description,
        template_content: store::to_json(&body),
        variables: store::to_json(&spec),
        preview_data: (!r.preview_data.is_empty()).then(|| store::to_json(&r.preview_data)),
        usage_count: 0,
        last_used_time: None,
        is_public: r.is_public,
        is_active: true,
        tags: store::to_json(&tags),
        created_at: now,
        updated_at: now,
    };
    let saved = db::insert_template(state.db.writer(), new).await.map_err(|e| Error::duplicate_as(e, "template"))?;
    let entry = caller.audit(&tenant, "template.create", "template", &saved.id);
    state.audit.record(entry.values(None, Some(json!({"name": saved.template_name}))));
    template_to_proto(&saved)
}

async fn update(state: &AppState, caller: &Caller, r: &pb::UpdateTemplateRequest) -> Result<pb::Template> {
    caller.require("template:write")?;
    let current = visible(state, caller, &r.id).await?;
    let mut errors = Vec::new();
    let mut next = current.clone();
    if let Some(v) = &r.name {
        next.template_name = keep(&mut errors, conv::name(v));
    }
    if let Some(v) = &r.category {
        next.category = keep(&mut errors, conv::optional("category", v, conv::MAX_CATEGORY_CHARS));
    }
    if let Some(v) = &r.description {
        next.description = keep(&mut errors, conv::optional("description", v, conv::MAX_DESCRIPTION_CHARS));
    }
    if r.set_tags {
        next.tags = store::to_json(&keep(&mut errors, conv::tags(&r.tags)));
    }
    next.is_active = r.is_active.unwrap_or(current.is_active);
    next.is_public = r.is_public.unwrap_or(current.is_public);
    let (stored_spec, stored_content) = stored_parts(&current)?;
    let recheck = r.set_variables || r.content.is_some();
    let checked = if r.set_variables { TemplateSpec::parse(&r.variables, "variables") } else { Ok(stored_spec) }
        .and_then(|spec| {
            // New variables are checked against the stored content too: a
            // placeholder still in use cannot lose its variable.
            let proto = r.content.clone().or_else(|| Some(content::to_proto(stored_content.content())));
            let body = TemplateContent::parse(&spec, proto.as_ref(), "content")?;
            Ok((spec, body))
        });
    match checked {
        Ok(_) if !recheck => {}
        Ok((spec, body)) => {
            next.template_type = conv::kind_name(body.content()).to_owned();
            next.template_content = store::to_json(&body);
            // Preview values the new variables no longer accept are dropped.
            let preview: HashMap<String, String> = conv::stored_preview(&current)?
                .into_iter()
                .filter(|(k, v)| conv::preview_data(&spec, &HashMap::from([(k.clone(), v.clone())])).is_empty())
                .collect();
            next.preview_data = (!preview.is_empty()).then(|| store::to_json(&preview));
            next.variables = store::to_json(&spec);
        }
        Err(more) => errors.extend(more),
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    next.updated_at = state.clock.now();
    let saved = db::save_template(state.db.writer(), &next).await.map_err(|e| Error::duplicate_as(e, "template"))?;
    if !saved {
        return Err(Error::NotFound("template"));
    }
    let entry = caller.audit(&next.tenant_id, "template.update", "template", &next.id);
    let values = |t: &row::Model| json!({"name": t.template_name, "is_active": t.is_active, "is_public": t.is_public});
    state.audit.record(entry.values(Some(values(&current)), Some(values(&next))));
    template_to_proto(&next)
}

async fn list(state: &AppState, caller: &Caller, r: &pb::ListTemplatesRequest) -> Result<pb::ListTemplatesResponse> {
    caller.require("template:read")?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let mut errors = Vec::new();
    let filter = db::TemplateFilter {
        category: keep(&mut errors, conv::optional("category", &r.category, conv::MAX_CATEGORY_CHARS)),
        text: keep(&mut errors, conv::optional("text", &r.text, conv::MAX_SEARCH_CHARS)),
        active_only: r.active_only,
        tag: keep(&mut errors, conv::optional("tag", &r.tag, conv::MAX_TAG_CHARS)),
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let scope = template_scope(caller);
    let (rows, next) = db::list_templates(state.db.reader(), &scope, &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListTemplatesResponse {
        templates: rows.iter().map(template_to_proto).collect::<Result<_>>()?,
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<pb::DeleteTemplateResponse> {
    caller.require("template:write")?;
    let found = visible(state, caller, id).await?;
    if !db::delete_template(state.db.writer(), &found.id, &found.tenant_id).await? {
        return Err(Error::NotFound("template"));
    }
    let entry = caller.audit(&found.tenant_id, "template.delete", "template", &found.id);
    state.audit.record(entry.values(Some(json!({"name": found.template_name})), None));
    Ok(pb::DeleteTemplateResponse {})
}

/// Fills the template with the request's values (over the preview data
/// when asked), as a send would; errors name `variables.<name>` or the
/// content field the values broke.
async fn render(state: &AppState, caller: &Caller, r: &pb::RenderRequest) -> Result<pb::RenderResponse> {
    caller.require("template:read")?;
    let found = visible(state, caller, &r.template_id).await?;
    let (spec, body) = stored_parts(&found)?;
    let mut values = if r.use_preview_data { conv::stored_preview(&found)? } else { HashMap::new() };
    values.extend(r.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
    let rendered = template::render(&spec, &body, &values).map_err(Error::Invalid)?;
    Ok(pb::RenderResponse { content: Some(content::to_proto(rendered.content())) })
}

#[tonic::async_trait]
impl TemplateService for Api {
    async fn create_template(&self, req: Request<pb::CreateTemplateRequest>) -> Result<Response<pb::Template>, Status> {
        respond(async { create(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn update_template(&self, req: Request<pb::UpdateTemplateRequest>) -> Result<Response<pb::Template>, Status> {
        respond(async { update(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn get_template(&self, req: Request<pb::GetTemplateRequest>) -> Result<Response<pb::Template>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require("template:read")?;
            template_to_proto(&visible(&self.state, &caller, &req.get_ref().id).await?)
        })
        .await
    }

    async fn list_templates(
        &self,
        req: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        respond(async { list(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn delete_template(
        &self,
        req: Request<pb::DeleteTemplateRequest>,
    ) -> Result<Response<pb::DeleteTemplateResponse>, Status> {
        respond(async { delete(&self.state, &self.state.caller(&req).await?, &req.get_ref().id).await }).await
    }

    async fn render(&self, req: Request<pb::RenderRequest>) -> Result<Response<pb::RenderResponse>, Status> {
        respond(async { render(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }
}
