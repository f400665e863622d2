//! Queries of conversations, contacts and groups (filled in by the directory work).
