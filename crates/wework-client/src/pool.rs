//! Drivers for many instances over one HTTP connection pool: a service talks
//! to every registered instance, so it builds a driver per call from the
//! instance's address and token, all sharing one `reqwest::Client`.

use std::sync::Arc;

use crate::http::{HttpProvider, HttpProviderConfig};
use crate::provider::{ProviderResult, WeworkProvider};

#[derive(Clone)]
pub struct ProviderPool {
    http: reqwest::Client,
    config: HttpProviderConfig,
}

impl ProviderPool {
    pub fn new(config: HttpProviderConfig) -> ProviderResult<Self> {
        Ok(Self { http: HttpProvider::client(&config)?, config })
    }

    /// The driver of one instance, given its api url and (opened) token.
    pub fn driver(&self, api_url: &str, token: &str) -> Arc<dyn WeworkProvider> {
        Arc::new(HttpProvider::with_client(self.http.clone(), api_url, token, self.config.clone()))
    }
}
