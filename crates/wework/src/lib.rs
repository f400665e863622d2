//! The all-in-one platform ([`platform`]) and its scripted tour ([`demo`]),
//! as a library so tests can run the tour against a platform they started.

pub mod demo;
pub mod platform;
