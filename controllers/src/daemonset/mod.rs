//! The DaemonSet controller: one pod of the template on every eligible node.
//!
//! As Kubernetes' `daemonset` controller: a node is eligible when the template's
//! `nodeSelector` and required node affinity admit it and it has no `NoSchedule` /
//! `NoExecute` taint the pod does not tolerate (daemon pods tolerate the node-condition
//! taints, [`placement::add_daemon_tolerations`]); an untolerated `NoSchedule` taint
//! keeps new pods off but lets a running pod stay. Each pod is pinned to its node by a
//! `metadata.name` `matchFields` node affinity and left to the scheduler. Pods are
//! created on nodes that lack one, surplus pods deleted (the oldest stays), failed pods
//! deleted with back-off and so recreated, and pods on nodes that stop qualifying or
//! disappear deleted. Updates follow `RollingUpdate` (`maxUnavailable`, `maxSurge`) or
//! `OnDelete`; pods carry the `controller-revision-hash` and
//! `pod-template-generation` labels. Each template run is kept as a
//! [`ControllerRevision`] `<set>-<hash>` owned by the set, labelled
//! `controller-revision-hash` with the hash its pods carry; old revisions no pod runs
//! are deleted, oldest first, beyond `revisionHistoryLimit` (default 10). [`Expectations`] guard against acting on a stale
//! cache, and `status` counts nodes scheduled, misscheduled, ready, available and
//! updated.

mod backoff;
mod history;
mod manage;
pub mod placement;
mod revision;
mod rolling;
mod status;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{ControllerRevision, DaemonSet, Node, Pod};
use keel_core::client::{Api, Client};

use crate::manager::Shutdown;
use crate::runtime::{
    Action, Cache, Config, Controller, Expectations, Informers, ObjectRef, Recorder, WorkQueue,
};
use crate::workload::{adopters, candidates, selects};
use crate::workload::{claim, until_next_available};
use backoff::FailedPodBackoff;
use revision::{Revision, is_rolling};

pub use revision::{
    CONTROLLER_REVISION_HASH, POD_TEMPLATE_GENERATION, TEMPLATE_GENERATION_ANNOTATION,
};

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "daemonset";

/// At most this many pods are created or deleted per sync (the daemon controller's
/// `BurstReplicas`).
pub const BURST_REPLICAS: usize = 250;

/// The event reason for a failed daemon pod about to be deleted.
pub const FAILED_DAEMON_POD: &str = "FailedDaemonPod";

worker_controller!(
    /// The DaemonSet controller. `DaemonSetController::default()` runs 2 workers, as
    /// `kube-controller-manager`'s `--concurrent-daemonset-syncs`.
    DaemonSetController,
    name: NAME, workers: 2, objects: "DaemonSets");

impl DaemonSetController {
    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let sets = informers.cache::<DaemonSet>();
        let pods = informers.cache::<Pod>();
        let nodes = informers.cache::<Node>();
        let history = informers.cache::<ControllerRevision>();
        let (orphan_sets, node_sets) = (sets.clone(), sets.clone());
        let controller = Controller::new(
            Api::<DaemonSet>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers),
        )
        .owns::<Pod>()
        .owns::<ControllerRevision>()
        .watches::<Pod, _>(move |pod| {
            adopters(&orphan_sets, pod, |ds: &DaemonSet, p: &Pod| {
                selects(Some(&ds.spec.selector), &p.metadata.labels)
            })
        })
        .watches::<Node, _>(move |_node| {
            node_sets
                .list()
                .iter()
                .map(|ds| ObjectRef::from_obj(&**ds))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            recorder: Recorder::new(&client, "daemonset-controller"),
            client,
            sets,
            pods,
            nodes,
            history,
            expectations: Expectations::new(),
            backoff: FailedPodBackoff::default(),
        });
        let observer = tokio::spawn(observe(ctx.clone(), controller.queue()));
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
        observer.abort();
    }
}

struct Ctx {
    client: Client,
    sets: Cache<DaemonSet>,
    pods: Cache<Pod>,
    nodes: Cache<Node>,
    history: Cache<ControllerRevision>,
    expectations: Expectations<ObjectRef>,
    recorder: Recorder,
    backoff: FailedPodBackoff,
}

