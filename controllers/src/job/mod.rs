//! The Job controller: runs pods until enough of them succeed.
//!
//! As Kubernetes' `job` controller: `parallelism` pods at once, never more than the
//! completions still missing; each finished pod is counted exactly once through the
//! `batch.kubernetes.io/job-tracking` finalizer and `status.uncountedTerminatedPods`;
//! failed pods are replaced after the pod-failure backoff ([`backoff`]); the Job fails
//! (`FailureTarget`, then `Failed`) past `backoffLimit` (with `restartPolicy:
//! OnFailure`, container restarts count too) or `activeDeadlineSeconds`, and succeeds
//! (`SuccessCriteriaMet`, then `Complete`) once enough pods succeeded; `Indexed` Jobs
//! run each completion index once ([`indexes`]); suspended Jobs keep no pods; finished
//! Jobs are deleted `ttlSecondsAfterFinished` after finishing, with their pods
//! ([`cleanup`]).

pub mod backoff;
pub mod cleanup;
pub mod indexes;
mod manage;
pub mod pods;
pub mod status;
mod sync;
mod tracking;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Job, Pod};
use keel_core::client::{Api, Client};

use crate::manager::Shutdown;
use crate::runtime::cache::BY_CONTROLLER_UID;
use crate::runtime::{
    Action, Cache, Config, Controller, Expectations, Informers, ObjectRef, Recorder, WorkQueue,
    is_owner_kind,
};
use crate::workload::claim_adopting;
use crate::workload::{adopters, candidates, controller_key, selects};
use backoff::BackoffRecord;
use pods::has_tracking_finalizer;

pub use cleanup::delete_job_with_pods;
pub use status::{finished_condition, is_finished};

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "job";

/// The finalizer that keeps a Job's pod until the Job counted it.
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

/// The `spec.managedBy` value of Jobs this controller manages (the default); Jobs
/// managed by anything else are left alone.
pub const JOB_CONTROLLER_MANAGER: &str = "kubernetes.io/job-controller";

/// The annotation (and label) with the completion index of an `Indexed` Job's pod.
pub const JOB_COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// The environment variable that gives an `Indexed` Job's containers their index.
pub const JOB_COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

worker_controller!(
    /// The Job controller. `JobController::default()` runs 5 workers, as
    /// `kube-controller-manager`'s `--concurrent-job-syncs`.
    JobController,
    name: NAME, workers: 5, objects: "Jobs");

impl JobController {
    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let jobs = informers.cache::<Job>();
        let pods = informers.cache::<Pod>();
        let orphan_jobs = jobs.clone();
        let controller = Controller::new(
            Api::<Job>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers),
        )
        .owns::<Pod>()
        .watches::<Pod, _>(move |pod| {
            adopters(&orphan_jobs, pod, |j: &Job, p: &Pod| {
                selects(j.spec.selector.as_ref(), &p.metadata.labels)
            })
        })
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            recorder: Recorder::new(&client, "job-controller"),
            client,
            jobs,
            pods,
            expectations: Expectations::new(),
            finalizers: FinalizerExpectations::default(),
            backoff: Mutex::new(HashMap::new()),
            written: Mutex::new(HashMap::new()),
        });
        let observer = tokio::spawn(observe(ctx.clone(), controller.queue()));
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
        observer.abort();
    }
}

/// The pod uids whose tracking finalizer a Job removed and whose removal the pod cache
/// has not shown yet (Kubernetes' `uidTrackingExpectations`): such pods are not
/// counted again.
#[derive(Debug, Default)]
struct FinalizerExpectations {
    uids: Mutex<HashMap<ObjectRef, HashSet<String>>>,
}

impl FinalizerExpectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef, HashSet<String>>> {
        self.uids.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expect(&self, key: &ObjectRef, uids: &[String]) {
        self.lock()
            .entry(key.clone())
            .or_default()
            .extend(uids.iter().cloned());
    }

    fn observed(&self, key: &ObjectRef, uid: &str) {
        let mut all = self.lock();
        if let Some(set) = all.get_mut(key) {
            set.remove(uid);
            if set.is_empty() {
                all.remove(key);
            }
        }
    }

