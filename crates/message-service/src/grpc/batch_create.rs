//! `CreateBatch`. The account must belong to the caller's tenant (else it
//! is not found); the batch sends fixed content or an active template the
//! caller sees (a snapshot of its content and variables). Manual and import
//! receivers are written with the batch in one transaction
//! ([`super::batch_targets`]); group and filter targets are expanded later
//! by the feeder, chunk by chunk.

use sea_orm::TransactionTrait;
use serde_json::json;
use wework_proto::message::{self as pb, create_batch_response::RowError, targets::Kind};

use super::batch_convert::batch_views;
use super::batch_targets::{Accepted, invalid, write_import, write_manual};
use super::context::Caller;
use super::template_convert::{self as conv, creator_of};
use super::templates::usable_template;
use crate::domain::FieldError;
use crate::domain::batch::{BatchContent, BatchStatus, BatchStrategy, ContactFilter, TargetConfig};
use crate::domain::content;
use crate::domain::import::MAX_CONVERSATION_ID_CHARS;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, entity::batch};

pub const MAX_MANUAL_RECEIVERS: usize = 10_000;

pub async fn create(state: &AppState, caller: &Caller, r: &pb::CreateBatchRequest) -> Result<pb::CreateBatchResponse> {
    caller.require("batch:write")?;
    let tenant = caller.own_tenant()?;
    let mut errors = Vec::new();
    let name = conv::text("name", &r.name, 1, conv::MAX_NAME_CHARS).map_err(|e| errors.push(e)).unwrap_or_default();
    let account_id = r.account_id.trim();
    if account_id.is_empty() {
        errors.push(FieldError::new("account_id", "required"));
    }
    let strategy =
        BatchStrategy::parse(r.strategy.as_ref(), "strategy").map_err(|e| errors.extend(e)).unwrap_or_default();
    let template_id = r.template_id.trim();
    let fixed = match (r.content.as_ref().and_then(|c| c.kind.as_ref()), template_id.is_empty()) {
        (Some(_), false) => {
            errors.push(FieldError::new("template_id", "give content or a template, not both"));
            None
        }
        (None, true) => {
            errors.push(FieldError::new("content", "required: content, or a template_id"));
            None
        }
        (Some(_), true) => content::parse(r.content.as_ref(), "content").map_err(|e| errors.extend(e)).ok(),
        (None, false) => None,
    };
    let kind = r.targets.as_ref().and_then(|t| t.kind.as_ref());
    let config = match kind {
        None => {
            errors.push(FieldError::new("targets", "required: one of manual, import, group, filter"));
            None
        }
        Some(kind) => target_config(kind).map_err(|e| errors.extend(e)).ok(),
    };
    let (Some(config), Some(kind), true) = (config, kind, errors.is_empty()) else {
        return Err(invalid(errors));
    };
    let target = state.targets.get(account_id).await?;
    if target.tenant_id != tenant {
        return Err(Error::NotFound("account"));
    }
    let sent = match fixed {
        Some(body) => BatchContent::Fixed(body),
        None => {
            let (_, variables, content) = usable_template(state, caller, template_id).await?;
            BatchContent::Template { content, variables }
        }
    };
    let now = state.clock.now();
    let start = r.start.then_some(now);
    let row = batch::Model {
        id: store::new_id(),
        tenant_id: tenant.clone(),
        creator_id: creator_of(&caller.principal),
        task_name: name,
        account_id: account_id.to_owned(),
        template_id: (!template_id.is_empty()).then(|| template_id.to_owned()),
        message_content: store::to_json(&sent),
        target_type: config.kind().to_owned(),
        target_config: store::to_json(&config),
        send_strategy: Some(store::to_json(&strategy)),
        status: if r.start { BatchStatus::Running } else { BatchStatus::Created }.as_str().to_owned(),
        total_count: 0,
        expanded_count: 0,
        expand_cursor: None,
        expansion_done: !config.is_expanded(),
        sent_count: 0,
        success_count: 0,
        failed_count: 0,
        cancelled_count: 0,
        start_time: start,
        end_time: None,
        estimated_duration: None,
        error_message: None,
        claim_id: None,
        claimed_by: None,
        lease_until: None,
        created_at: now,
        updated_at: now,
    };
    let chunk = usize::try_from(state.settings.dispatch.batch_chunk).unwrap_or(500).max(1);
    let txn = state.db.writer().begin().await?;
    let row = store::batches::insert_batch(&txn, row).await?;
    let mut accepted = Accepted::new();
    let written = match kind {
        Kind::Manual(m) => write_manual(&txn, &row, &m.receivers, sent.spec(), chunk, &mut accepted).await?,
        Kind::Import(i) => write_import(&txn, &row, &i.csv, sent.spec(), chunk, &mut accepted).await?,
        Kind::Group(_) | Kind::Filter(_) => None,
    };
    if let Some(total) = written {
        if total == 0 {
            txn.rollback().await?;
            return Err(no_receivers(kind, accepted.errors));
        }
        store::batches::set_expanded(&txn, &row.id, total).await?;
    }
    txn.commit().await?;
    if let Some(t) = &row.template_id
        && let Err(e) = store::templates::mark_used(state.db.writer(), t, now).await
    {
        tracing::warn!(error = %e, template = %t, "template use not counted");
    }
    let entry = caller.audit(&tenant, "batch.create", "batch", &row.id);
    let summary = json!({"name": row.task_name, "account_id": row.account_id, "target_type": row.target_type});
    state.audit.record(entry.values(None, Some(summary)));
    let fresh = store::batches::find_batch(state.db.writer(), &row.id, None).await?.ok_or(Error::NotFound("batch"))?;
    let batch = batch_views(state, state.db.writer(), std::slice::from_ref(&fresh)).await?.pop();
    Ok(pb::CreateBatchResponse { batch, row_errors: accepted.into_errors() })
}

