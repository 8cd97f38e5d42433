//! A token bucket shared by every caller of one API for one account and region (LookupEvents
//! allows 2 requests per second per account and region; going over only earns throttling).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

/// Tokens refill at `rate` per second up to `burst`; [`Limiter::acquire`] waits for one.
#[derive(Debug)]
pub(crate) struct Limiter {
    interval: Duration,
    burst: u32,
    tat: Mutex<Option<Instant>>,
}

impl Limiter {
    pub(crate) fn new(rate: f64, burst: u32) -> Limiter {
        Limiter {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            burst: burst.max(1),
            tat: Mutex::new(None),
        }
    }

    /// Waits until a token is available and takes it (GCRA: `tat` is the theoretical arrival
    /// time of the next request; up to `burst - 1` requests may come early).
    pub(crate) async fn acquire(&self) {
        let wait_until = {
            let mut tat = self.tat.lock().expect("limiter lock");
            let now = Instant::now();
            let t = tat.unwrap_or(now).max(now);
            let early = self.interval * (self.burst - 1);
            *tat = Some(t + self.interval);
            t.checked_sub(early).unwrap_or(now).max(now)
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

/// The process-wide limiter for `key` (e.g. `lookup-events/<profile>/<region>`), so that all
/// inputs and commands reading the same account and region share one budget.
pub(crate) fn shared(key: &str, rate: f64) -> Arc<Limiter> {
    static ALL: OnceLock<Mutex<HashMap<String, Arc<Limiter>>>> = OnceLock::new();
    let mut all = ALL
        .get_or_init(Default::default)
        .lock()
        .expect("limiter map lock");
    all.entry(key.to_string())
        .or_insert_with(|| Arc::new(Limiter::new(rate, 1)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times of `n` acquisitions, in ms from the first call (real time: only lower bounds and
    /// generous upper bounds are asserted, so a loaded machine cannot fail them).
    fn times(l: &Limiter, n: usize) -> Vec<u128> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let t0 = Instant::now();
            let mut at = Vec::new();
            for _ in 0..n {
                l.acquire().await;
                at.push((Instant::now() - t0).as_millis());
            }
            at
        })
    }

    #[test]
    fn spaces_requests_at_the_rate() {
        let at = times(&Limiter::new(20.0, 1), 5);
        // One every 50 ms: the k-th no earlier than k * 50 ms.
        for (k, t) in at.iter().enumerate() {
            assert!(*t + 2 >= 50 * k as u128, "{at:?}");
        }
    }

    #[test]
    fn a_burst_then_the_rate() {
        let at = times(&Limiter::new(10.0, 3), 5);
        assert!(at[2] < 90, "three at once: {at:?}");
        assert!(at[3] >= 98 && at[4] >= 198, "then one per 100 ms: {at:?}");
    }
}
