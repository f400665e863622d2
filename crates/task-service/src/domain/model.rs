//! Requests parsed into domain types that are valid by construction.
//!
//! Contract: every `parse` here takes the proto request, checks every field
//! with [`super::validate`] and returns the first violation, named by its
//! proto path (the caller passes the prefix of nested messages: `task`,
//! `tasks[3]`, `template`). Time is passed in. A parsed value carries its
//! defaults resolved (priority 5, timeout 15 s, the default retry schedule,
//! `scheduled_at` = now), so the store and the workers never re-apply them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use wework_proto::task as pb;

use super::cron::{CronSchedule, MissedSlotPolicy, parse_time_zone};
use super::retry::RetrySchedule;
use super::validate::{
    BusinessCode, BusinessUniqueId, Description, DisplayName, EndpointName, MAX_BODY_BYTES, Priority, RateLimit, Tags,
    TimeoutMs, ValidUrl, parse_content_type, parse_headers, parse_retry, parse_scheduled_at, parse_uuid,
};
pub use super::validate::{BusinessStatus, HttpMethod, missed_slot_policy};
use super::{FieldError, path};

/// Where a task delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskTarget {
    /// A URL of the task's own. Header names are lowercase.
    Http { url: ValidUrl, method: HttpMethod, headers: BTreeMap<String, String>, content_type: String },
    /// A registered endpoint (its URL and secret are looked up at send time).
    Endpoint { endpoint_id: String },
}

/// A task as a caller asked for it, defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTaskSpec {
    pub business_unique_id: BusinessUniqueId,
    pub target: TaskTarget,
    pub body: Vec<u8>,
    pub tags: Tags,
    pub priority: Priority,
    pub scheduled_at: DateTime<Utc>,
    pub retry: RetrySchedule,
    pub timeout: TimeoutMs,
}

impl NewTaskSpec {
    /// Parses a task of a create request; `prefix` is its path (`task`, `tasks[3]`).
    pub fn parse(prefix: &str, spec: pb::TaskSpec, now: DateTime<Utc>) -> Result<Self, FieldError> {
        let id = BusinessUniqueId::parse(&path(prefix, "business_unique_id"), &spec.business_unique_id)?;
        let scheduled_at = parse_scheduled_at(&path(prefix, "scheduled_at"), spec.scheduled_at.as_ref(), now)?;
        Self::parse_rest(prefix, spec, id, scheduled_at)
    }

    /// Parses a schedule's template: its `business_unique_id` and
    /// `scheduled_at` are ignored: each run gets its own key
    /// ([`BusinessUniqueId::for_slot`]) and its slot as due time.
    pub fn parse_template(prefix: &str, spec: pb::TaskSpec, now: DateTime<Utc>) -> Result<Self, FieldError> {
        Self::parse_rest(prefix, spec, BusinessUniqueId::template(), now)
    }

    fn parse_rest(
        prefix: &str,
        spec: pb::TaskSpec,
        business_unique_id: BusinessUniqueId,
        scheduled_at: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        let target = parse_target(prefix, spec.target)?;
        if spec.body.len() > MAX_BODY_BYTES {
            return Err(FieldError::new(path(prefix, "body"), "must be at most 256 KiB"));
        }
        Ok(Self {
            business_unique_id,
            target,
            body: spec.body,
            tags: Tags::parse(&path(prefix, "tags"), &spec.tags)?,
            priority: Priority::parse(&path(prefix, "priority"), spec.priority)?,
            scheduled_at,
            retry: parse_retry(prefix, &spec.retry_intervals, spec.max_retries)?,
            timeout: TimeoutMs::parse(&path(prefix, "timeout_ms"), spec.timeout_ms)?,
        })
    }
}

fn parse_target(prefix: &str, target: Option<pb::task_spec::Target>) -> Result<TaskTarget, FieldError> {
    match target {
        None => Err(FieldError::new(path(prefix, "target"), "is required: http or endpoint_id")),
        Some(pb::task_spec::Target::EndpointId(id)) => {
            Ok(TaskTarget::Endpoint { endpoint_id: parse_uuid(&path(prefix, "endpoint_id"), &id)? })
        }
        Some(pb::task_spec::Target::Http(http)) => {
            let prefix = path(prefix, "http");
            Ok(TaskTarget::Http {
                url: ValidUrl::parse(&path(&prefix, "url"), &http.url)?,
                method: HttpMethod::from_proto(&path(&prefix, "method"), http.method)?,
                headers: parse_headers(&path(&prefix, "headers"), &http.headers)?,
                content_type: parse_content_type(&path(&prefix, "content_type"), &http.content_type)?,
            })
        }
    }
}

/// A business system to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBusinessSystem {
    pub code: BusinessCode,
    pub name: DisplayName,
    pub rate_limit: RateLimit,
    pub description: Description,
}

impl NewBusinessSystem {
    pub fn parse(req: &pb::RegisterBusinessSystemRequest) -> Result<Self, FieldError> {
        Ok(Self {
            code: BusinessCode::parse("business_code", &req.business_code)?,
            name: DisplayName::parse("business_name", &req.business_name)?,
            rate_limit: RateLimit::parse("rate_limit", req.rate_limit)?,
            description: Description::parse("description", &req.description)?,
        })
    }
}