    fn expected(&self, key: &ObjectRef) -> HashSet<String> {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    fn forget(&self, key: &ObjectRef) {
        self.lock().remove(key);
    }
}

struct Ctx {
    client: Client,
    jobs: Cache<Job>,
    pods: Cache<Pod>,
    expectations: Expectations<ObjectRef>,
    finalizers: FinalizerExpectations,
    backoff: Mutex<HashMap<ObjectRef, BackoffRecord>>,
    /// The resourceVersion of each Job's last status write: a cached copy older than
    /// that is stale and not synced (its counts would be outdated).
    written: Mutex<HashMap<ObjectRef, u64>>,
    recorder: Recorder,
}

impl Ctx {
    fn backoff_record(&self, key: &ObjectRef) -> BackoffRecord {
        let all = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
        all.get(key).cloned().unwrap_or_default()
    }

    fn set_backoff_record(&self, key: &ObjectRef, record: BackoffRecord) {
        let mut all = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
        all.insert(key.clone(), record);
    }

    fn wrote(&self, key: &ObjectRef, job: &Job) {
        if let Some(v) = version(job) {
            let mut all = self.written.lock().unwrap_or_else(PoisonError::into_inner);
            all.insert(key.clone(), v);
        }
    }

    fn is_stale(&self, key: &ObjectRef, job: &Job) -> bool {
        let all = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        matches!((all.get(key), version(job)), (Some(w), Some(v)) if v < *w)
    }

