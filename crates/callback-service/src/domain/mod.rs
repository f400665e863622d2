//! Rules of the callback service, free of I/O: WeCom's message crypto and
//! XML, and the dedup key that makes a re-sent callback a no-op.

pub mod dedup;
pub mod wecom_crypto;
pub mod wecom_xml;