/// The stored target of a group or filter batch, checked; manual and
/// import targets are checked as their rows are read.
fn target_config(kind: &Kind) -> Result<TargetConfig, Vec<FieldError>> {
    match kind {
        Kind::Manual(m) if m.receivers.len() > MAX_MANUAL_RECEIVERS => Err(vec![FieldError::new(
            "targets.manual.receivers",
            format!("at most {MAX_MANUAL_RECEIVERS} receivers (import a CSV for more)"),
        )]),
        Kind::Manual(_) => Ok(TargetConfig::Manual),
        Kind::Import(_) => Ok(TargetConfig::Import),
        Kind::Group(g) => conv::text("group_id", &g.group_id, 1, MAX_CONVERSATION_ID_CHARS)
            .map(|group_id| TargetConfig::Group { group_id })
            .map_err(|e| vec![e.at("targets.group")]),
        Kind::Filter(f) => {
            let mut errors = Vec::new();
            let tags = conv::tags(&f.tags).map_err(|e| errors.push(e.at("targets.filter"))).unwrap_or_default();
            let contact_type = f.contact_type.trim().to_ascii_lowercase();
            if !matches!(contact_type.as_str(), "" | "internal" | "external") {
                errors.push(FieldError::new("targets.filter.contact_type", "must be internal, external or empty"));
            }
            let text = conv::optional("text", &f.text, conv::MAX_SEARCH_CHARS)
                .map_err(|e| errors.push(e.at("targets.filter")))
                .unwrap_or_default()
                .unwrap_or_default();
            if errors.is_empty() {
                Ok(TargetConfig::Filter(ContactFilter { tags, contact_type, text }))
            } else {
                Err(errors)
            }
        }
    }
}
/// A list without one usable receiver: the first row errors, as fields.
fn no_receivers(kind: &Kind, rows: Vec<RowError>) -> Error {
    let field = match kind {
        Kind::Import(_) => "targets.import.csv",
        _ => "targets.manual.receivers",
    };
    let mut errors = vec![FieldError::new(field, "no usable receiver")];
    for e in rows.into_iter().take(20) {
        let column = if e.field.is_empty() { String::new() } else { format!(" {}", e.field) };
        errors.push(FieldError::new(field, format!("line {}{column}: {}", e.line, e.message)));
    }
    Error::Invalid(errors)
}
