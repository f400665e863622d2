//! The list calls over a client's [`Directory`](crate::directory::Directory)
//! and the control operations that change it, so a sync test can see people
//! come and go between two listings.

use wework_client::protocol::{Contact, Group, GroupMember, ListRequest, Page};

use crate::config::DirectorySpec;
use crate::directory::page;
use crate::error::{SimError, SimResult};
use crate::state::Inner;

impl Inner {
    pub fn list_contacts(&self, req: &ListRequest) -> SimResult<Page<Contact>> {
        self.with_client(&req.guid, |c| {
            c.require_online()?;
            page(&c.directory().contacts, &req.cursor, req.limit)
        })
    }

    pub fn list_groups(&self, req: &ListRequest) -> SimResult<Page<Group>> {
        self.with_client(&req.guid, |c| {
            c.require_online()?;
            let groups: Vec<Group> = c.directory().groups.iter().map(|(g, _)| g.clone()).collect();
            page(&groups, &req.cursor, req.limit)
        })
    }

    pub fn list_group_members(&self, req: &ListRequest) -> SimResult<Page<GroupMember>> {
        let group_id = req.group_id.as_deref().filter(|g| !g.is_empty());
        let group_id = group_id.ok_or_else(|| SimError::invalid("group_id is required"))?;
        self.with_client(&req.guid, |c| {
            c.require_online()?;
            let (_, members) = c.directory().members_mut(group_id)?;
            page(members, &req.cursor, req.limit)
        })
    }

    /// Control: regenerate the client's directory at this size.
    pub fn set_directory(&self, guid: &str, spec: DirectorySpec) -> SimResult<()> {
        self.with_client(guid, |c| {
            c.spec = spec;
            c.directory = None;
            Ok(())
        })
    }

    pub fn remove_group_member(&self, guid: &str, group_id: &str, user_id: &str) -> SimResult<()> {
        self.with_client(guid, |c| {
            let (group, members) = c.directory().members_mut(group_id)?;
            let before = members.len();
            members.retain(|m| m.user_id != user_id);
            if members.len() == before {
                return Err(SimError::invalid(format!("{user_id} is not in {group_id}")));
            }
            group.member_count = members.len() as u32;
            Ok(())
        })
    }

    pub fn add_contact(&self, guid: &str, contact: Contact) -> SimResult<()> {
        if contact.user_id.is_empty() {
            return Err(SimError::invalid("user_id is required"));
        }
        self.with_client(guid, |c| {
            let contacts = &mut c.directory().contacts;
            contacts.retain(|x| x.user_id != contact.user_id);
            contacts.push(contact);
            Ok(())
        })
    }

    pub fn remove_contact(&self, guid: &str, user_id: &str) -> SimResult<()> {
        self.with_client(guid, |c| {
            let contacts = &mut c.directory().contacts;
            let before = contacts.len();
            contacts.retain(|x| x.user_id != user_id);
            if contacts.len() == before {
                return Err(SimError::invalid(format!("no contact {user_id}")));
            }
            Ok(())
        })
    }
}
