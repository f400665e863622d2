//! Conversions between stored rows and proto messages, shared by handlers.
//! Secrets never cross: an instance's token and proxy password stay sealed
//! in the row (`has_password` says one exists).

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wework_client::protocol::{ProxyConfig, UserInfo};
use wework_kit::events::{json_to_struct, struct_to_json};
use wework_proto::account as pb;

use crate::lifecycle::status_of;
use crate::store::entity::{account, instance, status_history};
use crate::store::instance_status;

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) })
}

pub fn ts_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.and_then(ts)
}

pub fn instance_status_to_proto(s: &str) -> i32 {
    match s {
        instance_status::ACTIVE => pb::InstanceStatus::Active as i32,
        instance_status::DRAINING => pb::InstanceStatus::Draining as i32,
        instance_status::DISABLED => pb::InstanceStatus::Disabled as i32,
        _ => pb::InstanceStatus::Unspecified as i32,
    }
}

pub fn instance_status_from_proto(v: i32) -> Option<&'static str> {
    match pb::InstanceStatus::try_from(v).ok()? {
        pb::InstanceStatus::Active => Some(instance_status::ACTIVE),
        pb::InstanceStatus::Draining => Some(instance_status::DRAINING),
        pb::InstanceStatus::Disabled => Some(instance_status::DISABLED),
        pb::InstanceStatus::Unspecified => None,
    }
}

/// The stored proxy (no password) as the API shows it.
pub fn proxy_to_proto(row: &instance::Model) -> Option<pb::ProxyConfig> {
    let stored: ProxyConfig = serde_json::from_str(row.proxy_config.as_deref()?).ok()?;
    Some(pb::ProxyConfig {
        scheme: stored.scheme,
        host: stored.host,
        port: u32::from(stored.port),
        username: stored.username.unwrap_or_default(),
        password: String::new(),
        has_password: row.proxy_password_sealed.is_some(),
    })
}

pub fn instance_to_proto(row: &instance::Model) -> pb::Instance {
    pb::Instance {
        id: row.id.clone(),
        name: row.name.clone(),
        api_url: row.api_url.clone(),
        status: instance_status_to_proto(&row.status),
        max_accounts: u32::try_from(row.max_accounts).unwrap_or(0),
        account_count: u32::try_from(row.account_count).unwrap_or(0),
        proxy: proxy_to_proto(row),
        last_heartbeat_at: ts_opt(row.last_heartbeat_at),
        restart_count: u32::try_from(row.restart_count).unwrap_or(0),
        version: row.version.clone(),
        region: row.region.clone(),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

pub fn account_to_proto(row: &account::Model) -> pb::Account {
    let user_info =
        row.user_info.as_deref().and_then(|u| serde_json::from_str::<UserInfo>(u).ok()).map(|u| pb::WeworkUser {
            user_id: u.user_id,
            name: u.name,
            corp_id: u.corp_id,
            corp_name: u.corp_name,
            avatar_url: u.avatar_url,
        });
    let config = serde_json::from_str::<serde_json::Value>(&row.config).ok().and_then(|v| json_to_struct(&v));
    pb::Account {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        account_name: row.account_name.clone(),
        phone: row.phone.clone(),
        email: row.email.clone(),
        remark: row.remark.clone(),
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        config,
        status: status_of(row).to_proto(),
        guid: row.guid.clone().unwrap_or_default(),
        instance_id: row.instance_id.clone().unwrap_or_default(),
        qr_code_url: row.qr_code_url.clone().unwrap_or_default(),
        qr_expires_at: ts_opt(row.qr_expires_at),
        user_info,
        last_login_time: ts_opt(row.last_login_time),
        last_heartbeat_time: ts_opt(row.last_heartbeat_time),
        login_retry_count: u32::try_from(row.login_retry_count).unwrap_or(0),
        recover_attempts: u32::try_from(row.recover_attempts).unwrap_or(0),
        error_message: row.error_message.clone().unwrap_or_default(),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
        sync_status: row.sync_status.clone(),
        last_sync_time: ts_opt(row.last_sync_time),
    }
}

pub fn history_to_proto(row: &status_history::Model) -> pb::StatusChange {
    let status = |s: &str| crate::domain::AccountStatus::parse(s).map_or(0, |st| st.to_proto());
    pb::StatusChange {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        old_status: row.old_status.as_deref().map_or(0, status),
        new_status: status(&row.new_status),
        reason: row.reason.clone(),
        error_message: row.error_message.clone().unwrap_or_default(),
        operator_id: row.operator_id.clone().unwrap_or_default(),
        operator_type: row.operator_type.clone(),
        created_at: ts(row.created_at),
    }
}

/// A request's config Struct as JSON (absent = empty object).
pub fn config_json(config: Option<&prost_types::Struct>) -> serde_json::Value {
    config.map_or_else(|| serde_json::json!({}), struct_to_json)
}