/// Changes to a business system; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessSystemUpdate {
    pub id: String,
    pub name: Option<DisplayName>,
    pub rate_limit: Option<RateLimit>,
    pub status: Option<BusinessStatus>,
    pub description: Option<Description>,
}

impl BusinessSystemUpdate {
    pub fn parse(req: &pb::UpdateBusinessSystemRequest) -> Result<Self, FieldError> {
        Ok(Self {
            id: parse_uuid("id", &req.id)?,
            name: req.business_name.as_deref().map(|n| DisplayName::parse("business_name", n)).transpose()?,
            rate_limit: req.rate_limit.map(|r| RateLimit::parse("rate_limit", r)).transpose()?,
            status: BusinessStatus::from_proto("status", req.status)?,
            description: req.description.as_deref().map(|d| Description::parse("description", d)).transpose()?,
        })
    }
}

/// Who an endpoint belongs to. A tenant's webhook is `tenant:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EndpointOwner {
    Tenant(String),
    Business(BusinessCode),
    Platform,
}

impl EndpointOwner {
    /// Parses `tenant:<uuid>`, `business:<code>` or `platform` (also the
    /// stored form).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let shape = || FieldError::new(field, "must be tenant:<id>, business:<code> or platform");
        if s.len() > 128 {
            return Err(shape());
        }
        match s.split_once(':') {
            None if s == "platform" => Ok(Self::Platform),
            Some(("tenant", id)) => parse_uuid(field, id).map(Self::Tenant),
            Some(("business", code)) => BusinessCode::parse(field, code).map(Self::Business),
            _ => Err(shape()),
        }
    }

    /// The tenant whose webhook this is, for tenant scoping.
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Self::Tenant(id) => Some(id),
            _ => None,
        }
    }
}

impl std::fmt::Display for EndpointOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tenant(id) => write!(f, "tenant:{id}"),
            Self::Business(code) => write!(f, "business:{code}"),
            Self::Platform => f.write_str("platform"),
        }
    }
}

/// An endpoint to create or update, by (owner, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUpsert {
    /// `None`: the caller's own (the handler decides from the principal).
    pub owner: Option<EndpointOwner>,
    pub name: EndpointName,
    pub url: ValidUrl,
    pub description: Description,
}

impl EndpointUpsert {
    pub fn parse(req: &pb::UpsertEndpointRequest) -> Result<Self, FieldError> {
        let owner = if req.owner.trim().is_empty() { None } else { Some(EndpointOwner::parse("owner", &req.owner)?) };
        Ok(Self {
            owner,
            name: EndpointName::parse("name", &req.name)?,
            url: ValidUrl::parse("url", &req.url)?,
            description: Description::parse("description", &req.description)?,
        })
    }
}

/// A cron schedule to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    pub name: DisplayName,
    pub cron: CronSchedule,
    /// What each run creates; see [`BusinessUniqueId::for_slot`].
    pub template: NewTaskSpec,
    pub missed_slot_policy: MissedSlotPolicy,
}

impl NewSchedule {
    pub fn parse(req: pb::CreateScheduleRequest, now: DateTime<Utc>) -> Result<Self, FieldError> {
        let name = DisplayName::parse("name", &req.name)?;
        let cron = CronSchedule::parse(&req.cron, &req.time_zone)?;
        let Some(template) = req.template else {
            return Err(FieldError::new("template", "is required"));
        };
        Ok(Self {
            name,
            cron,
            template: NewTaskSpec::parse_template("template", template, now)?,
            missed_slot_policy: missed_slot_policy("missed_slot_policy", req.missed_slot_policy)?.unwrap_or_default(),
        })
    }
}

/// Changes to a schedule; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleUpdate {
    pub id: String,
    pub name: Option<DisplayName>,
    /// Checked already; combined with the stored zone by [`Self::cron_schedule`].
    cron: Option<String>,
    time_zone: Option<String>,
    pub template: Option<NewTaskSpec>,
    pub missed_slot_policy: Option<MissedSlotPolicy>,
}

impl ScheduleUpdate {
    pub fn parse(req: pb::UpdateScheduleRequest, now: DateTime<Utc>) -> Result<Self, FieldError> {
        let time_zone = req.time_zone.as_deref().map(parse_time_zone).transpose()?.map(|tz| tz.name().to_owned());
        let cron = match req.cron.as_deref() {
            Some(expr) => Some(CronSchedule::parse(expr, time_zone.as_deref().unwrap_or_default())?.expr().to_owned()),
            None => None,
        };
        Ok(Self {
            id: parse_uuid("id", &req.id)?,
            name: req.name.as_deref().map(|n| DisplayName::parse("name", n)).transpose()?,
            cron,
            time_zone,
            template: req.template.map(|t| NewTaskSpec::parse_template("template", t, now)).transpose()?,
            missed_slot_policy: missed_slot_policy("missed_slot_policy", req.missed_slot_policy)?,
        })
    }

    /// The schedule after this update, given the stored expression and zone;
    /// `None` when neither changes (the next run stays as it is).
    pub fn cron_schedule(&self, stored_cron: &str, stored_tz: &str) -> Result<Option<CronSchedule>, FieldError> {
        if self.cron.is_none() && self.time_zone.is_none() {
            return Ok(None);
        }
        let expr = self.cron.as_deref().unwrap_or(stored_cron);
        let tz = self.time_zone.as_deref().unwrap_or(stored_tz);
        CronSchedule::parse(expr, tz).map(Some)
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
