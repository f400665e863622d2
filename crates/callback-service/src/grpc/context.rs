//! Who is calling and which tenant's rows they reach. A tenant user or API
//! key is confined to its own tenant (another tenant's event or app is
//! simply not found); a platform super-admin or a service principal may name
//! any tenant, and sees events not yet resolved to one.

use tonic::Request;
use wework_kit::audit::{AuditEntry, RequestMeta};
use wework_kit::auth::{Principal, require};

use crate::error::{Error, Result};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl Caller {
    pub fn is_platform(&self) -> bool {
        self.principal.is_service() || self.principal.is_super_admin()
    }

    pub fn require(&self, permission: &str) -> Result<()> {
        Ok(require(&self.principal, permission)?)
    }

    /// The tenant a list reaches: the caller's own; a platform caller may
    /// name another (`requested`), or none (every tenant, `None`).
    pub fn tenant_scope(&self, requested: &str) -> Result<Option<String>> {
        let requested = requested.trim();
        if self.is_platform() {
            if !requested.is_empty() {
                return Ok(Some(requested.to_owned()));
            }
            return Ok(Some(self.principal.tenant_id.clone()).filter(|t| !t.is_empty() && !self.principal.is_service()));
        }
        if !requested.is_empty() && requested != self.principal.tenant_id {
            return Err(Error::PermissionDenied("another tenant's callbacks".to_owned()));
        }
        Ok(Some(self.principal.tenant_id.clone()))
    }

    /// Rows of a single resource addressed by id: a tenant caller reaches
    /// its own tenant; a platform caller reaches any.
    pub fn row_scope(&self) -> Option<String> {
        if self.is_platform() { None } else { Some(self.principal.tenant_id.clone()) }
    }

    /// The tenant an app is registered for. Callers without a tenant of
    /// their own (services) cannot register one.
    pub fn own_tenant(&self) -> Result<String> {
        if self.principal.tenant_id.is_empty() {
            return Err(Error::precondition("NO_TENANT", "the caller acts for no tenant"));
        }
        Ok(self.principal.tenant_id.clone())
    }

    /// An audit row for what this caller did to a resource of `tenant`.
    pub fn audit(&self, tenant: &str, operation: &str, resource_type: &str, resource_id: &str) -> AuditEntry {
        let p = &self.principal;
        let tenant = if tenant.is_empty() { p.tenant_id.as_str() } else { tenant };
        let mut entry = AuditEntry::new(tenant, operation, resource_type, resource_id).by(p);
        entry.meta = self.meta.clone();
        entry
    }
}

impl AppState {
    /// Authenticates a bearer token into a [`Caller`].
    pub async fn caller<T>(&self, req: &Request<T>) -> Result<Caller> {
        let principal = self.authn.authenticate(req).await.map_err(|_| Error::Unauthenticated)?;
        Ok(Caller { principal, meta: RequestMeta::from_request(req) })
    }
}
