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

    #[test]
    fn spaces_requests_at_the_rate() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let l = Limiter::new(2.0, 1);
            let t0 = Instant::now();
            let mut at = Vec::new();
            for _ in 0..5 {
                l.acquire().await;
                at.push((Instant::now() - t0).as_millis());
            }
            // First immediately, then one every 500 ms.
            assert_eq!(at, vec![0, 500, 1000, 1500, 2000]);
        });
    }

    #[test]
    fn a_burst_then_the_rate() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let l = Limiter::new(10.0, 3);
            let t0 = Instant::now();
            let mut at = Vec::new();
            for _ in 0..5 {
                l.acquire().await;
                at.push((Instant::now() - t0).as_millis());
            }
            assert_eq!(at, vec![0, 0, 0, 100, 200]);
        });
    }
}
