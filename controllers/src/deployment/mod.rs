//! The Deployment controller: declarative rollouts of pods through ReplicaSets.
//!
//! As Kubernetes' `deployment` controller: one ReplicaSet per pod template, named and
//! labelled by the template's hash (`pod-template-hash`); a RollingUpdate grows the new
//! ReplicaSet and shrinks the old ones within `maxSurge` / `maxUnavailable`, Recreate
//! removes every old pod first; revisions are numbered in the `revision` annotation and
//! old ReplicaSets beyond `revisionHistoryLimit` are deleted; [`rollback`] brings an
//! earlier revision's template back; a paused Deployment only scales; a change of
//! `replicas` mid-rollout is spread over the ReplicaSets in proportion to their sizes;
//! the `Progressing` (with `progressDeadlineSeconds`) and `Available` conditions and the
//! replica counts in `status` are kept true.

mod progress;
mod recreate;
mod revision;
mod rollback;
mod rolling;
mod scale;
pub mod util;

use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Deployment, Pod, ReplicaSet};
use keel_core::client::{Api, Client};

use crate::manager::Shutdown;
use crate::runtime::{Action, Cache, Config, Controller, Informers, ObjectRef, Recorder};
use crate::workload::claim;
use crate::workload::{adopters, candidates, controller_key, selects};

pub use rollback::{RollbackError, rollback};

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "deployment";

worker_controller!(
    /// The Deployment controller. `DeploymentController::default()` runs 5 workers, as
    /// `kube-controller-manager`'s `--concurrent-deployment-syncs`.
    DeploymentController,
    name: NAME, workers: 5, objects: "Deployments");

impl DeploymentController {
    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let deployments = informers.cache::<Deployment>();
        let sets = informers.cache::<ReplicaSet>();
        let (orphans_of, sets_of_pod, recreating) =
            (deployments.clone(), sets.clone(), deployments.clone());
        let controller = Controller::new(
            Api::<Deployment>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers.clone()),
        )
        .owns::<ReplicaSet>()
        .watches::<ReplicaSet, _>(move |rs| {
            adopters(&orphans_of, rs, |d: &Deployment, rs: &ReplicaSet| {
                selects(Some(&d.spec.selector), &rs.metadata.labels)
            })
        })
        .watches::<Pod, _>(move |pod| recreate_waiting_on(&recreating, &sets_of_pod, pod))
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            recorder: Recorder::new(&client, "deployment-controller"),
            client,
            sets,
            pods: informers.cache::<Pod>(),
        });
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
    }
}

pub(crate) struct Ctx {
    pub(crate) client: Client,
    pub(crate) sets: Cache<ReplicaSet>,
    pub(crate) pods: Cache<Pod>,
    pub(crate) recorder: Recorder,
}

/// A Recreate Deployment waits for its old pods to be gone: their changes wake it.
fn recreate_waiting_on(
    deployments: &Cache<Deployment>,
    sets: &Cache<ReplicaSet>,
    pod: &Pod,
) -> Vec<ObjectRef> {
    let Some(rs) = controller_key::<ReplicaSet>(&pod.metadata).and_then(|k| sets.get(&k)) else {
        return Vec::new();
    };
    let Some(key) = controller_key::<Deployment>(&rs.metadata) else {
        return Vec::new();
    };
    match deployments.get(&key) {
        Some(d) if !util::is_rolling(&d) => vec![key],
        _ => Vec::new(),
    }
}

/// One sync of one Deployment: the Deployment, its ReplicaSets (claimed, as owned
/// copies updated after each write) and the clients to write with.
pub(crate) struct Sync<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) d: Deployment,
    pub(crate) sets: Vec<ReplicaSet>,
    pub(crate) rs_api: Api<ReplicaSet>,
    pub(crate) d_api: Api<Deployment>,
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = d.metadata.namespace_str().unwrap_or("default").to_owned();
    let Ok(selector) = d.spec.selector.to_selector() else {
        tracing::warn!(deployment = %ObjectRef::from_obj(&*d), "invalid selector; not syncing");
        return Ok(Action::await_change());
    };
    let rs_api: Api<ReplicaSet> = Api::namespaced(&ctx.client, &ns);
    let _uid = d.metadata.uid.as_deref().unwrap_or("");
    let sets = claim(&*d, &selector, &candidates(&ctx.sets, &d.metadata), &rs_api).await?;
    let mut sync = Sync {
        ctx: &ctx,
        d: (*d).clone(),
        sets: sets.iter().map(|rs| (**rs).clone()).collect(),
        rs_api,
        d_api: Api::namespaced(&ctx.client, &ns),
    };
    if d.metadata.deletion_timestamp.is_some() {
        return sync.sync_status_only().await;
    }
    sync.check_paused_conditions().await?;
    if d.spec.paused == Some(true) {
        return sync.sync().await;
    }
    if sync.is_scaling_event().await? {
        return sync.sync().await;
    }
    if util::is_rolling(&d) {
        sync.rollout_rolling().await
    } else {
        sync.rollout_recreate().await
    }
}
