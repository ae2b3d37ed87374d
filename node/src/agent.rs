//! [`NodeAgent`]: the kubelet role. Registers the Node and renews its Lease, watches
//! the pods bound to it, and drives each towards its spec through the runtime and
//! network plug-ins — level-triggered: every pod change, container event and backoff
//! timer queues the pod, and one sync compares the pod with what runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use keel_controllers::runtime::WorkQueue;
use keel_core::Error;
use keel_core::api::{Container, HostIp, Pod, PodIp, PodStatus};
use keel_core::client::watcher::{self, Event};
use keel_core::client::{Api, Client, DeleteParams, ListParams, Preconditions};
use keel_runtime::{
    ContainerConfig, ContainerFilter, ContainerRuntime, ContainerState, NetworkPlugin, PodNetwork,
    SandboxConfig, SandboxState,
};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::NodeConfig;
use crate::probe::{ProbeState, Prober, RuntimeProber, Timing, action};
use crate::register;
use crate::status::{self, Observed};

/// `namespace/name`.
type PodKey = (String, String);

fn key_of(pod: &Pod) -> PodKey {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

/// One container the agent started for a pod.
#[derive(Clone, Debug, Default)]
struct Tracked {
    id: Option<String>,
    restarts: u32,
    /// Restarts counted for the backoff (reset after a long run).
    backoff_level: u32,
    last: Option<ContainerState>,
    waiting: Option<(String, String)>,
    /// The current instance's state as last read from the runtime.
    state: Option<ContainerState>,
    /// The current instance's probes.
    probes: ProbeState,
    /// Failed pulls of the image in a row (the image pull backoff doubles with them).
    pull_failures: u32,
    /// No pull is tried again before this.
    pull_retry_at: Option<Instant>,
    /// The image the pull backoff is for (kubelet keys it by pod and image: a new
    /// image starts afresh).
    pull_image: Option<String>,
}

/// What runs for one pod.
#[derive(Clone, Debug, Default)]
struct PodRuntime {
    uid: String,
    sandbox: Option<String>,
    network: Option<PodNetwork>,
    containers: HashMap<String, Tracked>,
    rejected: Option<(String, String)>,
    /// The pod's volumes on the host, once resolved.
    volumes: Option<crate::pod_volumes::Resolved>,
    /// Whether the init containers have all done their part (once true, it stays).
    initialized: bool,
}

struct Shared {
    client: Client,
    config: NodeConfig,
    runtime: Arc<dyn ContainerRuntime>,
    network: Arc<dyn NetworkPlugin>,
    prober: Arc<dyn Prober>,
    volumes: Option<Arc<dyn keel_runtime::VolumePlugin>>,
    pods: Mutex<HashMap<PodKey, Arc<Pod>>>,
    /// What runs for each pod. A pod's entry is taken out while it is synced (the work
    /// queue gives a key to one worker at a time), so pods sync concurrently.
    state: Mutex<HashMap<PodKey, PodRuntime>>,
    /// The pods admitted to this node (their resources count at admission).
    admitted: Mutex<std::collections::HashSet<PodKey>>,
    by_sandbox: Mutex<HashMap<String, PodKey>>,
    queue: WorkQueue<PodKey>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The node agent of one node.
pub struct NodeAgent {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NodeAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeAgent")
            .field("node", &self.shared.config.name)
            .finish_non_exhaustive()
    }
}

/// A running agent.
#[derive(Debug)]
pub struct NodeAgentHandle {
    tasks: JoinSet<()>,
    queue: WorkQueue<PodKey>,
}

impl NodeAgentHandle {
    /// Stops the agent (the pods' containers keep running, as when a kubelet stops; a
    /// new agent on the same runtime adopts them).
    pub async fn shutdown(mut self) {
        self.queue.shut_down();
        self.tasks.shutdown().await;
    }
}

impl NodeAgent {
    /// An agent for the node `config` describes, running pods through `runtime` and
    /// `network`.
    pub fn new(
        client: &Client,
        config: NodeConfig,
        runtime: Arc<dyn ContainerRuntime>,
        network: Arc<dyn NetworkPlugin>,
    ) -> NodeAgent {
        NodeAgent {
            shared: Arc::new(Shared {
                client: client.clone(),
                config,
                prober: Arc::new(RuntimeProber::new(runtime.clone())),
                volumes: None,
                runtime,
                network,
                pods: Mutex::new(HashMap::new()),
                state: Mutex::new(HashMap::new()),
                admitted: Mutex::new(std::collections::HashSet::new()),
                by_sandbox: Mutex::new(HashMap::new()),
                queue: WorkQueue::new(),
            }),
        }
    }

    /// Runs probes with `prober` (default: [`RuntimeProber`], every probe an exec in
    /// the container, as the sim runtime answers them; use
    /// [`NetworkProber`](crate::probe::NetworkProber) with real processes).
    #[must_use]
    pub fn with_prober(mut self, prober: Arc<dyn Prober>) -> NodeAgent {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.prober = prober;
        }
        self
    }

    /// Mounts persistent volumes with CSI sources through `plugin`.
    #[must_use]
    pub fn with_volumes(mut self, plugin: Arc<dyn keel_runtime::VolumePlugin>) -> NodeAgent {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.volumes = Some(plugin);
        }
        self
    }

    /// Registers the Node, adopts what the runtime already runs, and starts the loops.
    pub async fn start(self) -> Result<NodeAgentHandle, Error> {
        let shared = self.shared;
        let node = register::register(&shared.client, &shared.config).await?;
        register::renew_lease(&shared.client, &shared.config, node.metadata.uid.as_deref()).await?;
        recover(&shared).await;
        let mut tasks = JoinSet::new();
        tasks.spawn(heartbeat(shared.clone(), node.metadata.uid.clone()));
        tasks.spawn(watch_pods(shared.clone()));
        tasks.spawn(follow_runtime(shared.clone()));
        for _ in 0..shared.config.workers.max(1) {
            tasks.spawn(work(shared.clone()));
        }
        Ok(NodeAgentHandle {
            queue: shared.queue.clone(),
            tasks,
        })
    }
}

