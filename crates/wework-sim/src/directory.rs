//! A client's generated address book: contacts and groups derived only from
//! the guid and a [`DirectorySpec`], so the same client always lists the same
//! people (sync tests can compare runs), plus the offset-cursor paging the
//! list calls share. Removals mutate the generated lists so a later listing
//! shows them.

use wework_client::protocol::{Contact, Group, GroupMember, MAX_PAGE_LIMIT, Page, UserInfo};

use crate::config::DirectorySpec;
use crate::error::{SimError, SimResult};

const SURNAMES: [&str; 12] = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun"];
const GIVEN: [&str; 10] = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao"];

/// FNV-1a: a seed that is stable across Rust versions (std's hasher is not
/// promised to be).
pub fn seed(guid: &str) -> u64 {
    guid.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn name(seed: u64, i: u64) -> String {
    let mixed = seed.rotate_left(17) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("{} {} {i}", SURNAMES[(mixed % 12) as usize], GIVEN[((mixed >> 8) % 10) as usize])
}

/// The WeWork user a client logs in as.
pub fn user_info(guid: &str) -> UserInfo {
    let s = seed(guid);
    UserInfo {
        user_id: format!("wm{s:016x}"),
        name: format!("Sim User {:04x}", s & 0xffff),
        corp_id: format!("ww{:08x}", s >> 32),
        corp_name: "Sim Corp".to_owned(),
        avatar_url: format!("https://sim.local/avatar/{s:016x}"),
        mobile: format!("138{:08}", s % 100_000_000),
    }
}

/// One client's contacts and groups (with their members).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub contacts: Vec<Contact>,
    pub groups: Vec<(Group, Vec<GroupMember>)>,
}

impl Directory {
    pub fn generate(guid: &str, spec: DirectorySpec) -> Self {
        let s = seed(guid);
        let tag = s as u32;
        let contacts: Vec<Contact> = (0..u64::from(spec.contacts))
            .map(|i| Contact {
                user_id: format!("wm{tag:08x}c{i:06}"),
                name: name(s, i),
                alias: String::new(),
                avatar_url: format!("https://sim.local/avatar/{tag:08x}/{i}"),
                contact_type: if i % 3 == 0 { "internal" } else { "external" }.to_owned(),
                corp_name: if i % 3 == 0 { "Sim Corp" } else { "Customer Co" }.to_owned(),
                gender: (i % 3) as i32,
                tags: if i % 5 == 0 { vec!["vip".to_owned()] } else { Vec::new() },
                remark: String::new(),
            })
            .collect();
        let n = contacts.len();
        let groups = (0..spec.groups)
            .map(|g| {
                let members: Vec<GroupMember> = (0..spec.members_per_group as usize)
                    .map(|m| {
                        let (user_id, name) = if m < n {
                            let c = &contacts[(g as usize * 7 + m) % n];
                            (c.user_id.clone(), c.name.clone())
                        } else {
                            (format!("wm{tag:08x}g{g}m{m}"), name(s, 1_000_000 + m as u64))
                        };
                        let role = match m {
                            0 => "owner",
                            1 => "admin",
                            _ => "member",
                        };
                        GroupMember {
                            user_id,
                            name,
                            group_nickname: String::new(),
                            role: role.to_owned(),
                            joined_at: 1_700_000_000 + i64::from(g) * 86_400 + m as i64,
                        }
                    })
                    .collect();
                let group = Group {
                    group_id: format!("R{tag:08x}{g:04}"),
                    name: format!("Sim Group {g}"),
                    owner_id: members.first().map(|m| m.user_id.clone()).unwrap_or_default(),
                    member_count: members.len() as u32,
                    notice: String::new(),
                };
                (group, members)
            })
            .collect();
        Self { contacts, groups }
    }

    pub fn members_mut(&mut self, group_id: &str) -> SimResult<(&mut Group, &mut Vec<GroupMember>)> {
        self.groups
            .iter_mut()
            .find(|(g, _)| g.group_id == group_id)
            .map(|(g, m)| (g, m))
            .ok_or_else(|| SimError::invalid(format!("no group {group_id}")))
    }
}

/// One page of `items` from `cursor` (an offset; empty is the start).
pub fn page<T: Clone>(items: &[T], cursor: &str, limit: u32) -> SimResult<Page<T>> {
    if limit == 0 || limit > MAX_PAGE_LIMIT {
        return Err(SimError::invalid(format!("limit must be 1..={MAX_PAGE_LIMIT}")));
    }
    let start: usize =
        if cursor.is_empty() { 0 } else { cursor.parse().map_err(|_| SimError::invalid("malformed cursor"))? };
    let start = start.min(items.len());
    let end = start.saturating_add(limit as usize).min(items.len());
    let next_cursor = if end < items.len() { end.to_string() } else { String::new() };
    Ok(Page { items: items[start..end].to_vec(), next_cursor })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generation_is_deterministic_and_ids_are_distinct() {
        let spec = DirectorySpec { contacts: 300, groups: 4, members_per_group: 320 };
        let a = Directory::generate("g-1", spec);
        let b = Directory::generate("g-1", spec);
        assert_eq!(a.contacts, b.contacts);
        assert_eq!(a.contacts.iter().map(|c| &c.user_id).collect::<HashSet<_>>().len(), 300);
        for (group, members) in &a.groups {
            assert_eq!(group.member_count, 320);
            assert_eq!(members.iter().map(|m| &m.user_id).collect::<HashSet<_>>().len(), 320);
        }
        assert_ne!(Directory::generate("g-2", spec).contacts[0].user_id, a.contacts[0].user_id);
    }

    #[test]
    fn pages_walk_to_an_empty_cursor_and_refuse_bad_limits() {
        let items: Vec<u32> = (0..7).collect();
        let p1 = page(&items, "", 3).unwrap();
        assert_eq!((p1.items, p1.next_cursor.as_str()), (vec![0, 1, 2], "3"));
        let p3 = page(&items, "6", 3).unwrap();
        assert_eq!((p3.items, p3.next_cursor.as_str()), (vec![6], ""));
        assert!(page(&items, "", 0).is_err());
        assert!(page(&items, "", 501).is_err());
        assert!(page(&items, "x", 5).is_err());
        assert!(page(&items, "99", 5).unwrap().items.is_empty());
    }
}
