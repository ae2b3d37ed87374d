//! Rate limiters for re-queued keys, as client-go's `workqueue` has them: a per-item
//! exponential backoff, an overall token bucket, and the maximum of several.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Decides how long a key waits before it is handed out again after a failure.
pub trait RateLimiter<T>: Send + Sync {
    /// The delay for one more re-queue of `item` (records the re-queue).
    fn when(&self, item: &T) -> Duration;
    /// Forgets `item`'s failures: its next delay starts from the beginning again.
    fn forget(&self, item: &T);
    /// How many times `item` has been re-queued since it was last forgotten.
    fn num_requeues(&self, item: &T) -> u32;
}

/// `base × 2^failures`, capped at `max`, per item (client-go's
/// `ItemExponentialFailureRateLimiter`).
#[derive(Debug)]
pub struct ExponentialBackoff<T> {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<T, u32>>,
}

impl<T> ExponentialBackoff<T> {
    /// Starts at `base`, doubles per failure, never exceeds `max`.
    pub fn new(base: Duration, max: Duration) -> ExponentialBackoff<T> {
        ExponentialBackoff {
            base,
            max,
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Hash + Eq + Clone + Send + Sync> RateLimiter<T> for ExponentialBackoff<T> {
    fn when(&self, item: &T) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let n = failures.entry(item.clone()).or_insert(0);
        let exp = *n;
        *n = n.saturating_add(1);
        drop(failures);
        if exp >= 32 {
            return self.max;
        }
        self.base
            .checked_mul(1_u32 << exp)
            .map_or(self.max, |d| d.min(self.max))
    }

    fn forget(&self, item: &T) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(item);
    }

    fn num_requeues(&self, item: &T) -> u32 {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(item)
            .copied()
            .unwrap_or(0)
    }
}

/// An overall token bucket: `qps` tokens a second, at most `burst` saved up; every
/// re-queue of any item takes one, waiting for it when none is left (client-go's
/// `BucketRateLimiter` over `rate.Limiter.Reserve`).
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `qps` a second (a `qps` that is not
    /// a positive number never refills).
    pub fn new(qps: f64, burst: u32) -> TokenBucket {
        TokenBucket {
            qps: if qps.is_finite() { qps } else { 0.0 },
            burst: f64::from(burst),
            state: Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: None,
            }),
        }
    }
}

impl<T> RateLimiter<T> for TokenBucket {
    fn when(&self, _item: &T) -> Duration {
        let now = Instant::now();
        let mut b = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = b.at
            && self.qps > 0.0
        {
            let refill = now.saturating_duration_since(at).as_secs_f64() * self.qps;
            b.tokens = (b.tokens + refill).min(self.burst);
        }
        b.at = Some(now);
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            return Duration::ZERO;
        }
        if !(self.qps.is_finite() && self.qps > 0.0) {
            // No refill: once the burst is spent, never (as `rate.Limiter` with limit 0).
            return Duration::MAX;
        }
        Duration::try_from_secs_f64(-b.tokens / self.qps).unwrap_or(Duration::MAX)
    }

    fn forget(&self, _item: &T) {}

    fn num_requeues(&self, _item: &T) -> u32 {
        0
    }
}

/// The longest delay of several limiters (client-go's `MaxOfRateLimiter`).
pub struct MaxOf<T> {
    limiters: Vec<Box<dyn RateLimiter<T>>>,
}

impl<T> MaxOf<T> {
    /// Combines `limiters`.
    pub fn new(limiters: Vec<Box<dyn RateLimiter<T>>>) -> MaxOf<T> {
        MaxOf { limiters }
    }
}

impl<T> std::fmt::Debug for MaxOf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaxOf")
            .field("limiters", &self.limiters.len())
            .finish()
    }
}

impl<T> RateLimiter<T> for MaxOf<T> {
    fn when(&self, item: &T) -> Duration {
        self.limiters
            .iter()
            .map(|l| l.when(item))
            .max()
            .unwrap_or_default()
    }