/// Feeds expectations from the pod cache and forgets those (and the failed-pod
/// back-off) of deleted DaemonSets.
async fn observe(ctx: Arc<Ctx>, queue: WorkQueue<ObjectRef>) {
    crate::workload::observe_pods(&ctx.pods, &ctx.sets, &ctx.expectations, &queue, |ds| {
        ctx.backoff.forget_prefix(&backoff_prefix(ds));
    })
    .await;
}

fn backoff_prefix(ds: &DaemonSet) -> String {
    format!(
        "{}/{}/{}/",
        ds.metadata.namespace_str().unwrap_or(""),
        ds.metadata.name_str(),
        ds.metadata.uid.as_deref().unwrap_or("")
    )
}

async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(&*ds);
    let ns = ds.metadata.namespace_str().unwrap_or("default").to_owned();
    let selector = match ds.spec.selector.to_selector() {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => {
            let msg = "This daemon set is selecting all pods. A non-empty selector is required.";
            let _ = ctx.recorder.warning(&*ds, "SelectingAll", msg).await;
            return Ok(Action::await_change());
        }
        Err(_) => {
            tracing::warn!(daemonset = %key, "invalid selector; not syncing");
            return Ok(Action::await_change());
        }
    };
    if ds.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let pod_api: Api<Pod> = Api::namespaced(&ctx.client, &ns);
    let _uid = ds.metadata.uid.as_deref().unwrap_or("");
    let pods = claim(
        &*ds,
        &selector,
        &candidates(&ctx.pods, &ds.metadata),
        &pod_api,
    )
    .await?;
    let mut nodes = ctx.nodes.list();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let rev_api: Api<ControllerRevision> = Api::namespaced(&ctx.client, &ns);
    let owned = claim(
        &*ds,
        &selector,
        &candidates(&ctx.history, &ds.metadata),
        &rev_api,
    )
    .await?;
    let apis = history::Apis {
        revisions: &rev_api,
        pods: &pod_api,
        sets: &Api::namespaced(&ctx.client, &ns),
    };
    let history = history::construct(&apis, &ds, owned, &pods).await?;
    let revision = Revision::of(&ds, history.hash());
    let now = ctx.client.clock().now();
    let by_node = manage::group_by_node(&pods);

    let observed = ctx.expectations.satisfied(&key);
    let mut retry = None;
    let mut result = Ok(());
    if observed {
        let prefix = backoff_prefix(&ds);
        let instant = tokio::time::Instant::now();
        let backoff = |node: &str| ctx.backoff.check(&format!("{prefix}{node}"), instant);
        let plan = manage::plan(&ds, &nodes, &by_node, &revision, &now, &backoff);
        retry = plan.retry_after;
        for pod in &plan.failed {
            let msg = format!(
                "Found failed daemon pod {}/{} on node {}, will try to kill it",
                ns,
                pod.metadata.name_str(),
                placement::target_node(pod).unwrap_or("")
            );
            let _ = ctx.recorder.warning(&*ds, FAILED_DAEMON_POD, &msg).await;
        }
        result = sync::sync_nodes(&ctx, &ds, &key, &revision, plan.create, plan.delete).await;
        if result.is_ok() && ctx.expectations.satisfied(&key) && is_rolling(&ds) {
            match rolling::step(&ds, &nodes, &by_node, &revision, &now) {
                Ok(step) => {
                    result = sync::sync_nodes(&ctx, &ds, &key, &revision, step.create, step.delete)
                        .await;
                }
                Err(msg) => tracing::warn!(daemonset = %key, %msg, "bad rolling update"),
            }
        }
        if result.is_ok() && ctx.expectations.satisfied(&key) {
            result = history::cleanup(&rev_api, &ds, history.old, &pods).await;
        }
    }
    let next = status::compute(&ds, &nodes, &by_node, &revision, observed, &now);
    status::write(&ctx.client, &ds, next).await?;
    result?;
    let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
    let wake = [retry, until_next_available(&pods, min_ready, &now)]
        .into_iter()
        .flatten()
        .min();
    Ok(wake.map_or_else(Action::await_change, Action::requeue))
}
