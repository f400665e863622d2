//! The user service: identity, login, tokens, RBAC, API keys, tenant quotas
//! and the audit trail. Layers point one way: `grpc` → `domain` → `store`.

pub mod domain;
pub mod store;
