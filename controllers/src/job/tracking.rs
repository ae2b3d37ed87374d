//! Counting finished pods exactly once and finishing the Job (Kubernetes'
//! `trackJobStatusAndRemoveFinalizers`).

use std::collections::HashSet;

use keel_core::Error;
use keel_core::api::{Job, JobStatus, Pod, phase};
use keel_core::client::Api;

use super::Ctx;
use super::pods::{self, completion_index, is_indexed, is_pod_failed};
use super::status::{self, COMPLETE, FAILED, FAILURE_TARGET, SUCCESS_CRITERIA_MET};
use super::sync::{State, count};

/// At most this many finished pods are moved through `uncountedTerminatedPods` per sync
/// (Kubernetes' `MaxUncountedPods`).
pub const MAX_UNCOUNTED_PODS: usize = 500;

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
pub(super) async fn track_and_finish(ctx: &Ctx, st: &mut State, cached: &Job) -> Result<(), Error> {
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
