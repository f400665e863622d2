//! Accepting sends: parsed drafts become persisted messages. One message and
//! a list of up to 1,000 take the same steps — an idempotent repeat is
//! answered from the store before anything is reserved; templates are
//! rendered; the account must belong to the caller's tenant; the tenant's
//! daily quota is reserved for all accepted items in one call; one
//! `inserter.create` writes them; what turned out to be a duplicate gives
//! its quota back.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tonic::Status;
use wework_proto::message as pb;

use super::context::Caller;
use super::convert::{chat_type_name, message_to_proto};
use super::send::{SendDraft, Source, parse_send};
use crate::domain::content::{self, MessageBody};
use crate::domain::status::MessageStatus;
use crate::domain::template::{TemplateContent, TemplateSpec, render};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, NewMessage, entity::message};

/// Items of one `SendMessages` call at most.
pub const MAX_ITEMS: usize = 1_000;

/// A refused item: gRPC code and message.
type Refusal = (i32, String);

fn refusal(e: Error) -> Refusal {
    let status = Status::from(e);
    (status.code() as i32, status.message().to_owned())
}

/// A usable template: active, its stored spec and content readable.
struct Loaded {
    spec: TemplateSpec,
    content: TemplateContent,
}

async fn load_template(state: &AppState, tenant: &str, id: &str) -> Result<Loaded> {
    let row = store::find_template_for_send(state.db.writer(), tenant, id).await?.ok_or(Error::NotFound("template"))?;
    if !row.is_active {
        return Err(Error::precondition("TEMPLATE_INACTIVE", "the template is not active"));
    }
    Ok(Loaded { spec: store::from_json(&row.variables)?, content: store::from_json(&row.template_content)? })
}

/// The content of a draft: its own, or its template rendered (field names
/// under `prefix`).
fn body_of(source: &Source, template: Option<&Loaded>, prefix: &str) -> Result<MessageBody> {
    match (source, template) {
        (Source::Content(body), _) => Ok(body.clone()),
        (Source::Template { variables, .. }, Some(t)) => render(&t.spec, &t.content, variables)
            .map_err(|errors| Error::Invalid(errors.into_iter().map(|e| e.at(prefix)).collect())),
        (Source::Template { .. }, None) => Err(Error::NotFound("template")),
    }
}

async fn check_account(state: &AppState, tenant: &str, account_id: &str) -> Result<()> {
    let target = state.targets.get(account_id).await?;
    if target.tenant_id != tenant {
        return Err(Error::NotFound("account"));
    }
    Ok(())
}

fn new_message(tenant: &str, draft: SendDraft, body: MessageBody, now: DateTime<Utc>) -> NewMessage {
    let template_id = match draft.source {
        Source::Template { id, .. } => Some(id),
        Source::Content(_) => None,
    };
    let due = draft.scheduled_time.map_or(now, |t| t.max(now));
    NewMessage {
        tenant_id: tenant.to_owned(),
        account_id: draft.account_id,
        conversation_id: draft.conversation_id,
        chat_type: chat_type_name(draft.chat_type).to_owned(),
        direction: store::OUT,
        message_type: content::kind(&body).to_owned(),
        content: store::to_json(&body.into_content()),
        at_list: (!draft.at_list.is_empty()).then(|| store::to_json(&draft.at_list)),
        template_id,
        status: MessageStatus::Pending,
        wework_msg_id: None,
        send_time: None,
        batch_id: None,
        receiver_id: None,
        priority: draft.priority,
        scheduled_time: draft.scheduled_time,
        next_attempt_at: Some(due),
        idempotency_key: draft.idempotency_key,
        sender_id: None,
        sender_name: None,
        traceparent: wework_kit::telemetry::current_traceparent(),
    }
}

/// Earlier messages of `tenant` by idempotency key.
async fn existing(state: &AppState, tenant: &str, drafts: &[&SendDraft]) -> Result<HashMap<String, message::Model>> {
    let mut keys: Vec<String> = drafts.iter().filter_map(|d| d.idempotency_key.clone()).collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    keys.sort_unstable();
    keys.dedup();
    let rows = store::find_by_idempotency_keys(state.db.writer(), tenant, &keys).await?;
    Ok(rows.into_iter().filter_map(|r| Some((r.idempotency_key.clone()?, r))).collect())
}

/// Reserves quota for `messages`, writes them, and gives back the quota of
/// the ones that turned out to exist already.
async fn persist(state: &AppState, tenant: &str, messages: Vec<NewMessage>) -> Result<Vec<(message::Model, bool)>> {
    let n = u32::try_from(messages.len()).unwrap_or(u32::MAX);
    let rows = match state.inserter.create(messages).await {
        Ok(rows) => rows,
        Err(e) => {
            state.quota.release(tenant, n).await;
            return Err(e.into());
        }
    };
    let repeats = rows.iter().filter(|(_, created)| !created).count();
    state.quota.release(tenant, u32::try_from(repeats).unwrap_or(0)).await;
    metrics::counter!("messages_accepted_total").increment((rows.len() - repeats) as u64);
    Ok(rows)
}

