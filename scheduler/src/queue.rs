//! [`SchedulingQueue`]: kube-scheduler's priority queue — an active queue ordered by
//! the QueueSort plugin, a backoff queue (1 s doubling to 10 s per pod), and the
//! unschedulable pods, moved back when the cluster changes (or after 5 minutes).
//! Pods failing PreEnqueue (scheduling gates) wait apart until they change.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use keel_core::api::Pod;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::framework::{QueueSort, QueuedPodInfo, Status};

/// The first backoff of a pod that failed.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long a pod stays unschedulable before it is retried anyway.
pub const MAX_IN_UNSCHEDULABLE: Duration = Duration::from_secs(300);

/// `namespace/name`.
pub type PodKey = (String, String);

/// The key of `pod`.
pub fn pod_key(pod: &Pod) -> PodKey {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

/// Where a pod is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Waiting to be popped.
    Active,
    /// Backing off after a failure.
    Backoff,
    /// Unschedulable until the cluster changes.
    Unschedulable,
    /// Held by a PreEnqueue plugin (e.g. scheduling gates).
    Gated,
    /// Being scheduled.
    InFlight,
}

struct Entry {
    info: QueuedPodInfo,
    place: Place,
    /// Which active-queue entry is live (older heap entries are skipped).
    epoch: u64,
    last_failure: Option<Instant>,
    unschedulable_since: Option<Instant>,
}

struct Active {
    key: PodKey,
    epoch: u64,
    info: QueuedPodInfo,
    sorter: Arc<dyn QueueSort>,
}

impl PartialEq for Active {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Active {}
impl PartialOrd for Active {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Active {
    /// A max-heap: the pod that sorts first is the greatest.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        if self.sorter.less(&self.info, &other.info) {
            CmpOrdering::Greater
        } else if self.sorter.less(&other.info, &self.info) {
            CmpOrdering::Less
        } else {
            other.key.cmp(&self.key)
        }
    }
}

struct State {
    entries: HashMap<PodKey, Entry>,
    /// The pods backing off or unschedulable (the only ones time can move).
    waiting: std::collections::BTreeSet<PodKey>,
    active: BinaryHeap<Active>,
    epoch: u64,
    tick: u64,
    scheduling_cycle: u64,
    move_request_cycle: u64,
    closed: bool,
}

/// The queue of pods waiting to be scheduled.
pub struct SchedulingQueue {
    state: Mutex<State>,
    changed: Notify,
    sorter: Arc<dyn QueueSort>,
    gate: Box<dyn Fn(&Pod) -> Status + Send + Sync>,
}

impl std::fmt::Debug for SchedulingQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("SchedulingQueue")
            .field("pods", &st.entries.len())
            .field("active", &st.active.len())
            .finish_non_exhaustive()
    }
}

/// The backoff after `attempts` failed attempts: 1 s doubling, at most 10 s.
pub fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    INITIAL_BACKOFF.saturating_mul(1 << exp).min(MAX_BACKOFF)
}

