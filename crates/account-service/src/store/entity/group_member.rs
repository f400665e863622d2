//! Filled in by the directory work.
