//! One sync of a Job (Kubernetes' `syncJob`): count finished pods once, decide whether
//! the Job failed or succeeded, create or delete pods, and track the status.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Job, JobCondition, JobStatus, Pod, phase};
use keel_core::client::Api;
use keel_core::meta::Time;

use super::Ctx;
use super::backoff::{BackoffRecord, finished_time};
use super::indexes::Intervals;
use super::pods::{
    self, MAX_POD_CREATE_DELETE_PER_SYNC, completion_index, has_tracking_finalizer, is_indexed,
    is_pod_failed, only_replace_failed_pods,
};
use super::status::{
    self, COMPLETE, FAILED, FAILURE_TARGET, MESSAGE_BACKOFF_LIMIT_EXCEEDED,
    MESSAGE_COMPLETIONS_REACHED, MESSAGE_DEADLINE_EXCEEDED, REASON_BACKOFF_LIMIT_EXCEEDED,
    REASON_COMPLETIONS_REACHED, REASON_DEADLINE_EXCEEDED, SUCCESS_CRITERIA_MET, SUSPENDED,
};
use crate::runtime::ObjectRef;
use crate::workload::{is_pod_active, pods_to_delete};

/// At most this many finished pods are moved through `uncountedTerminatedPods` per sync
/// (Kubernetes' `MaxUncountedPods`).
pub const MAX_UNCOUNTED_PODS: usize = 500;

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// What one sync works with.
struct State {
    /// The Job (its `status` taken out into `status`).
    job: Job,
    status: JobStatus,
    key: ObjectRef,
    pods: Vec<Arc<Pod>>,
    /// Pods treated as carrying the tracking finalizer: those that do, plus pods just
    /// adopted (Kubernetes adds the finalizer when adopting).
    tracked: HashSet<String>,
    active: Vec<Arc<Pod>>,
    ready: i32,
    terminating: i32,
    uncounted_succeeded: HashSet<String>,
    uncounted_failed: HashSet<String>,
    expected_removals: HashSet<String>,
    succeeded: i32,
    prev_indexes: Intervals,
    succeeded_indexes: Intervals,
    finished: Option<JobCondition>,
    backoff: BackoffRecord,
    now: Time,
}

impl State {
    fn tracked(&self, pod: &Pod) -> bool {
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        self.tracked.contains(uid) && !self.expected_removals.contains(uid)
    }

    fn completions(&self) -> i32 {
        self.job.spec.completions.unwrap_or(0)
    }

    fn valid_index(&self, pod: &Pod) -> bool {
        !is_indexed(&self.job) || completion_index(pod).is_some_and(|i| i < self.completions())
    }
}