impl SchedulingQueue {
    /// A queue ordered by `sorter`, admitting pods that pass `gate` (PreEnqueue).
    pub fn new(
        sorter: Arc<dyn QueueSort>,
        gate: impl Fn(&Pod) -> Status + Send + Sync + 'static,
    ) -> SchedulingQueue {
        SchedulingQueue {
            state: Mutex::new(State {
                entries: HashMap::new(),
                waiting: std::collections::BTreeSet::new(),
                active: BinaryHeap::new(),
                epoch: 0,
                tick: 0,
                scheduling_cycle: 0,
                move_request_cycle: 0,
                closed: false,
            }),
            changed: Notify::new(),
            sorter,
            gate: Box::new(gate),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn activate(&self, st: &mut State, key: &PodKey) {
        st.epoch += 1;
        st.tick += 1;
        st.waiting.remove(key);
        let (epoch, tick) = (st.epoch, st.tick);
        if let Some(e) = st.entries.get_mut(key) {
            e.place = Place::Active;
            e.epoch = epoch;
            e.info.timestamp = tick;
            e.unschedulable_since = None;
            st.active.push(Active {
                key: key.clone(),
                epoch,
                info: e.info.clone(),
                sorter: self.sorter.clone(),
            });
        }
    }

    /// Adds a pending pod, or updates it if it is already queued (an update may make a
    /// gated or unschedulable pod worth another try).
    pub fn add(&self, pod: Arc<Pod>) {
        let key = pod_key(&pod);
        let gated = !(self.gate)(&pod).is_success();
        let mut st = self.lock();
        if let Some(e) = st.entries.get_mut(&key) {
            e.info.pod = pod;
            match (e.place, gated) {
                (Place::InFlight | Place::Active | Place::Backoff, _) => {}
                (_, true) => {
                    e.place = Place::Gated;
                    st.waiting.remove(&key);
                }
                (Place::Gated | Place::Unschedulable, false) => {
                    let backing_off = e
                        .last_failure
                        .is_some_and(|t| t + backoff(e.info.attempts) > Instant::now());
                    if backing_off {
                        e.place = Place::Backoff;
                        st.waiting.insert(key.clone());
                    } else {
                        self.activate(&mut st, &key);
                    }
                }
            }
        } else {
            st.entries.insert(
                key.clone(),
                Entry {
                    info: QueuedPodInfo {
                        pod,
                        timestamp: 0,
                        attempts: 0,
                    },
                    place: Place::Gated,
                    epoch: 0,
                    last_failure: None,
                    unschedulable_since: None,
                },
            );
            if !gated {
                self.activate(&mut st, &key);
            }
        }
        drop(st);
        self.changed.notify_waiters();
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn delete(&self, key: &PodKey) {
        let mut st = self.lock();
        st.entries.remove(key);
        st.waiting.remove(key);
    }

    /// Where the pod is, if queued.
    pub fn place(&self, key: &PodKey) -> Option<Place> {
        self.lock().entries.get(key).map(|e| e.place)
    }

    /// How many pods are queued, anywhere.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no pod is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn promote(&self, st: &mut State, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut due = Vec::new();
        for key in &st.waiting {
            let Some(e) = st.entries.get(key) else {
                continue;
            };
            let ready_at = match e.place {
                Place::Backoff => e.last_failure.map_or(now, |t| t + backoff(e.info.attempts)),
                Place::Unschedulable => e
                    .unschedulable_since
                    .map_or(now, |t| t + MAX_IN_UNSCHEDULABLE),
                _ => continue,
            };
            if ready_at <= now {
                due.push(key.clone());
            } else {
                next = Some(next.map_or(ready_at, |n: Instant| n.min(ready_at)));
            }
        }
        due.sort();
        for key in due {
            self.activate(st, &key);
        }
        next
    }

    /// The next pod to schedule, waiting (in `tokio` time) for one; `None` once closed.
    /// Returns the pod and the scheduling cycle it is tried in.
    pub async fn pop(&self) -> Option<(QueuedPodInfo, u64)> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let next = {
                let mut st = self.lock();
                if st.closed {
                    return None;
                }
                let next = self.promote(&mut st, Instant::now());
                while let Some(top) = st.active.pop() {
                    let live = st
                        .entries
                        .get(&top.key)
                        .is_some_and(|e| e.place == Place::Active && e.epoch == top.epoch);
                    if !live {
                        continue;
                    }
                    st.scheduling_cycle += 1;
                    let cycle = st.scheduling_cycle;
                    let e = st.entries.get_mut(&top.key).expect("live entry");
                    e.place = Place::InFlight;
                    e.info.attempts += 1;
                    return Some((e.info.clone(), cycle));
                }
                next
            };
            match next {
                Some(at) => {
                    tokio::select! {
                        () = &mut changed => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// The pod was scheduled (or will never be): it leaves the queue.
    pub fn done(&self, key: &PodKey) {
        let mut st = self.lock();
        st.entries.remove(key);
        st.waiting.remove(key);
    }

    /// The pod did not fit in scheduling `cycle`: it waits for a cluster change — or
    /// backs off, if the cluster changed while it was being scheduled.
    pub fn unschedulable(&self, key: &PodKey, cycle: u64) {
        let mut st = self.lock();
        let moved_meanwhile = st.move_request_cycle >= cycle;
        let now = Instant::now();
        if let Some(e) = st.entries.get_mut(key) {
            e.last_failure = Some(now);
            if moved_meanwhile {
                e.place = Place::Backoff;
            } else {
                e.place = Place::Unschedulable;
                e.unschedulable_since = Some(now);
            }
            st.waiting.insert(key.clone());
        }
        drop(st);
        self.changed.notify_waiters();
    }

    /// The pod failed for another reason (an error, a failed binding): it backs off.
    pub fn backoff(&self, key: &PodKey) {
        let mut st = self.lock();
        if let Some(e) = st.entries.get_mut(key) {
            e.last_failure = Some(Instant::now());
            e.place = Place::Backoff;
            st.waiting.insert(key.clone());
        }
        drop(st);
        self.changed.notify_waiters();
    }

    /// The cluster changed (a node was added or changed, a pod went away): every
    /// unschedulable pod is tried again (after its backoff).
    pub fn move_all_to_active_or_backoff(&self) {
        let mut st = self.lock();
        st.move_request_cycle = st.scheduling_cycle;
        let now = Instant::now();
        let keys: Vec<PodKey> = st
            .waiting
            .iter()
            .filter(|k| {
                st.entries
                    .get(*k)
                    .is_some_and(|e| e.place == Place::Unschedulable)
            })
            .cloned()
            .collect();
        for key in keys {
            let e = st.entries.get_mut(&key).expect("listed");
            if e.last_failure
                .is_some_and(|t| t + backoff(e.info.attempts) > now)
            {
                e.place = Place::Backoff;
            } else {
                self.activate(&mut st, &key);
            }
        }
        drop(st);
        self.changed.notify_waiters();
    }

    /// Stops handing out pods.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::PrioritySort;

    fn pod(name: &str, priority: i32) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("default".into());
        p.spec.priority = Some(priority);
        Arc::new(p)
    }

    fn queue() -> SchedulingQueue {
        SchedulingQueue::new(Arc::new(PrioritySort), |p: &Pod| {
            if p.spec.scheduling_gates.is_empty() {
                Status::success()
            } else {
                Status::unresolvable("gated")
            }
        })
    }

    fn key(name: &str) -> PodKey {
        ("default".into(), name.into())
    }

    #[tokio::test(start_paused = true)]
    async fn higher_priority_first_then_arrival_order() {
        let q = queue();
        q.add(pod("low", 0));
        q.add(pod("high", 100));
        q.add(pod("low2", 0));
        let order: Vec<String> = [q.pop().await, q.pop().await, q.pop().await]
            .into_iter()
            .map(|p| p.unwrap().0.pod.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(order, ["high", "low", "low2"]);
    }

    #[test]
    fn backoff_doubles_from_one_to_ten_seconds() {
        let secs: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn unschedulable_pods_wait_for_a_cluster_change_then_back_off() {
        let q = queue();
        q.add(pod("p", 0));
        let (_, cycle) = q.pop().await.unwrap();
        q.unschedulable(&key("p"), cycle);
        assert_eq!(q.place(&key("p")), Some(Place::Unschedulable));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            q.place(&key("p")),
            Some(Place::Unschedulable),
            "no change: it waits"
        );
        q.move_all_to_active_or_backoff();
        assert_eq!(
            q.place(&key("p")),
            Some(Place::Active),
            "backoff (1 s) long over"
        );
        let start = Instant::now();
        let (_, cycle) = q.pop().await.unwrap();
        q.unschedulable(&key("p"), cycle);
        q.move_all_to_active_or_backoff();
        assert_eq!(
            q.place(&key("p")),
            Some(Place::Backoff),
            "second failure: 2 s backoff"
        );
        q.pop().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_during_the_cycle_sends_the_pod_to_backoff_not_unschedulable() {
        let q = queue();
        q.add(pod("p", 0));
        let (_, cycle) = q.pop().await.unwrap();
        q.move_all_to_active_or_backoff();
        q.unschedulable(&key("p"), cycle);
        assert_eq!(q.place(&key("p")), Some(Place::Backoff));
        let start = Instant::now();
        q.pop().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn unschedulable_pods_are_retried_after_five_minutes() {
        let q = queue();
        q.add(pod("p", 0));
        let (_, cycle) = q.pop().await.unwrap();
        q.unschedulable(&key("p"), cycle);
        let start = Instant::now();
        q.pop().await.unwrap();
        assert_eq!(start.elapsed(), MAX_IN_UNSCHEDULABLE);
    }

    #[tokio::test(start_paused = true)]
    async fn gated_pods_wait_until_their_gates_are_removed() {
        let q = queue();
        let mut gated = (*pod("g", 0)).clone();
        gated
            .spec
            .scheduling_gates
            .push(keel_core::api::PodSchedulingGate {
                name: "wait".into(),
            });
        q.add(Arc::new(gated.clone()));
        assert_eq!(q.place(&key("g")), Some(Place::Gated));
        q.move_all_to_active_or_backoff();
        assert_eq!(
            q.place(&key("g")),
            Some(Place::Gated),
            "cluster changes do not ungate"
        );
        gated.spec.scheduling_gates.clear();
        q.add(Arc::new(gated));
        assert_eq!(
            q.pop().await.unwrap().0.pod.metadata.name.as_deref(),
            Some("g")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deleted_pods_are_never_popped() {
        let q = queue();
        q.add(pod("a", 0));
        q.add(pod("b", 0));
        q.delete(&key("a"));
        assert_eq!(
            q.pop().await.unwrap().0.pod.metadata.name.as_deref(),
            Some("b")
        );
        q.close();
        assert!(q.pop().await.is_none());
    }
}
