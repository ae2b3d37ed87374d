//! PodTopologySpread: `DoNotSchedule` constraints keep the skew of matching pods across
//! topology domains within `maxSkew` (honouring `minDomains`); `ScheduleAnyway`
//! constraints prefer the domains with fewer matching pods.

use std::collections::HashMap;
use std::sync::Arc;

use keel_core::api::TopologySpreadConstraint;
use keel_core::labels::{LabelSelectorOperator, LabelSelectorRequirement, Selector};

use super::helper::tolerates;
use super::inter_pod_affinity::pods_for;
use super::node_affinity::matches_required;
use crate::framework::{
    CycleState, Filter, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreFilter, PreFilterExtensions,
    PreFilterResult, PreScore, Score, Snapshot, Status,
};

/// Reason: the node lacks a constraint's topology key.
pub const ERR_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
/// Reason: placing the pod here would exceed `maxSkew`.
pub const ERR_CONSTRAINTS: &str = "node(s) didn't match pod topology spread constraints";

const HOSTNAME: &str = "kubernetes.io/hostname";
/// The raw score of a node lacking a topology key.
const IGNORED: i64 = -1;

/// The PodTopologySpread plugin.
#[derive(Clone, Debug, Default)]
pub struct PodTopologySpread {
    /// Constraints applied to pods that have none of their own (Kubernetes' cluster
    /// `defaultConstraints` with `defaultingType: List`); empty by default. Their
    /// selector is the pod's own labels.
    pub default_constraints: Vec<TopologySpreadConstraint>,
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        "PodTopologySpread"
    }
}

/// A constraint, parsed.
#[derive(Clone, Debug)]
struct Constraint {
    max_skew: i64,
    key: String,
    min_domains: Option<i64>,
    selector: Selector,
    honor_affinity: bool,
    honor_taints: bool,
}

fn constraints(
    pod: &PodInfo,
    defaults: &[TopologySpreadConstraint],
    when: &str,
) -> Vec<Constraint> {
    let own = &pod.pod.spec.topology_spread_constraints;
    let (list, default_selector) = if own.is_empty() {
        (defaults, true)
    } else {
        (own.as_slice(), false)
    };
    list.iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| {
            let selector = if default_selector {
                Selector::from_labels(&pod.pod.metadata.labels)
            } else {
                let mut ls = c.label_selector.clone().unwrap_or_default();
                for key in &c.match_label_keys {
                    if let Some(v) = pod.pod.metadata.labels.get(key) {
                        ls.match_expressions.push(LabelSelectorRequirement {
                            key: key.clone(),
                            operator: LabelSelectorOperator::In,
                            values: vec![v.clone()],
                        });
                    }
                }
                if c.label_selector.is_none() {
                    Selector::nothing()
                } else {
                    ls.to_selector().unwrap_or_else(|_| Selector::nothing())
                }
            };
            Constraint {
                max_skew: i64::from(c.max_skew),
                key: c.topology_key.clone(),
                min_domains: c.min_domains.map(i64::from),
                selector,
                honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            }
        })
        .collect()
}

/// Whether `node` takes part in counting for `c` (node inclusion policies).
fn eligible(c: &Constraint, pod: &PodInfo, node: &NodeInfo) -> bool {
    if c.honor_affinity && !matches_required(pod, node) {
        return false;
    }
    if c.honor_taints {
        let tolerated = node
            .node()
            .spec
            .taints
            .iter()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .all(|t| pod.pod.spec.tolerations.iter().any(|tol| tolerates(tol, t)));
        if !tolerated {
            return false;
        }
    }
    true
}

/// Whether `other` counts for `c` (same namespace as the pod, not terminating, selected).
fn counts_toward(c: &Constraint, pod: &PodInfo, other: &PodInfo) -> bool {
    other.pod.metadata.namespace == pod.pod.metadata.namespace
        && other.pod.metadata.deletion_timestamp.is_none()
        && c.selector.matches(&other.pod.metadata.labels)
}

#[derive(Clone, Debug, Default)]
struct FilterState {
    constraints: Vec<Constraint>,
    /// Matching pods per (constraint index, domain value).
    counts: HashMap<(usize, String), i64>,
}

impl FilterState {
    fn min_match(&self, i: usize) -> i64 {
        let values: Vec<i64> = self
            .counts
            .iter()
            .filter(|((j, _), _)| *j == i)
            .map(|(_, n)| *n)
            .collect();
        let domains = i64::try_from(values.len()).unwrap_or(i64::MAX);
        if self.constraints[i].min_domains.is_some_and(|m| domains < m) {
            return 0;
        }
        values.into_iter().min().unwrap_or(0)
    }

    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        let ns = pod.pod.metadata.namespace.as_deref();
        if other.pod.metadata.namespace.as_deref() != ns {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.selector.matches(&other.pod.metadata.labels) || !eligible(c, pod, node) {
                continue;
            }
            if let Some(v) = node.node().metadata.labels.get(&c.key)
                && let Some(n) = self.counts.get_mut(&(i, v.clone()))
            {
                *n += delta;
            }
        }
    }
}

