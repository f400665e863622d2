//! The directory sync job: copies an online account's contacts, groups and
//! group members from its protocol instance.
//!
//! Contract:
//! - one sync per account at a time: [`request`] claims `sync_status =
//!   running` compare-and-set through [`lifecycle::update_account`] (a
//!   claim older than `domain::directory::STALE_RUNNING_SECS` is taken
//!   over), stamping the
//!   account's `last_sync_time` with the sync's start;
//! - the job pages through the instance ([`SYNC_PAGE_LIMIT`] a page; the
//!   driver retries transient failures itself, so any error ends the sync as
//!   `failed`) and upserts each page in one statement, stamped with the
//!   start. It holds one page at a time (plus the ids of the current page of
//!   groups while their members are listed);
//! - only after a complete pass are the rows it did not see swept (contacts
//!   `removed`, groups and members `left`), then the account is `done`. A
//!   failed pass sweeps nothing: a partial listing must not remove anyone.
//!   Before each write the job checks that the claim is still its own, so a
//!   sync that was taken over stops at its next page.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use wework_client::WeworkProvider;
use wework_client::protocol::{Contact, Group, GroupMember, ListRequest, Page};

use crate::domain::AccountStatus;
use crate::domain::directory::{
    ContactType, MAX_NAME_CHARS, MAX_WEWORK_ID_CHARS, SYNC_MAX_PAGES, SYNC_PAGE_LIMIT, SyncClaim, clip, member_role,
    row_status, sync_claim, sync_start, sync_status,
};
use crate::domain::validate::{MAX_TAG_LEN, MAX_TAGS};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Decision, Outcome, status_of};
use crate::state::AppState;
use crate::store::directory as dir;
use crate::store::entity::{account, contact, group, group_member};

/// What a sync request did.
#[derive(Debug)]
pub enum Requested {
    /// This request claimed the sync and started it in the background.
    Started(Box<account::Model>),
    /// Another sync is running; nothing was started.
    AlreadyRunning(Box<account::Model>),
}

impl Requested {
    pub fn account(&self) -> &account::Model {
        match self {
            Self::Started(a) | Self::AlreadyRunning(a) => a,
        }
    }
}

/// Claims the account's sync and starts it; `tenant` confines the lookup.
/// FailedPrecondition unless the account is online.
pub async fn request(state: &AppState, account_id: &str, tenant: Option<&str>) -> Result<Requested> {
    let outcome = lifecycle::update_account(state, account_id, tenant, |current, now| {
        if status_of(current) != AccountStatus::Online {
            return Err(Error::precondition("NOT_ONLINE", "only an online account's directory can be synced"));
        }
        if sync_claim(&current.sync_status, current.updated_at, now) == SyncClaim::AlreadyRunning {
            return Ok(Decision::Skip("a directory sync is already running".to_owned()));
        }
        let mut next = current.clone();
        next.sync_status = sync_status::RUNNING.to_owned();
        next.last_sync_time = Some(sync_start(now, current.last_sync_time));
        Ok(Decision::Write { row: Box::new(next), history: None })
    })
    .await?;
    match outcome {
        Outcome::Applied { account, .. } => {
            let start = account.last_sync_time.unwrap_or_else(|| state.clock.now());
            let (state, job) = (state.clone(), (*account).clone());
            tokio::spawn(async move {
                let result = pass(&state, &job, start).await;
                finish(&state, &job.id, start, result).await;
            });
            Ok(Requested::Started(account))
        }
        Outcome::Skipped { account, .. } => Ok(Requested::AlreadyRunning(account)),
    }
}

/// What a complete pass saw and swept.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    contacts: usize,
    groups: usize,
    members: usize,
    removed: u64,
    groups_left: u64,
    members_left: u64,
}

async fn pass(state: &AppState, account: &account::Model, start: DateTime<Utc>) -> Result<Counts> {
    let guid = account.guid.clone().ok_or_else(|| Error::precondition("NO_SESSION", "the account has no client"))?;
    let (driver, _) = crate::grpc::login::driver_for(state, account).await?;
    let job = Job { state, driver: driver.as_ref(), account, guid: &guid, start };
    let mut counts = Counts { contacts: job.contacts().await?, ..Counts::default() };
    (counts.groups, counts.members) = job.groups().await?;
    still_ours(state, &account.id, start).await?;
    let now = state.clock.now();
    counts.removed = dir::sweep_contacts(state.db.writer(), &account.id, start, now).await?;
    (counts.groups_left, counts.members_left) = dir::sweep_groups(state.db.writer(), &account.id, start, now).await?;
    Ok(counts)
}