/// Rebuilds the per-pod state from the runtime alone (after an agent restart).
async fn recover(shared: &Shared) {
    let Ok(sandboxes) = shared.runtime.list_pod_sandboxes().await else {
        return;
    };
    for sb in sandboxes
        .into_iter()
        .filter(|s| s.state == SandboxState::Ready)
    {
        let key = (sb.config.namespace.clone(), sb.config.name.clone());
        let mut pr = PodRuntime {
            uid: sb.config.uid.clone(),
            sandbox: Some(sb.id.clone()),
            network: shared.network.status(&sb.id).await.ok().flatten(),
            ..PodRuntime::default()
        };
        let filter = ContainerFilter {
            sandbox_id: Some(sb.id.clone()),
            running_only: false,
        };
        for c in shared
            .runtime
            .list_containers(&filter)
            .await
            .unwrap_or_default()
        {
            let t = pr.containers.entry(c.name.clone()).or_default();
            if t.id.is_none() || c.attempt >= t.restarts {
                t.id = Some(c.id.clone());
                t.restarts = c.attempt;
                t.backoff_level = c.attempt;
            }
        }
        lock(&shared.by_sandbox).insert(sb.id.clone(), key.clone());
        lock(&shared.admitted).insert(key.clone());
        lock(&shared.state).insert(key.clone(), pr);
        shared.queue.add(key);
    }
}

async fn heartbeat(shared: Arc<Shared>, node_uid: Option<String>) {
    let mut beats: u32 = 0;
    loop {
        tokio::time::sleep(shared.config.lease_renew).await;
        if let Err(e) =
            register::renew_lease(&shared.client, &shared.config, node_uid.as_deref()).await
        {
            tracing::warn!(node = %shared.config.name, error = %e, "renewing the node lease failed");
        }
        beats = beats.wrapping_add(1);
        // The Node's conditions are reported less often than the lease (kubelet's
        // nodeStatusReportFrequency): every sixth beat.
        if beats.is_multiple_of(6)
            && let Err(e) = register::report_status(&shared.client, &shared.config).await
        {
            tracing::warn!(node = %shared.config.name, error = %e, "reporting the node status failed");
        }
    }
}

async fn watch_pods(shared: Arc<Shared>) {
    let params = ListParams::default().fields(&format!("spec.nodeName={}", shared.config.name));
    let stream = watcher::watcher(Api::<Pod>::all(&shared.client), params);
    futures::pin_mut!(stream);
    let mut listed: std::collections::HashSet<PodKey> = std::collections::HashSet::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::InitApply(p)) => {
                let key = key_of(&p);
                listed.insert(key.clone());
                lock(&shared.pods).insert(key.clone(), p);
                shared.queue.add(key);
            }
            Ok(Event::Apply(p)) => {
                let key = key_of(&p);
                lock(&shared.pods).insert(key.clone(), p);
                shared.queue.add(key);
            }
            Ok(Event::Delete(p)) => {
                let key = key_of(&p);
                lock(&shared.pods).remove(&key);
                shared.queue.add(key);
            }
            Ok(Event::InitDone) => {
                // Pods gone while the watch was down, and pods the runtime runs that the
                // store no longer has: clean them up.
                let gone: Vec<PodKey> = {
                    let mut pods = lock(&shared.pods);
                    let gone: Vec<PodKey> = pods
                        .keys()
                        .filter(|k| !listed.contains(*k))
                        .cloned()
                        .collect();
                    for k in &gone {
                        pods.remove(k);
                    }
                    gone
                };
                let known: Vec<PodKey> = lock(&shared.state).keys().cloned().collect();
                for k in gone.into_iter().chain(known) {
                    shared.queue.add(k);
                }
            }
            Ok(Event::Init) => listed.clear(),
            Err(e) => tracing::warn!(node = %shared.config.name, error = %e, "pod watch failed"),
        }
    }
}

