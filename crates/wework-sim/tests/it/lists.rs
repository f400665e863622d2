//! Directory listings: paging, bounds, and changes visible on the next sync.

use std::collections::HashSet;

use wework_client::protocol::{Contact, ListRequest};
use wework_client::{ProviderError, WeworkProvider};
use wework_sim::DirectorySpec;

use crate::helpers::TestSim;

fn list(guid: &str, cursor: &str, limit: u32) -> ListRequest {
    ListRequest { guid: guid.to_owned(), cursor: cursor.to_owned(), limit, group_id: None }
}

#[tokio::test]
async fn five_thousand_contacts_page_in_ten_distinct_pages() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    t.sim.set_directory(&guid, DirectorySpec { contacts: 5_000, groups: 5, members_per_group: 20 }).await.unwrap();
    let (mut cursor, mut pages, mut ids) = (String::new(), 0, HashSet::new());
    loop {
        let page = t.provider.list_contacts(&list(&guid, &cursor, 500)).await.unwrap();
        pages += 1;
        assert_eq!(page.items.len(), 500);
        ids.extend(page.items.into_iter().map(|c| c.user_id));
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!((pages, ids.len()), (10, 5_000));
    for bad in [0, 501] {
        assert!(matches!(t.provider.list_contacts(&list(&guid, "", bad)).await, Err(ProviderError::InvalidRequest(_))));
    }
}

#[tokio::test]
async fn lists_need_a_logged_in_client() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    assert!(matches!(t.provider.list_groups(&list(&guid, "", 10)).await, Err(ProviderError::NotLoggedIn(_))));
}

#[tokio::test]
async fn removed_members_and_contacts_are_gone_on_the_next_listing() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    let groups = t.provider.list_groups(&list(&guid, "", 100)).await.unwrap();
    assert_eq!((groups.items.len(), groups.next_cursor.as_str()), (5, ""));
    let group = &groups.items[0];
    let members_req = ListRequest { group_id: Some(group.group_id.clone()), ..list(&guid, "", 500) };
    let members = t.provider.list_group_members(&members_req).await.unwrap().items;
    assert_eq!((members.len(), group.member_count), (20, 20));
    assert_eq!(members[0].user_id, group.owner_id);

    let leaver = members[5].user_id.clone();
    t.sim.remove_group_member(&guid, &group.group_id, &leaver).await.unwrap();
    let after = t.provider.list_group_members(&members_req).await.unwrap().items;
    assert_eq!(after.len(), 19);
    assert!(after.iter().all(|m| m.user_id != leaver));
    assert_eq!(t.provider.list_groups(&list(&guid, "", 100)).await.unwrap().items[0].member_count, 19);

    let contacts = t.provider.list_contacts(&list(&guid, "", 500)).await.unwrap().items;
    t.sim.remove_contact(&guid, &contacts[0].user_id).await.unwrap();
    let newcomer = Contact { user_id: "wm-new".into(), name: "New Person".into(), ..Contact::default() };
    t.sim.add_contact(&guid, newcomer.clone()).await.unwrap();
    let after = t.provider.list_contacts(&list(&guid, "", 500)).await.unwrap().items;
    assert_eq!(after.len(), 50);
    assert!(after.iter().all(|c| c.user_id != contacts[0].user_id));
    assert!(after.contains(&newcomer));

    let no_group = ListRequest { group_id: Some("R-nope".into()), ..list(&guid, "", 10) };
    assert!(matches!(t.provider.list_group_members(&no_group).await, Err(ProviderError::InvalidRequest(_))));
}