/// Syncs an unfinished Job. `pods` are the pods it claimed; `adopted` the uids of those
/// it adopted in this sync.
pub(super) async fn sync(
    ctx: &Ctx,
    cached: &Job,
    pods: Vec<Arc<Pod>>,
    adopted: &HashSet<String>,
    satisfied: bool,
) -> Result<Option<Duration>, Error> {
    let key = ObjectRef::from_obj(cached);
    let now = ctx.client.clock().now();
    let mut job = cached.clone();
    let mut status = job.status.take().unwrap_or_default();
    let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
    let tracked = pods
        .iter()
        .filter(|p| {
            has_tracking_finalizer(p) || adopted.contains(p.metadata.uid.as_deref().unwrap_or(""))
        })
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    let active: Vec<Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).cloned().collect();
    let mut st = State {
        ready: count(active.iter().filter(|p| p.is_ready()).count()),
        terminating: count(
            pods.iter()
                .filter(|p| p.metadata.deletion_timestamp.is_some() && !p.is_terminal())
                .count(),
        ),
        active,
        tracked,
        uncounted_succeeded: uncounted.succeeded.iter().cloned().collect(),
        uncounted_failed: uncounted.failed.iter().cloned().collect(),
        expected_removals: ctx.finalizers.expected(&key),
        succeeded: 0,
        prev_indexes: Intervals::default(),
        succeeded_indexes: Intervals::default(),
        finished: None,
        backoff: BackoffRecord::default(),
        now: now.clone(),
        key,
        pods,
        job: Job::default(),
        status: JobStatus::default(),
    };
    status
        .uncounted_terminated_pods
        .get_or_insert_with(Default::default);
    st.job = job;
    st.status = status;

    // Newly finished pods: tracked, not yet in uncountedTerminatedPods.
    let fresh =
        |st: &State, uncounted: &HashSet<String>, f: &dyn Fn(&Pod) -> bool| -> Vec<Arc<Pod>> {
            st.pods
                .iter()
                .filter(|p| {
                    st.tracked(p)
                        && !uncounted.contains(p.metadata.uid.as_deref().unwrap_or(""))
                        && st.valid_index(p)
                        && f(p)
                })
                .cloned()
                .collect()
        };
    let new_succeeded = fresh(&st, &st.uncounted_succeeded, &|p| {
        p.phase() == phase::SUCCEEDED
    });
    let new_failed = fresh(&st, &st.uncounted_failed, &|p| is_pod_failed(p, &st.job));
    st.succeeded = st.status.succeeded.unwrap_or(0)
        + count(new_succeeded.len())
        + count(st.uncounted_succeeded.len());
    let failed =
        st.status.failed.unwrap_or(0) + count(new_failed.len()) + count(st.uncounted_failed.len());

    let suspended = st.job.spec.suspend == Some(true);
    if st.status.start_time.is_none() && !suspended {
        st.status.start_time = Some(now.clone());
    }
    st.backoff = ctx.backoff_record(&st.key).after(
        new_succeeded.iter().map(|p| finished_time(p)).collect(),
        new_failed.iter().map(|p| finished_time(p)).collect(),
    );

    let mut requeue: Option<Duration> = None;
    let job = &st.job;
    st.finished = if let Some(c) =
        status::condition(cached, SUCCESS_CRITERIA_MET).filter(|c| c.status == "True")
    {
        Some(c.clone())
    } else if let Some(c) = status::condition(cached, FAILURE_TARGET).filter(|c| c.status == "True")
    {
        Some(c.clone())
    } else if failed > job.spec.backoff_limit.unwrap_or(6)
        || past_backoff_limit_on_failure(job, &st.pods)
    {
        Some(status::new_condition(
            FAILURE_TARGET,
            "True",
            REASON_BACKOFF_LIMIT_EXCEEDED,
            MESSAGE_BACKOFF_LIMIT_EXCEEDED,
            &now,
        ))
    } else if let Some(left) = deadline_left(job, st.status.start_time.as_ref(), &now) {
        if left.is_zero() {
            Some(status::new_condition(
                FAILURE_TARGET,
                "True",
                REASON_DEADLINE_EXCEEDED,
                MESSAGE_DEADLINE_EXCEEDED,
                &now,
            ))
        } else {
            requeue = Some(left);
            None
        }
    } else {
        None
    };

    if is_indexed(&st.job) {
        let completions = st.completions();
        st.prev_indexes = Intervals::parse(
            st.status.completed_indexes.as_deref().unwrap_or(""),
            completions,
        );
        let newly: Vec<i32> = st
            .pods
            .iter()
            .filter(|p| st.tracked(p) && p.phase() == phase::SUCCEEDED)
            .filter_map(|p| completion_index(p))
            .filter(|i| *i < completions)
            .collect();
        st.succeeded_indexes = st.prev_indexes.with(newly);
        st.succeeded = st.succeeded_indexes.total();
    }

    let mut error = None;
    let mut active = count(st.active.len());
    if st.finished.is_some() {
        // The Job is finishing: its active pods go (keeping their finalizers, so they
        // are counted as failed).
        let doomed = st.active.clone();
        let (ready, deleted, err) = pods::delete(ctx, &st.job, &st.key, &doomed, false).await;
        if deleted != active || !satisfied {
            st.finished = None;
        }
        active -= deleted;
        st.terminating += deleted;
        st.ready -= ready;
        error = err;
    } else {
        let mut managed = false;
        if satisfied && st.job.metadata.deletion_timestamp.is_none() {
            let (now_active, wait, err) = manage(ctx, &mut st).await;
            active = now_active;
            requeue = min_some(requeue, wait);
            error = err;
            managed = true;
        }
        let complete = match st.job.spec.completions {
            None => st.succeeded > 0 && active == 0,
            Some(c) => st.succeeded >= c && active == 0,
        };
        if complete {
            st.finished = Some(status::new_condition(
                SUCCESS_CRITERIA_MET,
                "True",
                REASON_COMPLETIONS_REACHED,
                MESSAGE_COMPLETIONS_REACHED,
                &now,
            ));
        } else if managed {
            update_suspended(ctx, &mut st).await;
        }
    }
    st.status.active = Some(active);
    st.status.ready = Some(st.ready);
    st.status.terminating = Some(st.terminating);
    track_and_finish(ctx, &mut st, cached).await?;
    match error {
        Some(e) => Err(e),
        None => Ok(requeue),
    }
}