    fn forget(&self, item: &T) {
        for l in &self.limiters {
            l.forget(item);
        }
    }

    fn num_requeues(&self, item: &T) -> u32 {
        self.limiters
            .iter()
            .map(|l| l.num_requeues(item))
            .max()
            .unwrap_or(0)
    }
}

/// The default per-item backoff: 5 ms doubling to 1000 s.
pub const DEFAULT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(5), Duration::from_secs(1000));
/// The default overall bucket: 10 re-queues a second, bursts of 100.
pub const DEFAULT_BUCKET: (f64, u32) = (10.0, 100);

/// client-go's `DefaultControllerRateLimiter`: the maximum of the per-item backoff
/// ([`DEFAULT_BACKOFF`]) and the overall bucket ([`DEFAULT_BUCKET`]).
pub fn default_rate_limiter<T: Hash + Eq + Clone + Send + Sync + 'static>() -> MaxOf<T> {
    MaxOf::new(vec![
        Box::new(ExponentialBackoff::new(
            DEFAULT_BACKOFF.0,
            DEFAULT_BACKOFF.1,
        )),
        Box::new(TokenBucket::new(DEFAULT_BUCKET.0, DEFAULT_BUCKET.1)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets_on_forget() {
        let l = ExponentialBackoff::new(Duration::from_millis(5), Duration::from_secs(1000));
        let delays: Vec<_> = (0..4).map(|_| l.when(&"a")).collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40].map(Duration::from_millis),
            "5 ms doubling"
        );
        assert_eq!(l.when(&"b"), Duration::from_millis(5), "per item");
        assert_eq!(l.num_requeues(&"a"), 4);
        for _ in 0..40 {
            l.when(&"a");
        }
        assert_eq!(l.when(&"a"), Duration::from_secs(1000), "capped");
        l.forget(&"a");
        assert_eq!(l.num_requeues(&"a"), 0);
        assert_eq!(l.when(&"a"), Duration::from_millis(5), "reset");
    }

    #[test]
    fn tiny_bases_still_reach_the_cap() {
        let l = ExponentialBackoff::new(Duration::from_nanos(1), Duration::from_secs(1000));
        for _ in 0..60 {
            l.when(&"a");
        }
        assert_eq!(l.when(&"a"), Duration::from_secs(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_without_refill_stops_after_its_burst() {
        for qps in [0.0, -1.0, f64::NAN] {
            let b = TokenBucket::new(qps, 2);
            assert_eq!(RateLimiter::<&str>::when(&b, &"x"), Duration::ZERO);
            assert_eq!(RateLimiter::<&str>::when(&b, &"x"), Duration::ZERO);
            assert_eq!(RateLimiter::<&str>::when(&b, &"x"), Duration::MAX);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_a_burst_then_paces_at_qps() {
        let b = TokenBucket::new(10.0, 100);
        for _ in 0..100 {
            assert_eq!(RateLimiter::<&str>::when(&b, &"x"), Duration::ZERO);
        }
        assert_eq!(
            RateLimiter::<&str>::when(&b, &"x"),
            Duration::from_millis(100)
        );
        assert_eq!(
            RateLimiter::<&str>::when(&b, &"y"),
            Duration::from_millis(200),
            "the bucket is shared by all items"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        // 10 tokens came back, 2 were owed: the next one waits for nothing.
        assert_eq!(RateLimiter::<&str>::when(&b, &"z"), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_default_is_the_larger_of_backoff_and_bucket() {
        let l = default_rate_limiter::<String>();
        let a = "a".to_owned();
        assert_eq!(l.when(&a), Duration::from_millis(5));
        assert_eq!(l.when(&a), Duration::from_millis(10));
        for i in 0..98 {
            l.when(&i.to_string());
        }
        // The bucket is now empty: a fresh key waits for a token, not 5 ms.
        assert_eq!(l.when(&"fresh".to_owned()), Duration::from_millis(100));
        assert_eq!(l.num_requeues(&a), 2);
        l.forget(&a);
        assert_eq!(l.num_requeues(&a), 0);
    }
}
