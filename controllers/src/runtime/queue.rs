//! [`WorkQueue`]: client-go's rate-limiting, delaying work queue.
//!
//! - a key added while it waits is queued once (de-duplication);
//! - a key is handed to at most one worker at a time; a key added while a worker holds
//!   it is handed out again after [`done`](WorkQueue::done);
//! - [`add_after`](WorkQueue::add_after) delays a key (the earliest of several delays
//!   wins); [`add_rate_limited`](WorkQueue::add_rate_limited) delays it by its
//!   [`RateLimiter`]; [`forget`](WorkQueue::forget) resets its backoff;
//! - after [`shut_down`](WorkQueue::shut_down), adds are ignored, queued keys are still
//!   handed out, then [`get`](WorkQueue::get) returns `None`.
//!
//! All waiting is on `tokio::time`, so virtual time drives it in tests.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::metrics::QueueMetrics;
use super::rate_limit::{RateLimiter, default_rate_limiter};

/// What a work queue can hold.
pub trait QueueKey: Hash + Eq + Clone + Send + Sync + 'static {}
impl<T: Hash + Eq + Clone + Send + Sync + 'static> QueueKey for T {}

/// A de-duplicating, delaying, rate-limiting queue of keys. Clones share the queue.
pub struct WorkQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        WorkQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("WorkQueue")
            .field("queued", &st.queue.len())
            .field("processing", &st.processing.len())
            .field("waiting", &st.waiting.len())
            .field("shutting_down", &st.shutting_down)
            .finish()
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    changed: Notify,
    limiter: Box<dyn RateLimiter<T>>,
    metrics: Option<QueueMetrics>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct State<T> {
    queue: VecDeque<T>,
    dirty: HashSet<T>,
    processing: HashSet<T>,
    /// Delayed keys: when each is due and the sequence number of its live heap entry.
    waiting: HashMap<T, (Instant, u64)>,
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    by_seq: HashMap<u64, T>,
    seq: u64,
    shutting_down: bool,
    /// When each queued key was added, and when each processed key was handed out
    /// (kept only with metrics).
    added_at: HashMap<T, Instant>,
    started_at: HashMap<T, Instant>,
}

impl<T: QueueKey> State<T> {
    fn new() -> State<T> {
        State {
            queue: VecDeque::new(),
            dirty: HashSet::new(),
            processing: HashSet::new(),
            waiting: HashMap::new(),
            heap: BinaryHeap::new(),
            by_seq: HashMap::new(),
            seq: 0,
            shutting_down: false,
            added_at: HashMap::new(),
            started_at: HashMap::new(),
        }
    }

    /// Returns whether the key went into the queue (for a wake-up).
    fn add(&mut self, item: T, metrics: Option<&QueueMetrics>) -> bool {
        if self.shutting_down || self.dirty.contains(&item) {
            return false;
        }
        if let Some(m) = metrics {
            m.adds.inc();
            self.added_at
                .entry(item.clone())
                .or_insert_with(Instant::now);
        }
        if self.processing.contains(&item) {
            self.dirty.insert(item);
            return false;
        }
        self.dirty.insert(item.clone());
        self.queue.push_back(item);
        if let Some(m) = metrics {
            m.depth.inc();
        }
        true
    }

    fn promote_due(&mut self, now: Instant, metrics: Option<&QueueMetrics>) -> bool {
        let mut woke = false;
        while let Some(Reverse((due, seq))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(item) = self.by_seq.remove(&seq) else {
                continue;
            };
            if self.waiting.get(&item).is_some_and(|(_, s)| *s == seq) {
                self.waiting.remove(&item);
                woke |= self.add(item, metrics);
            }
        }
        woke
    }

    fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((due, _))| *due)
    }
}

impl<T: QueueKey> Default for WorkQueue<T> {
    fn default() -> Self {
        WorkQueue::new()
    }
}

impl<T: QueueKey> WorkQueue<T> {
    /// A queue with the default rate limiter (5 ms doubling to 1000 s per key, and a
    /// 10 qps / burst 100 bucket overall).
    pub fn new() -> WorkQueue<T> {
        WorkQueue::with_rate_limiter(Box::new(default_rate_limiter()))
    }

    /// A queue with its own rate limiter.
    pub fn with_rate_limiter(limiter: Box<dyn RateLimiter<T>>) -> WorkQueue<T> {
        WorkQueue::build(limiter, None)
    }

