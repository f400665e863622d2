//! Who is calling and what they may see. Three kinds of caller:
//! - a business system (`x-api-key` + `x-api-secret` metadata): its own tasks
//!   and schedules, its own `business:<code>` endpoints;
//! - the platform: service principals (acting as the built-in `platform`
//!   system) and platform super-admins — everything;
//! - a tenant user or API key (bearer token): its tenant's endpoints and the
//!   tasks delivering to them.

use tonic::Request;
use wework_kit::auth::{Principal, require};
use wework_kit::crypto::{constant_time_eq, sha256_hex};

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::entity::business_system;
use crate::store::{Scope, status};

#[derive(Debug, Clone)]
pub enum Actor {
    Business(Box<business_system::Model>),
    Platform(Box<Principal>),
    Tenant(Box<Principal>),
}

impl Actor {
    /// Rows this caller may see.
    pub fn scope(&self) -> Scope {
        match self {
            Actor::Business(b) => Scope::business(&b.id),
            Actor::Platform(_) => Scope::platform(),
            Actor::Tenant(p) => Scope::tenant(&p.tenant_id),
        }
    }

    /// The endpoint owner this caller is confined to (`None` = any).
    pub fn owner_scope(&self) -> Option<String> {
        match self {
            Actor::Business(b) => Some(format!("business:{}", b.business_code)),
            Actor::Platform(_) => None,
            Actor::Tenant(p) => Some(format!("tenant:{}", p.tenant_id)),
        }
    }

    /// The owner an endpoint gets when the request leaves it empty.
    pub fn default_owner(&self) -> String {
        self.owner_scope().unwrap_or_else(|| "platform".to_owned())
    }

    /// Business systems may do everything with their own rows; principals
    /// need the permission.
    pub fn require(&self, permission: &str) -> Result<()> {
        match self {
            Actor::Business(_) => Ok(()),
            Actor::Platform(p) | Actor::Tenant(p) => Ok(require(p, permission)?),
        }
    }

    /// Business-system management is for the platform only.
    pub fn require_platform(&self, permission: &str) -> Result<()> {
        match self {
            Actor::Platform(p) => Ok(require(p, permission)?),
            _ => Err(Error::PermissionDenied("platform administrators only".to_owned())),
        }
    }

    pub fn is_platform(&self) -> bool {
        matches!(self, Actor::Platform(_))
    }
}

impl AppState {
    /// Authenticates a call: api key + secret, or a bearer token.
    pub async fn actor<T>(&self, req: &Request<T>) -> Result<Actor> {
        let meta = req.metadata();
        if let Some(key) = meta.get("x-api-key").and_then(|v| v.to_str().ok()) {
            let secret = meta.get("x-api-secret").and_then(|v| v.to_str().ok()).unwrap_or_default();
            return self.business_actor(key, secret).await;
        }
        let principal = self.authn.authenticate(req).await.map_err(|_| Error::Unauthenticated)?;
        if principal.is_service() || principal.is_super_admin() {
            Ok(Actor::Platform(Box::new(principal)))
        } else {
            Ok(Actor::Tenant(Box::new(principal)))
        }
    }

    async fn business_actor(&self, api_key: &str, secret: &str) -> Result<Actor> {
        if api_key.len() > 64 || secret.is_empty() || secret.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let system = self.business_by_api_key(api_key).await?;
        // Hash even when the key is unknown, so timing does not reveal it.
        let presented = sha256_hex(secret.as_bytes());
        let Some(system) = system else {
            return Err(Error::Unauthenticated);
        };
        if !constant_time_eq(presented.as_bytes(), system.api_secret_hash.as_bytes()) {
            return Err(Error::Unauthenticated);
        }
        if system.status != status::ACTIVE {
            return Err(Error::PermissionDenied("business system is disabled".to_owned()));
        }
        Ok(Actor::Business(Box::new(system)))
    }
}
