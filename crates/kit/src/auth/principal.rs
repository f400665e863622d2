//! Who is calling, and what they may do. A [`Principal`] comes only from a
//! verified token (never from a request body); handlers check permissions with
//! [`require`] and scope every query by [`Principal::tenant_id`].
//!
//! Permissions are `resource:action` strings (e.g. `user:create`). A grant may
//! use `*` for either part, or be `*` alone (everything).

use tonic::Status;

use super::claims::SUPER_ADMIN_ROLE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A person, with a user access token.
    User,
    /// Another platform service, with an internal service token.
    Service,
    /// A caller holding an API key, on whose behalf the gateway calls.
    ApiKey,
}

#[derive(Clone, Debug)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The tenant acted for. Empty only for a platform-wide service call.
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub session_id: Option<String>,
    /// Calling service (service tokens, and the gateway for API keys).
    pub service: Option<String>,
    pub api_key_id: Option<String>,
}

impl Principal {
    /// A service acting for `tenant_id` (empty: platform-wide) with every permission.
    pub fn service(name: &str, tenant_id: &str) -> Self {
        Self {
            kind: PrincipalKind::Service,
            tenant_id: tenant_id.to_owned(),
            user_id: None,
            roles: Vec::new(),
            permissions: vec!["*".to_owned()],
            session_id: None,
            service: Some(name.to_owned()),
            api_key_id: None,
        }
    }

    /// The principal that authentication middleware stored in the request's extensions.
    pub fn from_request<T>(req: &tonic::Request<T>) -> Result<&Self, Status> {
        req.extensions().get::<Self>().ok_or_else(crate::errors::unauthenticated)
    }

    /// A platform operator: crosses tenants. Only user principals qualify.
    pub fn is_super_admin(&self) -> bool {
        self.kind == PrincipalKind::User && self.roles.iter().any(|r| r == SUPER_ADMIN_ROLE)
    }

    pub fn is_service(&self) -> bool {
        self.kind == PrincipalKind::Service
    }

    pub fn can(&self, permission: &str) -> bool {
        self.permissions.iter().any(|granted| permission_matches(granted, permission))
    }

    /// Own tenant, or any tenant for a super admin or a service.
    pub fn can_access_tenant(&self, tenant_id: &str) -> bool {
        self.tenant_id == tenant_id || self.is_super_admin() || self.is_service()
    }
}

/// Whether a granted permission covers the wanted one: `*`, `resource:*`,
/// `*:action`, or an exact match.
pub fn permission_matches(granted: &str, wanted: &str) -> bool {
    if granted == "*" || granted == wanted {
        return true;
    }
    let (Some((g_res, g_act)), Some((w_res, w_act))) = (granted.split_once(':'), wanted.split_once(':')) else {
        return false;
    };
    (g_res == "*" || g_res == w_res) && (g_act == "*" || g_act == w_act)
}

/// `PERMISSION_DENIED` naming the missing permission unless `principal` has it.
pub fn require(principal: &Principal, permission: &str) -> Result<(), Status> {
    if principal.can(permission) {
        Ok(())
    } else {
        Err(crate::errors::permission_denied(&format!("missing permission: {permission}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_matching_table() {
        let cases = [
            ("*", "user:create", true),
            ("user:create", "user:create", true),
            ("user:*", "user:delete", true),
            ("*:read", "message:read", true),
            ("*:*", "message:read", true),
            ("user:create", "user:delete", false),
            ("user:*", "role:create", false),
            ("*:read", "message:send", false),
            ("user", "user:create", false),
            ("", "user:create", false),
            ("user:create", "*", false),
        ];
        for (granted, wanted, expected) in cases {
            assert_eq!(permission_matches(granted, wanted), expected, "{granted} vs {wanted}");
        }
    }

    fn user(tenant: &str, roles: &[&str], perms: &[&str]) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            tenant_id: tenant.to_owned(),
            user_id: Some("u1".to_owned()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            session_id: None,
            service: None,
            api_key_id: None,
        }
    }

    #[test]
    fn tenant_access_and_require() {
        let member = user("t1", &["member"], &["message:*"]);
        assert!(member.can_access_tenant("t1") && !member.can_access_tenant("t2"));
        assert!(require(&member, "message:send").is_ok());
        let denied = require(&member, "user:create").expect_err("denied");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("user:create"));

        let admin = user("platform", &[SUPER_ADMIN_ROLE], &[]);
        assert!(admin.is_super_admin() && admin.can_access_tenant("t2"));
        let svc = Principal::service("message-service", "");
        assert!(svc.is_service() && svc.can("anything:at_all") && svc.can_access_tenant("t9"));
        assert!(!svc.is_super_admin());
    }
}
