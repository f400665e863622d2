//! Who is calling and what they may see. Three kinds of caller:
//! - a business system (`x-api-key` + `x-api-secret` metadata): its own tasks
//!   and schedules, its own `business:<code>` endpoints;
//! - the platform: service principals (acting as the built-in `platform`
//!   system) and platform super-admins — everything;
//! - a tenant user or API key (bearer token): its tenant's endpoints and the
//!   tasks delivering to them.
//!
//! [`Actor::audit`] says who acted for the audit trail: never a credential,
//! only ids and names.

use tonic::Request;
use wework_kit::audit::{AuditEntry, RequestMeta};
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

    /// The caller in words, e.g. `user <id>`, `api key <id>`, `service
    /// gateway`, `business system billing`; names no secret.
    pub fn describe(&self) -> String {
        match self {
            Actor::Business(b) => format!("business system {}", b.business_code),
            Actor::Platform(p) | Actor::Tenant(p) => wework_kit::audit::describe(p),
        }
    }

    /// An audit row for what this caller did to a resource. It goes to the
    /// trail of the tenant the resource belongs to (`resource_tenant`); a
    /// resource without one is the platform's, filed under a tenant caller's
    /// own tenant or a super-admin's (the platform tenant), else left empty
    /// for the recorder to file under the platform tenant.
    pub fn audit(
        &self,
        meta: &RequestMeta,
        resource_tenant: Option<&str>,
        operation: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> AuditEntry {
        let principal = match self {
            Actor::Business(_) => None,
            Actor::Platform(p) | Actor::Tenant(p) => Some(p),
        };
        let own_tenant = match self {
            Actor::Tenant(p) => Some(p.tenant_id.as_str()),
            Actor::Platform(p) if p.is_super_admin() => Some(p.tenant_id.as_str()),
            Actor::Platform(_) | Actor::Business(_) => None,
        };
        let tenant = resource_tenant.filter(|t| !t.is_empty()).or(own_tenant).unwrap_or_default();
        let mut entry = AuditEntry::new(tenant, operation, resource_type, resource_id);
        match principal {
            Some(p) => entry = entry.by(p),
            None => entry.principal_kind = "business".to_owned(),
        }
        entry.actor = self.describe();
        entry.meta = meta.clone();
        entry
    }
}

/// A callback url as the audit trail keeps it: without credentials, query
/// or fragment, where tokens tend to hide.
pub fn audit_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            // Both fail only for urls that cannot hold credentials at all.
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
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

#[cfg(test)]
mod tests {
    use wework_kit::auth::PrincipalKind;
    use wework_kit::auth::claims::SUPER_ADMIN_ROLE;

    use super::*;

    fn meta() -> RequestMeta {
        RequestMeta { ip: Some("203.0.113.9".into()), user_agent: None, request_id: Some("req-1".into()) }
    }

    fn api_key(tenant: &str) -> Principal {
        let mut p = Principal::service("gateway", tenant);
        p.kind = PrincipalKind::ApiKey;
        p.user_id = Some("u1".into());
        p.api_key_id = Some("k1".into());
        p
    }

    #[test]
    fn a_row_goes_to_the_resources_tenant_else_the_callers_else_the_platform() {
        let tenant = Actor::Tenant(Box::new(api_key("t1")));
        let e = tenant.audit(&meta(), Some("t1"), "endpoint.create", "endpoint", "e1");
        assert_eq!(
            (e.tenant_id.as_str(), e.user_id.as_deref(), e.principal_kind.as_str()),
            ("t1", Some("u1"), "api_key")
        );
        assert_eq!(
            (e.operation.as_str(), e.resource_type.as_str(), e.resource_id.as_str()),
            ("endpoint.create", "endpoint", "e1")
        );
        assert_eq!(e.meta, meta());
        assert_eq!(tenant.audit(&meta(), None, "x.y", "x", "1").tenant_id, "t1");

        let service = Actor::Platform(Box::new(Principal::service("gateway", "")));
        let e = service.audit(&meta(), Some(""), "business_system.register", "business_system", "b1");
        assert_eq!((e.tenant_id.as_str(), e.user_id, e.principal_kind.as_str()), ("", None, "service"));
        assert_eq!(e.actor, "service gateway");
        assert_eq!(service.audit(&meta(), Some("t2"), "x.y", "x", "1").tenant_id, "t2");

        let mut admin = Principal::service("gateway", "platform-tenant-id");
        admin.kind = PrincipalKind::User;
        admin.user_id = Some("admin".into());
        admin.roles = vec![SUPER_ADMIN_ROLE.to_owned()];
        let e = Actor::Platform(Box::new(admin)).audit(&meta(), None, "x.y", "x", "1");
        assert_eq!(
            (e.tenant_id.as_str(), e.principal_kind.as_str(), e.actor.as_str()),
            ("platform-tenant-id", "user", "user admin")
        );
    }

    #[test]
    fn describes_each_kind_of_caller_without_credentials() {
        assert_eq!(Actor::Tenant(Box::new(api_key("t1"))).describe(), "user u1");
        let mut key_only = api_key("t1");
        key_only.user_id = None;
        assert_eq!(Actor::Tenant(Box::new(key_only)).describe(), "api key k1");
        let mut nobody = Principal::service("x", "");
        nobody.service = None;
        assert_eq!(Actor::Platform(Box::new(nobody)).describe(), "the platform");
    }

    #[test]
    fn audit_urls_lose_credentials_query_and_fragment() {
        assert_eq!(audit_url("https://u:p@hooks.example.com:8443/in?token=x#f"), "https://hooks.example.com:8443/in");
        assert_eq!(audit_url("https://hooks.example.com/in"), "https://hooks.example.com/in");
        assert_eq!(audit_url("not a url?token=x"), "not a url");
    }
}
