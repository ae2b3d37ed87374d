//! [`Algorithm`]: swapping the whole scheduling algorithm. Instead of one pod per cycle
//! through filter-and-score, an algorithm gets every pending pod at once with the
//! snapshot and returns a placement for each — the shape of flow-based (Firmament,
//! Quincy), gang, or learned schedulers.
//!
//! To plug in your own: implement [`Algorithm::schedule_batch`] (pure: read the pods
//! and the snapshot, return one decision per pod, never more than the nodes hold —
//! [`PodInfo::requests`] and [`NodeInfo`](crate::framework::NodeInfo) give you the
//! arithmetic), then start the scheduler with
//! `Scheduler::builder(&client).algorithm(Arc::new(Mine)).build().start()`. The
//! scheduler feeds it batches from its queue, assumes and binds what it places, and
//! retries the rest on cluster changes, exactly as for the per-pod framework. To
//! measure it, call `schedule_batch` directly on a synthetic [`Snapshot`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::framework::{CycleState, Framework, PodInfo, Snapshot};
use crate::plugins::pod_group;

/// One algorithm's decision for each pod of a batch.
pub trait Algorithm: Send + Sync {
    /// The algorithm's name, for events and logs.
    fn name(&self) -> &str;

    /// For each pod, in order: the node to bind it to, or why it was not placed.
    fn schedule_batch(
        &self,
        pods: &[Arc<PodInfo>],
        snapshot: &Snapshot,
    ) -> Vec<Result<String, String>>;
}

/// The per-pod framework as a batch algorithm: each pod in order through
/// [`Framework::schedule_pod`], each placement counted before the next.
#[derive(Debug)]
pub struct PerPod {
    framework: Framework,
}

impl PerPod {
    /// Runs `framework` pod by pod.
    pub fn new(framework: Framework) -> PerPod {
        PerPod { framework }
    }
}

impl Algorithm for PerPod {
    fn name(&self) -> &'static str {
        "per-pod"
    }

    fn schedule_batch(
        &self,
        pods: &[Arc<PodInfo>],
        snapshot: &Snapshot,
    ) -> Vec<Result<String, String>> {
        let mut work = snapshot.clone();
        pods.iter()
            .map(|p| {
                let r = self
                    .framework
                    .schedule_pod(&mut CycleState::new(), p, &work)
                    .map_err(|e| e.to_string())?;
                work.assume(p.clone(), &r.suggested_host);
                Ok(r.suggested_host)
            })
            .collect()
    }
}

/// A pod group (name and minimum size; `None` for a pod on its own) and the indexes of
/// its members in the batch.
type Group = (Option<(String, usize)>, Vec<usize>);

/// Gang scheduling as a batch algorithm: the pods of a group (see
/// [`POD_GROUP_LABEL`](crate::plugins::POD_GROUP_LABEL)) are placed all together — if
/// at least `min-available` of them fit at once — or not at all; other pods are placed
/// one by one. Placement inside a group uses the framework's filters and scores.
#[derive(Debug)]
pub struct Gang {
    framework: Framework,
}

impl Gang {
    /// Gangs placed with `framework`'s plugins.
    pub fn new(framework: Framework) -> Gang {
        Gang { framework }
    }
}

impl Algorithm for Gang {
    fn name(&self) -> &'static str {
        "gang"
    }

    fn schedule_batch(
        &self,
        pods: &[Arc<PodInfo>],
        snapshot: &Snapshot,
    ) -> Vec<Result<String, String>> {
        let mut work = snapshot.clone();
        let mut out: Vec<Result<String, String>> = vec![Err(String::new()); pods.len()];
        // Groups in order of their first member; pods without a group are their own.
        let mut groups: BTreeMap<usize, Group> = BTreeMap::new();
        let mut first: BTreeMap<String, usize> = BTreeMap::new();
        for (i, p) in pods.iter().enumerate() {
            match pod_group(&p.pod) {
                Some((g, min)) => {
                    let at = *first.entry(g.clone()).or_insert(i);
                    groups
                        .entry(at)
                        .or_insert_with(|| (Some((g, min)), Vec::new()))
                        .1
                        .push(i);
                }
                None => {
                    groups.insert(i, (None, vec![i]));
                }
            }
        }
        for (group, members) in groups.into_values() {
            let bound = group.as_ref().map_or(0, |(g, _)| {
                snapshot
                    .nodes()
                    .iter()
                    .flat_map(|n| &n.pods)
                    .filter(|p| pod_group(&p.pod).is_some_and(|(h, _)| &h == g))
                    .count()
            });
            let mut placed = Vec::new();
            let mut failure = None;
            for &i in &members {
                match self
                    .framework
                    .schedule_pod(&mut CycleState::new(), &pods[i], &work)
                {
                    Ok(r) => {
                        work.assume(pods[i].clone(), &r.suggested_host);
                        placed.push((i, r.suggested_host));
                    }
                    Err(e) => {
                        out[i] = Err(e.to_string());
                        failure.get_or_insert(e.to_string());
                    }
                }
            }
            let enough = match &group {
                None => true,
                Some((_, min)) => bound + placed.len() >= *min,
            };
            if enough {
                for (i, node) in placed {
                    out[i] = Ok(node);
                }
            } else {
                let (g, min) = group.unwrap_or_default();
                let why = format!(
                    "pod group {g}: {} of {min} members fit{}",
                    bound + placed.len(),
                    failure.map(|f| format!(" ({f})")).unwrap_or_default()
                );
                for (i, _) in &placed {
                    let p = &pods[*i].pod;
                    work.remove_pod(
                        p.metadata.namespace.as_deref().unwrap_or(""),
                        p.metadata.name.as_deref().unwrap_or(""),
                    );
                }
                for &i in &members {
                    out[i] = Err(why.clone());
                }
            }
        }
        out
    }
}
