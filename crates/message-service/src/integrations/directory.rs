//! The account service's directory, read one page at a time for batch
//! targets: the members of a group, or the contacts matching a filter. The
//! page token is the account service's own (opaque) cursor, which the
//! expander stores with each chunk so a restart continues where it stopped.
//! Calls carry this service's token (services may read any tenant's
//! directory; the batch already checked the account is the caller's).

use tonic::Code;
use wework_kit::grpc_client::ServiceChannel;
use wework_proto::account::directory_service_client::DirectoryServiceClient;
use wework_proto::account::{ContactType, ListContactsRequest, ListGroupMembersRequest};
use wework_proto::common::PageRequest;

use crate::domain::batch::ContactFilter;
use crate::error::{Error, Result};

/// Why a directory read failed for good (the batch fails with it).
pub const DIRECTORY_REFUSED: &str = "DIRECTORY_REFUSED";

/// One person a batch can message privately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub user_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryPage {
    pub entries: Vec<DirectoryEntry>,
    /// The next page's token; `None` after the last page.
    pub next: Option<String>,
}

#[derive(Clone)]
pub struct Directory {
    client: DirectoryServiceClient<ServiceChannel>,
}

impl Directory {
    pub fn new(channel: ServiceChannel) -> Self {
        Self { client: DirectoryServiceClient::new(channel) }
    }

    /// Current members of the account's group (members who left are not).
    pub async fn group_members(
        &self,
        account_id: &str,
        group_id: &str,
        page_token: &str,
        page_size: u32,
    ) -> Result<DirectoryPage> {
        let req = ListGroupMembersRequest {
            account_id: account_id.to_owned(),
            group_id: group_id.to_owned(),
            page: Some(page(page_token, page_size)),
            include_left: false,
        };
        let resp = self.client.clone().list_group_members(req).await.map_err(refused)?.into_inner();
        let entries = resp
            .members
            .into_iter()
            .map(|m| DirectoryEntry {
                name: if m.group_nickname.trim().is_empty() { m.name } else { m.group_nickname },
                user_id: m.user_id,
            })
            .collect();
        Ok(DirectoryPage { entries, next: next(resp.page) })
    }

    /// The account's active contacts matching `query`. The account service
    /// filters by one tag; further tags are checked here, so a page may hold
    /// fewer entries than asked for.
    pub async fn contacts(
        &self,
        account_id: &str,
        query: &ContactFilter,
        page_token: &str,
        page_size: u32,
    ) -> Result<DirectoryPage> {
        let contact_type = match query.contact_type.as_str() {
            "internal" => ContactType::Internal,
            "external" => ContactType::External,
            _ => ContactType::Unspecified,
        };
        let req = ListContactsRequest {
            account_id: account_id.to_owned(),
            page: Some(page(page_token, page_size)),
            text: query.text.clone(),
            contact_type: contact_type as i32,
            tag: query.tags.first().cloned().unwrap_or_default(),
            include_removed: false,
        };
        let resp = self.client.clone().list_contacts(req).await.map_err(refused)?.into_inner();
        let has_all = |tags: &[String]| query.tags.iter().all(|t| tags.iter().any(|c| c.eq_ignore_ascii_case(t)));
        let entries = resp
            .contacts
            .into_iter()
            .filter(|c| has_all(&c.tags))
            .map(|c| DirectoryEntry {
                name: [&c.remark, &c.alias, &c.name]
                    .into_iter()
                    .find(|n| !n.trim().is_empty())
                    .cloned()
                    .unwrap_or_default(),
                user_id: c.user_id,
            })
            .collect();
        Ok(DirectoryPage { entries, next: next(resp.page) })
    }
}

fn page(token: &str, size: u32) -> PageRequest {
    PageRequest { page_size: i32::try_from(size).unwrap_or(i32::MAX), page_token: token.to_owned() }
}

fn next(page: Option<wework_proto::common::PageResponse>) -> Option<String> {
    page.map(|p| p.next_page_token).filter(|t| !t.is_empty())
}

/// What the account service said no to for good (unknown account or group,
/// a filter it rejects) fails the batch; anything else is retried later.
fn refused(s: tonic::Status) -> Error {
    match s.code() {
        Code::NotFound | Code::InvalidArgument | Code::PermissionDenied | Code::FailedPrecondition => {
            Error::precondition(DIRECTORY_REFUSED, format!("the account directory refused: {}", s.message()))
        }
        code => {
            tracing::warn!(?code, "account service directory read failed");
            Error::Unavailable("the account directory cannot be read right now".into())
        }
    }
}
