//! Fault injection: [`Faults`] is the global, runtime-settable set of things
//! that go wrong (slow or failing API calls, sends that time out after they
//! happened, rate limits, lost heartbeats, dropped or duplicated callbacks),
//! and [`RateWindow`] is the rolling per-client send window behind
//! `rate_limit_per_minute`. Everything here is pure so it is unit-tested with
//! synthetic instants.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

/// What goes wrong, for every client. The default is a healthy instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every API call before it is handled.
    pub latency_ms: u64,
    /// Up to this much more, uniformly.
    pub latency_jitter_ms: u64,
    /// Fraction (0..=1) of API calls refused with `Unavailable` (503); the
    /// refused call is not performed.
    pub error_rate: f64,
    /// A send is performed, then its response is held this long: "timed out
    /// but sent", the case a driver's de-duplicated retry exists for.
    pub send_timeout_ms: u64,
    /// Sends per client in a rolling minute; past it a send is refused with
    /// `RateLimited` and not performed. 0 is unlimited.
    pub rate_limit_per_minute: u32,
    /// No 19002 heartbeats at all, and nothing said about it: the instance
    /// seems silently dead (the per-client control `heartbeat_loss` is the
    /// announced kind, 11006).
    pub heartbeat_loss: bool,
    /// Fraction of callbacks silently never delivered.
    pub drop_callback_rate: f64,
    /// Fraction of callbacks delivered twice with the same callback id.
    pub duplicate_callback_rate: f64,
}

impl Faults {
    /// The injected latency of one API call.
    pub fn latency(&self, rng: &mut impl Rng) -> Duration {
        let jitter = if self.latency_jitter_ms > 0 { rng.gen_range(0..=self.latency_jitter_ms) } else { 0 };
        Duration::from_millis(self.latency_ms.saturating_add(jitter))
    }
}

/// True with probability `rate` (clamped to 0..=1; exact at both ends).
pub fn roll(rate: f64, rng: &mut impl Rng) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        false
    } else if rate >= 1.0 {
        true
    } else {
        rng.gen_bool(rate)
    }
}

/// Accepted sends of one client in the last [`RateWindow::WINDOW`].
#[derive(Debug, Default)]
pub struct RateWindow {
    sends: VecDeque<Instant>,
}

impl RateWindow {
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// Admits a send at `now` under `limit` per window (0 = unlimited) and
    /// records it, or says how many whole seconds until a slot frees (≥ 1).
    pub fn admit(&mut self, now: Instant, limit: u32) -> Result<(), u64> {
        while self.sends.front().is_some_and(|t| now.saturating_duration_since(*t) >= Self::WINDOW) {
            self.sends.pop_front();
        }
        if limit > 0 && self.sends.len() >= limit as usize {
            let oldest = self.sends.front().copied().unwrap_or(now);
            let frees_in = Self::WINDOW.saturating_sub(now.saturating_duration_since(oldest));
            return Err(frees_in.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.sends.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn window_refuses_past_the_limit_and_frees_as_sends_age() {
        let t0 = Instant::now();
        let mut w = RateWindow::default();
        assert_eq!(w.admit(t0, 2), Ok(()));
        assert_eq!(w.admit(t0 + Duration::from_secs(10), 2), Ok(()));
        assert_eq!(w.admit(t0 + Duration::from_secs(20), 2), Err(40));
        assert_eq!(w.admit(t0 + Duration::from_millis(59_500), 2), Err(1));
        assert_eq!(w.admit(t0 + Duration::from_secs(60), 2), Ok(()));
        assert_eq!(w.admit(t0 + Duration::from_secs(61), 2), Err(9));
    }

    #[test]
    fn zero_limit_is_unlimited() {
        let t0 = Instant::now();
        let mut w = RateWindow::default();
        for _ in 0..1000 {
            assert_eq!(w.admit(t0, 0), Ok(()));
        }
    }

    #[test]
    fn rates_are_exact_at_the_ends() {
        let mut rng = rand::thread_rng();
        assert!((0..100).all(|_| roll(1.0, &mut rng)));
        assert!((0..100).all(|_| !roll(0.0, &mut rng)));
        assert!(!roll(f64::NAN, &mut rng));
        let f = Faults { latency_ms: 10, latency_jitter_ms: 5, ..Faults::default() };
        let l = f.latency(&mut rng);
        assert!(l >= Duration::from_millis(10) && l <= Duration::from_millis(15));
    }
}
