//! The back-off between deletions of a node's failed daemon pods (Kubernetes'
//! `failedPodsBackoff`: 1 s doubling up to 15 min), so a pod that keeps failing is not
//! recreated in a hot loop.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The first delay.
pub const INITIAL: Duration = Duration::from_secs(1);
/// The longest delay.
pub const MAX: Duration = Duration::from_secs(15 * 60);

/// Per-key exponential back-off measured from the last step (client-go's `Backoff`
/// with `IsInBackOffSinceUpdate`).
#[derive(Debug, Default)]
pub(super) struct FailedPodBackoff {
    entries: Mutex<HashMap<String, (Duration, Instant)>>,
}

impl FailedPodBackoff {
    /// If `key` is still backing off at `now`, how long its delay is (`Some`);
    /// otherwise records a new step (the delay doubles, or restarts at [`INITIAL`]
    /// when the last step is more than twice [`MAX`] ago) and returns `None`.
    pub(super) fn check(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get_mut(key) {
            Some((delay, last)) if now.duration_since(*last) < *delay => Some(*delay),
            Some((delay, last)) if now.duration_since(*last) <= 2 * MAX => {
                *delay = (*delay * 2).min(MAX);
                *last = now;
                None
            }
            _ => {
                entries.insert(key.to_owned(), (INITIAL, now));
                None
            }
        }
    }

    /// Forgets every key starting with `prefix` (a deleted DaemonSet's nodes).
    pub(super) fn forget_prefix(&self, prefix: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delays_double_from_the_last_step() {
        let b = FailedPodBackoff::default();
        let t0 = Instant::now();
        assert_eq!(b.check("k", t0), None, "the first failure is acted on");
        assert_eq!(b.check("k", t0 + Duration::from_millis(500)), Some(INITIAL));
        assert_eq!(b.check("k", t0 + INITIAL), None);
        let t1 = t0 + INITIAL;
        assert_eq!(b.check("k", t1 + INITIAL), Some(2 * INITIAL));
        assert_eq!(b.check("k", t1 + 2 * INITIAL), None);
        assert_eq!(b.check("other", t1), None, "keys are independent");
        let later = t1 + 2 * INITIAL + 3 * MAX;
        assert_eq!(b.check("k", later), None);
        assert_eq!(
            b.check("k", later + Duration::from_millis(999)),
            Some(INITIAL),
            "restarted"
        );
        b.forget_prefix("k");
        assert_eq!(b.check("k", later + Duration::from_millis(999)), None);
    }
}
