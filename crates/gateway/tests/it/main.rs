//! Gateway end-to-end tests: the whole platform in this process, called
//! over HTTP through the gateway as a front end or a script would.

mod api;
mod docs;
mod live;
mod platform;
