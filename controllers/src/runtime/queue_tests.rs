use std::time::Duration;

use futures::FutureExt;

use super::*;
use crate::runtime::rate_limit::{ExponentialBackoff, TokenBucket};

fn backoff_queue() -> WorkQueue<&'static str> {
    WorkQueue::with_rate_limiter(Box::new(ExponentialBackoff::new(
        Duration::from_millis(5),
        Duration::from_secs(1000),
    )))
}

/// The key handed out now, without waiting.
fn ready(q: &WorkQueue<&'static str>) -> Option<&'static str> {
    q.get().now_or_never().flatten()
}

#[tokio::test(start_paused = true)]
async fn a_key_added_twice_is_handed_out_once() {
    let q = backoff_queue();
    q.add("a");
    q.add("b");
    q.add("a");
    assert_eq!(q.len(), 2);
    assert_eq!(q.get().await, Some("a"));
    assert_eq!(q.get().await, Some("b"));
    assert_eq!(ready(&q), None, "nothing else is queued");
}

#[tokio::test(start_paused = true)]
async fn a_key_is_never_held_by_two_workers_and_comes_back_if_it_changed() {
    let q = backoff_queue();
    q.add("a");
    let held = q.get().await.unwrap();
    q.add("a");
    q.add("a");
    assert_eq!(
        ready(&q),
        None,
        "a second worker does not get `a` while it is held"
    );
    assert_eq!(q.processing(), 1);
    q.done(&held);
    assert_eq!(
        ready(&q),
        Some("a"),
        "added while held: handed out again, once"
    );
    q.done(&"a");
    assert_eq!(ready(&q), None);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_wakes_when_a_key_arrives() {
    let q = backoff_queue();
    let worker = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::task::yield_now().await;
    assert!(!worker.is_finished());
    q.add("x");
    assert_eq!(worker.await.unwrap(), Some("x"));
}

#[tokio::test(start_paused = true)]
async fn delayed_keys_wait_and_the_earliest_delay_wins() {
    let q = backoff_queue();
    q.add_after("a", Duration::from_secs(10));
    q.add_after("a", Duration::from_secs(3));
    q.add_after("a", Duration::from_secs(20));
    assert_eq!(ready(&q), None);
    let start = Instant::now();
    assert_eq!(q.get().await, Some("a"));
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    q.done(&"a");
    assert_eq!(
        ready(&q),
        None,
        "the later delays were merged into the earliest"
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(ready(&q), None);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_sees_a_new_earlier_deadline() {
    let q = backoff_queue();
    q.add_after("late", Duration::from_secs(60));
    let worker = tokio::spawn({
        let q = q.clone();
        async move { (q.get().await, Instant::now()) }
    });
    tokio::task::yield_now().await;
    let start = Instant::now();
    q.add_after("soon", Duration::from_secs(1));
    let (key, at) = worker.await.unwrap();
    assert_eq!(key, Some("soon"));
    assert_eq!(at - start, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn rate_limited_requeues_back_off_exponentially_and_reset_on_forget() {
    let q = backoff_queue();
    let mut waits = Vec::new();
    for _ in 0..5 {
        q.add_rate_limited("a");
        let start = Instant::now();
        assert_eq!(q.get().await, Some("a"));
        waits.push(start.elapsed());
        q.done(&"a");
    }
    assert_eq!(waits, [5, 10, 20, 40, 80].map(Duration::from_millis));
    assert_eq!(q.num_requeues(&"a"), 5);
    q.forget(&"a");
    assert_eq!(q.num_requeues(&"a"), 0);
    q.add_rate_limited("a");
    let start = Instant::now();
    q.get().await;
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(5),
        "back to the base delay"
    );
}

#[tokio::test(start_paused = true)]
async fn the_bucket_paces_requeues_of_all_keys() {
    let q: WorkQueue<String> = WorkQueue::with_rate_limiter(Box::new(TokenBucket::new(10.0, 2)));
    for i in 0..4 {
        q.add_rate_limited(format!("k{i}"));
    }
    let start = Instant::now();
    let mut at = Vec::new();
    for _ in 0..4 {
        let k = q.get().await.unwrap();
        at.push(start.elapsed());
        q.done(&k);
    }
    assert_eq!(at, [0, 0, 100, 200].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn the_default_limiter_backs_off_from_5ms() {
    let q: WorkQueue<&str> = WorkQueue::new();
    q.add_rate_limited("a");
    let start = Instant::now();
    q.get().await;
    assert_eq!(start.elapsed(), Duration::from_millis(5));
}

#[tokio::test(start_paused = true)]
async fn shutdown_hands_out_what_is_queued_then_ends() {
    let q = backoff_queue();
    q.add("a");
    q.add_after("later", Duration::from_secs(1));
    let held = q.get().await.unwrap();
    q.add("b");
    let drained = tokio::spawn({
        let q = q.clone();
        async move { q.shut_down_with_drain().await }
    });
    tokio::task::yield_now().await;
    q.add("ignored");
    assert!(!drained.is_finished(), "a key is still held");
    assert_eq!(q.get().await, Some("b"), "queued before the shutdown");
    q.done(&"b");
    q.done(&held);
    drained.await.unwrap();
    assert_eq!(
        q.get().await,
        None,
        "shut down and empty; delayed keys dropped"
    );
    assert!(q.is_shutting_down());
}

#[tokio::test(start_paused = true)]
async fn idle_workers_end_on_shutdown() {
    let q = backoff_queue();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { q.get().await })
        })
        .collect();
    tokio::task::yield_now().await;
    q.shut_down();
    for w in workers {
        assert_eq!(w.await.unwrap(), None);
    }
}

#[tokio::test(start_paused = true)]
async fn metrics_count_adds_depth_and_retries() {
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = crate::runtime::Metrics::register(&mut registry);
    let q: WorkQueue<&str> = WorkQueue::build(
        Box::new(ExponentialBackoff::new(
            Duration::from_millis(5),
            Duration::from_secs(1),
        )),
        Some(metrics.queue("test")),
    );
    q.add("a");
    q.add("b");
    q.add_rate_limited("c");
    let k = q.get().await.unwrap();
    tokio::time::advance(Duration::from_millis(7)).await;
    q.done(&k);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(text.contains("workqueue_depth{name=\"test\"} 1"), "{text}");
    assert!(
        text.contains("workqueue_adds_total{name=\"test\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("workqueue_retries_total{name=\"test\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("workqueue_work_duration_seconds_count{name=\"test\"} 1"),
        "{text}"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8),
        Get,
        Done(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0_u8..5).prop_map(Op::Add),
            Just(Op::Get),
            (0_usize..8).prop_map(Op::Done),
        ]
    }

    proptest! {
        /// Under any interleaving: a key is never held twice, the queue never holds a
        /// key twice, and every added key is eventually handed out after its last add.
        #[test]
        fn no_key_is_held_twice_and_no_add_is_lost(ops in proptest::collection::vec(op(), 0..60)) {
            let q: WorkQueue<u8> = WorkQueue::with_rate_limiter(Box::new(TokenBucket::new(1.0, 1)));
            let mut held: Vec<u8> = Vec::new();
            let mut owed: std::collections::HashSet<u8> = std::collections::HashSet::new();
            for op in ops {
                match op {
                    Op::Add(k) => { q.add(k); owed.insert(k); }
                    Op::Get => {
                        if let Some(k) = q.get().now_or_never().flatten() {
                            prop_assert!(!held.contains(&k), "{k} handed out while held");
                            held.push(k);
                            owed.remove(&k);
                        }
                    }
                    Op::Done(i) => {
                        if !held.is_empty() {
                            let k = held.remove(i % held.len());
                            q.done(&k);
                        }
                    }
                }
            }
            for k in held.drain(..) { q.done(&k); }
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = q.get().now_or_never().flatten() {
                prop_assert!(seen.insert(k), "{k} queued twice");
                owed.remove(&k);
                q.done(&k);
            }
            prop_assert!(owed.is_empty(), "adds lost: {owed:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn draining_waits_only_for_held_keys() {
    let q = backoff_queue();
    q.add("queued");
    q.shut_down_with_drain().await;
    assert_eq!(q.len(), 1, "queued keys are not waited for");
}

#[tokio::test(start_paused = true)]
async fn an_unrepresentable_delay_means_practically_never() {
    let q = backoff_queue();
    q.add_after("never", Duration::MAX);
    tokio::time::advance(Duration::from_secs(10 * 365 * 24 * 3600)).await;
    assert_eq!(ready(&q), None);
}
