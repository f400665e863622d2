//! Who reaches an account's directory: another tenant's user gets NotFound
//! for every call and changes nothing; bad requests name their fields.

use tonic::Code;
use wework_proto::account as pb;
use wework_sim::Inbound;

use crate::helpers::*;

#[tokio::test]
async fn another_tenants_directory_is_not_found() {
    let app = spawn_app().await;
    let a = app.tenant("alpha", 10).await;
    let b = app.tenant("beta", 10).await;
    let (account, guid) = app.synced_account(&a, "Alpha").await;
    let chat = app.sim.inbound(&guid, Inbound::default()).await.expect("inbound").chat_id;
    app.forward(&guid).await;
    let contact = app.all_contacts(&a, super::contacts_of(&account.id), 500).await.remove(0);
    let group = app.groups(&a, &account.id, false).await.remove(0);
    let id = || account.id.clone();

    let (mut c, mut d) = (app.conversations(), app.directory());
    let theirs = |chat: &str| (id(), chat.to_owned());
    let list = pb::ListConversationsRequest { account_id: id(), ..Default::default() };
    assert_code(c.list_conversations(authed(&b.token, list)).await, Code::NotFound);
    let (account_id, conversation_id) = theirs(&chat);
    let get = pb::GetConversationRequest { account_id, conversation_id };
    assert_code(c.get_conversation(authed(&b.token, get)).await, Code::NotFound);
    let (account_id, conversation_id) = theirs(&chat);
    let read = pb::MarkConversationReadRequest { account_id, conversation_id };
    assert_code(c.mark_conversation_read(authed(&b.token, read)).await, Code::NotFound);
    let (account_id, conversation_id) = theirs(&chat);
    let pin = pb::PinConversationRequest { account_id, conversation_id, pinned: true };
    assert_code(c.pin_conversation(authed(&b.token, pin)).await, Code::NotFound);
    assert_code(app.sync(&b, &account.id).await, Code::NotFound);
    let contacts = pb::ListContactsRequest { account_id: id(), ..Default::default() };
    assert_code(d.list_contacts(authed(&b.token, contacts)).await, Code::NotFound);
    let update = pb::UpdateContactRequest {
        account_id: id(),
        user_id: contact.user_id.clone(),
        remark: Some("x".into()),
        ..Default::default()
    };
    assert_code(d.update_contact(authed(&b.token, update)).await, Code::NotFound);
    let groups = pb::ListGroupsRequest { account_id: id(), ..Default::default() };
    assert_code(d.list_groups(authed(&b.token, groups)).await, Code::NotFound);
    let members =
        pb::ListGroupMembersRequest { account_id: id(), group_id: group.group_id.clone(), ..Default::default() };
    assert_code(d.list_group_members(authed(&b.token, members)).await, Code::NotFound);

    // Nothing changed for the owner.
    let req = pb::GetConversationRequest { account_id: id(), conversation_id: chat.clone() };
    let conv = c.get_conversation(authed(&a.token, req)).await.expect("own conversation").into_inner();
    assert_eq!((conv.unread_count, conv.is_pinned), (1, false));
    let mine = app.all_contacts(&a, super::contacts_of(&account.id), 500).await;
    assert!(mine.iter().all(|c| c.remark.is_empty()));
}

#[tokio::test]
async fn bad_directory_requests_name_their_fields() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.synced_account(&t, "Strict").await;
    let chat = app.sim.inbound(&guid, Inbound::default()).await.expect("inbound").chat_id;
    app.forward(&guid).await;
    let (mut c, mut d) = (app.conversations(), app.directory());

    let list = pb::ListContactsRequest {
        account_id: account.id.clone(),
        text: "t".repeat(101),
        tag: "g".repeat(33),
        contact_type: 7,
        ..Default::default()
    };
    let err = assert_code(d.list_contacts(authed(&t.token, list)).await, Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, vec!["contact_type", "tag", "text"]);

    let update = pb::UpdateContactRequest {
        account_id: account.id.clone(),
        user_id: " ".into(),
        remark: Some("r".repeat(501)),
        tags: vec![String::new()],
        set_tags: true,
    };
    let err = assert_code(d.update_contact(authed(&t.token, update)).await, Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, vec!["remark", "tags[0]", "user_id"]);
    let unknown =
        pb::UpdateContactRequest { account_id: account.id.clone(), user_id: "nobody".into(), ..Default::default() };
    assert_code(d.update_contact(authed(&t.token, unknown)).await, Code::NotFound);

    let tags = pb::TagConversationRequest {
        account_id: account.id.clone(),
        conversation_id: chat.clone(),
        tags: vec!["t".into(); 21],
    };
    let err = assert_code(c.tag_conversation(authed(&t.token, tags)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["tags"]);
    let kind = pb::ListConversationsRequest { account_id: account.id.clone(), r#type: 9, ..Default::default() };
    let err = assert_code(c.list_conversations(authed(&t.token, kind)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["type"]);
    let members = pb::ListGroupMembersRequest { account_id: account.id.clone(), ..Default::default() };
    let err = assert_code(d.list_group_members(authed(&t.token, members)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["group_id"]);
    let unknown_group =
        pb::ListGroupMembersRequest { account_id: account.id.clone(), group_id: "R-none".into(), ..Default::default() };
    assert_code(d.list_group_members(authed(&t.token, unknown_group)).await, Code::NotFound);
}
