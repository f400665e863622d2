//! Conversations, contacts and groups: rules (filled in by the directory work).