impl PreFilter for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let constraints = constraints(pod, &self.default_constraints, "DoNotSchedule");
        if constraints.is_empty() {
            return (None, Status::skip());
        }
        let mut counts = HashMap::new();
        for node in snapshot.nodes() {
            let labels = &node.node().metadata.labels;
            // Only nodes with every constraint's key count.
            if !constraints.iter().all(|c| labels.contains_key(&c.key)) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if eligible(c, pod, node) {
                    counts.entry((i, labels[&c.key].clone())).or_insert(0);
                }
            }
        }
        for (i, c) in constraints.iter().enumerate() {
            for (node, p) in pods_for(snapshot, &c.selector) {
                if !counts_toward(c, pod, p) {
                    continue;
                }
                let labels = &node.node().metadata.labels;
                if let Some(v) = labels.get(&c.key)
                    && constraints.iter().all(|c| labels.contains_key(&c.key))
                    && eligible(c, pod, node)
                    && let Some(n) = counts.get_mut(&(i, v.clone()))
                {
                    *n += 1;
                }
            }
        }
        state.write(FilterState {
            constraints,
            counts,
        });
        (None, Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for PodTopologySpread {
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &Arc<PodInfo>,
        node: &NodeInfo,
        _: &Snapshot,
    ) -> Status {
        if let Some(s) = state.read_mut::<FilterState>() {
            s.update(pod, added, node, 1);
        }
        Status::success()
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &Arc<PodInfo>,
        node: &NodeInfo,
        _: &Snapshot,
    ) -> Status {
        if let Some(s) = state.read_mut::<FilterState>() {
            s.update(pod, removed, node, -1);
        }
        Status::success()
    }
}

impl Filter for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>() else {
            return Status::success();
        };
        let labels = &node.node().metadata.labels;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = labels.get(&c.key) else {
                return Status::unresolvable(ERR_MISSING_LABEL);
            };
            let self_match = i64::from(c.selector.matches(&pod.pod.metadata.labels));
            let count = s.counts.get(&(i, value.clone())).copied().unwrap_or(0);
            if count + self_match - s.min_match(i) > c.max_skew {
                return Status::unschedulable(ERR_CONSTRAINTS);
            }
        }
        Status::success()
    }
}

#[derive(Clone, Debug, Default)]
struct ScoreState {
    constraints: Vec<Constraint>,
    /// Matching pods per (constraint index, domain value), for non-hostname keys.
    counts: HashMap<(usize, String), i64>,
    /// `ln(domains + 2)` per constraint.
    weights: Vec<f64>,
    /// Feasible nodes lacking a key: they score 0.
    ignored: std::collections::HashSet<String>,
    /// Matching pods per (constraint index, node name), for hostname keys.
    per_node: HashMap<(usize, String), i64>,
}

impl PreScore for PodTopologySpread {
    #[allow(clippy::cast_precision_loss)]
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Status {
        let constraints = constraints(pod, &self.default_constraints, "ScheduleAnyway");
        if constraints.is_empty() {
            return Status::skip();
        }
        let mut s = ScoreState {
            constraints,
            ..ScoreState::default()
        };
        let mut domains: Vec<std::collections::HashSet<String>> =
            vec![std::collections::HashSet::default(); s.constraints.len()];
        for node in nodes {
            let labels = &node.node().metadata.labels;
            if !s.constraints.iter().all(|c| labels.contains_key(&c.key)) {
                s.ignored.insert(node.name().to_owned());
                continue;
            }
            for (i, c) in s.constraints.iter().enumerate() {
                if c.key != HOSTNAME {
                    s.counts.entry((i, labels[&c.key].clone())).or_insert(0);
                }
                domains[i].insert(labels[&c.key].clone());
            }
        }
        for (i, c) in s.constraints.iter().enumerate() {
            for (node, p) in pods_for(snapshot, &c.selector) {
                if !counts_toward(c, pod, p) {
                    continue;
                }
                if c.key == HOSTNAME {
                    *s.per_node.entry((i, node.name().to_owned())).or_insert(0) += 1;
                    continue;
                }
                if eligible(c, pod, node)
                    && let Some(v) = node.node().metadata.labels.get(&c.key)
                    && let Some(n) = s.counts.get_mut(&(i, v.clone()))
                {
                    *n += 1;
                }
            }
        }
        s.weights = domains
            .iter()
            .map(|d| ((d.len() + 2) as f64).ln())
            .collect();
        state.write(s);
        Status::success()
    }
}

impl Score for PodTopologySpread {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<ScoreState>() else {
            return Ok(0);
        };
        if s.ignored.contains(node.name()) {
            // Marks the node for `normalize` (real raw scores are never negative).
            return Ok(IGNORED);
        }
        let labels = &node.node().metadata.labels;
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = labels.get(&c.key) else {
                continue;
            };
            let count = if c.key == HOSTNAME {
                s.per_node
                    .get(&(i, node.name().to_owned()))
                    .copied()
                    .unwrap_or(0)
            } else {
                s.counts.get(&(i, v.clone())).copied().unwrap_or(0)
            };
            score += count as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        Ok(score.round() as i64)
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        let counted = scores.iter().copied().filter(|s| *s != IGNORED);
        let (min, max) = counted.fold((i64::MAX, 0), |(lo, hi), s| (lo.min(s), hi.max(s)));
        for s in scores {
            *s = if *s == IGNORED {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
        Status::success()
    }
}