    /// A queue reporting `metrics`.
    pub fn build(limiter: Box<dyn RateLimiter<T>>, metrics: Option<QueueMetrics>) -> WorkQueue<T> {
        WorkQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new()),
                changed: Notify::new(),
                limiter,
                metrics,
            }),
        }
    }

    /// Queues `item` (once, however often it is added before it is handed out).
    pub fn add(&self, item: T) {
        let woke = self.inner.lock().add(item, self.inner.metrics.as_ref());
        if woke {
            self.inner.changed.notify_waiters();
        }
    }

    /// Queues `item` after `delay`; if it is already waiting, the earlier time wins.
    pub fn add_after(&self, item: T, delay: Duration) {
        if delay.is_zero() {
            self.add(item);
            return;
        }
        // A delay too long to represent means "practically never": 30 years.
        let now = Instant::now();
        let due = now
            .checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 3600));
        let mut st = self.inner.lock();
        if st.shutting_down || st.waiting.get(&item).is_some_and(|(t, _)| *t <= due) {
            return;
        }
        st.seq += 1;
        let seq = st.seq;
        st.heap.push(Reverse((due, seq)));
        st.by_seq.insert(seq, item.clone());
        st.waiting.insert(item, (due, seq));
        drop(st);
        self.inner.changed.notify_waiters();
    }

    /// Queues `item` after its rate limiter's delay (one more failure for its backoff).
    pub fn add_rate_limited(&self, item: T) {
        if let Some(m) = &self.inner.metrics {
            m.retries.inc();
        }
        let delay = self.inner.limiter.when(&item);
        self.add_after(item, delay);
    }

    /// Like [`add_rate_limited`](Self::add_rate_limited), but waits at least `floor`.
    pub fn add_rate_limited_at_least(&self, item: T, floor: Duration) {
        if let Some(m) = &self.inner.metrics {
            m.retries.inc();
        }
        let delay = self.inner.limiter.when(&item).max(floor);
        self.add_after(item, delay);
    }

    /// Resets `item`'s backoff (after it was processed successfully).
    pub fn forget(&self, item: &T) {
        self.inner.limiter.forget(item);
    }

    /// How often `item` was re-queued by the rate limiter since it was last forgotten.
    pub fn num_requeues(&self, item: &T) -> u32 {
        self.inner.limiter.num_requeues(item)
    }

    /// The next key to process, waiting for one; `None` once the queue is shut down and
    /// empty. The caller must call [`done`](Self::done) with it afterwards.
    pub async fn get(&self) -> Option<T> {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let due = {
                let mut st = self.inner.lock();
                let metrics = self.inner.metrics.as_ref();
                st.promote_due(Instant::now(), metrics);
                if let Some(item) = st.queue.pop_front() {
                    st.dirty.remove(&item);
                    st.processing.insert(item.clone());
                    if let Some(m) = metrics {
                        m.depth.dec();
                        if let Some(at) = st.added_at.remove(&item) {
                            m.queue_duration.observe(at.elapsed().as_secs_f64());
                        }
                        st.started_at.insert(item.clone(), Instant::now());
                    }
                    return Some(item);
                }
                if st.shutting_down {
                    return None;
                }
                st.next_due()
            };
            match due {
                Some(due) => {
                    tokio::select! {
                        () = &mut changed => {}
                        () = tokio::time::sleep_until(due) => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Marks `item` as processed; if it was added meanwhile, it is queued again.
    pub fn done(&self, item: &T) {
        let mut st = self.inner.lock();
        st.processing.remove(item);
        if let Some(m) = &self.inner.metrics
            && let Some(at) = st.started_at.remove(item)
        {
            m.work_duration.observe(at.elapsed().as_secs_f64());
        }
        let requeue = st.dirty.contains(item);
        if requeue {
            st.queue.push_back(item.clone());
            if let Some(m) = &self.inner.metrics {
                m.depth.inc();
            }
        }
        drop(st);
        // Wakes workers waiting for a key and anyone draining.
        self.inner.changed.notify_waiters();
    }

    /// Keys waiting to be handed out (not counting delayed ones).
    pub fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }

    /// Whether no key is waiting to be handed out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys currently held by workers.
    pub fn processing(&self) -> usize {
        self.inner.lock().processing.len()
    }

    /// Stops accepting keys; queued keys are still handed out, then `get` returns `None`.
    pub fn shut_down(&self) {
        let mut st = self.inner.lock();
        st.shutting_down = true;
        st.waiting.clear();
        st.heap.clear();
        st.by_seq.clear();
        drop(st);
        self.inner.changed.notify_waiters();
    }

    /// Whether [`shut_down`](Self::shut_down) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.lock().shutting_down
    }

    /// Shuts down, then waits until every handed-out key is [`done`](Self::done)
    /// (client-go's `ShutDownWithDrain`; keys still queued are not waited for).
    pub async fn shut_down_with_drain(&self) {
        self.shut_down();
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let st = self.inner.lock();
                if st.processing.is_empty() {
                    return;
                }
            }
            changed.await;
        }
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
