//! The directory sync against the simulator: paging through thousands of
//! contacts, groups and their members; a second sync marks who left and
//! keeps the rest (and the tenant's own remarks); one sync at a time; only
//! online accounts. Conversations and access rules are in the sibling files.

#[path = "directory_access.rs"]
mod access;
#[path = "directory_conversations.rs"]
mod conversations;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tonic::Code;
use tonic::transport::Channel;
use wework_kit::testing::eventually;
use wework_proto::account::{
    self as pb, conversation_service_client::ConversationServiceClient,
    directory_service_client::DirectoryServiceClient,
};
use wework_proto::common::PageRequest;
use wework_sim::{DirectorySpec, Faults};

use crate::helpers::*;

/// How long a sync (or any background change) may take on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

impl TestApp {
    pub fn directory(&self) -> DirectoryServiceClient<Channel> {
        DirectoryServiceClient::new(self.channel.clone())
    }

    pub fn conversations(&self) -> ConversationServiceClient<Channel> {
        ConversationServiceClient::new(self.channel.clone())
    }

    /// An online account whose login-time sync (started by the forwarded
    /// 11009) has finished.
    pub async fn synced_account(&self, t: &Tenant, name: &str) -> (pb::Account, String) {
        let (account, guid) = self.online_account(t, name).await;
        let account = self.sync_done(t, &account.id, None).await;
        (account, guid)
    }

    /// Waits until the account's sync is `done` (newer than `after`).
    pub async fn sync_done(&self, t: &Tenant, id: &str, after: Option<&prost_types::Timestamp>) -> pb::Account {
        eventually(DEADLINE, || async {
            let a = self.get(t, id).await;
            assert_ne!(a.sync_status, "failed", "{a:?}");
            let newer = after.is_none_or(|after| micros(a.last_sync_time.as_ref()) > micros(Some(after)));
            (a.sync_status == "done" && newer).then_some(a)
        })
        .await
    }

    pub async fn sync(&self, t: &Tenant, id: &str) -> Result<pb::SyncDirectoryResponse, tonic::Status> {
        let req = pb::SyncDirectoryRequest { account_id: id.into() };
        self.directory().sync_directory(authed(&t.token, req)).await.map(tonic::Response::into_inner)
    }

    /// Every contact, paging `page_size` at a time.
    pub async fn all_contacts(&self, t: &Tenant, mut req: pb::ListContactsRequest, page_size: i32) -> Vec<pb::Contact> {
        let (mut out, mut token) = (Vec::new(), String::new());
        loop {
            req.page = Some(PageRequest { page_size, page_token: token });
            let resp = self.directory().list_contacts(authed(&t.token, req.clone())).await.expect("list").into_inner();
            assert!(resp.contacts.len() <= page_size as usize);
            out.extend(resp.contacts);
            token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                return out;
            }
        }
    }

    pub async fn all_members(
        &self,
        t: &Tenant,
        account_id: &str,
        group_id: &str,
        include_left: bool,
    ) -> Vec<pb::GroupMember> {
        let (mut out, mut token) = (Vec::new(), String::new());
        loop {
            let req = pb::ListGroupMembersRequest {
                account_id: account_id.into(),
                group_id: group_id.into(),
                page: Some(PageRequest { page_size: 500, page_token: token }),
                include_left,
            };
            let resp = self.directory().list_group_members(authed(&t.token, req)).await.expect("members").into_inner();
            out.extend(resp.members);
            token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                return out;
            }
        }
    }

    pub async fn groups(&self, t: &Tenant, account_id: &str, include_left: bool) -> Vec<pb::Group> {
        let page = Some(PageRequest { page_size: 500, page_token: String::new() });
        let req = pb::ListGroupsRequest { account_id: account_id.into(), page, include_left, ..Default::default() };
        self.directory().list_groups(authed(&t.token, req)).await.expect("groups").into_inner().groups
    }
}

/// A timestamp as unix microseconds (absent: 0), for ordering.
pub fn micros(t: Option<&prost_types::Timestamp>) -> i64 {
    t.map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000)
}

pub fn contacts_of(account_id: &str) -> pb::ListContactsRequest {
    pb::ListContactsRequest { account_id: account_id.into(), ..Default::default() }
}