async fn follow_runtime(shared: Arc<Shared>) {
    let mut events = shared.runtime.events();
    while let Some(e) = events.next().await {
        let key = lock(&shared.by_sandbox).get(&e.sandbox_id).cloned();
        if let Some(key) = key {
            shared.queue.add(key);
        }
    }
}

async fn work(shared: Arc<Shared>) {
    while let Some(key) = shared.queue.get().await {
        let pod = lock(&shared.pods).get(&key).cloned();
        if let Err(e) = sync(&shared, &key, pod).await {
            tracing::warn!(node = %shared.config.name, pod = ?key, error = %e, "pod sync failed");
            shared.queue.add_after(key.clone(), Duration::from_secs(1));
        }
        shared.queue.done(&key);
    }
}

fn grace_period(pod: &Pod) -> Duration {
    let secs = pod
        .metadata
        .deletion_grace_period_seconds
        .or(pod.spec.termination_grace_period_seconds)
        .unwrap_or(30);
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Stops and removes everything that runs for the pod.
async fn tear_down(shared: &Shared, pr: &PodRuntime, grace: Duration) -> Result<(), Error> {
    let rt_err = |e: keel_runtime::RuntimeError| Error::Store(e.to_string());
    // All containers share one grace period: they are stopped together.
    let stops = pr
        .containers
        .values()
        .filter_map(|t| t.id.as_deref())
        .map(|id| shared.runtime.stop_container(id, grace));
    for result in futures::future::join_all(stops).await {
        match result {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(rt_err(e)),
        }
    }
    if let Some(sb) = &pr.sandbox {
        match shared.runtime.remove_pod_sandbox(sb).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(rt_err(e)),
        }
        shared.network.teardown(sb).await.map_err(rt_err)?;
        lock(&shared.by_sandbox).remove(sb);
    }
    Ok(())
}

async fn sync(shared: &Shared, key: &PodKey, pod: Option<Arc<Pod>>) -> Result<(), Error> {
    let taken = lock(&shared.state).remove(key);
    let (keep, result) = sync_pod(shared, key, pod, taken).await;
    if let Some(pr) = keep {
        lock(&shared.state).insert(key.clone(), pr);
    }
    result
}

