//! [`Scheduler`]: the loop that watches pending pods through the client, schedules
//! each with its profile's [`Framework`], and binds asynchronously — kube-scheduler's
//! `scheduleOne`, with the snapshot kept up to date from watch events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::StreamExt;
use keel_core::Resource;
use keel_core::api::{
    Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodDisruptionBudget, ReplicaSet,
    Service, StatefulSet, StorageClass,
};
use keel_core::client::watcher::{self, Event};
use keel_core::client::{Api, Client, ListParams};
use tokio::task::JoinSet;

use crate::binder::{self, DefaultBinder};
use crate::framework::{Code, CycleState, Framework, PodInfo, Profile, Snapshot};
use crate::plugins::{self, PrioritySort};
use crate::queue::{PodKey, SchedulingQueue, pod_key};

/// Configures a [`Scheduler`].
pub struct SchedulerBuilder {
    client: Client,
    profiles: Vec<Profile>,
    seed: u64,
    algorithm: Option<Arc<dyn crate::Algorithm>>,
}

impl std::fmt::Debug for SchedulerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerBuilder")
            .field(
                "profiles",
                &self
                    .profiles
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>(),
            )
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl SchedulerBuilder {
    /// Adds a profile (pods choose it by `spec.schedulerName`). Without any, the
    /// default profile is used. A profile without a Bind plugin gets [`DefaultBinder`].
    #[must_use]
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profiles.push(profile);
        self
    }

    /// Replaces the per-pod cycle with a batch [`Algorithm`](crate::Algorithm): each
    /// round gives it every pod ready in the queue. Binding still goes through the first
    /// profile's Bind plugins.
    #[must_use]
    pub fn algorithm(mut self, algorithm: Arc<dyn crate::Algorithm>) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// The seed of every profile's tie-break.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Builds the scheduler (not started).
    pub fn build(self) -> Scheduler {
        let mut profiles = self.profiles;
        if profiles.is_empty() {
            profiles.push(plugins::default_profile());
        }
        let default_name = profiles[0].name.clone();
        let mut frameworks = HashMap::new();
        let mut sorter = None;
        let mut gates = Vec::new();
        for mut p in profiles {
            if p.bind.is_empty() {
                p.bind.push(Arc::new(DefaultBinder::new(&self.client)));
            }
            sorter = sorter.or_else(|| p.queue_sort.clone());
            gates.extend(p.pre_enqueue.iter().cloned());
            frameworks.insert(p.name.clone(), Arc::new(Framework::with_seed(p, self.seed)));
        }
        let sorter = sorter.unwrap_or_else(|| Arc::new(PrioritySort));
        let queue = SchedulingQueue::new(sorter, move |pod: &Pod| {
            gates
                .iter()
                .map(|g| g.pre_enqueue(pod))
                .find(|s| !s.is_success())
                .unwrap_or_default()
        });
        Scheduler {
            shared: Arc::new(Shared {
                client: self.client,
                frameworks,
                queue,
                snapshot: Mutex::new(Snapshot::new()),
                algorithm: self.algorithm,
                default_profile: default_name,
            }),
        }
    }
}

struct Shared {
    client: Client,
    frameworks: HashMap<String, Arc<Framework>>,
    queue: SchedulingQueue,
    snapshot: Mutex<Snapshot>,
    algorithm: Option<Arc<dyn crate::Algorithm>>,
    default_profile: String,
}

impl Shared {
    fn snapshot(&self) -> MutexGuard<'_, Snapshot> {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ours(&self, pod: &Pod) -> bool {
        let name = pod
            .spec
            .scheduler_name
            .as_deref()
            .unwrap_or(plugins::DEFAULT_SCHEDULER_NAME);
        self.frameworks.contains_key(name)
    }
}

