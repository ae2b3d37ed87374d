//! One trait per extension point of kube-scheduler's scheduling framework. A plugin is
//! a type implementing [`Plugin`] and any of these; a [`Profile`](super::Profile) lists
//! which plugin runs at which point. Everything but binding is synchronous CPU code.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use keel_core::api::Pod;

use super::cycle_state::CycleState;
use super::node_info::NodeInfo;
use super::pod_info::PodInfo;
use super::snapshot::Snapshot;
use super::status::Status;

/// The highest score a Score plugin gives a node (after normalisation).
pub const MAX_NODE_SCORE: i64 = 100;
/// The lowest score.
pub const MIN_NODE_SCORE: i64 = 0;

/// Every plugin has a name, used in statuses, events and configuration. Plugins are
/// [`Any`](std::any::Any), so a plugin may recognise another (see [`Score::fuse`]).
pub trait Plugin: std::any::Any + Send + Sync {
    /// The plugin's name, e.g. `NodeResourcesFit`.
    fn name(&self) -> &'static str;
}

/// A pod queued for scheduling, as the queue sorts it.
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    /// The pod.
    pub pod: Arc<Pod>,
    /// When it was (last) added to the active queue, in queue ticks (a monotonic count).
    pub timestamp: u64,
    /// How many times it was tried.
    pub attempts: u32,
}

/// Gates a pod before it enters the active queue (e.g. scheduling gates).
pub trait PreEnqueue: Plugin {
    /// Success lets the pod in; anything else keeps it waiting.
    fn pre_enqueue(&self, pod: &Pod) -> Status;
}

/// Orders the active queue.
pub trait QueueSort: Plugin {
    /// Whether `a` goes before `b`.
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool;
}

/// What PreFilter plugins may narrow the node set to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// Only these nodes can fit (`None`: all nodes).
    pub node_names: Option<BTreeSet<String>>,
}

impl PreFilterResult {
    /// Intersects two results.
    #[must_use]
    pub fn merge(self, other: PreFilterResult) -> PreFilterResult {
        match (self.node_names, other.node_names) {
            (None, x) | (x, None) => PreFilterResult { node_names: x },
            (Some(a), Some(b)) => PreFilterResult {
                node_names: Some(a.intersection(&b).cloned().collect()),
            },
        }
    }
}

/// Runs once per cycle before filtering: computes state, may reject the pod outright,
/// narrow the nodes, or return [`Status::skip`] to skip its Filter.
pub trait PreFilter: Plugin {
    /// The pre-filter step.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status);

    /// How to update the pre-filter state when preemption simulates adding or removing
    /// pods; `None` if the state does not depend on other pods.
    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        None
    }
}

/// Updates a PreFilter plugin's cycle state for pods added or removed in a what-if.
pub trait PreFilterExtensions: Send + Sync {
    /// `added` is now on `node`.
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &Arc<PodInfo>,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status;
    /// `removed` is no longer on `node`.
    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &Arc<PodInfo>,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status;
}

/// Decides whether the pod can run on one node.
pub trait Filter: Plugin {
    /// Success if it can; the reasons if not.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;

    /// Filters a round of nodes at once: keeps in `nodes`, in order, those that pass
    /// and appends each rejected node with its status to `rejected`. The framework
    /// calls this once per round of candidate nodes; the default calls
    /// [`filter`](Self::filter) per node ([`filter_each`]). Override it to hoist
    /// per-pod work out of the per-node loop — the outcome must equal the default's.
    fn filter_nodes<'n>(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &mut Vec<&'n NodeInfo>,
        rejected: &mut Vec<(&'n NodeInfo, Status)>,
    ) {
        filter_each(state, pod, nodes, rejected, |state, pod, node| {
            self.filter(state, pod, node)
        });
    }
}

/// [`Filter::filter_nodes`] by a per-node `filter`: keeps the nodes it passes and
/// moves the others, with its status, to `rejected`.
pub fn filter_each<'n>(
    state: &CycleState,
    pod: &PodInfo,
    nodes: &mut Vec<&'n NodeInfo>,
    rejected: &mut Vec<(&'n NodeInfo, Status)>,
    mut filter: impl FnMut(&CycleState, &PodInfo, &NodeInfo) -> Status,
) {
    nodes.retain(|node| {
        let status = filter(state, pod, node);
        if status.is_success() {
            true
        } else {
            rejected.push((node, status));
            false
        }
    });
}

