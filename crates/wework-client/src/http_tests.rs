//! The driver against a local stub instance: classification, retries, timeouts.
