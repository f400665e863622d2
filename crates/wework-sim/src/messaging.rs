//! Sends, receipts, inbound messages and heartbeats. A send is de-duplicated
//! on `(guid, client_msg_id)` before anything else, so the retry of a send
//! that went through is answered `duplicate` even if the client has since
//! gone offline or hit its rate limit: that is what makes a driver's retry
//! exactly-once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wework_client::NotifyType;
use wework_client::callback::{NewMessageData, SendResultData, SendStatus};
use wework_client::protocol::{ChatType, ClientState, MessageContent, SendMessageRequest, SendMessageResponse};

use crate::error::{SimError, SimResult};
use crate::faults::Faults;
use crate::state::{Inner, SentMessage, now_ms};
use crate::stats::{bump, lock};

/// A message arriving at a client, as the control `inbound` takes it. Every
/// field is optional: the sender defaults to the client's first contact, the
/// chat to a private chat with the sender, the content to a short text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inbound {
    pub chat_id: String,
    pub chat_type: Option<ChatType>,
    pub chat_name: String,
    pub sender_id: String,
    pub sender_name: String,
    pub content: Option<MessageContent>,
    pub at_list: Vec<String>,
}

/// The minimal checks a real instance makes before it talks to WeWork.
pub fn validate(req: &SendMessageRequest) -> SimResult<()> {
    let blank = |s: &str| s.trim().is_empty();
    if blank(&req.client_msg_id) {
        return Err(SimError::invalid("client_msg_id is required"));
    }
    if blank(&req.chat_id) {
        return Err(SimError::invalid("chat_id is required"));
    }
    let missing = match &req.content {
        MessageContent::Text { text } => blank(text).then_some("text"),
        MessageContent::Image { url, .. } | MessageContent::Video { url, .. } => blank(url).then_some("url"),
        MessageContent::File { url, file_name, .. } => {
            if blank(url) {
                Some("url")
            } else {
                blank(file_name).then_some("file_name")
            }
        }
        MessageContent::Link { title, url, .. } => (blank(title) || blank(url)).then_some("title and url"),
        MessageContent::MiniProgram { app_id, .. } => blank(app_id).then_some("app_id"),
        MessageContent::ContactCard { user_id, .. } => blank(user_id).then_some("user_id"),
        MessageContent::Location { .. } => None,
    };
    match missing {
        Some(field) => Err(SimError::invalid(format!("{field} is required"))),
        None => Ok(()),
    }
}

fn receipt(client_msg_id: &str, msg_id: &str, status: SendStatus) -> serde_json::Value {
    let data = SendResultData {
        client_msg_id: client_msg_id.to_owned(),
        msg_id: msg_id.to_owned(),
        status,
        error_code: None,
        error_message: None,
        at: now_ms(),
    };
    serde_json::to_value(data).unwrap_or_default()
}

