//! (being written) Principals, token verification, permission checks.

pub mod claims;
