//! `ReportEvent`: the callback service hands over one parsed instance
//! callback. The event is resolved to its account by guid, turned into an
//! effect by `domain::events`, and applied through the state machine. An
//! effect the current status does not allow is answered `applied: false`
//! with the reason (a late or replayed callback must not move an account
//! backwards); a repeat of the last applied `event_id` changes nothing.

use wework_client::CallbackEnvelope;
use wework_client::callback::ParseError;
use wework_proto::account as pb;

use super::context::Caller;
use crate::domain::events::{EventEffect, StatusUpdate, effect_of};
use crate::domain::{AccountStatus, FieldError, OperatorType};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Cause, Decision, move_to, status_of};
use crate::state::AppState;
use crate::store::{self, entity::account};

/// Largest `data_json` accepted (a new-message callback with a long text).
const MAX_DATA_BYTES: usize = 256 * 1024;

fn parse(r: &pb::ReportEventRequest) -> Result<CallbackEnvelope> {
    let mut errors = Vec::new();
    if r.guid.trim().is_empty() || r.guid.len() > 100 {
        errors.push(FieldError::new("guid", "must be 1 to 100 characters"));
    }
    if r.event_id.len() > 64 {
        errors.push(FieldError::new("event_id", "must be at most 64 characters"));
    }
    if r.data_json.len() > MAX_DATA_BYTES {
        errors.push(FieldError::new("data_json", format!("must be at most {MAX_DATA_BYTES} bytes")));
    }
    let data = if r.data_json.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&r.data_json).unwrap_or_else(|_| {
            errors.push(FieldError::new("data_json", "must be JSON"));
            serde_json::Value::Null
        })
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(CallbackEnvelope { guid: r.guid.trim().to_owned(), notify_type: r.notify_type, data })
}

fn response(row: &account::Model, applied: bool, note: impl Into<String>) -> pb::ReportEventResponse {
    pb::ReportEventResponse {
        account_id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        status: status_of(row).to_proto(),
        applied,
        note: note.into(),
    }
}

pub async fn report(state: &AppState, caller: &Caller, r: &pb::ReportEventRequest) -> Result<pb::ReportEventResponse> {
    caller.require_service()?;
    let envelope = parse(r)?;
    let row =
        store::find_account_by_guid(state.db.writer(), &envelope.guid).await?.ok_or(Error::NotFound("account"))?;
    let event_id = Some(r.event_id.trim().to_owned()).filter(|e| !e.is_empty());
    if event_id.is_some() && row.last_event_id == event_id {
        return Ok(response(&row, false, "duplicate event"));
    }
    let event = match envelope.event() {
        Ok(event) => event,
        Err(ParseError::UnknownType(t)) => return Ok(response(&row, false, format!("unknown notify_type {t}"))),
        Err(ParseError::Malformed { .. }) => {
            return Err(FieldError::new("data_json", "does not match the notify_type's data").into());
        }
    };
    match effect_of(event) {
        EventEffect::Status(update) => apply_status(state, &row, *update, r.notify_type, event_id).await,
        EventEffect::Heartbeat => {
            let touched = store::touch_heartbeat(state.db.writer(), &row.id, state.clock.now()).await?;
            lifecycle::forget_account(state, &row.id).await;
            Ok(response(&row, touched, if touched { "" } else { "not online" }))
        }
        EventEffect::NewMessage(message) => {
            super::directory::record_inbound(state, &row, &message).await?;
            Ok(response(&row, true, "conversation updated"))
        }
        EventEffect::SyncFinished(data) => {
            super::directory::instance_sync_finished(state, &row, &data).await?;
            Ok(response(&row, true, "directory sync requested"))
        }
        EventEffect::Ignore(why) => Ok(response(&row, false, why)),
    }
}

async fn apply_status(
    state: &AppState,
    row: &account::Model,
    update: StatusUpdate,
    notify_type: i32,
    event_id: Option<String>,
) -> Result<pb::ReportEventResponse> {
    let cause = Cause::new(update.reason.clone(), OperatorType::System, None)
        .with_error(update.error.clone())
        .with_extra(serde_json::json!({"notify_type": notify_type}));
    let outcome = lifecycle::update_account(state, &row.id, None, |current, now| {
        // Checked again on the fresh row: the same event may arrive twice at once.
        if event_id.is_some() && current.last_event_id == event_id {
            return Ok(Decision::Skip("duplicate event".to_owned()));
        }
        let (mut next, history) = match move_to(current, update.to, &cause, now) {
            Ok(moved) => moved,
            Err(e) => return Ok(Decision::Skip(format!("not applicable: {e}"))),
        };
        next.last_event_id.clone_from(&event_id);
        if let Some((url, expires)) = &update.qr {
            next.qr_code_url = Some(url.clone());
            next.qr_expires_at = Some(*expires);
        }
        match update.to {
            AccountStatus::Online => {
                if let Some(info) = &update.user_info {
                    next.user_info = Some(store::to_json(info));
                }
                if history.is_some() {
                    next.last_login_time = Some(now);
                }
                next.last_heartbeat_time = Some(now);
                next.qr_code_url = None;
                next.qr_expires_at = None;
                next.recover_attempts = 0;
                next.next_recover_at = None;
                next.error_message = None;
                next.login_retry_count = 0;
            }
            AccountStatus::Offline => {
                next.next_recover_at = update.recover.then_some(now);
                next.recover_attempts = 0;
                next.qr_code_url = None;
                next.qr_expires_at = None;
                next.error_message = Some(update.reason.clone());
            }
            AccountStatus::NeedVerify => next.error_message.clone_from(&update.error),
            _ => {}
        }
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    Ok(match &outcome {
        lifecycle::Outcome::Applied { account, change } => {
            response(account, true, if change.is_some() { "" } else { "details updated" })
        }
        lifecycle::Outcome::Skipped { account, note } => response(account, false, note.clone()),
    })
}
