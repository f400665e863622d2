//! API faults as a driver experiences them: injected 503s (and the driver's
//! retries, counted per path) and latency past the driver's timeout.

use std::time::Duration;

use wework_client::protocol::{CreateClientRequest, paths};
use wework_client::{HttpProvider, HttpProviderConfig, ProviderError, WeworkProvider};
use wework_sim::Faults;

use crate::helpers::{TestSim, driver_config};

#[tokio::test]
async fn every_call_failing_makes_the_driver_retry_idempotent_calls_only() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    let creates = t.sim.api_calls(paths::CLIENT_CREATE);
    t.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });

    let status = t.provider.status(&guid).await;
    assert!(matches!(status, Err(ProviderError::Unavailable { timed_out: false, .. })), "{status:?}");
    assert_eq!(t.sim.api_calls(paths::CLIENT_STATUS), 1 + u64::from(driver_config().max_retries));

    let created = t.provider.create_client(&CreateClientRequest::default()).await;
    assert!(matches!(created, Err(ProviderError::Unavailable { .. })));
    assert_eq!(t.sim.api_calls(paths::CLIENT_CREATE), creates + 1);
    assert_eq!(t.sim.guids().len(), 1, "a refused call is not performed");

    t.sim.set_faults(Faults::default());
    t.provider.status(&guid).await.unwrap();
    assert_eq!(t.sim.stats().api_calls.get(paths::CLIENT_STATUS), Some(&4));
}

#[tokio::test]
async fn latency_past_the_driver_timeout_is_an_unknown_outcome() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    let impatient =
        t.driver(HttpProviderConfig { request_timeout: Duration::from_millis(100), max_retries: 0, ..driver_config() });
    t.sim.set_faults(Faults { latency_ms: 400, latency_jitter_ms: 10, ..Faults::default() });
    assert_eq!(
        impatient.status(&guid).await,
        Err(ProviderError::Unavailable { message: "request timed out".into(), timed_out: true })
    );
    t.sim.set_faults(Faults::default());
    impatient.status(&guid).await.unwrap();
}

#[tokio::test]
async fn a_forged_token_is_unauthorized() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    let forger = HttpProvider::new(&t.sim.base_url(), "not-the-token", driver_config()).unwrap();
    assert_eq!(forger.status(&guid).await, Err(ProviderError::Unauthorized));
    assert_eq!(forger.health().await, Err(ProviderError::Unauthorized));
    let health = t.provider.health().await.unwrap();
    assert_eq!((health.clients, health.online, health.boot_id.as_str()), (1, 0, t.sim.boot_id()));
}
