//! [`LoadMeter`]: the requests a Service sends each pod, counted over a sliding window
//! of `tokio` time, so simulated containers can burn CPU in proportion to their load.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// When each pod (`namespace`, `name`) received its recent requests.
type Hits = HashMap<(String, String), VecDeque<Instant>>;

/// Requests per pod over the last `window`. Cloning shares it.
#[derive(Clone, Debug)]
pub struct LoadMeter {
    window: Duration,
    hits: Arc<Mutex<Hits>>,
}

impl Default for LoadMeter {
    fn default() -> Self {
        LoadMeter::new(Duration::from_secs(10))
    }
}

impl LoadMeter {
    /// A meter averaging over `window`.
    pub fn new(window: Duration) -> LoadMeter {
        LoadMeter {
            window: window.max(Duration::from_millis(1)),
            hits: Arc::default(),
        }
    }

    /// One request was sent to pod `namespace/name`.
    pub fn record(&self, namespace: &str, name: &str) {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        let q = hits
            .entry((namespace.to_owned(), name.to_owned()))
            .or_default();
        q.push_back(now);
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.window)
        {
            q.pop_front();
        }
    }

    /// Requests per second to pod `namespace/name` over the window.
    #[allow(clippy::cast_precision_loss)]
    pub fn rate(&self, namespace: &str, name: &str) -> f64 {
        let now = Instant::now();
        let hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = hits
            .get(&(namespace.to_owned(), name.to_owned()))
            .map_or(0, |q| {
                q.iter()
                    .filter(|t| now.duration_since(**t) <= self.window)
                    .count()
            });
        recent as f64 / self.window.as_secs_f64()
    }
}
