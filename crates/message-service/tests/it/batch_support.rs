//! Helpers of the template and batch tests: requests, a second user of a
//! tenant, an account whose directory was synced from the simulator, and
//! the dispatcher's effect (messages marked sent) without the dispatcher.

use std::time::Duration;

use message_service::store::entity::{message, receiver};
use message_service::worker::batches::{self, FeedReport};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use wework_kit::testing::eventually;
use wework_proto::account::{self as apb, directory_service_client::DirectoryServiceClient};
use wework_proto::message::{self as pb, targets::Kind};
use wework_proto::user::{self as upb, auth_service_client::AuthServiceClient, user_service_client::UserServiceClient};
use wework_sim::DirectorySpec;

use crate::helpers::{Tenant, TestApp, authed, text};

const DEADLINE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "Operator-Passw0rd-9";

/// Another user of tenant `t` (code `code`) with the operator role: it has
/// template and batch permissions but is no tenant administrator.
pub async fn operator(app: &TestApp, t: &Tenant, code: &str, username: &str) -> String {
    let user = upb::CreateUserRequest {
        tenant_id: t.id.clone(),
        username: username.into(),
        email: format!("{username}@example.com"),
        display_name: username.into(),
        password: PASSWORD.into(),
        roles: vec!["operator".into()],
        ..Default::default()
    };
    UserServiceClient::new(app.users.channel.clone()).create_user(authed(&app.admin, user)).await.expect("create user");
    let login = upb::LoginRequest {
        tenant_code: code.into(),
        login: username.into(),
        password: PASSWORD.into(),
        ..Default::default()
    };
    let resp = AuthServiceClient::new(app.users.channel.clone()).login(login).await.expect("login").into_inner();
    resp.tokens.expect("tokens").access_token
}

/// An online account whose directory (`spec` on the simulator) the account
/// service has synced; returns its id and the ids of its groups.
pub async fn synced_account(app: &TestApp, t: &Tenant, name: &str, spec: DirectorySpec) -> (String, Vec<String>) {
    let (account_id, guid) = app.online_account(t, name).await;
    let account = || async {
        let req = apb::GetAccountRequest { id: account_id.clone() };
        let a = app.accounts.client().get_account(authed(&t.token, req)).await.expect("get account").into_inner();
        assert_ne!(a.sync_status, "failed", "{a:?}");
        a
    };
    let stamp = |a: &apb::Account| a.last_sync_time.as_ref().map(|t| (t.seconds, t.nanos));
    // The login may have started a sync of the simulator's default
    // directory: let it finish, then sync the directory asked for.
    let before = eventually(DEADLINE, || async { Some(account().await).filter(|a| a.sync_status != "running") }).await;
    app.sim.set_directory(&guid, spec).await.expect("set directory");
    let mut directory = DirectoryServiceClient::new(app.accounts.channel.clone());
    let req = apb::SyncDirectoryRequest { account_id: account_id.clone() };
    directory.sync_directory(authed(&t.token, req)).await.expect("sync directory");
    eventually(DEADLINE, || async {
        let a = account().await;
        (a.sync_status == "done" && stamp(&a) > stamp(&before)).then_some(())
    })
    .await;
    let req = apb::ListGroupsRequest { account_id: account_id.clone(), ..Default::default() };
    let groups = directory.list_groups(authed(&t.token, req)).await.expect("list groups").into_inner().groups;
    (account_id, groups.into_iter().map(|g| g.group_id).collect())
}

pub fn manual(ids: &[&str]) -> Option<pb::Targets> {
    let receivers =
        ids.iter().map(|id| pb::targets::Receiver { conversation_id: (*id).into(), ..Default::default() }).collect();
    Some(pb::Targets { kind: Some(Kind::Manual(pb::targets::Manual { receivers })) })
}

pub fn import(csv: &str) -> Option<pb::Targets> {
    Some(pb::Targets { kind: Some(Kind::Import(pb::targets::Import { csv: csv.into() })) })
}

pub fn group(group_id: &str) -> Option<pb::Targets> {
    Some(pb::Targets { kind: Some(Kind::Group(pb::targets::GroupMembers { group_id: group_id.into() })) })
}

/// A batch of text `body` to `targets`, started or not.
pub fn text_batch(account_id: &str, targets: Option<pb::Targets>, start: bool) -> pb::CreateBatchRequest {
    pb::CreateBatchRequest {
        name: "spring sale".into(),
        account_id: account_id.into(),
        content: text("Spring sale starts today"),
        targets,
        start,
        ..Default::default()
    }
}

/// `n` manual receivers `c-0`…
pub fn receivers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c-{i}")).collect()
}

impl TestApp {
    pub async fn create_batch(&self, t: &Tenant, req: pb::CreateBatchRequest) -> pb::CreateBatchResponse {
        self.batches().create_batch(authed(&t.token, req)).await.expect("create batch").into_inner()
    }

    pub async fn get_batch(&self, t: &Tenant, id: &str) -> pb::Batch {
        let req = pb::BatchRef { id: id.into() };
        self.batches().get_batch(authed(&t.token, req)).await.expect("get batch").into_inner()
    }

    pub async fn feed(&self) -> FeedReport {
        batches::tick(&self.state).await.expect("feeder tick")
    }

    /// The batch's messages, oldest first.
    pub async fn batch_messages(&self, batch_id: &str) -> Vec<message::Model> {
        message::Entity::find()
            .filter(message::Column::BatchId.eq(batch_id))
            .order_by_asc(message::Column::CreatedAt)
            .all(self.state.db.reader())
            .await
            .expect("batch messages")
    }

    pub async fn receiver_rows(&self, batch_id: &str) -> Vec<receiver::Model> {
        receiver::Entity::find()
            .filter(receiver::Column::BatchId.eq(batch_id))
            .order_by_asc(receiver::Column::Seq)
            .all(self.state.db.reader())
            .await
            .expect("receivers")
    }

    pub async fn receiver_count(&self, batch_id: &str) -> u64 {
        receiver::Entity::find()
            .filter(receiver::Column::BatchId.eq(batch_id))
            .count(self.state.db.reader())
            .await
            .expect("count receivers")
    }

    /// What the dispatcher would do: every pending or sending message of
    /// the batch is sent now.
    pub async fn mark_batch_sent(&self, batch_id: &str) -> u64 {
        let res = message::Entity::update_many()
            .col_expr(message::Column::Status, Expr::value("sent"))
            .col_expr(message::Column::SendTime, Expr::value(self.now()))
            .filter(message::Column::BatchId.eq(batch_id))
            .filter(message::Column::Status.is_in(["pending", "sending"]))
            .exec(self.state.db.writer())
            .await
            .expect("mark sent");
        res.rows_affected
    }

    /// What the dispatcher does when it claims: one message is `sending`.
    pub async fn mark_sending(&self, message_id: &str) {
        message::Entity::update_many()
            .col_expr(message::Column::Status, Expr::value("sending"))
            .filter(message::Column::Id.eq(message_id))
            .exec(self.state.db.writer())
            .await
            .expect("mark sending");
    }
}