/// The scheduler: watches, queues, schedules and binds.
pub struct Scheduler {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field(
                "profiles",
                &self.shared.frameworks.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A running scheduler.
#[derive(Debug)]
pub struct SchedulerHandle {
    shared: Arc<SchedulerShared>,
    tasks: JoinSet<()>,
}

/// What a handle can see of a running scheduler.
pub struct SchedulerShared(Arc<Shared>);

impl std::fmt::Debug for SchedulerShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerShared").finish_non_exhaustive()
    }
}

impl SchedulerHandle {
    /// A copy of the scheduler's current view of the cluster.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.0.snapshot().clone()
    }

    /// How many pods wait in the queue.
    pub fn pending(&self) -> usize {
        self.shared.0.queue.len()
    }

    /// Stops scheduling; bindings in flight are abandoned.
    pub async fn shutdown(mut self) {
        self.shared.0.queue.close();
        self.tasks.shutdown().await;
    }
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl Scheduler {
    /// A scheduler with the default profile.
    pub fn new(client: &Client) -> Scheduler {
        Scheduler::builder(client).build()
    }

    /// Configures a scheduler.
    pub fn builder(client: &Client) -> SchedulerBuilder {
        SchedulerBuilder {
            client: client.clone(),
            profiles: Vec::new(),
            seed: 0,
            algorithm: None,
        }
    }

    /// Starts the watches and the scheduling loop on the current tokio runtime.
    pub fn start(self) -> SchedulerHandle {
        let shared = self.shared;
        let mut tasks = JoinSet::new();
        tasks.spawn(watch_nodes(shared.clone()));
        tasks.spawn(watch_pods(shared.clone()));
        tasks.spawn(watch_each::<Namespace>(
            shared.clone(),
            true,
            |s, ns| {
                s.set_namespace(
                    ns.metadata.name.as_deref().unwrap_or(""),
                    ns.metadata.labels.clone(),
                );
            },
            |_, _| {},
        ));
        tasks.spawn(watch_each::<PersistentVolumeClaim>(
            shared.clone(),
            true,
            Snapshot::set_claim,
            |s, c| {
                let (namespace, name) = namespace_and_name(c.meta());
                s.remove_claim(namespace, name);
            },
        ));
        tasks.spawn(watch_each::<PersistentVolume>(
            shared.clone(),
            true,
            Snapshot::set_volume,
            |s, v| {
                s.remove_volume(v.metadata.name.as_deref().unwrap_or(""));
            },
        ));
        tasks.spawn(watch_each::<StorageClass>(
            shared.clone(),
            true,
            Snapshot::set_class,
            |s, c| s.remove_class(c.metadata.name.as_deref().unwrap_or("")),
        ));
        tasks.spawn(watch_each::<PodDisruptionBudget>(
            shared.clone(),
            true,
            Snapshot::set_budget,
            |s, b| {
                let (namespace, name) = namespace_and_name(b.meta());
                s.remove_budget(namespace, name);
            },
        ));
        // What default topology spreading reads (scores only: no pod becomes
        // schedulable by these, so they do not requeue).
        tasks.spawn(watch_each::<Service>(
            shared.clone(),
            false,
            Snapshot::set_service,
            |s, svc| {
                let (namespace, name) = namespace_and_name(svc.meta());
                s.remove_service(namespace, name);
            },
        ));
        tasks.spawn(watch_controller::<ReplicaSet>(shared.clone(), |rs| {
            &rs.spec.selector
        }));
        tasks.spawn(watch_controller::<StatefulSet>(shared.clone(), |ss| {
            &ss.spec.selector
        }));
        if shared.algorithm.is_some() {
            tasks.spawn(batch_loop(shared.clone()));
        } else {
            tasks.spawn(schedule_loop(shared.clone()));
        }
        SchedulerHandle {
            shared: Arc::new(SchedulerShared(shared)),
            tasks,
        }
    }
}

/// An object's namespace and name (empty when unset), as the snapshot keys them.
fn namespace_and_name(meta: &keel_core::meta::ObjectMeta) -> (&str, &str) {
    (
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or(""),
    )
}