/// One sync of one pod over its taken-out state; returns the state to keep.
async fn sync_pod(
    shared: &Shared,
    key: &PodKey,
    pod: Option<Arc<Pod>>,
    mut current: Option<PodRuntime>,
) -> (Option<PodRuntime>, Result<(), Error>) {
    // A pod gone from the store, or replaced by a new one of the same name.
    let stale = current.as_ref().is_some_and(|pr| {
        pod.as_ref()
            .is_none_or(|p| p.metadata.uid.as_deref() != Some(pr.uid.as_str()))
    });
    if stale && let Some(pr) = current.take() {
        if let Err(e) = tear_down(shared, &pr, Duration::ZERO).await {
            return (Some(pr), Err(e));
        }
        lock(&shared.admitted).remove(key);
    }
    let Some(pod) = pod else {
        return (None, Ok(()));
    };
    if pod.metadata.deletion_timestamp.is_some() {
        if let Some(pr) = current.take() {
            if let Err(e) = tear_down(shared, &pr, grace_period(&pod)).await {
                // Keep what runs: the retry must stop it before the pod object goes.
                return (Some(pr), Err(e));
            }
            lock(&shared.admitted).remove(key);
        }
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let deleted = match Api::<Pod>::namespaced(&shared.client, &key.0)
            .delete(&key.1, &params)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(e) => Err(e),
        };
        return (None, deleted);
    }
    let mut pr = current.unwrap_or_else(|| PodRuntime {
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        ..PodRuntime::default()
    });
    if let Some(reason) = pr.rejected.clone() {
        // Written until the store shows it (a first write may have met a conflict).
        let shown = pod
            .status
            .as_ref()
            .is_some_and(|s| s.phase.as_deref() == Some("Failed"));
        let result = if shown {
            Ok(())
        } else {
            write_rejection(shared, &pod, &reason).await
        };
        return (Some(pr), result);
    }
    let terminal = matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    if terminal {
        // Nothing restarts in a finished pod; its sandbox stops and its addresses are
        // released (the status keeps showing them, as Kubernetes does).
        if let Some(sb) = pr.sandbox.clone() {
            let _ = shared.runtime.stop_pod_sandbox(&sb).await;
            let _ = shared.network.teardown(&sb).await;
        }
        lock(&shared.admitted).remove(key);
        return (Some(pr), Ok(()));
    }
    if pr.sandbox.is_none() {
        let others: Vec<PodKey> = lock(&shared.admitted)
            .iter()
            .filter(|k| *k != key)
            .cloned()
            .collect();
        if let Some(reason) = admit(shared, &pod, &others) {
            pr.rejected = Some(reason.clone());
            let result = write_rejection(shared, &pod, &reason).await;
            return (Some(pr), result);
        }
        lock(&shared.admitted).insert(key.clone());
        let config = SandboxConfig {
            namespace: key.0.clone(),
            name: key.1.clone(),
            uid: pr.uid.clone(),
            hostname: Some(pod.spec.hostname.clone().unwrap_or_else(|| key.1.clone())),
            labels: pod.metadata.labels.clone(),
        };
        let rt_err = |e: keel_runtime::RuntimeError| Error::Store(e.to_string());
        let sb = match shared.runtime.run_pod_sandbox(&config).await {
            Ok(sb) => sb,
            Err(e) => return (Some(pr), Err(rt_err(e))),
        };
        lock(&shared.by_sandbox).insert(sb.clone(), key.clone());
        pr.sandbox = Some(sb.clone());
        match shared.network.setup(&key.0, &key.1, &sb).await {
            Ok(n) => pr.network = Some(n),
            Err(e) => return (Some(pr), Err(rt_err(e))),
        }
    }
    if pr.volumes.is_none() {
        match crate::pod_volumes::resolve(
            &shared.client,
            shared.config.root_dir.as_deref(),
            shared.volumes.as_deref(),
            &pod,
        )
        .await
        {
            Ok(v) => pr.volumes = Some(v),
            Err(message) => {
                for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
                    pr.containers.entry(c.name.clone()).or_default().waiting = Some((
                        "ContainerCreating".into(),
                        format!("MountVolume.SetUp failed: {message}"),
                    ));
                }
                let outcome = Outcome {
                    init_done: pod.spec.init_containers.is_empty(),
                    ..Outcome::default()
                };
                let status = build_status(shared, &pod, &pr, &outcome);
                shared
                    .queue
                    .add_after(key.clone(), shared.config.backoff_base);
                let result = write_status(shared, &pod, status).await;
                return (Some(pr), result);
            }
        }
    }
    let outcome = drive(shared, &pod, &mut pr).await;
    let observed_status = build_status(shared, &pod, &pr, &outcome);
    if let Some(after) = outcome.resync_after {
        shared.queue.add_after(key.clone(), after);
    }
    let result = write_status(shared, &pod, observed_status).await;
    (Some(pr), result)
}

/// Kubelet admission: the pod's requests must fit beside the pods admitted before it.
fn admit(shared: &Shared, pod: &Pod, others: &[PodKey]) -> Option<(String, String)> {
    let cfg = &shared.config;
    let pods = lock(&shared.pods);
    let mut used_cpu = 0;
    let mut used_mem = 0;
    let active: Vec<&PodKey> = others
        .iter()
        .filter(|k| {
            pods.get(*k).is_some_and(|p| {
                !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
            })
        })
        .collect();
    let others = active;
    for k in &others {
        if let Some(p) = pods.get(*k) {
            let r = p.spec.resource_requests();
            used_cpu += r
                .get("cpu")
                .map_or(0, keel_core::quantity::Quantity::milli_value);
            used_mem += r
                .get("memory")
                .map_or(0, keel_core::quantity::Quantity::value);
        }
    }
    let req = pod.spec.resource_requests();
    let want_cpu = req
        .get("cpu")
        .map_or(0, keel_core::quantity::Quantity::milli_value);
    let want_mem = req
        .get("memory")
        .map_or(0, keel_core::quantity::Quantity::value);
    let cap_cpu = cfg
        .cpu
        .parse::<keel_core::quantity::Quantity>()
        .map_or(0, |q| q.milli_value());
    let cap_mem = cfg
        .memory
        .parse::<keel_core::quantity::Quantity>()
        .map_or(0, |q| q.value());
    let count = i64::try_from(others.len()).unwrap_or(i64::MAX);
    let reject = |resource: &str, requested: i64, used: i64, capacity: i64| {
        Some((
            format!("OutOf{resource}"),
            format!(
                "Pod was rejected: Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"
            ),
        ))
    };
    if count + 1 > cfg.max_pods {
        return reject("pods", 1, count, cfg.max_pods);
    }
    if want_cpu > 0 && used_cpu + want_cpu > cap_cpu {
        return reject("cpu", want_cpu, used_cpu, cap_cpu);
    }
    if want_mem > 0 && used_mem + want_mem > cap_mem {
        return reject("memory", want_mem, used_mem, cap_mem);
    }
    // Host ports: one pod per (protocol, port) on all addresses of the node.
    let ports = |p: &Pod| -> Vec<(String, i32)> {
        p.spec
            .init_containers
            .iter()
            .chain(&p.spec.containers)
            .flat_map(|c| &c.ports)
            .filter_map(|port| {
                port.host_port
                    .filter(|h| *h > 0)
                    .map(|h| (port.protocol.clone().unwrap_or_else(|| "TCP".into()), h))
            })
            .collect()
    };
    let wanted = ports(pod);
    if !wanted.is_empty() {
        let taken: Vec<(String, i32)> = others
            .iter()
            .filter_map(|k| pods.get(k))
            .flat_map(|p| ports(p))
            .collect();
        if let Some((proto, port)) = wanted.iter().find(|w| taken.contains(w)) {
            return Some((
                "NodePorts".to_owned(),
                format!(
                    "Pod was rejected: node(s) didn't have free ports for the requested pod ports ({proto}/{port})"
                ),
            ));
        }
    }
    None
}

