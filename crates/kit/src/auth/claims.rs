//! The JSON claims inside the platform's tokens. Shared by the issuer (user
//! service) and every verifier, so the shape lives in one place.

use serde::{Deserialize, Serialize};

/// Role name that crosses tenants. It exists only in the platform tenant and
/// can be neither created nor assigned through the API.
pub const SUPER_ADMIN_ROLE: &str = "super_admin";

/// Code of the tenant that holds the platform's own operators.
pub const PLATFORM_TENANT_CODE: &str = "platform";

/// Claims of a user access token: EdDSA-signed by the user service, verified
/// locally by every service with the published public keys (header `kid`).
/// Permissions are embedded so that checks need no lookup; role changes
/// apply at the next refresh (access tokens live 15 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Session id.
    pub sid: String,
    pub roles: Vec<String>,
    pub perms: Vec<String>,
    /// Unique token id.
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// What an internal token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InternalKind {
    /// A service acting for the platform (all permissions, any tenant named in the call).
    Service,
    /// A caller authenticated by API key, on whose behalf the gateway calls services.
    ApiKey,
}

/// Claims of an internal token: HS256-signed with the shared internal secret,
/// short-lived (minutes). Services mint them for service-to-service calls;
/// the gateway mints them for API-key callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalClaims {
    pub iss: String,
    pub aud: String,
    /// `service:<name>` or `api_key:<id>`.
    pub sub: String,
    pub kind: InternalKind,
    /// Calling service's name, e.g. `message-service` or `gateway`.
    pub svc: String,
    /// Tenant acted for; empty for a platform-wide service call.
    #[serde(default)]
    pub tid: String,
    /// User behind an API key (its creator).
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub perms: Vec<String>,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// Issuer of internal tokens, distinct from the user service's so a user
/// token can never be mistaken for one.
pub const INTERNAL_ISSUER: &str = "wework-internal";

/// Audience of internal tokens: every platform service accepts them.
pub const INTERNAL_AUDIENCE: &str = "wework-services";
