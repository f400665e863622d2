//! Values of the status and kind columns. They are plain strings in the
//! schema (no native enums, identical on MySQL and SQLite); these constants
//! are the only spellings the store writes.

/// tenants, users, api_keys, signing_keys
pub const STATUS_ACTIVE: &str = "active";
/// tenants
pub const STATUS_SUSPENDED: &str = "suspended";
/// tenants, users
pub const STATUS_DELETED: &str = "deleted";
/// users
pub const STATUS_DISABLED: &str = "disabled";
/// api_keys
pub const STATUS_REVOKED: &str = "revoked";
/// signing_keys
pub const STATUS_RETIRED: &str = "retired";

/// audit_logs.result
pub const RESULT_SUCCESS: &str = "success";
pub const RESULT_FAILURE: &str = "failure";

/// audit_logs.principal_kind
pub const PRINCIPAL_USER: &str = "user";
pub const PRINCIPAL_SERVICE: &str = "service";
pub const PRINCIPAL_API_KEY: &str = "api_key";

/// signing_keys.algorithm
pub const ALGORITHM_EDDSA: &str = "EdDSA";