/// Follows a pod controller kind's selectors into the snapshot (for default spreading).
async fn watch_controller<K: Resource>(
    shared: Arc<Shared>,
    selector: impl Fn(&K) -> &keel_core::labels::LabelSelector + Send + Sync + Copy + 'static,
) {
    watch_each::<K>(
        shared,
        false,
        move |s, o| {
            let (namespace, name) = namespace_and_name(o.meta());
            match selector(&o).to_selector() {
                Ok(sel) => s.set_controller_selector(K::KIND, namespace, name, sel),
                Err(_) => s.remove_controller_selector(K::KIND, namespace, name),
            }
        },
        |s, o| {
            let (namespace, name) = namespace_and_name(o.meta());
            s.remove_controller_selector(K::KIND, namespace, name);
        },
    )
    .await;
}

/// Follows a kind into the snapshot with `set` / `remove`; with `requeue`, every
/// change may make unschedulable pods schedulable.
async fn watch_each<K: Resource>(
    shared: Arc<Shared>,
    requeue: bool,
    set: impl Fn(&mut Snapshot, Arc<K>) + Send + 'static,
    remove: impl Fn(&mut Snapshot, &K) + Send + 'static,
) {
    let stream = watcher::watcher(Api::<K>::all(&shared.client), ListParams::default());
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::InitApply(o) | Event::Apply(o)) => set(&mut shared.snapshot(), o),
            Ok(Event::Delete(o)) => remove(&mut shared.snapshot(), &o),
            Ok(Event::Init | Event::InitDone) => continue,
            Err(e) => {
                tracing::warn!(kind = K::KIND, error = %e, "scheduler watch failed");
                continue;
            }
        }
        if requeue {
            shared.queue.move_all_to_active_or_backoff();
        }
    }
}

async fn watch_nodes(shared: Arc<Shared>) {
    let stream = watcher::watcher(Api::<Node>::all(&shared.client), ListParams::default());
    futures::pin_mut!(stream);
    let mut listed: Vec<String> = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => listed.clear(),
            Ok(Event::InitApply(n)) => {
                listed.push(n.metadata.name.clone().unwrap_or_default());
                shared.snapshot().set_node(n);
            }
            Ok(Event::InitDone) => {
                let mut s = shared.snapshot();
                let gone: Vec<String> = s
                    .nodes()
                    .iter()
                    .map(|n| n.name().to_owned())
                    .filter(|n| !listed.contains(n))
                    .collect();
                for n in gone {
                    s.remove_node(&n);
                }
                drop(s);
                shared.queue.move_all_to_active_or_backoff();
            }
            Ok(Event::Apply(n)) => {
                shared.snapshot().set_node(n);
                shared.queue.move_all_to_active_or_backoff();
            }
            Ok(Event::Delete(n)) => shared
                .snapshot()
                .remove_node(n.metadata.name.as_deref().unwrap_or("")),
            Err(e) => tracing::warn!(error = %e, "scheduler node watch failed"),
        }
    }
}

fn apply_pod(shared: &Shared, pod: Arc<Pod>) {
    let key = pod_key(&pod);
    if pod.node_name().is_some() {
        shared.queue.delete(&key);
        if is_terminal(&pod) {
            if shared.snapshot().remove_pod(&key.0, &key.1).is_some() {
                shared.queue.move_all_to_active_or_backoff();
            }
        } else {
            shared.snapshot().add_pod(pod);
        }
    } else if pod.metadata.deletion_timestamp.is_none() && shared.ours(&pod) && !is_terminal(&pod) {
        shared.queue.add(pod);
    }
}

async fn watch_pods(shared: Arc<Shared>) {
    let stream = watcher::watcher(Api::<Pod>::all(&shared.client), ListParams::default());
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::InitApply(p) | Event::Apply(p)) => apply_pod(&shared, p),
            Ok(Event::Delete(p)) => {
                let key = pod_key(&p);
                shared.queue.delete(&key);
                if shared.snapshot().remove_pod(&key.0, &key.1).is_some() {
                    shared.queue.move_all_to_active_or_backoff();
                }
            }
            Ok(Event::Init | Event::InitDone) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler pod watch failed"),
        }
    }
}

