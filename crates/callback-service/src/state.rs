//! Everything handlers, ingest and the processor share. Built once by
//! [`crate::build`]; cheap to clone.

use std::sync::Arc;

use tokio::sync::Notify;
use wework_kit::audit::AuditRecorder;
use wework_kit::auth::Authenticator;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::db::Db;

use crate::ingest::writer::EventWriter;
use crate::integrations::{Downstream, Instances};
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub authn: Arc<Authenticator>,
    /// Seals WeCom apps' tokens and EncodingAESKeys with the master key.
    pub secrets: Arc<SecretBox>,
    pub instances: Instances,
    pub downstream: Downstream,
    pub writer: EventWriter,
    /// Notified when ingest committed new events (wakes the processor).
    pub stored: Arc<Notify>,
    pub audit: AuditRecorder,
    /// This replica's name in lease columns (`claimed_by`).
    pub worker_id: Arc<str>,
}