/// What one pass over the containers found.
#[derive(Debug, Default)]
struct Outcome {
    init_done: bool,
    init_failed: bool,
    resync_after: Option<Duration>,
}

fn restarts_on(policy: &str, exit_code: i32, init: bool) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => !init || exit_code != 0,
    }
}

/// Starts (or restarts) container `c` as attempt `attempt`.
/// The current instance's state, read from the runtime.
async fn read_state(shared: &Shared, t: &Tracked) -> Option<ContainerState> {
    let id = t.id.as_ref()?;
    shared
        .runtime
        .container_status(id)
        .await
        .ok()
        .map(|s| s.state)
}

/// How soon after a failed pull the status shows `ImagePullBackOff`.
const PULL_STATUS_DELAY: Duration = Duration::from_secs(1);

/// Starts attempt `attempt` of `c`; its state after, and when to retry if it waits.
async fn start_and_read(
    shared: &Shared,
    pod: &Pod,
    place: &Place<'_>,
    c: &Container,
    t: &mut Tracked,
    attempt: u32,
) -> (Option<ContainerState>, Option<Duration>) {
    start(shared, pod, place, c, t, attempt).await;
    let state = read_state(shared, t).await;
    let retry = match (&t.waiting, t.pull_retry_at) {
        // Shortly after a failed pull, the status turns to ImagePullBackOff.
        (Some((reason, _)), Some(at)) if reason == "ErrImagePull" => Some(
            at.saturating_duration_since(Instant::now())
                .min(PULL_STATUS_DELAY),
        ),
        (Some(_), _) => Some(shared.config.backoff(t.backoff_level.max(1))),
        (None, _) => None,
    };
    (state, retry)
}

/// Where a pod's containers run: its sandbox, addresses and volumes.
struct Place<'a> {
    sandbox: &'a str,
    network: Option<&'a PodNetwork>,
    volumes: Option<&'a crate::pod_volumes::Resolved>,
}

async fn start(
    shared: &Shared,
    pod: &Pod,
    place: &Place<'_>,
    c: &Container,
    t: &mut Tracked,
    attempt: u32,
) {
    let Place {
        sandbox,
        network,
        volumes,
    } = *place;
    let image = c.image.clone().unwrap_or_default();
    let mounts = match crate::pod_volumes::mounts(
        c,
        volumes.unwrap_or(&crate::pod_volumes::Resolved::new()),
    ) {
        Ok(m) => m,
        Err(message) => {
            t.waiting = Some(("CreateContainerConfigError".into(), message));
            return;
        }
    };
    if let Err(e) = shared.runtime.pull_image(&image).await {
        // Kubernetes' image pull backoff: 10 s doubling up to 5 min between attempts.
        t.pull_failures += 1;
        t.pull_retry_at = Some(Instant::now() + shared.config.backoff(t.pull_failures));
        t.pull_image = Some(image.clone());
        t.waiting = Some(("ErrImagePull".into(), e.to_string()));
        return;
    }
    t.pull_failures = 0;
    t.pull_retry_at = None;
    let pod_ip = network
        .and_then(|n| n.ips().first().cloned())
        .unwrap_or_default();
    let env =
        match crate::env::container_env(&shared.client, pod, c, &pod_ip, &shared.config.address)
            .await
        {
            Ok(env) => env,
            Err(message) => {
                t.waiting = Some(("CreateContainerConfigError".into(), message));
                return;
            }
        };
    if let Some(old) = t.id.take() {
        let _ = shared.runtime.remove_container(&old).await;
    }
    let config = ContainerConfig {
        name: c.name.clone(),
        image,
        command: c.command.clone(),
        args: c.args.clone(),
        env,
        mounts,
        working_dir: c.working_dir.clone(),
        attempt,
        ..ContainerConfig::default()
    };
    match shared.runtime.create_container(sandbox, &config).await {
        Ok(id) => {
            t.id = Some(id.clone());
            t.restarts = attempt;
            t.waiting = None;
            t.probes = ProbeState::default();
            if let Err(e) = shared.runtime.start_container(&id).await {
                // Nothing runs: drop the instance so the next sync creates a new one
                // (after a backoff), keeping the restart count.
                let _ = shared.runtime.remove_container(&id).await;
                t.id = None;
                t.waiting = Some(("RunContainerError".into(), e.to_string()));
            }
        }
        Err(e) => t.waiting = Some(("CreateContainerError".into(), e.to_string())),
    }
}

