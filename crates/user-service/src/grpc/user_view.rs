//! The user as GetUser returns it and as the cache holds it (never the
//! password hash or the 2FA secret), and the cache-aside read every handler
//! shares. Every write to a user or their roles invalidates `cache_key`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wework_proto::user as pb;

use super::convert::{opt_ts, ts};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, UserModel};

pub fn cache_key(tenant_id: &str, user_id: &str) -> String {
    format!("user:{tenant_id}:{user_id}")
}

/// What GetUser returns, as cached. Never holds the password hash or 2FA secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub status: String,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub two_factor_enabled: bool,
    pub roles: Vec<String>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub last_login_ip: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserView {
    pub fn new(u: UserModel, roles: Vec<String>) -> Self {
        Self {
            id: u.id,
            tenant_id: u.tenant_id,
            username: u.username,
            email: u.email,
            phone: u.phone,
            display_name: u.display_name,
            status: u.status,
            email_verified: u.email_verified,
            phone_verified: u.phone_verified,
            two_factor_enabled: u.two_factor_enabled,
            roles,
            last_login_at: u.last_login_at,
            last_login_ip: u.last_login_ip,
            locked_until: u.locked_until,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }

    /// The audited fields (no secrets).
    pub(crate) fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.username, "email": self.email, "phone": self.phone,
            "display_name": self.display_name, "status": self.status, "roles": self.roles,
        })
    }
}

pub fn to_proto(u: UserView) -> pb::User {
    let status = match u.status.as_str() {
        store::STATUS_ACTIVE => pb::UserStatus::Active,
        store::STATUS_DISABLED => pb::UserStatus::Disabled,
        _ => pb::UserStatus::Deleted,
    };
    pb::User {
        id: u.id,
        tenant_id: u.tenant_id,
        username: u.username,
        email: u.email.unwrap_or_default(),
        phone: u.phone.unwrap_or_default(),
        display_name: u.display_name,
        status: status as i32,
        email_verified: u.email_verified,
        phone_verified: u.phone_verified,
        two_factor_enabled: u.two_factor_enabled,
        roles: u.roles,
        last_login_at: opt_ts(u.last_login_at),
        last_login_ip: u.last_login_ip.unwrap_or_default(),
        locked_until: opt_ts(u.locked_until),
        created_at: Some(ts(u.created_at)),
        updated_at: Some(ts(u.updated_at)),
    }
}

/// A user with their active roles, through the cache.
pub async fn cached_user(state: &AppState, tenant_id: &str, user_id: &str) -> Result<Option<UserView>> {
    let db = state.db.clone();
    let (tid, uid) = (tenant_id.to_owned(), user_id.to_owned());
    let now = state.clock.now();
    state
        .cache
        .get_or_load(&cache_key(tenant_id, user_id), None, || async move {
            let Some(user) = store::find_user(db.reader(), &tid, &uid).await? else { return Ok(None) };
            let roles = store::active_roles_of_user(db.reader(), &tid, &uid, now).await?;
            Ok::<_, Error>(Some(UserView::new(user, roles.into_iter().map(|(_, name)| name).collect())))
        })
        .await
}
