//! What every handler needs to know about a call before it acts: who the
//! caller is (verified principal), which tenant the call acts on, and the
//! request metadata that audit rows record.

use wework_kit::auth::Principal;

use crate::error::{Error, Result};

/// Metadata of a call, as recorded in audit rows and sessions (shared with
/// every service through kit).
pub use wework_kit::audit::RequestMeta;

/// An authenticated call.
#[derive(Debug, Clone)]
pub struct Call {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl Call {
    /// The caller's user id, for operations that only a user can do (change
    /// own password, 2FA, own sessions).
    pub fn user_id(&self) -> Result<&str> {
        self.principal
            .user_id
            .as_deref()
            .filter(|_| self.principal.kind == wework_kit::auth::PrincipalKind::User)
            .ok_or_else(|| Error::PermissionDenied("only a signed-in user may do this".into()))
    }

    /// The tenant an operation acts on: the caller's own, unless the request
    /// names another and the caller may cross tenants (super-admin or service).
    /// A tenant user naming another tenant is denied, never silently redirected.
    pub fn target_tenant(&self, requested: &str) -> Result<String> {
        let requested = requested.trim();
        if requested.is_empty() || requested == self.principal.tenant_id {
            if self.principal.tenant_id.is_empty() {
                return Err(Error::invalid("tenant_id", "required for platform service calls"));
            }
            return Ok(self.principal.tenant_id.clone());
        }
        if self.principal.is_super_admin() || self.principal.is_service() {
            Ok(requested.to_owned())
        } else {
            Err(Error::PermissionDenied("cannot act on another tenant".into()))
        }
    }

    /// Checks a `resource:action` permission.
    pub fn require(&self, permission: &str) -> Result<()> {
        wework_kit::auth::require(&self.principal, permission).map_err(Error::from)
    }

    /// Only platform super-admins (and platform services) may do this.
    pub fn require_platform_admin(&self) -> Result<()> {
        if self.principal.is_super_admin() || self.principal.is_service() {
            Ok(())
        } else {
            Err(Error::PermissionDenied("platform administrators only".into()))
        }
    }
}