#[tokio::test]
async fn a_sync_pages_through_five_thousand_contacts_and_their_groups() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.synced_account(&t, "Big").await;
    let spec = DirectorySpec { contacts: 5_000, groups: 3, members_per_group: 600 };
    app.sim.set_directory(&guid, spec).await.expect("directory");

    let started_at = Instant::now();
    let answer = app.sync(&t, &account.id).await.expect("sync");
    assert!(answer.started, "{answer:?}");
    assert_eq!(answer.sync_status, "running");
    let done = app.sync_done(&t, &account.id, account.last_sync_time.as_ref()).await;
    let elapsed = started_at.elapsed();
    eprintln!(
        "directory sync: 5000 contacts, 3 groups, 1800 members in {elapsed:?} ({:.0} contacts/s)",
        5_000.0 / elapsed.as_secs_f64()
    );
    assert_eq!(done.last_sync_time, answer.last_sync_time);

    let contacts = app.all_contacts(&t, contacts_of(&account.id), 500).await;
    assert_eq!(contacts.len(), 5_000);
    assert_eq!(contacts.iter().map(|c| c.user_id.as_str()).collect::<HashSet<_>>().len(), 5_000);
    assert!(contacts.iter().all(|c| c.status == "active" && c.last_sync_time == done.last_sync_time));
    let groups = app.groups(&t, &account.id, false).await;
    assert_eq!(groups.len(), 3);
    for g in &groups {
        assert_eq!(g.member_count, 600);
        let members = app.all_members(&t, &account.id, &g.group_id, false).await;
        assert_eq!(members.iter().map(|m| m.user_id.as_str()).collect::<HashSet<_>>().len(), 600, "{}", g.group_id);
        let owners: Vec<_> = members.iter().filter(|m| m.role == "owner").map(|m| m.user_id.as_str()).collect();
        assert_eq!(owners, vec![g.owner_id.as_str()]);
    }
}

#[tokio::test]
async fn a_second_sync_marks_who_left_and_keeps_the_rest() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.synced_account(&t, "Churn").await;
    let first = app.all_contacts(&t, contacts_of(&account.id), 500).await;
    assert_eq!(first.len(), 50);
    let groups = app.groups(&t, &account.id, false).await;
    assert_eq!(groups.len(), 5);
    let (gone, kept) = (first[0].user_id.clone(), first[1].user_id.clone());
    let group = groups[0].group_id.clone();
    let members = app.all_members(&t, &account.id, &group, false).await;
    let left_member = members.iter().find(|m| m.role == "member").expect("a member").user_id.clone();

    let update = pb::UpdateContactRequest {
        account_id: account.id.clone(),
        user_id: kept.clone(),
        remark: Some("met at the fair".into()),
        tags: vec!["lead".into()],
        set_tags: true,
    };
    app.directory().update_contact(authed(&t.token, update)).await.expect("update contact");
    app.sim.remove_contact(&guid, &gone).await.expect("remove contact");
    app.sim.remove_group_member(&guid, &group, &left_member).await.expect("remove member");
    app.advance_secs(60);
    assert!(app.sync(&t, &account.id).await.expect("sync").started);
    let second = app.sync_done(&t, &account.id, account.last_sync_time.as_ref()).await;

    let active = app.all_contacts(&t, contacts_of(&account.id), 500).await;
    assert_eq!(active.len(), 49);
    assert!(active.iter().all(|c| c.user_id != gone));
    let everyone =
        app.all_contacts(&t, pb::ListContactsRequest { include_removed: true, ..contacts_of(&account.id) }, 500).await;
    let removed = everyone.iter().find(|c| c.user_id == gone).expect("removed contact kept");
    assert_eq!(removed.status, "removed");
    assert_eq!(removed.last_sync_time, account.last_sync_time, "last seen by the first sync");
    let kept_row = everyone.iter().find(|c| c.user_id == kept).expect("kept contact");
    assert_eq!((kept_row.remark.as_str(), kept_row.tags.clone()), ("met at the fair", vec!["lead".to_owned()]));
    assert_eq!(kept_row.last_sync_time, second.last_sync_time);

    let now_members = app.all_members(&t, &account.id, &group, false).await;
    assert_eq!(now_members.len(), members.len() - 1);
    let all_members = app.all_members(&t, &account.id, &group, true).await;
    let left = all_members.iter().find(|m| m.user_id == left_member).expect("left member kept");
    assert_eq!(left.status, "left");
    assert_eq!(left.left_at, second.last_sync_time);
    assert_eq!(app.groups(&t, &account.id, false).await.len(), 5, "every group is still there");
}