/// Brings one container towards running (or finished); returns its current state and,
/// when it waits for a backoff, how long.
async fn drive_one(
    shared: &Shared,
    pod: &Pod,
    pr: &mut PodRuntime,
    c: &Container,
    init: bool,
) -> (Option<ContainerState>, Option<Duration>) {
    let (state, retry) = drive_inner(shared, pod, pr, c, init).await;
    if let Some(t) = pr.containers.get_mut(&c.name) {
        t.state.clone_from(&state);
    }
    (state, retry)
}

async fn drive_inner(
    shared: &Shared,
    pod: &Pod,
    pr: &mut PodRuntime,
    c: &Container,
    init: bool,
) -> (Option<ContainerState>, Option<Duration>) {
    let sandbox = pr.sandbox.clone().unwrap_or_default();
    let network = pr.network;
    let volumes = pr.volumes.clone();
    // A sidecar (an init container with `restartPolicy: Always`) always restarts.
    let sidecar = init && c.restart_policy.as_deref() == Some("Always");
    let init = init && !sidecar;
    let policy = if sidecar {
        "Always".to_owned()
    } else {
        pod.spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into())
    };
    let place = Place {
        sandbox: &sandbox,
        network: network.as_ref(),
        volumes: volumes.as_ref(),
    };
    let t = pr.containers.entry(c.name.clone()).or_default();
    if t.pull_image.is_some() && t.pull_image.as_deref() != c.image.as_deref() {
        t.pull_failures = 0;
        t.pull_retry_at = None;
        t.pull_image = None;
    }
    let current = read_state(shared, t).await;
    let restarting = match &current {
        None => true,
        Some(ContainerState::Exited { exit_code, .. }) => restarts_on(&policy, *exit_code, init),
        _ => false,
    };
    if restarting && let Some(at) = t.pull_retry_at {
        // The last pull failed: the image pull backoff, not the crash loop, sets the
        // pace (a container that exited before keeps its last state meanwhile).
        if Instant::now() < at {
            t.waiting = Some((
                "ImagePullBackOff".into(),
                format!(
                    "Back-off pulling image \"{}\"",
                    c.image.as_deref().unwrap_or("")
                ),
            ));
            return (current, Some(at.saturating_duration_since(Instant::now())));
        }
        let attempt = t.restarts + 1;
        return start_and_read(shared, pod, &place, c, t, attempt).await;
    }
    match current {
        None => {
            let attempt =
                if t.id.is_some() || t.restarts > 0 || t.last.is_some() || t.waiting.is_some() {
                    t.restarts + 1
                } else {
                    0
                };
            start_and_read(shared, pod, &place, c, t, attempt).await
        }
        Some(ContainerState::Exited {
            exit_code,
            finished_at,
            started_at,
            ..
        }) if restarts_on(&policy, exit_code, init) => {
            let ran =
                started_at.map_or(Duration::ZERO, |s| finished_at.saturating_duration_since(s));
            if ran >= shared.config.backoff_reset {
                t.backoff_level = 0;
            }
            let delay = if t.backoff_level == 0 {
                Duration::ZERO
            } else {
                shared.config.backoff(t.backoff_level)
            };
            let due = finished_at + delay;
            let now = Instant::now();
            let exited = current.clone().unwrap_or(ContainerState::Created);
            if now < due {
                t.last = Some(exited);
                t.waiting = Some((
                    "CrashLoopBackOff".into(),
                    format!(
                        "back-off {}s restarting failed container={} pod={}",
                        delay.as_secs(),
                        c.name,
                        pod.metadata.name.as_deref().unwrap_or("")
                    ),
                ));
                return (current, Some(due - now));
            }
            t.last = Some(exited);
            t.backoff_level += 1;
            let attempt = t.restarts + 1;
            start_and_read(shared, pod, &place, c, t, attempt).await
        }
        Some(ContainerState::Running { started_at }) => {
            t.waiting = None;
            let id = t.id.clone().unwrap_or_default();
            let ip = network
                .and_then(|n| n.ips().first().cloned())
                .unwrap_or_default();
            let next = probe(shared, pod, c, &id, &ip, started_at, &mut t.probes).await;
            (Some(ContainerState::Running { started_at }), next)
        }
        other => {
            t.waiting = None;
            (other, None)
        }
    }
}