/// What a PostFilter plugin proposes when no node fits: a node to nominate and the pods
/// to evict there.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    /// The node the pod should go to once the victims are gone.
    pub nominated_node: Option<String>,
    /// The pods to evict.
    pub victims: Vec<Arc<Pod>>,
}

/// Runs when no node fits (preemption).
pub trait PostFilter: Plugin {
    /// `statuses` holds each node's rejection.
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &std::collections::BTreeMap<String, Status>,
        filters: &super::runtime::Framework,
    ) -> (Option<PostFilterResult>, Status);
}

/// Runs once before scoring the feasible nodes; [`Status::skip`] skips its Score.
pub trait PreScore: Plugin {
    /// The pre-score step.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Status;
}

/// Ranks feasible nodes.
pub trait Score: Plugin {
    /// The node's raw score.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;

    /// Scores every node of `nodes` into `scores` (same length and order). The
    /// framework calls this once per cycle; the default calls [`score`](Self::score)
    /// per node. Override it to hoist per-pod work (reading the cycle state, resolving
    /// configuration) out of the per-node loop — the result must equal the default's.
    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Result<(), Status> {
        for (slot, node) in scores.iter_mut().zip(nodes) {
            *slot = self.score(state, pod, node)?;
        }
        Ok(())
    }

    /// Maps the raw scores (one per feasible node, in order) into
    /// [`MIN_NODE_SCORE`]..=[`MAX_NODE_SCORE`]; the default leaves them.
    fn normalize(&self, state: &CycleState, pod: &PodInfo, scores: &mut [i64]) -> Status {
        let _ = (state, pod, scores);
        Status::success()
    }

    /// A scorer doing this plugin's scoring (weighted by `weight`) and `next`'s
    /// (weighted by `next_weight`) in one pass over the nodes — for plugins that read
    /// the same node data and can share the work. The framework asks once, when it is
    /// built, for each pair of neighbouring Score plugins of the profile; going through
    /// the profile in order, a plugin that scores fused with its neighbour leaves the
    /// neighbour out of the next pair. The fused scorer runs in every cycle where
    /// neither plugin's Score is skipped (by a PreScore of the same name). What it adds
    /// to the totals must equal what the two plugins' [`score_nodes`](Self::score_nodes),
    /// [`normalize`](Self::normalize) and weights add. `next` can be recognised by
    /// downcasting (`let any: &dyn Any = next;`). The default fuses nothing.
    fn fuse(&self, weight: i64, next: &dyn Score, next_weight: i64) -> Option<Box<dyn FusedScore>> {
        let _ = (weight, next, next_weight);
        None
    }
}

/// Two neighbouring Score plugins' scoring in one pass: see [`Score::fuse`].
pub trait FusedScore: Send + Sync {
    /// Adds the plugins' weighted, normalised scores of `nodes` to `totals` (same length
    /// and order).
    fn score_into(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        totals: &mut [i64],
    ) -> Result<(), Status>;
}

/// [`Score::score`] of one node through the plugin's [`Score::score_nodes`] — for
/// plugins whose batched form is the primary one.
pub fn score_one(
    plugin: &(impl Score + ?Sized),
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Result<i64, Status> {
    let mut score = [0];
    plugin.score_nodes(state, pod, &[node], &mut score)?;
    Ok(score[0])
}

/// Reserves resources on the chosen node for the pod (and releases them on failure).
pub trait Reserve: Plugin {
    /// Reserve; a failure aborts the cycle and every Reserve plugin's `unreserve` runs.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    /// Undo `reserve`; must be idempotent.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// Approves, rejects or delays a placement (delaying is how gangs wait for each other).
pub trait Permit: Plugin {
    /// Success, a rejection, or [`Status::wait`] with the longest wait. `waiting` holds
    /// the pods already waiting (a plugin may allow or reject them).
    fn permit(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &str,
        waiting: &super::WaitingPods,
    ) -> (Status, Duration);
}

/// Runs before binding (e.g. to provision volumes); asynchronous.
#[async_trait::async_trait]
pub trait PreBind: Plugin {
    /// Success lets binding go on.
    async fn pre_bind(&self, state: &CycleState, pod: &Pod, node: &str) -> Status;
}

/// Binds the pod to the node; asynchronous. [`Status::skip`] passes to the next binder.
#[async_trait::async_trait]
pub trait Bind: Plugin {
    /// Bind.
    async fn bind(&self, state: &CycleState, pod: &Pod, node: &str) -> Status;
}

/// Told about a successful binding.
pub trait PostBind: Plugin {
    /// Informational.
    fn post_bind(&self, state: &CycleState, pod: &Pod, node: &str);
}
