//! InterPodAffinity: required pod affinity and anti-affinity (the pod's own terms, and
//! existing pods' anti-affinity towards it) filter nodes by topology domain; preferred
//! terms — both ways — score them.

use std::collections::HashMap;
use std::sync::Arc;

use crate::framework::{
    AffinityTerm, CycleState, Filter, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreFilter,
    PreFilterExtensions, PreFilterResult, PreScore, Score, Snapshot, Status,
};

/// Reason: an existing pod's anti-affinity rejects the pod here.
pub const ERR_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// Reason: the pod's anti-affinity rejects this node.
pub const ERR_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// Reason: the pod's affinity is not satisfied here.
pub const ERR_AFFINITY: &str = "node(s) didn't match pod affinity rules";

/// The InterPodAffinity plugin.
#[derive(Clone, Debug)]
pub struct InterPodAffinity {
    /// The score an existing pod's *required* affinity towards the incoming pod adds
    /// (Kubernetes' `hardPodAffinityWeight`, default 1).
    pub hard_pod_affinity_weight: i64,
}

impl Default for InterPodAffinity {
    fn default() -> Self {
        InterPodAffinity {
            hard_pod_affinity_weight: 1,
        }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        "InterPodAffinity"
    }
}

/// Counts per topology domain (`key` → `value` → count), looked up without allocating.
#[derive(Clone, Debug, Default)]
struct Counts(HashMap<String, HashMap<String, i64>>);

impl Counts {
    fn add(&mut self, (key, value): (&str, &str), delta: i64) {
        let by_value = match self.0.get_mut(key) {
            Some(m) => m,
            None => self.0.entry(key.to_owned()).or_default(),
        };
        match by_value.get_mut(value) {
            Some(n) => *n += delta,
            None => {
                by_value.insert(value.to_owned(), delta);
            }
        }
    }

    fn get(&self, key: &str, value: &str) -> i64 {
        self.0
            .get(key)
            .and_then(|m| m.get(value))
            .copied()
            .unwrap_or(0)
    }

    fn values(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.values().flat_map(|m| m.values().copied())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The sum over the node's labels.
    fn on_node(&self, node: &NodeInfo) -> i64 {
        node.node()
            .metadata
            .labels
            .iter()
            .map(|(k, v)| self.get(k, v))
            .sum()
    }
}

#[derive(Clone, Debug, Default)]
struct FilterState {
    /// Domains where existing pods' anti-affinity matches the incoming pod.
    existing_anti: Counts,
    /// Per domain, pods matching all of the incoming pod's affinity terms.
    affinity: Counts,
    /// Per domain, pods matching one of the incoming pod's anti-affinity terms.
    anti: Counts,
    /// Whether the incoming pod matches all its own affinity terms.
    selects_itself: bool,
}

fn ns_labels<'a>(
    snapshot: &'a Snapshot,
    pod: &PodInfo,
) -> Option<&'a std::collections::BTreeMap<String, String>> {
    snapshot.namespace_labels(pod.pod.metadata.namespace.as_deref().unwrap_or(""))
}

