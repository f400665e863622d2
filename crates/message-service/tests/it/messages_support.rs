//! Helpers of the message, delivery and statistics tests: request builders,
//! a template written straight to the store (the template service has its
//! own tests) and the dispatcher's status writes done by hand.

use chrono::{DateTime, Utc};
use message_service::domain::template::TemplateSpec;
use message_service::store::{self, entity::message, entity::template};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tonic::Status;
use wework_client::protocol::MessageContent;
use wework_proto::message::{self as pb, ChatType};

use crate::helpers::{TestApp, authed, text};
use wework_testkit::Tenant;

/// A private text message to `conversation`.
pub fn text_request(account_id: &str, conversation: &str, body: &str) -> pb::SendMessageRequest {
    pb::SendMessageRequest {
        account_id: account_id.into(),
        conversation_id: conversation.into(),
        chat_type: ChatType::Private as i32,
        content: text(body),
        ..Default::default()
    }
}

impl TestApp {
    /// SendMessage as the tenant's administrator.
    pub async fn send(&self, t: &Tenant, req: pb::SendMessageRequest) -> Result<pb::SendMessageResponse, Status> {
        self.messages().send_message(authed(&t.token, req)).await.map(|r| r.into_inner())
    }

    /// SendMessage of a text that must be accepted; the message.
    pub async fn send_ok(&self, t: &Tenant, account_id: &str, conversation: &str, body: &str) -> pb::Message {
        let resp = self.send(t, text_request(account_id, conversation, body)).await.expect("send message");
        assert!(resp.created);
        resp.message.expect("message")
    }

    /// SendMessages as the tenant's administrator; the items.
    pub async fn send_list(
        &self,
        t: &Tenant,
        messages: Vec<pb::SendMessageRequest>,
    ) -> Result<Vec<pb::send_messages_response::Item>, Status> {
        let req = authed(&t.token, pb::SendMessagesRequest { messages });
        self.messages().send_messages(req).await.map(|r| r.into_inner().items)
    }

    pub async fn get(&self, t: &Tenant, id: &str) -> Result<pb::Message, Status> {
        let req = pb::GetMessageRequest { id: id.into() };
        self.messages().get_message(authed(&t.token, req)).await.map(|r| r.into_inner())
    }

    pub async fn list(&self, t: &Tenant, req: pb::ListMessagesRequest) -> Result<pb::ListMessagesResponse, Status> {
        self.messages().list_messages(authed(&t.token, req)).await.map(|r| r.into_inner())
    }

    pub async fn cancel(&self, t: &Tenant, id: &str) -> Result<pb::Message, Status> {
        let req = pb::CancelMessageRequest { id: id.into() };
        self.messages().cancel_message(authed(&t.token, req)).await.map(|r| r.into_inner())
    }

    /// UpdateDeliveryStatus as the callback service.
    pub async fn receipt(
        &self,
        req: pb::UpdateDeliveryStatusRequest,
    ) -> Result<pb::UpdateDeliveryStatusResponse, Status> {
        self.messages().update_delivery_status(self.as_service(req)).await.map(|r| r.into_inner())
    }

    /// A receipt for our message id.
    pub async fn receipt_for(
        &self,
        id: &str,
        status: pb::MessageStatus,
    ) -> Result<pb::UpdateDeliveryStatusResponse, Status> {
        let req =
            pb::UpdateDeliveryStatusRequest { message_id: id.into(), status: status as i32, ..Default::default() };
        self.receipt(req).await
    }

    /// What the dispatcher writes when it claims (`sending`) or sent a
    /// message (`sent` + the instance's id), done directly in the store.
    pub async fn mark(&self, id: &str, status: &str, wework_msg_id: Option<&str>) {
        let mut update = message::Entity::update_many()
            .col_expr(message::Column::Status, Expr::value(status))
            .filter(message::Column::Id.eq(id));
        if let Some(w) = wework_msg_id {
            update = update.col_expr(message::Column::WeworkMsgId, Expr::value(w));
        }
        let done = update.exec(self.state.db.writer()).await.expect("mark message");
        assert_eq!(done.rows_affected, 1);
    }

    /// An active text template of `t` with the given variables, stored directly.
    pub async fn insert_template(&self, t: &Tenant, name: &str, body: &str, variables: &[pb::Variable]) -> String {
        let spec = TemplateSpec::parse(variables, "variables").expect("template variables");
        let now: DateTime<Utc> = self.now();
        let row = template::ActiveModel {
            id: Set(store::new_id()),
            tenant_id: Set(t.id.clone()),
            creator_id: Set("test".into()),
            template_name: Set(name.into()),
            template_type: Set("text".into()),
            category: Set(None),
            description: Set(None),
            template_content: Set(store::to_json(&MessageContent::Text { text: body.into() })),
            variables: Set(store::to_json(&spec)),
            preview_data: Set(None),
            usage_count: Set(0),
            last_used_time: Set(None),
            is_public: Set(false),
            is_active: Set(true),
            tags: Set("[]".into()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        row.insert(self.state.db.writer()).await.expect("insert template").id
    }

    pub async fn deactivate_template(&self, id: &str) {
        template::Entity::update_many()
            .col_expr(template::Column::IsActive, Expr::value(false))
            .filter(template::Column::Id.eq(id))
            .exec(self.state.db.writer())
            .await
            .expect("deactivate template");
    }
}

/// A required string variable.
pub fn variable(name: &str) -> pb::Variable {
    pb::Variable { name: name.into(), r#type: pb::VariableType::String as i32, required: true, ..Default::default() }
}

/// The text of a message's content.
pub fn text_of(m: &pb::Message) -> String {
    match m.content.as_ref().and_then(|c| c.kind.as_ref()) {
        Some(pb::content::Kind::Text(t)) => t.text.clone(),
        other => panic!("expected text content, got {other:?}"),
    }
}
