//! One integration binary: the simulator driven by `wework_client::HttpProvider`
//! with a local callback receiver that checks every signature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod callbacks;
mod control;
mod faults;
mod helpers;
mod lists;
mod login;
mod sends;