/// Runs one probe if it is due: `Err(wait)` until then, `Ok(passed)` once run.
#[allow(clippy::too_many_arguments)]
async fn check(
    shared: &Shared,
    p: &keel_core::api::Probe,
    c: &Container,
    id: &str,
    ip: &str,
    started: Instant,
    tally: &mut crate::probe::Tally,
    now: Instant,
) -> Result<bool, Duration> {
    let timing = Timing::of(p);
    if let Some(wait) = tally.due(started, &timing, now) {
        return Err(wait);
    }
    let passed = match action(p, c, ip) {
        Some(a) => shared.prober.probe(id, &a, timing.timeout).await,
        None => true,
    };
    tally.record(passed, now, &timing);
    Ok(passed)
}

/// How long past its grace period a container killed by a probe may take to stop
/// before it is probed (and killed) again.
const KILL_MARGIN: Duration = Duration::from_secs(2);

/// Runs the container's due probes; kills it when startup or liveness fails; returns
/// when the next probe is due.
async fn probe(
    shared: &Shared,
    pod: &Pod,
    c: &Container,
    id: &str,
    ip: &str,
    started: Instant,
    st: &mut ProbeState,
) -> Option<Duration> {
    let now = Instant::now();
    if let Some(until) = st.on_hold_until {
        if now < until {
            st.ready = false;
            return Some(until - now);
        }
        st.on_hold_until = None;
    }
    let mut next: Option<Duration> = None;
    let mut soonest = |d: Duration| next = Some(next.map_or(d, |n: Duration| n.min(d)));
    // Stops the container; returns until when its probes are on hold.
    let kill = |grace: Option<i64>| {
        let runtime = shared.runtime.clone();
        let id = id.to_owned();
        let grace = Duration::from_secs(
            u64::try_from(
                grace
                    .or(pod.spec.termination_grace_period_seconds)
                    .unwrap_or(30),
            )
            .unwrap_or(0),
        );
        tokio::spawn(async move {
            let _ = runtime.stop_container(&id, grace).await;
        });
        now + grace + KILL_MARGIN
    };
    if let Some(p) = c.startup_probe.as_deref().filter(|_| !st.started) {
        let timing = Timing::of(p);
        match check(shared, p, c, id, ip, started, &mut st.startup, now).await {
            Err(wait) => soonest(wait),
            Ok(true) => st.started = true,
            Ok(false) if st.startup.failures >= timing.failure_threshold => {
                st.on_hold_until = Some(kill(p.termination_grace_period_seconds));
                st.ready = false;
                return st.on_hold_until.map(|u| u - now);
            }
            Ok(false) => soonest(timing.period),
        }
        if !st.started {
            st.ready = false;
            return next;
        }
    }
    st.started = true;
    if let Some(p) = c.liveness_probe.as_deref() {
        let timing = Timing::of(p);
        match check(shared, p, c, id, ip, started, &mut st.liveness, now).await {
            Err(wait) => soonest(wait),
            Ok(_) if st.liveness.failures >= timing.failure_threshold => {
                st.on_hold_until = Some(kill(p.termination_grace_period_seconds));
                st.ready = false;
                return st.on_hold_until.map(|u| u - now);
            }
            Ok(_) => soonest(timing.period),
        }
    }
    match c.readiness_probe.as_deref() {
        None => st.ready = true,
        Some(p) => {
            let timing = Timing::of(p);
            if let Err(wait) = check(shared, p, c, id, ip, started, &mut st.readiness, now).await {
                soonest(wait);
            } else {
                if st.readiness.successes >= timing.success_threshold {
                    st.ready = true;
                } else if st.readiness.failures >= timing.failure_threshold {
                    st.ready = false;
                }
                soonest(timing.period);
            }
        }
    }
    next
}

async fn drive(shared: &Shared, pod: &Pod, pr: &mut PodRuntime) -> Outcome {
    let mut out = Outcome::default();
    let mut earliest: Option<Duration> = None;
    let mut note = |d: Option<Duration>| {
        if let Some(d) = d {
            earliest = Some(earliest.map_or(d, |e: Duration| e.min(d)));
        }
    };
    out.init_done = true;
    for c in &pod.spec.init_containers {
        let sidecar = c.restart_policy.as_deref() == Some("Always");
        if pr.initialized && !sidecar {
            // Finished before; only sidecars keep running.
            continue;
        }
        let (state, retry) = drive_one(shared, pod, pr, c, true).await;
        note(retry);
        if pr.initialized {
            continue;
        }
        match state {
            // A sidecar lets the next container start once it runs, and keeps running.
            Some(ContainerState::Running { .. }) if sidecar => {}
            _ if sidecar => {
                out.init_done = false;
                break;
            }
            Some(ContainerState::Exited { exit_code: 0, .. }) => {}
            Some(ContainerState::Exited { exit_code, .. })
                if !restarts_on(
                    pod.spec.restart_policy.as_deref().unwrap_or("Always"),
                    exit_code,
                    true,
                ) =>
            {
                out.init_done = false;
                out.init_failed = true;
                break;
            }
            _ => {
                out.init_done = false;
                break;
            }
        }
    }
    if out.init_done {
        pr.initialized = true;
    }
    out.init_done = pr.initialized;
    if out.init_done {
        for c in &pod.spec.containers {
            let (_, retry) = drive_one(shared, pod, pr, c, false).await;
            note(retry);
        }
    }
    out.resync_after = earliest;
    out
}