impl Inner {
    pub fn send(self: &Arc<Self>, req: &SendMessageRequest) -> SimResult<SendMessageResponse> {
        validate(req)?;
        let limit = self.faults().rate_limit_per_minute;
        let delay = self.config.delivery_delay;
        let msg_id = self.with_client(&req.guid, |c| {
            if let Some(msg_id) = c.sent_ids.get(&req.client_msg_id) {
                bump(&self.stats.duplicate_sends);
                return Ok(SendMessageResponse { msg_id: msg_id.clone(), duplicate: true });
            }
            c.require_online()?;
            c.window.admit(Instant::now(), limit).map_err(SimError::rate_limited)?;
            let msg_id = uuid::Uuid::now_v7().to_string();
            c.sent_ids.insert(req.client_msg_id.clone(), msg_id.clone());
            c.sends.push(SentMessage {
                client_msg_id: req.client_msg_id.clone(),
                msg_id: msg_id.clone(),
                chat_id: req.chat_id.clone(),
                chat_type: req.chat_type,
                content: req.content.clone(),
                at_list: req.at_list.clone(),
                at: now_ms(),
            });
            bump(&self.stats.sends);
            c.emit(NotifyType::SendResult, receipt(&req.client_msg_id, &msg_id, SendStatus::Sent));
            if delay.is_zero() {
                c.emit(NotifyType::SendResult, receipt(&req.client_msg_id, &msg_id, SendStatus::Delivered));
            }
            Ok(SendMessageResponse { msg_id, duplicate: false })
        })?;
        if !msg_id.duplicate && !delay.is_zero() {
            let (this, guid, cid, mid) =
                (Arc::clone(self), req.guid.clone(), req.client_msg_id.clone(), msg_id.msg_id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = this.with_client(&guid, |c| {
                    c.emit(NotifyType::SendResult, receipt(&cid, &mid, SendStatus::Delivered));
                    Ok(())
                });
            });
        }
        Ok(msg_id)
    }

    /// Control: a message arrives (11010). Returns what was delivered.
    pub fn inbound(&self, guid: &str, message: Inbound) -> SimResult<NewMessageData> {
        self.with_client(guid, |c| {
            c.require_online()?;
            let (first_id, first_name) =
                c.directory().contacts.first().map(|x| (x.user_id.clone(), x.name.clone())).unwrap_or_default();
            let sender_id = if message.sender_id.is_empty() { first_id } else { message.sender_id };
            let sender_name = if message.sender_name.is_empty() { first_name } else { message.sender_name };
            let data = NewMessageData {
                msg_id: uuid::Uuid::now_v7().to_string(),
                chat_id: if message.chat_id.is_empty() { sender_id.clone() } else { message.chat_id },
                chat_type: message.chat_type.unwrap_or(ChatType::Private),
                chat_name: message.chat_name,
                sender_id,
                sender_name,
                content: message
                    .content
                    .unwrap_or_else(|| MessageContent::Text { text: "hello from the simulator".to_owned() }),
                at_list: message.at_list,
                sent_at: now_ms(),
            };
            let value = serde_json::to_value(&data).map_err(|e| SimError::invalid(e.to_string()))?;
            c.emit(NotifyType::NewMessage, value);
            Ok(data)
        })
    }

    /// Control: `per_sec` inbound messages per second until set to 0. An
    /// offline client skips ticks; a removed one ends the generator.
    pub fn inbound_rate(self: &Arc<Self>, guid: &str, per_sec: u32) -> SimResult<()> {
        let task = (per_sec > 0).then(|| {
            let (this, guid) = (Arc::clone(self), guid.to_owned());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1) / per_sec);
                for n in 0u64.. {
                    tick.tick().await;
                    let text = format!("generated message {n}");
                    let message = Inbound { content: Some(MessageContent::Text { text }), ..Inbound::default() };
                    if let Err(e) = this.inbound(&guid, message)
                        && e.code == wework_client::protocol::ErrorCode::UnknownClient
                    {
                        return;
                    }
                }
            })
        });
        self.with_client(guid, |c| {
            if let Some(old) = c.inbound_task.take() {
                old.abort();
            }
            c.inbound_task = task;
            Ok(())
        })
    }

    /// One round of 19002 heartbeats for the online clients (none while the
    /// global `heartbeat_loss` fault is on); returns how many beat.
    pub fn emit_heartbeats(&self) -> usize {
        if self.faults().heartbeat_loss {
            return 0;
        }
        let mut clients = lock(&self.clients);
        let mut beats = 0;
        for c in clients.values_mut().filter(|c| c.state == ClientState::Online) {
            c.emit(NotifyType::Heartbeat, serde_json::json!({}));
            beats += 1;
        }
        beats
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(content: MessageContent) -> SendMessageRequest {
        SendMessageRequest {
            guid: "g".into(),
            client_msg_id: "c1".into(),
            chat_id: "u1".into(),
            chat_type: ChatType::Private,
            content,
            at_list: vec![],
        }
    }

    #[test]
    fn validation_refuses_what_wework_would() {
        assert!(validate(&req(MessageContent::Text { text: "hi".into() })).is_ok());
        assert!(validate(&req(MessageContent::Text { text: " ".into() })).is_err());
        assert!(validate(&req(MessageContent::Image { url: String::new(), file_size: 0 })).is_err());
        let mut no_chat = req(MessageContent::Text { text: "hi".into() });
        no_chat.chat_id.clear();
        assert_eq!(validate(&no_chat).map_err(|e| e.message), Err("chat_id is required".to_owned()));
    }
}
