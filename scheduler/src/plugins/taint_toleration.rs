//! TaintToleration: a node's `NoSchedule` / `NoExecute` taints must be tolerated; nodes
//! with fewer untolerated `PreferNoSchedule` taints score higher.

use keel_core::api::Toleration;

use super::helper::{default_normalize, tolerates, untolerated};
use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreFilter, PreFilterResult, PreScore, Score,
    Snapshot, Status,
};

/// The TaintToleration plugin.
#[derive(Debug, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }
}

impl PreFilter for TaintToleration {
    /// Skips the Filter when no node has a taint (it could reject none).
    fn pre_filter(
        &self,
        _: &mut CycleState,
        _: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        super::basic::skip_unless(snapshot.tainted_nodes() > 0)
    }
}

impl Filter for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.has_taints {
            untolerated_status(pod, node)
        } else {
            Status::success()
        }
    }
}

/// TaintToleration's verdict on a tainted node.
fn untolerated_status(pod: &PodInfo, node: &NodeInfo) -> Status {
    match untolerated(
        &node.node().spec.taints,
        &pod.pod.spec.tolerations,
        &["NoSchedule", "NoExecute"],
    ) {
        None => Status::success(),
        Some(t) => Status::unresolvable(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            t.key,
            t.value.as_deref().unwrap_or("")
        )),
    }
}

#[derive(Clone, Debug)]
struct PreferTolerations(Vec<Toleration>);

impl PreScore for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Status {
        // No tainted node: every node would score the same, so the ranking is unchanged
        // without this plugin.
        if snapshot.tainted_nodes() == 0 || !nodes.iter().any(|n| n.has_taints) {
            return Status::skip();
        }
        let tolerations = pod
            .pod
            .spec
            .tolerations
            .iter()
            .filter(|t| {
                t.effect
                    .as_deref()
                    .is_none_or(|e| e.is_empty() || e == "PreferNoSchedule")
            })
            .cloned()
            .collect();
        state.write(PreferTolerations(tolerations));
        Status::success()
    }
}

impl Score for TaintToleration {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        if !node.has_taints {
            return Ok(0);
        }
        let empty = PreferTolerations(Vec::new());
        let tolerations = state.read::<PreferTolerations>().unwrap_or(&empty);
        let count = node
            .node()
            .spec
            .taints
            .iter()
            .filter(|t| {
                t.effect == "PreferNoSchedule" && !tolerations.0.iter().any(|tol| tolerates(tol, t))
            })
            .count();
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        default_normalize(scores, true);
        Status::success()
    }
}