/// `SendMessage`.
pub async fn send_one(
    state: &AppState,
    caller: &Caller,
    r: &pb::SendMessageRequest,
) -> Result<pb::SendMessageResponse> {
    caller.require("message:send")?;
    let tenant = caller.own_tenant()?;
    let now = state.clock.now();
    let draft = parse_send(r, "", now).map_err(Error::Invalid)?;
    if let Some(key) = &draft.idempotency_key
        && let Some(row) = existing(state, &tenant, &[&draft]).await?.remove(key)
    {
        return Ok(pb::SendMessageResponse { message: Some(message_to_proto(&row)), created: false });
    }
    let template = match &draft.source {
        Source::Template { id, .. } => Some(load_template(state, &tenant, id).await?),
        Source::Content(_) => None,
    };
    let body = body_of(&draft.source, template.as_ref(), "")?;
    check_account(state, &tenant, &draft.account_id).await?;
    state.quota.reserve(&tenant, 1).await?;
    let mut rows = persist(state, &tenant, vec![new_message(&tenant, draft, body, now)]).await?;
    let (row, created) = rows.pop().ok_or_else(|| Error::Internal(anyhow::anyhow!("the inserter returned no row")))?;
    Ok(pb::SendMessageResponse { message: Some(message_to_proto(&row)), created })
}

/// One item's answer: its message (and whether it was created), or why not.
type ItemResult = std::result::Result<(message::Model, bool), Refusal>;

/// `SendMessages`: each item accepted or refused on its own.
pub async fn send_many(
    state: &AppState,
    caller: &Caller,
    r: &pb::SendMessagesRequest,
) -> Result<pb::SendMessagesResponse> {
    caller.require("message:send")?;
    let tenant = caller.own_tenant()?;
    if r.messages.len() > MAX_ITEMS {
        let message = format!("at most {MAX_ITEMS} messages per call");
        return Err(crate::domain::FieldError::new("messages", message).into());
    }
    let now = state.clock.now();
    let parsed: Vec<(String, std::result::Result<SendDraft, Refusal>)> = r
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let prefix = format!("messages[{i}]");
            let draft = parse_send(m, &prefix, now).map_err(|e| refusal(Error::Invalid(e)));
            (prefix, draft)
        })
        .collect();
    let drafts: Vec<&SendDraft> = parsed.iter().filter_map(|(_, d)| d.as_ref().ok()).collect();
    let earlier = existing(state, &tenant, &drafts).await?;
    let mut templates: HashMap<String, std::result::Result<Arc<Loaded>, Refusal>> = HashMap::new();
    let mut accounts: HashMap<String, std::result::Result<(), Refusal>> = HashMap::new();
    let mut items: Vec<ItemResult> = Vec::with_capacity(parsed.len());
    // Accepted so far, waiting for quota and the write: (item index, message).
    let mut ready: Vec<(usize, NewMessage)> = Vec::new();
    for (prefix, draft) in parsed {
        let draft = match draft {
            Ok(d) => d,
            Err(refused) => {
                items.push(Err(refused));
                continue;
            }
        };
        if let Some(row) = draft.idempotency_key.as_ref().and_then(|k| earlier.get(k)) {
            items.push(Ok((row.clone(), false)));
            continue;
        }
        match accept_item(state, &tenant, draft, &prefix, now, &mut templates, &mut accounts).await {
            Ok(m) => {
                ready.push((items.len(), m));
                items.push(Err((tonic::Code::Internal as i32, "not written".to_owned())));
            }
            Err(refused) => items.push(Err(refused)),
        }
    }
    if !ready.is_empty() {
        let n = u32::try_from(ready.len()).unwrap_or(u32::MAX);
        match state.quota.reserve(&tenant, n).await {
            Ok(()) => {
                let (at, messages): (Vec<usize>, Vec<NewMessage>) = ready.into_iter().unzip();
                for (i, row) in at.into_iter().zip(persist(state, &tenant, messages).await?) {
                    items[i] = Ok(row);
                }
            }
            Err(e) => {
                let refused = refusal(e);
                for (i, _) in ready {
                    items[i] = Err(refused.clone());
                }
            }
        }
    }
    let items = items
        .into_iter()
        .map(|item| match item {
            Ok((row, created)) => pb::send_messages_response::Item {
                message: Some(message_to_proto(&row)),
                created,
                ..Default::default()
            },
            Err((error_code, error_message)) => {
                pb::send_messages_response::Item { error_code, error_message, ..Default::default() }
            }
        })
        .collect();
    Ok(pb::SendMessagesResponse { items })
}

/// One valid item's template and account, each looked up once per call.
async fn accept_item(
    state: &AppState,
    tenant: &str,
    draft: SendDraft,
    prefix: &str,
    now: DateTime<Utc>,
    templates: &mut HashMap<String, std::result::Result<Arc<Loaded>, Refusal>>,
    accounts: &mut HashMap<String, std::result::Result<(), Refusal>>,
) -> std::result::Result<NewMessage, Refusal> {
    let template = match &draft.source {
        Source::Template { id, .. } => {
            if !templates.contains_key(id) {
                let loaded = load_template(state, tenant, id).await.map(Arc::new).map_err(refusal);
                templates.insert(id.clone(), loaded);
            }
            match templates.get(id) {
                Some(Ok(t)) => Some(t.clone()),
                Some(Err(refused)) => return Err(refused.clone()),
                None => None,
            }
        }
        Source::Content(_) => None,
    };
    let body = body_of(&draft.source, template.as_deref(), prefix).map_err(refusal)?;
    if !accounts.contains_key(&draft.account_id) {
        let checked = check_account(state, tenant, &draft.account_id).await.map_err(refusal);
        accounts.insert(draft.account_id.clone(), checked);
    }
    if let Some(Err(refused)) = accounts.get(&draft.account_id) {
        return Err(refused.clone());
    }
    Ok(new_message(tenant, draft, body, now))
}