/// One pass over one account's instance listings.
struct Job<'a> {
    state: &'a AppState,
    driver: &'a dyn WeworkProvider,
    account: &'a account::Model,
    guid: &'a str,
    start: DateTime<Utc>,
}

impl Job<'_> {
    fn request(&self, cursor: String, group_id: Option<&str>) -> ListRequest {
        let group_id = group_id.map(str::to_owned);
        ListRequest { guid: self.guid.to_owned(), cursor, limit: SYNC_PAGE_LIMIT, group_id }
    }

    /// Contacts listed; an error (or a listing that never ends) fails the pass.
    async fn contacts(&self) -> Result<usize> {
        let (mut listed, mut cursor) = (0, Some(String::new()));
        for _ in 0..SYNC_MAX_PAGES {
            let Some(c) = cursor.take() else { return Ok(listed) };
            let page = self.driver.list_contacts(&self.request(c, None)).await?;
            listed += page.items.len();
            let now = self.state.clock.now();
            let mut seen = HashSet::new();
            let rows = page.items.iter().filter(|c| seen.insert(c.user_id.clone()));
            let rows = rows.map(|c| contact_row(self.account, c, self.start, now)).collect();
            still_ours(self.state, &self.account.id, self.start).await?;
            dir::upsert_contacts(self.state.db.writer(), rows).await?;
            cursor = next_cursor(page);
        }
        cursor.map_or(Ok(listed), |_| Err(endless()))
    }

    /// Groups and members listed. A page of groups is written, then each
    /// of its groups' members, before the next page of groups is fetched.
    async fn groups(&self) -> Result<(usize, usize)> {
        let (mut groups, mut members, mut cursor) = (0, 0, Some(String::new()));
        for _ in 0..SYNC_MAX_PAGES {
            let Some(c) = cursor.take() else { return Ok((groups, members)) };
            let page = self.driver.list_groups(&self.request(c, None)).await?;
            groups += page.items.len();
            let now = self.state.clock.now();
            let mut seen = HashSet::new();
            let rows = page.items.iter().filter(|g| seen.insert(g.group_id.clone()));
            let rows: Vec<group::Model> = rows.map(|g| group_row(self.account, g, self.start, now)).collect();
            let ids: Vec<String> = rows.iter().map(|g| g.group_id.clone()).collect();
            still_ours(self.state, &self.account.id, self.start).await?;
            dir::upsert_groups(self.state.db.writer(), rows).await?;
            for group_id in &ids {
                members += self.members(group_id).await?;
            }
            cursor = next_cursor(page);
        }
        cursor.map_or(Ok((groups, members)), |_| Err(endless()))
    }

    async fn members(&self, group_id: &str) -> Result<usize> {
        let (mut listed, mut cursor) = (0, Some(String::new()));
        for _ in 0..SYNC_MAX_PAGES {
            let Some(c) = cursor.take() else { return Ok(listed) };
            let page = self.driver.list_group_members(&self.request(c, Some(group_id))).await?;
            listed += page.items.len();
            let now = self.state.clock.now();
            let mut seen = HashSet::new();
            let rows = page.items.iter().filter(|m| seen.insert(m.user_id.clone()));
            let rows = rows.map(|m| member_row(self.account, group_id, m, self.start, now)).collect();
            still_ours(self.state, &self.account.id, self.start).await?;
            dir::upsert_members(self.state.db.writer(), rows).await?;
            cursor = next_cursor(page);
        }
        cursor.map_or(Ok(listed), |_| Err(endless()))
    }
}

/// Stops a sync another one took over (its claim was presumed dead): it
/// must not write rows stamped older than the new sync's, nor sweep.
async fn still_ours(state: &AppState, account_id: &str, start: DateTime<Utc>) -> Result<()> {
    let row =
        crate::store::find_account(state.db.writer(), account_id, None).await?.ok_or(Error::NotFound("account"))?;
    if row.sync_status == sync_status::RUNNING && row.last_sync_time == Some(start) {
        Ok(())
    } else {
        Err(Error::precondition("SUPERSEDED", "another directory sync took over"))
    }
}

/// The next page's cursor; `None` on the last page (or a page that would
/// repeat itself).
fn next_cursor<T>(page: Page<T>) -> Option<String> {
    Some(page.next_cursor).filter(|c| !c.is_empty() && !page.items.is_empty())
}

