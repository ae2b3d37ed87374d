//! The cluster clock: where every timestamp written into an object comes from.
//!
//! All clocks advance with `tokio::time`, so a cluster run under
//! `tokio::time::pause()` sees virtual time (DESIGN.md invariant 5).

use std::sync::Arc;
use std::time::Duration;

use crate::meta::Time;

/// A source of wall-clock timestamps for objects (`creationTimestamp`, conditions, events).
///
/// A `Clock` reads the wall clock once, when it is made, and from then on advances with
/// [`tokio::time::Instant`]; under `tokio::time::pause()` it is therefore virtual and
/// deterministic. Cloning is cheap and clones share the same origin.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Origin>,
}

#[derive(Debug)]
struct Origin {
    wall: Time,
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock that starts at the current wall-clock time.
    pub fn system() -> Clock {
        // clock: the one wall-clock read; everything after advances with tokio::time.
        let now = chrono::Utc::now();
        Clock::starting_at(Time::from(now))
    }

    /// A clock that starts at `origin` (deterministic tests and simulations).
    pub fn starting_at(origin: Time) -> Clock {
        Clock {
            inner: Arc::new(Origin {
                wall: origin,
                start: tokio::time::Instant::now(),
            }),
        }
    }

    /// The current time: the origin plus the `tokio::time` elapsed since the clock was made.
    pub fn now(&self) -> Time {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.inner.start);
        self.inner.wall.saturating_add(elapsed)
    }

    /// How long ago `t` was, by this clock (zero if `t` is in the future).
    pub fn since(&self, t: &Time) -> Duration {
        self.now().duration_since(t)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clock_follows_virtual_time() {
        let origin: Time = "2024-01-02T03:04:05Z".parse().unwrap();
        let clock = Clock::starting_at(origin.clone());
        assert_eq!(clock.now(), origin);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(clock.now().to_string(), "2024-01-02T04:04:05Z");
        assert_eq!(clock.since(&origin), Duration::from_secs(3600));
        let shared = clock.clone();
        assert_eq!(shared.now(), clock.now());
    }
}