fn min_some(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// With `restartPolicy: OnFailure` the node restarts failed containers in place: the
/// restarts of running and pending pods count toward `backoffLimit` (Kubernetes'
/// `pastBackoffLimitOnFailure`).
fn past_backoff_limit_on_failure(job: &Job, pods: &[Arc<Pod>]) -> bool {
    if job.spec.template.spec.restart_policy.as_deref() != Some("OnFailure") {
        return false;
    }
    let restarts: i64 = pods
        .iter()
        .filter(|p| matches!(p.phase(), phase::RUNNING | phase::PENDING))
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .chain(&s.container_statuses)
        })
        .map(|c| i64::from(c.restart_count))
        .sum();
    let limit = i64::from(job.spec.backoff_limit.unwrap_or(6));
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// Time left before `activeDeadlineSeconds` (zero once past it); `None` without a
/// deadline, without a start time, or while suspended.
fn deadline_left(job: &Job, start: Option<&Time>, now: &Time) -> Option<Duration> {
    let seconds = job.spec.active_deadline_seconds?;
    let start = start?;
    if job.spec.suspend == Some(true) {
        return None;
    }
    let allowed = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    Some(allowed.saturating_sub(now.duration_since(start)))
}

/// Creates or deletes pods toward the wanted number of active pods (Kubernetes'
/// `manageJob`). Returns the active count after it, how long to wait before creating
/// (pod-failure backoff), and the first error.
async fn manage(ctx: &Ctx, st: &mut State) -> (i32, Option<Duration>, Option<Error>) {
    let active = count(st.active.len());
    if st.job.spec.suspend == Some(true) {
        let doomed = st.active.clone();
        let (ready, deleted, err) = pods::delete(ctx, &st.job, &st.key, &doomed, true).await;
        st.terminating += deleted;
        st.ready -= ready;
        return (active - deleted, None, err);
    }
    let parallelism = st.job.spec.parallelism.unwrap_or(1).max(0);
    let want = match st.job.spec.completions {
        None if st.succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - st.succeeded).clamp(0, parallelism),
    };
    let mut doomed = surplus(st, usize::try_from(active - want).unwrap_or(0));
    doomed.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
    if !doomed.is_empty() {
        let (ready, deleted, err) = pods::delete(ctx, &st.job, &st.key, &doomed, true).await;
        st.terminating += deleted;
        st.ready -= ready;
        return (active - deleted, None, err);
    }
    let terminating = if only_replace_failed_pods(&st.job) {
        st.terminating
    } else {
        0
    };
    let diff = want - terminating - active;
    if diff <= 0 {
        return (active, None, None);
    }
    let wait = st.backoff.remaining(&st.now);
    if !wait.is_zero() {
        return (active, Some(wait), None);
    }
    let diff = usize::try_from(diff)
        .unwrap_or(0)
        .min(MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexes: Vec<Option<i32>> = if is_indexed(&st.job) {
        pending_indexes(st, diff).into_iter().map(Some).collect()
    } else {
        vec![None; diff]
    };
    let (created, err) = pods::create(ctx, &st.job, &st.key, &indexes).await;
    (active + count(created), None, err)
}

/// The active pods to delete: for `Indexed` Jobs first those with an invalid or
/// repeated index, then, least valuable first, enough to remove `at_least`.
fn surplus(st: &State, at_least: usize) -> Vec<Arc<Pod>> {
    let mut doomed = Vec::new();
    let mut left = Vec::new();
    if is_indexed(&st.job) {
        let mut by_index: BTreeMap<i32, Vec<Arc<Pod>>> = BTreeMap::new();
        for p in &st.active {
            match completion_index(p).filter(|i| *i < st.completions()) {
                Some(i) => by_index.entry(i).or_default().push(p.clone()),
                None => doomed.push(p.clone()),
            }
        }
        for (_, group) in by_index {
            // Keep the most valuable pod of a repeated index.
            let extra = group.len() - 1;
            let worst = pods_to_delete(&group, &group, extra);
            let kept = group
                .iter()
                .find(|p| !worst.iter().any(|w| w.metadata.uid == p.metadata.uid))
                .cloned();
            doomed.extend(worst);
            left.extend(kept);
        }
    } else {
        left.clone_from(&st.active);
    }
    if doomed.len() < at_least {
        let more = at_least - doomed.len();
        doomed.extend(pods_to_delete(&left, &left, more));
    }
    doomed
}