async fn schedule_loop(shared: Arc<Shared>) {
    let mut bindings = JoinSet::new();
    while let Some((queued, cycle)) = shared.queue.pop().await {
        while bindings.try_join_next().is_some() {}
        let pod = queued.pod.clone();
        let key = pod_key(&pod);
        let name = pod
            .spec
            .scheduler_name
            .clone()
            .unwrap_or_else(|| plugins::DEFAULT_SCHEDULER_NAME.into());
        let Some(fw) = shared.frameworks.get(&name).cloned() else {
            shared.queue.done(&key);
            continue;
        };
        let info = Arc::new(PodInfo::new(pod.clone()));
        let mut state = CycleState::new();
        let result = fw.schedule_pod(&mut state, &info, &shared.snapshot());
        match result {
            Ok(r) => {
                let node = r.suggested_host;
                let reserved = fw.run_reserve(&mut state, &info, &node);
                if !reserved.is_success() {
                    fail(
                        &shared,
                        &pod,
                        &key,
                        cycle,
                        &name,
                        &reserved.to_string(),
                        reserved.code(),
                    )
                    .await;
                    continue;
                }
                let (permit, timeout) = fw.run_permit(&mut state, &info, &node);
                if permit.is_rejected() || permit.code() == Code::Error {
                    fw.run_unreserve(&mut state, &info, &node);
                    fail(
                        &shared,
                        &pod,
                        &key,
                        cycle,
                        &name,
                        &permit.to_string(),
                        permit.code(),
                    )
                    .await;
                    continue;
                }
                let waiting = (permit.code() == Code::Wait)
                    .then(|| fw.waiting_pods().add(pod.clone(), &node));
                shared.snapshot().assume(info.clone(), &node);
                let shared = shared.clone();
                bindings.spawn(async move {
                    binding_cycle(shared, fw, state, info, node, waiting, timeout, cycle, name)
                        .await;
                });
            }
            Err(fit) => {
                let mut fit = fit;
                let preemption = if fit.error.is_none() && !fw.profile().post_filter.is_empty() {
                    let snapshot = shared.snapshot();
                    let (post, status) =
                        fw.run_post_filter(&state, &info, &snapshot, &fit.diagnosis.node_to_status);
                    drop(snapshot);
                    if !status.is_success() {
                        fit.diagnosis.post_filter_msg = Some(status.to_string());
                    }
                    post.filter(|_| status.is_success())
                } else {
                    None
                };
                if let Some(post) = preemption
                    && let Some(nominated) = post.nominated_node.clone()
                {
                    for victim in &post.victims {
                        if let Err(e) = binder::evict(&shared.client, victim).await {
                            tracing::warn!(error = %e, "evicting a preemption victim failed");
                        }
                    }
                    let _ = binder::nominate(&shared.client, &pod, &nominated).await;
                }
                let code = if fit.error.is_some() {
                    Code::Error
                } else {
                    Code::Unschedulable
                };
                fail(&shared, &pod, &key, cycle, &name, &fit.to_string(), code).await;
            }
        }
    }
    bindings.shutdown().await;
}

