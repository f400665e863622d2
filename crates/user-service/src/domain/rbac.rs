//! Permissions and the system roles every tenant starts with.
//!
//! Contract: a permission is `resource:action` in lowercase `[a-z_]`, or a
//! wildcard `*`, `resource:*`, `*:action`. [`CATALOGUE`] lists every concrete
//! permission of the platform (this service and the later ones), so roles can
//! be granted before those services exist. Matching is kit's
//! [`permission_matches`], the same function every service checks with, so
//! what a role grants here is exactly what is enforced elsewhere.
//! Tenant boundaries are not expressed here: `*` within a tenant role still
//! only reaches that tenant; only [`SUPER_ADMIN_ROLE`] in the platform tenant
//! crosses tenants.

use std::collections::BTreeSet;

use wework_kit::auth::claims::SUPER_ADMIN_ROLE;
use wework_kit::auth::permission_matches;

use super::FieldError;

/// Every concrete permission with a description, served by `ListPermissions`.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("tenant:read", "View the tenant, its quotas and settings"),
    ("tenant:update", "Change the tenant's name, quotas and webhook"),
    ("tenant:create", "Create tenants (platform)"),
    ("tenant:delete", "Delete tenants (platform)"),
    ("tenant:suspend", "Suspend and resume tenants (platform)"),
    ("user:read", "View users"),
    ("user:create", "Create users"),
    ("user:update", "Change users' profiles and status"),
    ("user:delete", "Delete users"),
    ("user:reset_password", "Set another user's password"),
    ("role:read", "View roles"),
    ("role:create", "Create roles"),
    ("role:update", "Change roles' permissions"),
    ("role:delete", "Delete roles"),
    ("role:assign", "Assign roles to users and revoke them"),
    ("session:read", "View login sessions"),
    ("session:revoke", "Revoke other users' sessions"),
    ("api_key:read", "View API keys"),
    ("api_key:create", "Create API keys"),
    ("api_key:revoke", "Revoke API keys"),
    ("audit:read", "Read the audit trail"),
    ("audit:write", "Write audit records (services)"),
    ("quota:read", "View quota usage"),
    ("quota:reserve", "Reserve daily message quota (services)"),
    ("signing_key:rotate", "Rotate the token signing key (platform)"),
    ("account:read", "View WeWork accounts"),
    ("account:create", "Add WeWork accounts"),
    ("account:update", "Change WeWork accounts' settings"),
    ("account:delete", "Remove WeWork accounts"),
    ("account:login", "Log WeWork accounts in and out"),
    ("instance:read", "View protocol instances"),
    ("instance:write", "Register and change protocol instances"),
    ("conversation:read", "View conversations"),
    ("conversation:write", "Mark read, pin and tag conversations"),
    ("contact:read", "View contacts"),
    ("contact:write", "Change contacts"),
    ("group:read", "View groups and their members"),
    ("group:write", "Change groups"),
    ("message:read", "View messages"),
    ("message:send", "Send messages"),
    ("message:cancel", "Cancel pending messages"),
    ("template:read", "View message templates"),
    ("template:write", "Create and change message templates"),
    ("batch:read", "View batch sends"),
    ("batch:write", "Create, pause, resume and cancel batch sends"),
    ("schedule:read", "View scheduled sends and task schedules"),
    ("schedule:write", "Create and change scheduled sends and task schedules"),
    ("statistics:read", "View message statistics"),
    ("callback:read", "View provider callbacks"),
    ("callback:replay", "Replay provider callbacks"),
    ("callback:configure", "Register and change official WeCom callback apps"),
    ("task:read", "View tasks and their executions"),
    ("task:write", "Create and cancel tasks"),
    ("endpoint:read", "View callback endpoints"),
    ("endpoint:write", "Create and change callback endpoints"),
    ("business_system:read", "View business systems"),
    ("business_system:write", "Register and change business systems"),
];

/// Permissions that act on the platform rather than inside a tenant; no
/// seeded tenant role below owner holds them. Business systems (the task
/// center's callers) are platform-wide, so even reading them is one.
pub const PLATFORM_ONLY: &[&str] = &[
    "tenant:create",
    "tenant:delete",
    "tenant:suspend",
    "signing_key:rotate",
    "audit:write",
    "quota:reserve",
    "business_system:read",
    "business_system:write",
];

/// Name of the role holding everything in its tenant; given to the first user.
pub const OWNER: &str = "owner";
/// Name of the tenant administrators' role.
pub const ADMIN: &str = "admin";
/// Name of the day-to-day operators' role.
pub const OPERATOR: &str = "operator";
/// Name of the read-only role.
pub const VIEWER: &str = "viewer";

/// Permissions of the operator role: running WeWork accounts and messages,
/// no user, role or key administration.
const OPERATOR_PERMISSIONS: &[&str] = &[
    "tenant:read",
    "quota:read",
    "account:read",
    "account:create",
    "account:update",
    "account:login",
    "instance:read",
    "conversation:read",
    "conversation:write",
    "contact:read",
    "contact:write",
    "group:read",
    "group:write",
    "message:read",
    "message:send",
    "message:cancel",
    "template:read",
    "template:write",
    "batch:read",
    "batch:write",
    "schedule:read",
    "schedule:write",
    "statistics:read",
    "callback:read",
];