/// The lowest `n` indexes neither completed nor held by an active pod.
fn pending_indexes(st: &State, n: usize) -> Vec<i32> {
    let held: HashSet<i32> = st
        .active
        .iter()
        .filter_map(|p| completion_index(p))
        .collect();
    (0..st.completions())
        .filter(|i| !st.succeeded_indexes.has(*i) && !held.contains(i))
        .take(n)
        .collect()
}

/// The `Suspended` condition and the start time on suspend and resume.
async fn update_suspended(ctx: &Ctx, st: &mut State) {
    let now = st.now.clone();
    let conditions = &mut st.status.conditions;
    if st.job.spec.suspend == Some(true) {
        if status::ensure_condition(
            conditions,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            &now,
        ) {
            let _ = ctx
                .recorder
                .normal(&st.job, "Suspended", "Job suspended")
                .await;
        }
    } else if status::ensure_condition(
        conditions,
        SUSPENDED,
        "False",
        "JobResumed",
        "Job resumed",
        &now,
    ) {
        // activeDeadlineSeconds counts the time the Job is continuously active.
        st.status.start_time = Some(now);
        let _ = ctx.recorder.normal(&st.job, "Resumed", "Job resumed").await;
    }
}

/// Moves uids of `uncounted` whose pods no longer carry the finalizer into the counters.
fn count_uncounted(status: &mut JobStatus, with_finalizer: &HashSet<String>) {
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(Default::default);
    let before = uncounted.succeeded.len();
    uncounted.succeeded.retain(|u| with_finalizer.contains(u));
    let moved = count(before - uncounted.succeeded.len());
    if moved > 0 {
        status.succeeded = Some(status.succeeded.unwrap_or(0) + moved);
    }
    let before = uncounted.failed.len();
    uncounted.failed.retain(|u| with_finalizer.contains(u));
    let moved = count(before - uncounted.failed.len());
    if moved > 0 {
        status.failed = Some(status.failed.unwrap_or(0) + moved);
    }
}

