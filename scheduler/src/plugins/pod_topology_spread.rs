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

/// Where the constraints of pods without their own come from (Kubernetes'
/// `PodTopologySpreadArgs.defaultingType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultingType {
    /// Kubernetes' built-in defaults (the default): spread over hostnames with
    /// `maxSkew` 3 and over zones with `maxSkew` 5, both `ScheduleAnyway`.
    #[default]
    System,
    /// [`PodTopologySpread::default_constraints`].
    List,
}

/// The zone label of Kubernetes' system-default constraints.
pub const ZONE: &str = "topology.kubernetes.io/zone";

/// The PodTopologySpread plugin.
#[derive(Clone, Debug, Default)]
pub struct PodTopologySpread {
    /// Constraints for pods that have none of their own, with
    /// [`DefaultingType::List`] (ignored with `System`).
    pub default_constraints: Vec<TopologySpreadConstraint>,
    /// Where default constraints come from. Either way they apply only to pods that a
    /// Service, ReplicaSet or StatefulSet selects ([`Snapshot::default_selector`]),
    /// and count the pods that selector selects.
    pub defaulting_type: DefaultingType,
}

impl PodTopologySpread {
    /// With `constraints` as the cluster's default constraints (`defaultingType: List`).
    pub fn with_default_constraints(constraints: Vec<TopologySpreadConstraint>) -> Self {
        PodTopologySpread {
            default_constraints: constraints,
            defaulting_type: DefaultingType::List,
        }
    }

    /// The default constraints of pods without their own.
    fn defaults(&self) -> &[TopologySpreadConstraint] {
        static SYSTEM: std::sync::LazyLock<Vec<TopologySpreadConstraint>> =
            std::sync::LazyLock::new(|| {
                [(HOSTNAME, 3), (ZONE, 5)]
                    .into_iter()
                    .map(|(key, max_skew)| TopologySpreadConstraint {
                        max_skew,
                        topology_key: key.to_owned(),
                        when_unsatisfiable: "ScheduleAnyway".to_owned(),
                        ..TopologySpreadConstraint::default()
                    })
                    .collect()
            });
        match self.defaulting_type {
            DefaultingType::List => &self.default_constraints,
            DefaultingType::System => &SYSTEM,
        }
    }

    /// The pod's constraints of kind `when` (`DoNotSchedule` / `ScheduleAnyway`): its
    /// own, or the defaults when it has none — which then need a non-empty
    /// [`Snapshot::default_selector`] (Kubernetes' `buildDefaultConstraints`).
    fn constraints(&self, pod: &PodInfo, snapshot: &Snapshot, when: &str) -> Vec<Constraint> {
        if !pod.pod.spec.topology_spread_constraints.is_empty() {
            return own_constraints(pod, when);
        }
        let wanted = || (self.defaults().iter()).filter(|c| c.when_unsatisfiable == when);
        if wanted().next().is_none() {
            return Vec::new();
        }
        let selector = snapshot.default_selector(&pod.pod);
        if selector.is_empty() {
            return Vec::new();
        }
        wanted().map(|c| constraint(c, selector.clone())).collect()
    }

    /// Whether nodes lacking a constraint's key are left out of scoring (Kubernetes'
    /// `requireAllTopologies`): always, except for system-default constraints.
    fn require_all_topologies(&self, pod: &PodInfo) -> bool {
        !pod.pod.spec.topology_spread_constraints.is_empty()
            || self.defaulting_type != DefaultingType::System
    }
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

/// The pod's own constraints of kind `when`, with `matchLabelKeys` folded into their
/// selectors.
fn own_constraints(pod: &PodInfo, when: &str) -> Vec<Constraint> {
    pod.pod
        .spec
        .topology_spread_constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| {
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
            let selector = if c.label_selector.is_none() {
                Selector::nothing()
            } else {
                ls.to_selector().unwrap_or_else(|_| Selector::nothing())
            };
            constraint(c, selector)
        })
        .collect()
}

fn constraint(c: &TopologySpreadConstraint, selector: Selector) -> Constraint {
    Constraint {
        max_skew: i64::from(c.max_skew),
        key: c.topology_key.clone(),
        min_domains: c.min_domains.map(i64::from),
        selector,
        honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
        honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
    }
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
        let constraints = self.constraints(pod, snapshot, "DoNotSchedule");
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
        let constraints = self.constraints(pod, snapshot, "ScheduleAnyway");
        if constraints.is_empty() {
            return Status::skip();
        }
        let require_all = self.require_all_topologies(pod);
        let mut s = ScoreState {
            constraints,
            ..ScoreState::default()
        };
        let has_all = |labels: &std::collections::BTreeMap<String, String>, s: &ScoreState| {
            s.constraints.iter().all(|c| labels.contains_key(&c.key))
        };
        // Distinct domains per constraint (a missing label is the domain "", as in
        // Kubernetes); hostname constraints count the nodes scored instead.
        let mut domains: Vec<std::collections::HashSet<String>> =
            vec![std::collections::HashSet::default(); s.constraints.len()];
        for node in nodes {
            let labels = &node.node().metadata.labels;
            if require_all && !has_all(labels, &s) {
                s.ignored.insert(node.name().to_owned());
                continue;
            }
            for (i, c) in s.constraints.iter().enumerate() {
                if c.key != HOSTNAME {
                    let value = labels.get(&c.key).cloned().unwrap_or_default();
                    s.counts.entry((i, value.clone())).or_insert(0);
                    domains[i].insert(value);
                }
            }
        }
        let scored = nodes.len() - s.ignored.len();
        for (i, c) in s.constraints.iter().enumerate() {
            if c.key == HOSTNAME {
                // Per-node counts, read by Score for the nodes it scores.
                for (node, p) in pods_for(snapshot, &c.selector) {
                    if counts_toward(c, pod, p) {
                        *s.per_node.entry((i, node.name().to_owned())).or_insert(0) += 1;
                    }
                }
                continue;
            }
            for (node, p) in pods_for(snapshot, &c.selector) {
                let labels = &node.node().metadata.labels;
                if !counts_toward(c, pod, p)
                    || (require_all && !has_all(labels, &s))
                    || !eligible(c, pod, node)
                {
                    continue;
                }
                let value = labels.get(&c.key).map_or("", String::as_str);
                if let Some(n) = s.counts.get_mut(&(i, value.to_owned())) {
                    *n += 1;
                }
            }
        }
        s.weights = s
            .constraints
            .iter()
            .zip(&domains)
            .map(|(c, d)| {
                let size = if c.key == HOSTNAME { scored } else { d.len() };
                ((size + 2) as f64).ln()
            })
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