/// The batch loop: every ready pod goes to the algorithm at once.
async fn batch_loop(shared: Arc<Shared>) {
    use futures::FutureExt;
    let Some(algorithm) = shared.algorithm.clone() else {
        return;
    };
    let Some(fw) = shared.frameworks.get(&shared.default_profile).cloned() else {
        return;
    };
    let mut bindings = JoinSet::new();
    while let Some(first) = shared.queue.pop().await {
        while bindings.try_join_next().is_some() {}
        let mut batch = vec![first];
        while let Some(Some(next)) = shared.queue.pop().now_or_never() {
            batch.push(next);
        }
        let infos: Vec<Arc<PodInfo>> = batch
            .iter()
            .map(|(q, _)| Arc::new(PodInfo::new(q.pod.clone())))
            .collect();
        let decisions = algorithm.schedule_batch(&infos, &shared.snapshot());
        for ((info, (_, cycle)), decision) in infos.into_iter().zip(batch).zip(decisions) {
            let key = pod_key(&info.pod);
            match decision {
                Ok(node) => {
                    shared.snapshot().assume(info.clone(), &node);
                    let (shared, fw) = (shared.clone(), fw.clone());
                    let name = algorithm.name().to_owned();
                    bindings.spawn(async move {
                        binding_cycle(
                            shared,
                            fw,
                            CycleState::new(),
                            info,
                            node,
                            None,
                            std::time::Duration::ZERO,
                            cycle,
                            name,
                        )
                        .await;
                    });
                }
                Err(message) => {
                    fail(
                        &shared,
                        &info.pod,
                        &key,
                        cycle,
                        algorithm.name(),
                        &message,
                        Code::Unschedulable,
                    )
                    .await;
                }
            }
        }
    }
    bindings.shutdown().await;
}

#[allow(clippy::too_many_arguments)]
async fn binding_cycle(
    shared: Arc<Shared>,
    fw: Arc<Framework>,
    mut state: CycleState,
    info: Arc<PodInfo>,
    node: String,
    waiting: Option<tokio::sync::oneshot::Receiver<Result<(), String>>>,
    timeout: std::time::Duration,
    cycle: u64,
    scheduler: String,
) {
    let pod = info.pod.clone();
    let key = pod_key(&pod);
    let undo = |state: &mut CycleState| {
        fw.run_unreserve(state, &info, &node);
        shared.snapshot().remove_pod(&key.0, &key.1);
    };
    if let Some(rx) = waiting {
        let decision = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(d)) => d,
            Ok(Err(_)) => Err("the permit was dropped".to_owned()),
            Err(_) => {
                fw.waiting_pods().remove(&key.0, &key.1);
                Err(format!(
                    "rejected due to timeout after waiting {timeout:?} at plugin Permit"
                ))
            }
        };
        if let Err(message) = decision {
            crate::plugins::reject_group(&pod, fw.waiting_pods(), &message);
            undo(&mut state);
            fail(
                &shared,
                &pod,
                &key,
                cycle,
                &scheduler,
                &message,
                Code::Unschedulable,
            )
            .await;
            return;
        }
    }
    let mut status = fw.run_pre_bind(&state, &pod, &node).await;
    if status.is_success() {
        status = fw.run_bind(&state, &pod, &node).await;
    }
    if !status.is_success() {
        undo(&mut state);
        fail(
            &shared,
            &pod,
            &key,
            cycle,
            &scheduler,
            &format!("binding rejected: {status}"),
            Code::Error,
        )
        .await;
        return;
    }
    fw.run_post_bind(&state, &pod, &node);
    shared.queue.done(&key);
    let ns = key.0.as_str();
    let message = format!("Successfully assigned {ns}/{} to {node}", key.1);
    let _ = binder::event(
        &shared.client,
        &scheduler,
        &pod,
        "Normal",
        "Scheduled",
        &message,
    )
    .await;
}

/// Records a failed attempt: back into the queue, a `FailedScheduling` event, and the
/// `PodScheduled=False` condition.
async fn fail(
    shared: &Shared,
    pod: &Pod,
    key: &PodKey,
    cycle: u64,
    scheduler: &str,
    message: &str,
    code: Code,
) {
    if code == Code::Error {
        shared.queue.backoff(key);
    } else {
        shared.queue.unschedulable(key, cycle);
    }
    let _ = binder::event(
        &shared.client,
        scheduler,
        pod,
        "Warning",
        "FailedScheduling",
        message,
    )
    .await;
    let reason = if code == Code::Error {
        "SchedulerError"
    } else {
        "Unschedulable"
    };
    if let Err(e) =
        binder::set_condition(&shared.client, pod, "False", Some(reason), Some(message)).await
        && !e.is_not_found()
    {
        tracing::warn!(error = %e, "recording PodScheduled failed");
    }
}