/// Counts finished pods exactly once (Kubernetes' `trackJobStatusAndRemoveFinalizers`):
/// their uids are written to `uncountedTerminatedPods` first, then their tracking
/// finalizers are removed, then they move into `succeeded` / `failed`. A crash between
/// the steps loses nothing and counts nothing twice. Finally the `Complete` / `Failed`
/// condition is set once no pod is left uncounted or terminating.
async fn track_and_finish(ctx: &Ctx, st: &mut State, cached: &Job) -> Result<(), Error> {
    let indexed = is_indexed(&st.job);
    let mut with_finalizer: HashSet<String> = st
        .pods
        .iter()
        .filter(|p| st.tracked(p))
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    count_uncounted(&mut st.status, &with_finalizer);

    let mut to_untrack = Vec::new();
    let mut new_indexes = Vec::new();
    let failing = st
        .finished
        .as_ref()
        .is_some_and(|c| c.type_ == FAILURE_TARGET);
    let mut ordered = st.pods.clone();
    if indexed {
        ordered.sort_by_key(|p| completion_index(p).unwrap_or(i32::MAX));
    }
    let mut full = false;
    for pod in &ordered {
        if !st.tracked(pod) {
            continue;
        }
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let considered_failed = is_pod_failed(pod, &st.job);
        let removable = st.job.metadata.deletion_timestamp.is_some()
            || st.finished.is_some()
            || pod.phase() == phase::SUCCEEDED
            || considered_failed;
        if !removable {
            continue;
        }
        to_untrack.push(pod.clone());
        let completions = st.completions();
        let valid_index = st.valid_index(pod);
        let uncounted = st
            .status
            .uncounted_terminated_pods
            .get_or_insert_with(Default::default);
        if pod.phase() == phase::SUCCEEDED && !st.uncounted_failed.contains(&uid) {
            if indexed {
                if let Some(ix) = completion_index(pod).filter(|i| *i < completions)
                    && !st.prev_indexes.has(ix)
                {
                    new_indexes.push(ix);
                }
            } else if !st.uncounted_succeeded.contains(&uid) {
                uncounted.succeeded.push(uid);
            }
        } else if (considered_failed || failing)
            && !st.uncounted_failed.contains(&uid)
            && valid_index
        {
            uncounted.failed.push(uid);
        }
        if new_indexes.len() + uncounted.succeeded.len() + uncounted.failed.len()
            >= MAX_UNCOUNTED_PODS
        {
            full = true;
            break;
        }
    }
    if indexed {
        st.succeeded_indexes = st.succeeded_indexes.with(new_indexes);
        st.status.succeeded = Some(st.succeeded_indexes.total());
        st.status.completed_indexes = Some(st.succeeded_indexes.to_string());
    }
    // The interim condition is recorded before the pods' finalizers go; the final one
    // is prepared.
    if let Some(cond) = st.finished.clone()
        && (cond.type_ == FAILURE_TARGET || cond.type_ == SUCCESS_CRITERIA_MET)
    {
        if !st.status.conditions.iter().any(|c| c.type_ == cond.type_) {
            st.status.conditions.push(cond.clone());
        }
        let final_type = if cond.type_ == FAILURE_TARGET {
            FAILED
        } else {
            COMPLETE
        };
        st.finished = Some(status::new_condition(
            final_type,
            "True",
            cond.reason.as_deref().unwrap_or(""),
            cond.message.as_deref().unwrap_or(""),
            &st.now,
        ));
    }

    if Some(&st.status) != cached.status.as_ref() {
        (st.job, st.status) = status::write(&ctx.client, &st.job, &st.status).await?;
        ctx.wrote(&st.key, &st.job);
        ctx.set_backoff_record(&st.key, st.backoff.clone());
    }

    let mut error = None;
    if !to_untrack.is_empty() {
        let uids: Vec<String> = to_untrack
            .iter()
            .filter_map(|p| p.metadata.uid.clone())
            .collect();
        ctx.finalizers.expect(&st.key, &uids);
        let api: Api<Pod> =
            Api::namespaced(&ctx.client, st.job.metadata.namespace_str().unwrap_or(""));
        let removals = to_untrack
            .iter()
            .map(|p| pods::remove_tracking_finalizer(&api, p));
        let results = futures::future::join_all(removals).await;
        for (pod, r) in to_untrack.iter().zip(results) {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            match r {
                Ok(()) => {
                    with_finalizer.remove(&uid);
                }
                Err(e) => {
                    ctx.finalizers.observed(&st.key, &uid);
                    error.get_or_insert(e);
                }
            }
        }
    }
    let before = st.status.clone();
    count_uncounted(&mut st.status, &with_finalizer);

    let mut finished_now = None;
    let uncounted_left = st
        .status
        .uncounted_terminated_pods
        .as_ref()
        .is_some_and(|u| !u.succeeded.is_empty() || !u.failed.is_empty());
    if let Some(cond) = st.finished.clone()
        && !full
        && !uncounted_left
        && st.terminating == 0
        && error.is_none()
    {
        status::ensure_condition(
            &mut st.status.conditions,
            &cond.type_,
            "True",
            cond.reason.as_deref().unwrap_or(""),
            cond.message.as_deref().unwrap_or(""),
            &st.now,
        );
        if cond.type_ == COMPLETE {
            st.status.completion_time = Some(st.now.clone());
        }
        finished_now = Some(cond);
    }
    if st.status != before || finished_now.is_some() {
        (st.job, st.status) = status::write(&ctx.client, &st.job, &st.status).await?;
        ctx.wrote(&st.key, &st.job);
    }
    if let Some(cond) = finished_now {
        if cond.type_ == COMPLETE {
            if let Some(c) = st.job.spec.completions
                && st.status.succeeded.unwrap_or(0) > c
            {
                let _ = ctx
                    .recorder
                    .warning(
                        &st.job,
                        "TooManySucceededPods",
                        "Too many succeeded pods running after completion count reached",
                    )
                    .await;
            }
            let _ = ctx
                .recorder
                .normal(&st.job, "Completed", "Job completed")
                .await;
        } else {
            let _ = ctx
                .recorder
                .warning(
                    &st.job,
                    cond.reason.as_deref().unwrap_or(""),
                    cond.message.as_deref().unwrap_or(""),
                )
                .await;
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
