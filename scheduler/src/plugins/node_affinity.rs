//! NodeAffinity: `spec.nodeSelector` and required node affinity must match the node;
//! preferred terms add their weights to its score.

use std::collections::BTreeSet;

use keel_core::api::{NodeSelectorTerm, PreferredSchedulingTerm};

use super::helper::{default_normalize, term_matches};
use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreFilter, PreFilterResult, PreScore, Score,
    Snapshot, Status,
};

/// Reason of a node selector or required affinity mismatch.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";

/// The NodeAffinity plugin.
#[derive(Debug, Default)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }
}

fn required(pod: &PodInfo) -> Option<&[NodeSelectorTerm]> {
    pod.pod
        .spec
        .affinity
        .as_deref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .map(|s| s.node_selector_terms.as_slice())
}

fn preferred(pod: &PodInfo) -> &[PreferredSchedulingTerm] {
    pod.pod
        .spec
        .affinity
        .as_deref()
        .and_then(|a| a.node_affinity.as_ref())
        .map_or(&[], |n| {
            n.preferred_during_scheduling_ignored_during_execution
                .as_slice()
        })
}

/// Whether `node` satisfies the pod's node selector and required node affinity.
pub fn matches_required(pod: &PodInfo, node: &NodeInfo) -> bool {
    let labels = &node.node().metadata.labels;
    if !pod
        .pod
        .spec
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    required(pod).is_none_or(|terms| terms.iter().any(|t| term_matches(t, node)))
}

impl PreFilter for NodeAffinity {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let Some(terms) = required(pod) else {
            if pod.pod.spec.node_selector.is_empty() {
                return (None, Status::skip());
            }
            return (None, Status::success());
        };
        // Terms that only pin `metadata.name In [...]` narrow the node set up front.
        let mut names: Option<BTreeSet<String>> = Some(BTreeSet::new());
        for t in terms {
            let pinned = t.match_expressions.is_empty()
                && t.match_fields.len() == 1
                && t.match_fields[0].key == "metadata.name"
                && t.match_fields[0].operator == "In";
            match (&mut names, pinned) {
                (Some(set), true) => set.extend(t.match_fields[0].values.iter().cloned()),
                _ => names = None,
            }
        }
        if names.as_ref().is_some_and(BTreeSet::is_empty) {
            return (None, Status::unresolvable(ERR_REASON_POD));
        }
        (
            Some(PreFilterResult { node_names: names }),
            Status::success(),
        )
    }
}

impl Filter for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if matches_required(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD)
        }
    }
}

impl PreScore for NodeAffinity {
    fn pre_score(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[&NodeInfo],
    ) -> Status {
        if preferred(pod).is_empty() {
            Status::skip()
        } else {
            Status::success()
        }
    }
}

impl Score for NodeAffinity {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(preferred(pod)
            .iter()
            .filter(|p| p.weight != 0 && term_matches(&p.preference, node))
            .map(|p| i64::from(p.weight))
            .sum())
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        default_normalize(scores, false);
        Status::success()
    }
}
