//! Creating and deleting a Job's pods toward the wanted number of active pods
//! (Kubernetes' `manageJob`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::Pod;

use super::Ctx;
use super::pods::{
    self, MAX_POD_CREATE_DELETE_PER_SYNC, completion_index, is_indexed, only_replace_failed_pods,
};
use super::sync::{State, count};
use crate::workload::pods_to_delete;

/// Creates or deletes pods toward the wanted number of active pods (Kubernetes'
/// `manageJob`). Returns the active count after it, how long to wait before creating
/// (pod-failure backoff), and the first error.
pub(super) async fn manage(ctx: &Ctx, st: &mut State) -> (i32, Option<Duration>, Option<Error>) {
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