    fn forget(&self, key: &ObjectRef) {
        self.written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        self.expectations.forget(key);
        self.finalizers.forget(key);
        let mut all = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
        all.remove(key);
    }
}

fn version(job: &Job) -> Option<u64> {
    job.metadata.resource_version.as_deref()?.parse().ok()
}

/// Whether a pod with the tracking finalizer has no live, unfinished Job left to count
/// it (its Job is gone, replaced, finished, or it has none): the finalizer must go so
/// the pod can be deleted (Kubernetes' orphan-pod worker).
fn finalizer_orphaned(ctx: &Ctx, pod: &Pod) -> bool {
    if !has_tracking_finalizer(pod) {
        return false;
    }
    let Some(owner) = pod.metadata.controller_owner() else {
        return true;
    };
    if !is_owner_kind::<Job>(owner) {
        return false;
    }
    let Some(key) = controller_key::<Job>(&pod.metadata) else {
        return false;
    };
    match ctx.jobs.get(&key) {
        Some(job) => job.metadata.uid.as_deref() != Some(owner.uid.as_str()) || is_finished(&job),
        None => ctx.jobs.is_ready(),
    }
}

/// Feeds creation / deletion / finalizer-removal expectations from the pod cache, frees
/// orphaned pods of the tracking finalizer, and forgets deleted Jobs.
async fn observe(ctx: Arc<Ctx>, queue: WorkQueue<ObjectRef>) {
    let mut pods = ctx.pods.subscribe();
    let mut jobs = ctx.jobs.subscribe();
    loop {
        tokio::select! {
            change = pods.recv() => {
                let Some(change) = change else { return };
                let (old, new) = (change.old.as_deref(), change.new.as_deref());
                if let Some(p) = new && finalizer_orphaned(&ctx, p) {
                    let api: Api<Pod> = Api::namespaced(&ctx.client, p.metadata.namespace_str().unwrap_or(""));
                    let pod = p.clone();
                    tokio::spawn(async move {
                        if let Err(e) = pods::remove_tracking_finalizer(&api, &pod).await {
                            tracing::warn!(pod = pod.metadata.name_str(), error = %e, "removing the job-tracking finalizer of an orphan pod failed");
                        }
                    });
                }
                let Some(key) = new.or(old).and_then(|p| controller_key::<Job>(&p.metadata)) else { continue };
                let uid = new.or(old).and_then(|p| p.metadata.uid.as_deref()).unwrap_or("");
                match new {
                    Some(p) if !has_tracking_finalizer(p) => ctx.finalizers.observed(&key, uid),
                    None => ctx.finalizers.observed(&key, uid),
                    Some(_) => {}
                }
                ctx.expectations.observe_change(&key, old.map(|p| &p.metadata), new.map(|p| &p.metadata));
                queue.add(key);
            }
            change = jobs.recv() => {
                let Some(change) = change else { return };
                if let (Some(old), None) = (&change.old, &change.new) {
                    ctx.forget(&ObjectRef::from_obj(&**old));
                    // Its pods can no longer be counted: free them of the finalizer.
                    let uid = old.metadata.uid.clone().unwrap_or_default();
                    for pod in ctx.pods.by_index(BY_CONTROLLER_UID, &uid) {
                        if has_tracking_finalizer(&pod) {
                            let api: Api<Pod> = Api::namespaced(&ctx.client, pod.metadata.namespace_str().unwrap_or(""));
                            tokio::spawn(async move {
                                let _ = pods::remove_tracking_finalizer(&api, &pod).await;
                            });
                        }
                    }
                }
            }
        }
    }
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(&*job);
    let ns = job.metadata.namespace_str().unwrap_or("default").to_owned();
    let pod_api: Api<Pod> = Api::namespaced(&ctx.client, &ns);
    let uid = job.metadata.uid.clone().unwrap_or_default();
    if ctx.is_stale(&key, &job) {
        // Our own newer status write is on its way to the cache; it queues the Job.
        return Ok(Action::await_change());
    }
    if is_finished(&job) {
        ctx.forget_backoff(&key);
        // Pods left with the finalizer (e.g. adopted late) need not wait for counting.
        for pod in ctx.pods.by_index(BY_CONTROLLER_UID, &uid) {
            if has_tracking_finalizer(&pod) {
                pods::remove_tracking_finalizer(&pod_api, &pod).await?;
            }
        }
        return Ok(match cleanup::expire(&ctx.client, &job).await? {
            Some(wait) => Action::requeue(wait),
            None => Action::await_change(),
        });
    }
    if job
        .spec
        .managed_by
        .as_deref()
        .is_some_and(|m| m != JOB_CONTROLLER_MANAGER)
    {
        // Another controller manages this Job (Kubernetes' `managedBy`).
        return Ok(Action::await_change());
    }
    let mode = job.spec.completion_mode.as_deref().unwrap_or("NonIndexed");
    if mode != "NonIndexed" && mode != "Indexed" {
        let _ = ctx
            .recorder
            .warning(
                &*job,
                "UnknownCompletionMode",
                "Skipped Job sync because completion mode is unknown",
            )
            .await;
        return Ok(Action::await_change());
    }
    let Some(Ok(selector)) = job
        .spec
        .selector
        .as_ref()
        .map(keel_core::labels::LabelSelector::to_selector)
    else {
        tracing::warn!(job = %key, "missing or invalid selector; not syncing");
        return Ok(Action::await_change());
    };
    let satisfied = ctx.expectations.satisfied(&key);
    let candidates = candidates(&ctx.pods, &job.metadata);
    let orphans: HashSet<String> = candidates
        .iter()
        .filter(|p| p.metadata.controller_owner().is_none())
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    // Adoption adds the tracking finalizer in the same write, so an adopted pod that
    // finishes later is still counted (Kubernetes' `claimPods`).
    let claimed = claim_adopting(&*job, &selector, &candidates, &pod_api, |pod: &mut Pod| {
        if !pod
            .metadata
            .finalizers
            .iter()
            .any(|f| f == JOB_TRACKING_FINALIZER)
        {
            pod.metadata
                .finalizers
                .push(JOB_TRACKING_FINALIZER.to_owned());
        }
    })
    .await?;
    let adopted: HashSet<String> = claimed
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .filter(|u| orphans.contains(u))
        .collect();
    let wait = sync::sync(&ctx, &job, claimed, &adopted, satisfied).await?;
    Ok(match wait {
        Some(d) => Action::requeue(d.max(Duration::from_millis(1))),
        None => Action::await_change(),
    })
}

impl Ctx {
    fn forget_backoff(&self, key: &ObjectRef) {
        let mut all = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
        all.remove(key);
    }
}
