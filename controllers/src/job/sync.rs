//! One sync of a Job (Kubernetes' `syncJob`): count finished pods once, decide whether
//! the Job failed or succeeded, create or delete pods, and track the status.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Job, JobCondition, JobStatus, Pod, phase};
use keel_core::meta::Time;

use super::backoff::{BackoffRecord, finished_time};
use super::indexes::Intervals;
use super::pods::{self, completion_index, has_tracking_finalizer, is_indexed, is_pod_failed};
use super::status::{
    self, FAILURE_TARGET, MESSAGE_BACKOFF_LIMIT_EXCEEDED, MESSAGE_COMPLETIONS_REACHED,
    MESSAGE_DEADLINE_EXCEEDED, REASON_BACKOFF_LIMIT_EXCEEDED, REASON_COMPLETIONS_REACHED,
    REASON_DEADLINE_EXCEEDED, SUCCESS_CRITERIA_MET, SUSPENDED,
};
use super::{Ctx, manage, tracking};
use crate::runtime::ObjectRef;
use crate::workload::is_pod_active;

pub(super) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// What one sync works with.
pub(super) struct State {
    /// The Job (its `status` taken out into `status`).
    pub(super) job: Job,
    pub(super) status: JobStatus,
    pub(super) key: ObjectRef,
    pub(super) pods: Vec<Arc<Pod>>,
    /// Pods treated as carrying the tracking finalizer: those that do, plus pods just
    /// adopted (Kubernetes adds the finalizer when adopting).
    pub(super) tracked: HashSet<String>,
    pub(super) active: Vec<Arc<Pod>>,
    pub(super) ready: i32,
    pub(super) terminating: i32,
    pub(super) uncounted_succeeded: HashSet<String>,
    pub(super) uncounted_failed: HashSet<String>,
    pub(super) expected_removals: HashSet<String>,
    pub(super) succeeded: i32,
    pub(super) prev_indexes: Intervals,
    pub(super) succeeded_indexes: Intervals,
    pub(super) finished: Option<JobCondition>,
    pub(super) backoff: BackoffRecord,
    pub(super) now: Time,
}

impl State {
    pub(super) fn tracked(&self, pod: &Pod) -> bool {
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        self.tracked.contains(uid) && !self.expected_removals.contains(uid)
    }

    pub(super) fn completions(&self) -> i32 {
        self.job.spec.completions.unwrap_or(0)
    }

    pub(super) fn valid_index(&self, pod: &Pod) -> bool {
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
            let (now_active, wait, err) = manage::manage(ctx, &mut st).await;
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
    tracking::track_and_finish(ctx, &mut st, cached).await?;
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