#[tokio::test]
async fn only_an_online_account_syncs_and_never_twice_at_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let created = app.create(&t, "New").await;
    let err = assert_code(app.sync(&t, &created.id).await, Code::FailedPrecondition);
    assert!(err.message().contains("online"), "{err:?}");

    let (account, _guid) = app.synced_account(&t, "Busy").await;
    // A slow instance keeps the sync running while we ask again.
    app.sim.set_faults(Faults { latency_ms: 300, ..Faults::default() });
    let first = app.sync(&t, &account.id).await.expect("first");
    assert!(first.started && first.sync_status == "running", "{first:?}");
    let second = app.sync(&t, &account.id).await.expect("second");
    assert!(!second.started && second.sync_status == "running", "{second:?}");
    assert_eq!(second.last_sync_time, first.last_sync_time, "the running sync's stamp");
    app.sim.set_faults(Faults::default());
    let done = app.sync_done(&t, &account.id, account.last_sync_time.as_ref()).await;
    assert_eq!(done.last_sync_time, first.last_sync_time);

    app.accounts().logout(authed(&t.token, pb::LogoutRequest { id: account.id.clone() })).await.expect("logout");
    assert_code(app.sync(&t, &account.id).await, Code::FailedPrecondition);
}

#[tokio::test]
async fn a_stale_running_sync_is_taken_over() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, _guid) = app.synced_account(&t, "Stuck").await;
    app.sim.set_faults(Faults { latency_ms: 400, ..Faults::default() });
    let first = app.sync(&t, &account.id).await.expect("first");
    assert!(first.started);
    // Ten minutes later the claim is presumed dead: a new sync takes over,
    // and the old one stops at its next page without recording anything.
    app.advance_secs(601);
    let second = app.sync(&t, &account.id).await.expect("second");
    assert!(second.started, "{second:?}");
    assert!(micros(second.last_sync_time.as_ref()) > micros(first.last_sync_time.as_ref()));
    app.sim.set_faults(Faults::default());
    let done = app.sync_done(&t, &account.id, first.last_sync_time.as_ref()).await;
    assert_eq!(done.last_sync_time, second.last_sync_time);
    assert_eq!(app.all_contacts(&t, contacts_of(&account.id), 500).await.len(), 50);
}

#[tokio::test]
async fn a_failing_instance_fails_the_sync_and_removes_nobody() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.synced_account(&t, "Flaky").await;
    let first = app.all_contacts(&t, contacts_of(&account.id), 500).await;
    app.sim.remove_contact(&guid, &first[0].user_id).await.expect("remove");
    app.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    app.advance_secs(60);
    assert!(app.sync(&t, &account.id).await.expect("sync").started);
    let failed = eventually(DEADLINE, || async {
        let a = app.get(&t, &account.id).await;
        (a.sync_status == "failed").then_some(a)
    })
    .await;
    assert!(micros(failed.last_sync_time.as_ref()) > micros(account.last_sync_time.as_ref()));
    app.sim.set_faults(Faults::default());
    assert_eq!(app.all_contacts(&t, contacts_of(&account.id), 500).await.len(), 50, "a failed pass sweeps nothing");
}

#[tokio::test]
async fn contacts_filter_and_page() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, _guid) = app.synced_account(&t, "Lists").await;
    let all = app.all_contacts(&t, contacts_of(&account.id), 7).await;
    assert_eq!(all.len(), 50);
    assert_eq!(all.iter().map(|c| c.id.as_str()).collect::<HashSet<_>>().len(), 50, "no row on two pages");

    let internal =
        pb::ListContactsRequest { contact_type: pb::ContactType::Internal as i32, ..contacts_of(&account.id) };
    let internal = app.all_contacts(&t, internal, 500).await;
    assert_eq!(internal.len(), 17, "every third contact is internal");
    assert!(internal.iter().all(|c| c.contact_type == pb::ContactType::Internal as i32 && c.corp_name == "Sim Corp"));

    let vip =
        app.all_contacts(&t, pb::ListContactsRequest { tag: "VIP".into(), ..contacts_of(&account.id) }, 500).await;
    assert_eq!(vip.len(), 10, "every fifth contact is tagged vip");

    let named = &all[3];
    let text = named.name.split(' ').next_back().unwrap_or_default().to_owned();
    let by_text =
        app.all_contacts(&t, pb::ListContactsRequest { text: text.clone(), ..contacts_of(&account.id) }, 500).await;
    assert!(by_text.iter().any(|c| c.user_id == named.user_id), "{text}");
    assert!(by_text.iter().all(|c| c.name.contains(&text)));

    let groups = pb::ListGroupsRequest { account_id: account.id.clone(), text: "group 3".into(), ..Default::default() };
    let found = app.directory().list_groups(authed(&t.token, groups)).await.expect("groups").into_inner().groups;
    assert_eq!(found.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["Sim Group 3"]);
}