/// A role seeded into every tenant (`is_system`): it cannot be deleted and its
/// permissions follow the code, so upgrades can re-seed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemRole {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: Vec<String>,
}

fn owned(perms: &[&str]) -> Vec<String> {
    perms.iter().map(|p| (*p).to_owned()).collect()
}

/// Rewrites a set of concrete permissions with `resource:*` wherever it holds
/// every catalogued action of that resource. Permissions travel in every
/// access token (an unindexed HTTP/2 header on every RPC), so the seeded
/// roles are stored this way: a tenant admin's token shrinks from ~1.5 KiB to
/// a few hundred bytes. The wildcard also grants actions a later release adds
/// to that resource — the intent of "admin: everything but platform powers".
pub fn compact(perms: &[&str]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for p in perms {
        let resource = p.split_once(':').map_or(*p, |(r, _)| r);
        let all_held = CATALOGUE
            .iter()
            .filter(|(c, _)| c.split_once(':').is_some_and(|(r, _)| r == resource))
            .all(|(c, _)| perms.contains(c));
        let holds_platform_power = PLATFORM_ONLY.iter().any(|c| c.starts_with(&format!("{resource}:")));
        if all_held && !holds_platform_power {
            out.insert(format!("{resource}:*"));
        } else {
            out.insert((*p).to_owned());
        }
    }
    out.into_iter().collect()
}

/// The roles `CreateTenant` seeds: owner, admin, operator, viewer.
pub fn system_roles() -> Vec<SystemRole> {
    let catalogue: Vec<&str> = CATALOGUE.iter().map(|(p, _)| *p).collect();
    let admin_perms: Vec<&str> = catalogue.iter().copied().filter(|p| !PLATFORM_ONLY.contains(p)).collect();
    let admin = compact(&admin_perms);
    // Every catalogued read but the platform's own. Not `*:read`, which would
    // also reach platform-wide resources such as business systems.
    let viewer_perms: Vec<&str> =
        admin_perms.iter().copied().filter(|p| p.split_once(':').is_some_and(|(_, a)| a == "read")).collect();
    let viewer = owned(&viewer_perms);
    vec![
        SystemRole { name: OWNER, description: "Everything within the tenant", permissions: owned(&["*"]) },
        SystemRole { name: ADMIN, description: "Administers users, roles, keys and operations", permissions: admin },
        SystemRole {
            name: OPERATOR,
            description: "Operates WeWork accounts and messages",
            permissions: compact(OPERATOR_PERMISSIONS),
        },
        SystemRole { name: VIEWER, description: "Reads everything, changes nothing", permissions: viewer },
    ]
}

/// The platform operators' role, seeded in the platform tenant only.
pub fn super_admin_role() -> SystemRole {
    SystemRole {
        name: SUPER_ADMIN_ROLE,
        description: "Platform operator across all tenants",
        permissions: owned(&["*"]),
    }
}

/// Whether `name` is one of the seeded role names, which callers may neither
/// create nor delete.
pub fn is_system_role(name: &str) -> bool {
    name == SUPER_ADMIN_ROLE || [OWNER, ADMIN, OPERATOR, VIEWER].contains(&name)
}

/// Checks the shape of one permission string (field `permissions`).
pub fn validate_permission(permission: &str) -> Result<(), FieldError> {
    const F: &str = "permissions";
    if permission == "*" {
        return Ok(());
    }
    let invalid =
        || FieldError::new(F, format!("{permission:?} is not `resource:action`, `resource:*`, `*:action` or `*`"));
    if permission.len() > 64 {
        return Err(invalid());
    }
    let (resource, action) = permission.split_once(':').ok_or_else(invalid)?;
    let part_ok = |s: &str| s == "*" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    if !part_ok(resource) || !part_ok(action) {
        return Err(invalid());
    }
    if resource == "*" && action == "*" {
        return Err(FieldError::new(F, "write `*` instead of `*:*`"));
    }
    Ok(())
}

/// Validates a role's permission list and returns it trimmed, deduplicated
/// and sorted, so stored roles compare and diff cleanly.
pub fn normalize_permissions(permissions: &[String]) -> Result<Vec<String>, FieldError> {
    let mut set = BTreeSet::new();
    for p in permissions {
        let p = p.trim();
        validate_permission(p)?;
        set.insert(p.to_owned());
    }
    Ok(set.into_iter().collect())
}

/// Whether `granted` covers every permission in `wanted` (wildcards in
/// `wanted` are covered only by equal or wider grants). Used so a caller can
/// only create or assign roles within their own permissions (no escalation).
pub fn is_subset(granted: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| granted.iter().any(|g| permission_matches(g, w)))
}

/// The union of several roles' permissions, sorted and deduplicated: what a
/// user may do, and what goes into the access token.
pub fn merge_permissions<'a>(lists: impl IntoIterator<Item = &'a [String]>) -> Vec<String> {
    let set: BTreeSet<&String> = lists.into_iter().flatten().collect();
    set.into_iter().cloned().collect()
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