fn domain<'n>(node: &'n NodeInfo, key: &str) -> Option<(&'n str, &'n str)> {
    node.node()
        .metadata
        .labels
        .get_key_value(key)
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// What an existing pod's required anti-affinity towards the incoming pod adds.
fn count_existing_anti(
    state: &mut FilterState,
    pod: &PodInfo,
    existing: &PodInfo,
    node: &NodeInfo,
    snapshot: &Snapshot,
    delta: i64,
) {
    let incoming_ns = ns_labels(snapshot, pod);
    for term in &existing.required_anti_affinity {
        if term.matches(&pod.pod, incoming_ns)
            && let Some(d) = domain(node, &term.topology_key)
        {
            state.existing_anti.add(d, delta);
        }
    }
}

/// What `existing` adds to the incoming pod's affinity (if it matches every term).
fn count_affinity(
    state: &mut FilterState,
    pod: &PodInfo,
    existing: &PodInfo,
    node: &NodeInfo,
    snapshot: &Snapshot,
    delta: i64,
) {
    let existing_ns = ns_labels(snapshot, existing);
    if !pod.required_affinity.is_empty()
        && pod
            .required_affinity
            .iter()
            .all(|t| t.matches(&existing.pod, existing_ns))
    {
        for t in &pod.required_affinity {
            if let Some(d) = domain(node, &t.topology_key) {
                state.affinity.add(d, delta);
            }
        }
    }
}

/// What `existing` adds to the incoming pod's anti-affinity term `t`.
fn count_anti(
    state: &mut FilterState,
    t: &AffinityTerm,
    existing: &PodInfo,
    node: &NodeInfo,
    snapshot: &Snapshot,
    delta: i64,
) {
    if t.matches(&existing.pod, ns_labels(snapshot, existing))
        && let Some(d) = domain(node, &t.topology_key)
    {
        state.anti.add(d, delta);
    }
}

/// Adds (`delta` = 1) or removes (-1) everything `existing` on `node` contributes.
fn count(
    state: &mut FilterState,
    pod: &PodInfo,
    existing: &PodInfo,
    node: &NodeInfo,
    snapshot: &Snapshot,
    delta: i64,
) {
    count_existing_anti(state, pod, existing, node, snapshot, delta);
    count_affinity(state, pod, existing, node, snapshot, delta);
    for t in &pod.required_anti_affinity {
        count_anti(state, t, existing, node, snapshot, delta);
    }
}

/// The placed pods that may match `selector` (narrowed by the snapshot's label index
/// when it can), with their nodes.
pub(crate) fn pods_for<'s>(
    snapshot: &'s Snapshot,
    selector: &keel_core::labels::Selector,
) -> Vec<(&'s NodeInfo, &'s Arc<PodInfo>)> {
    snapshot.candidates(selector).unwrap_or_else(|| {
        snapshot
            .nodes()
            .iter()
            .flat_map(|n| n.pods.iter().map(move |p| (n, p)))
            .collect()
    })
}

impl PreFilter for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let own_terms =
            !(pod.required_affinity.is_empty() && pod.required_anti_affinity.is_empty());
        if !own_terms && !snapshot.has_affinity_pods() {
            return (None, Status::skip());
        }
        let own_ns = ns_labels(snapshot, pod);
        let mut s = FilterState {
            selects_itself: pod
                .required_affinity
                .iter()
                .all(|t| t.matches(&pod.pod, own_ns)),
            ..FilterState::default()
        };
        for (node, existing) in snapshot.anti_affinity_candidates(&pod.pod.metadata.labels) {
            count_existing_anti(&mut s, pod, existing, node, snapshot, 1);
        }
        if let Some(first) = pod.required_affinity.first() {
            for (node, existing) in pods_for(snapshot, &first.selector) {
                count_affinity(&mut s, pod, existing, node, snapshot, 1);
            }
        }
        for t in &pod.required_anti_affinity {
            for (node, existing) in pods_for(snapshot, &t.selector) {
                count_anti(&mut s, t, existing, node, snapshot, 1);
            }
        }
        state.write(s);
        (None, Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for InterPodAffinity {
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &Arc<PodInfo>,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        if let Some(s) = state.read_mut::<FilterState>() {
            count(s, pod, added, node, snapshot, 1);
        }
        Status::success()
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &Arc<PodInfo>,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        if let Some(s) = state.read_mut::<FilterState>() {
            count(s, pod, removed, node, snapshot, -1);
        }
        Status::success()
    }
}

fn positive(counts: &Counts, key: &str, node: &NodeInfo) -> bool {
    domain(node, key).is_some_and(|(k, v)| counts.get(k, v) > 0)
}

