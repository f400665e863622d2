//! Everything handlers and workers share: database, cache, clock, verifier,
//! the group-commit inserter, the services and instances it calls and the
//! audit recorder. Built once by [`crate::build`]; cheap to clone.

use std::sync::Arc;

use wework_kit::audit::AuditRecorder;
use wework_kit::auth::Authenticator;
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::db::Db;

use crate::inserter::MessageInserter;
use crate::integrations::{DailyQuota, Directory, MessageEvents, Providers, SendTargets, TenantPolicies};
use crate::settings::Settings;
use crate::worker::throttle_store::ThrottleStore;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cache: Cache,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub authn: Arc<Authenticator>,
    pub inserter: MessageInserter,
    pub quota: DailyQuota,
    pub targets: SendTargets,
    /// The account service's directory (group and filter batch targets).
    pub directory: Directory,
    pub tenants: TenantPolicies,
    pub providers: Providers,
    pub events: MessageEvents,
    /// Per-account throttle state, shared by replicas through Redis.
    pub throttle: ThrottleStore,
    pub audit: AuditRecorder,
    /// This replica's name in lease columns (`claimed_by`).
    pub worker_id: Arc<str>,
}