fn endless() -> Error {
    Error::Internal(anyhow::anyhow!("an instance listing did not end after {SYNC_MAX_PAGES} pages"))
}

fn contact_row(a: &account::Model, c: &Contact, start: DateTime<Utc>, now: DateTime<Utc>) -> contact::Model {
    let tags: Vec<String> =
        c.tags.iter().map(|t| clip(t, MAX_TAG_LEN)).filter(|t| !t.is_empty()).take(MAX_TAGS).collect();
    contact::Model {
        id: crate::store::new_id(),
        tenant_id: a.tenant_id.clone(),
        account_id: a.id.clone(),
        user_id: clip(&c.user_id, MAX_WEWORK_ID_CHARS),
        name: clip(&c.name, MAX_NAME_CHARS),
        alias: clip(&c.alias, MAX_NAME_CHARS),
        avatar_url: clip(&c.avatar_url, 500),
        contact_type: ContactType::from_instance(&c.contact_type).as_str().to_owned(),
        corp_name: clip(&c.corp_name, MAX_NAME_CHARS),
        gender: c.gender,
        tags: crate::store::to_json(&tags),
        remark: clip(&c.remark, 500),
        status: row_status::ACTIVE.to_owned(),
        last_sync_time: start,
        created_at: now,
        updated_at: now,
    }
}

fn group_row(a: &account::Model, g: &Group, start: DateTime<Utc>, now: DateTime<Utc>) -> group::Model {
    group::Model {
        id: crate::store::new_id(),
        tenant_id: a.tenant_id.clone(),
        account_id: a.id.clone(),
        group_id: clip(&g.group_id, MAX_WEWORK_ID_CHARS),
        name: clip(&g.name, MAX_NAME_CHARS),
        owner_id: clip(&g.owner_id, MAX_WEWORK_ID_CHARS),
        member_count: i32::try_from(g.member_count).unwrap_or(i32::MAX),
        notice: clip(&g.notice, 4_000),
        status: row_status::ACTIVE.to_owned(),
        last_sync_time: start,
        created_at: now,
        updated_at: now,
    }
}

fn member_row(
    a: &account::Model,
    group_id: &str,
    m: &GroupMember,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> group_member::Model {
    group_member::Model {
        id: crate::store::new_id(),
        tenant_id: a.tenant_id.clone(),
        account_id: a.id.clone(),
        group_id: group_id.to_owned(),
        user_id: clip(&m.user_id, MAX_WEWORK_ID_CHARS),
        name: clip(&m.name, MAX_NAME_CHARS),
        group_nickname: clip(&m.group_nickname, MAX_NAME_CHARS),
        role: member_role(&m.role).to_owned(),
        joined_at: DateTime::from_timestamp(m.joined_at, 0).filter(|_| m.joined_at > 0),
        status: row_status::ACTIVE.to_owned(),
        left_at: None,
        last_sync_time: start,
        created_at: now,
        updated_at: now,
    }
}

/// Records the outcome on the account, unless another sync took over.
async fn finish(state: &AppState, account_id: &str, start: DateTime<Utc>, result: Result<Counts>) {
    let (status, class) = match &result {
        Ok(c) => {
            tracing::info!(account = %account_id, contacts = c.contacts, groups = c.groups, members = c.members,
                removed = c.removed, groups_left = c.groups_left, members_left = c.members_left, "directory synced");
            (sync_status::DONE, "")
        }
        Err(e) => {
            tracing::warn!(account = %account_id, class = error_class(e), error = %e, "directory sync failed");
            (sync_status::FAILED, error_class(e))
        }
    };
    metrics::counter!("account_directory_syncs_total", "outcome" => status, "class" => class).increment(1);
    let written = lifecycle::update_account(state, account_id, None, |current, _| {
        if current.sync_status != sync_status::RUNNING || current.last_sync_time != Some(start) {
            return Ok(Decision::Skip("another sync took over".to_owned()));
        }
        let mut next = current.clone();
        next.sync_status = status.to_owned();
        Ok(Decision::Write { row: Box::new(next), history: None })
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(account = %account_id, error = %e, "the directory sync's outcome was not recorded");
    }
}

/// A short stable class of a failed sync, for logs and metrics.
fn error_class(e: &Error) -> &'static str {
    match e {
        Error::Provider(p) => p.code(),
        Error::Db { .. } => "database",
        Error::FailedPrecondition { reason, .. } => reason,
        _ => "internal",
    }
}