impl Filter for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>() else {
            return Status::success();
        };
        if !s.existing_anti.is_empty()
            && node
                .node()
                .metadata
                .labels
                .iter()
                .any(|(k, v)| s.existing_anti.get(k, v) > 0)
        {
            return Status::unschedulable(ERR_EXISTING_ANTI_AFFINITY);
        }
        if pod
            .required_anti_affinity
            .iter()
            .any(|t| positive(&s.anti, &t.topology_key, node))
        {
            return Status::unschedulable(ERR_ANTI_AFFINITY);
        }
        if !pod.required_affinity.is_empty()
            && !pod
                .required_affinity
                .iter()
                .all(|t| positive(&s.affinity, &t.topology_key, node))
        {
            // The first pod of a group that selects itself may go anywhere the topology
            // keys exist.
            let none_anywhere = s.affinity.values().all(|c| c <= 0);
            let keys_present = pod
                .required_affinity
                .iter()
                .all(|t| domain(node, &t.topology_key).is_some());
            if !(none_anywhere && s.selects_itself && keys_present) {
                return Status::unresolvable(ERR_AFFINITY);
            }
        }
        Status::success()
    }
}

#[derive(Clone, Debug, Default)]
struct ScoreState {
    topology_score: Counts,
}

fn add_terms(
    scores: &mut Counts,
    terms: &[(&AffinityTerm, i64)],
    target: &PodInfo,
    target_ns: Option<&std::collections::BTreeMap<String, String>>,
    node: &NodeInfo,
) {
    for (term, weight) in terms {
        if *weight != 0
            && term.matches(&target.pod, target_ns)
            && let Some(d) = domain(node, &term.topology_key)
        {
            scores.add(d, *weight);
        }
    }
}

impl PreScore for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        _: &[&NodeInfo],
    ) -> Status {
        let own = !(pod.preferred_affinity.is_empty() && pod.preferred_anti_affinity.is_empty());
        if !own && !snapshot.has_affinity_pods() {
            return Status::skip();
        }
        let mut scores = Counts::default();
        let mine: Vec<(&AffinityTerm, i64)> = pod
            .preferred_affinity
            .iter()
            .map(|t| (&t.term, t.weight))
            .chain(
                pod.preferred_anti_affinity
                    .iter()
                    .map(|t| (&t.term, -t.weight)),
            )
            .collect();
        let incoming_ns = ns_labels(snapshot, pod);
        for (term, weight) in &mine {
            for (node, existing) in pods_for(snapshot, &term.selector) {
                add_terms(
                    &mut scores,
                    &[(term, *weight)],
                    existing,
                    ns_labels(snapshot, existing),
                    node,
                );
            }
        }
        for node in snapshot.nodes() {
            for existing in &node.pods_with_affinity {
                if existing.preferred_affinity.is_empty()
                    && existing.preferred_anti_affinity.is_empty()
                    && existing.required_affinity.is_empty()
                {
                    continue;
                }
                let theirs: Vec<(&AffinityTerm, i64)> = existing
                    .preferred_affinity
                    .iter()
                    .map(|t| (&t.term, t.weight))
                    .chain(
                        existing
                            .preferred_anti_affinity
                            .iter()
                            .map(|t| (&t.term, -t.weight)),
                    )
                    .chain(
                        existing
                            .required_affinity
                            .iter()
                            .map(|t| (t, self.hard_pod_affinity_weight)),
                    )
                    .collect();
                add_terms(&mut scores, &theirs, pod, incoming_ns, node);
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(ScoreState {
            topology_score: scores,
        });
        Status::success()
    }
}

impl Score for InterPodAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<ScoreState>() else {
            return Ok(0);
        };
        Ok(s.topology_score.on_node(node))
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        let (min, max) = scores
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
        let spread = max - min;
        for s in scores {
            *s = if spread > 0 {
                MAX_NODE_SCORE * (*s - min) / spread
            } else {
                0
            };
        }
        Status::success()
    }
}
