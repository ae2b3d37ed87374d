//! DefaultPreemption: when no node fits, find the node where evicting the fewest and
//! least important lower-priority pods makes room — respecting PodDisruptionBudgets
//! where possible — and nominate it (kube-scheduler's `DefaultPreemption`).

use std::collections::BTreeMap;
use std::sync::Arc;

use keel_core::api::{Pod, PodDisruptionBudget};
use keel_core::meta::Time;

use crate::framework::{
    Code, CycleState, Framework, NodeInfo, Plugin, PodInfo, PostFilter, PostFilterResult, Snapshot,
    Status,
};

/// Reason: the node's rejection cannot be fixed by evicting pods.
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// Reason: even without every lower-priority pod the pod would not fit.
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// The DefaultPreemption plugin.
#[derive(Debug, Default)]
pub struct DefaultPreemption;

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        "DefaultPreemption"
    }
}

/// A node where preemption works, and what it costs.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The node.
    pub node: String,
    /// The pods to evict, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// How many victims their PodDisruptionBudgets do not allow to go.
    pub pdb_violations: usize,
}

fn start_time(p: &PodInfo) -> Option<&Time> {
    p.pod.status.as_ref().and_then(|s| s.start_time.as_ref())
}

/// Kubernetes' `MoreImportantPod`: higher priority, then started earlier.
fn more_important(a: &PodInfo, b: &PodInfo) -> std::cmp::Ordering {
    b.priority()
        .cmp(&a.priority())
        .then_with(|| match (start_time(a), start_time(b)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
}

fn budget_selects(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    pdb.metadata.namespace == pod.metadata.namespace
        && pdb.spec.selector.as_ref().is_some_and(|s| {
            s.to_selector()
                .is_ok_and(|sel| sel.matches(&pod.metadata.labels))
        })
}

/// Splits `pods` (in order) into those whose eviction a budget forbids and the rest
/// (Kubernetes' `filterPodsWithPDBViolation`).
fn split_by_budgets(
    pods: Vec<Arc<PodInfo>>,
    budgets: &[Arc<PodDisruptionBudget>],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i64> = budgets
        .iter()
        .map(|b| i64::from(b.status.as_ref().map_or(0, |s| s.disruptions_allowed)))
        .collect();
    let (mut violating, mut fine) = (Vec::new(), Vec::new());
    for p in pods {
        let mut violates = false;
        for (i, b) in budgets.iter().enumerate() {
            if budget_selects(b, &p.pod) {
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violates = true;
                }
            }
        }
        if violates {
            violating.push(p);
        } else {
            fine.push(p);
        }
    }
    (violating, fine)
}

/// The fewest victims on `node` that let `pod` fit (Kubernetes' `SelectVictimsOnNode`),
/// or `None` if removing every lower-priority pod is not enough.
pub fn select_victims(
    fw: &Framework,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    snapshot: &Snapshot,
) -> Option<Candidate> {
    let mut info = node.clone();
    let mut st = state.clone();
    let mut lower: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority() < pod.priority())
        .cloned()
        .collect();
    if lower.is_empty() {
        return None;
    }
    let key = |p: &PodInfo| {
        (
            p.pod.metadata.namespace.clone().unwrap_or_default(),
            p.pod.metadata.name.clone().unwrap_or_default(),
        )
    };
    for v in &lower {
        let (ns, name) = key(v);
        info.remove_pod(&ns, &name);
        fw.run_pre_filter_remove_pod(&mut st, pod, v, &info, snapshot);
    }
    if !fw.run_filters(&st, pod, &info).is_success() {
        return None;
    }
    lower.sort_by(|a, b| more_important(a, b));
    let (violating, fine) = split_by_budgets(lower, snapshot.budgets());
    let mut victims = Vec::new();
    let mut pdb_violations = 0;
    for (group, counts) in [(violating, true), (fine, false)] {
        for p in group {
            info.add_pod(p.clone());
            fw.run_pre_filter_add_pod(&mut st, pod, &p, &info, snapshot);
            if !fw.run_filters(&st, pod, &info).is_success() {
                let (ns, name) = key(&p);
                info.remove_pod(&ns, &name);
                fw.run_pre_filter_remove_pod(&mut st, pod, &p, &info, snapshot);
                if counts {
                    pdb_violations += 1;
                }
                victims.push(p);
            }
        }
    }
    if victims.is_empty() {
        return None;
    }
    Some(Candidate {
        node: node.name().to_owned(),
        victims,
        pdb_violations,
    })
}

/// The best candidate (Kubernetes' `pickOneNodeForPreemption`): fewest budget
/// violations, then the lowest highest victim priority, the lowest priority sum, the
/// fewest victims, and the latest start among the highest-priority victims.
pub fn pick(candidates: &[Candidate]) -> Option<&Candidate> {
    let highest = |c: &Candidate| {
        c.victims
            .iter()
            .map(|v| v.priority())
            .max()
            .unwrap_or(i32::MIN)
    };
    let sum = |c: &Candidate| {
        c.victims
            .iter()
            .map(|v| i64::from(v.priority()) + i64::from(i32::MAX) + 1)
            .sum::<i64>()
    };
    let earliest_top_start = |c: &Candidate| {
        let top = highest(c);
        c.victims
            .iter()
            .filter(|v| v.priority() == top)
            .filter_map(|v| start_time(v).cloned())
            .min()
    };
    candidates.iter().min_by(|a, b| {
        a.pdb_violations
            .cmp(&b.pdb_violations)
            .then_with(|| highest(a).cmp(&highest(b)))
            .then_with(|| sum(a).cmp(&sum(b)))
            .then_with(|| a.victims.len().cmp(&b.victims.len()))
            .then_with(|| earliest_top_start(b).cmp(&earliest_top_start(a)))
    })
}

impl PostFilter for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &BTreeMap<String, Status>,
        fw: &Framework,
    ) -> (Option<PostFilterResult>, Status) {
        if pod.pod.spec.preemption_policy.as_deref() == Some("Never") {
            return (
                None,
                Status::unresolvable("not eligible due to preemptionPolicy=Never."),
            );
        }
        // Already nominated, and a lower-priority victim there is still terminating: wait
        // for it rather than evict more (Kubernetes' `PodEligibleToPreemptOthers`).
        if let Some(nominated) = pod
            .pod
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref())
            && let Some(node) = snapshot.get(nominated)
            && node.pods.iter().any(|p| {
                p.pod.metadata.deletion_timestamp.is_some() && p.priority() < pod.priority()
            })
        {
            return (
                None,
                Status::unresolvable(
                    "not eligible due to a terminating pod on the nominated node.",
                ),
            );
        }
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        let mut candidates = Vec::new();
        for node in snapshot.nodes() {
            if statuses
                .get(node.name())
                .is_some_and(|s| s.code() == Code::UnschedulableAndUnresolvable)
            {
                *reasons.entry(NOT_HELPFUL).or_default() += 1;
                continue;
            }
            match select_victims(fw, state, pod, node, snapshot) {
                Some(c) => candidates.push(c),
                None => *reasons.entry(NO_VICTIMS).or_default() += 1,
            }
        }
        let Some(best) = pick(&candidates) else {
            let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
            parts.sort();
            let message = format!(
                "preemption: 0/{} nodes are available: {}",
                snapshot.num_nodes(),
                parts.join(", ")
            );
            return (None, Status::unschedulable(message));
        };
        (
            Some(PostFilterResult {
                nominated_node: Some(best.node.clone()),
                victims: best.victims.iter().map(|v| v.pod.clone()).collect(),
            }),
            Status::success(),
        )
    }
}