fn build_status(shared: &Shared, pod: &Pod, pr: &PodRuntime, outcome: &Outcome) -> PodStatus {
    let clock = shared.client.clock();
    let observe = |c: &Container| -> Observed {
        let t = pr.containers.get(&c.name).cloned().unwrap_or_default();
        Observed {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            id: t.id.clone(),
            state: None,
            last: t.last.clone(),
            waiting: t.waiting.clone(),
            restarts: t.restarts,
            ready: Some(t.probes.ready),
        }
    };
    let fill = |mut o: Observed| {
        o.state = pr.containers.get(&o.name).and_then(|t| t.state.clone());
        o
    };
    let inits: Vec<Observed> = pod
        .spec
        .init_containers
        .iter()
        .map(|c| fill(observe(c)))
        .collect();
    let mains: Vec<Observed> = if outcome.init_done {
        pod.spec
            .containers
            .iter()
            .map(|c| fill(observe(c)))
            .collect()
    } else {
        pod.spec
            .containers
            .iter()
            .map(|c| Observed {
                waiting: Some(("PodInitializing".into(), String::new())),
                ..observe(c)
            })
            .collect()
    };
    let policy = pod.spec.restart_policy.as_deref().unwrap_or("Always");
    let phase = status::phase(outcome.init_done, outcome.init_failed, &mains, policy);
    let now = clock.now();
    let previous = pod
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let ready = outcome.init_done
        && !mains.is_empty()
        && mains.iter().all(|o| {
            o.waiting.is_none()
                && o.ready != Some(false)
                && o.state.as_ref().is_some_and(ContainerState::is_running)
        });
    let ips = pr.network.map(|n| n.ips()).unwrap_or_default();
    let mut st = pod.status.clone().unwrap_or_default();
    st.phase = Some(phase.to_owned());
    st.conditions = vec![
        status::condition(
            previous,
            "PodReadyToStartContainers",
            pr.sandbox.is_some(),
            &now,
        ),
        status::condition(previous, "Initialized", outcome.init_done, &now),
        status::condition(previous, "Ready", ready, &now),
        status::condition(previous, "ContainersReady", ready, &now),
        status::condition(previous, "PodScheduled", true, &now),
    ];
    st.host_ip = Some(shared.config.address.clone());
    st.host_ips = vec![HostIp {
        ip: shared.config.address.clone(),
    }];
    st.pod_ip = ips.first().cloned();
    st.pod_ips = ips.into_iter().map(|ip| PodIp { ip }).collect();
    if st.start_time.is_none() {
        st.start_time = Some(now);
    }
    st.init_container_statuses = inits
        .iter()
        .map(|o| status::container_status(clock, o))
        .collect();
    st.container_statuses = mains
        .iter()
        .map(|o| status::container_status(clock, o))
        .collect();
    st.qos_class.get_or_insert_with(|| "BestEffort".into());
    st
}

fn strip_times(mut s: PodStatus) -> PodStatus {
    for c in &mut s.conditions {
        c.last_transition_time = None;
        c.last_probe_time = None;
    }
    s
}

async fn write_status(shared: &Shared, pod: &Pod, desired: PodStatus) -> Result<(), Error> {
    let before = pod.status.as_ref().map(|s| strip_times(s.clone()));
    if before.as_ref() == Some(&strip_times(desired.clone())) {
        return Ok(());
    }
    let api: Api<Pod> = Api::namespaced(
        &shared.client,
        pod.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let mut updated = pod.clone();
    updated.status = Some(desired);
    match api
        .replace_status(pod.metadata.name.as_deref().unwrap_or_default(), &updated)
        .await
    {
        Ok(_) => Ok(()),
        // A newer pod arrives through the watch and is synced again.
        Err(e) if e.is_conflict() || e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

async fn write_rejection(
    shared: &Shared,
    pod: &Pod,
    (reason, message): &(String, String),
) -> Result<(), Error> {
    let mut st = pod.status.clone().unwrap_or_default();
    st.phase = Some("Failed".into());
    st.reason = Some(reason.clone());
    st.message = Some(message.clone());
    write_status(shared, pod, st).await
}
