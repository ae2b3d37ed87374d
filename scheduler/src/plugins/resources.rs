//! NodeResourcesFit (the pod's requests must fit what the node has left; scoring by
//! LeastAllocated, MostAllocated or RequestedToCapacityRatio) and
//! NodeResourcesBalancedAllocation (prefer nodes whose CPU and memory use stay even).

use crate::framework::{
    CycleState, Filter, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreFilter, PreFilterResult,
    Score, Snapshot, Status,
};

/// A resource scored, with its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWeight {
    /// `cpu`, `memory`, or another resource name.
    pub name: String,
    /// Its weight in the average.
    pub weight: i64,
}

impl ResourceWeight {
    /// `name` with `weight`.
    pub fn new(name: &str, weight: i64) -> ResourceWeight {
        ResourceWeight {
            name: name.to_owned(),
            weight,
        }
    }
}

/// How NodeResourcesFit scores nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScoringStrategy {
    /// Prefer nodes with the most left (spreading; the default).
    LeastAllocated(Vec<ResourceWeight>),
    /// Prefer nodes with the least left (bin packing).
    MostAllocated(Vec<ResourceWeight>),
    /// Score by a piecewise-linear function of utilisation: `(utilisation %, score 0–10)`
    /// points.
    RequestedToCapacityRatio(Vec<ResourceWeight>, Vec<(i64, i64)>),
}

impl Default for ScoringStrategy {
    fn default() -> Self {
        ScoringStrategy::LeastAllocated(vec![
            ResourceWeight::new("cpu", 1),
            ResourceWeight::new("memory", 1),
        ])
    }
}

/// The NodeResourcesFit plugin.
#[derive(Clone, Debug, Default)]
pub struct NodeResourcesFit {
    /// The scoring strategy.
    pub strategy: ScoringStrategy,
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }
}

/// One resource a pod lacks on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insufficient {
    /// `Insufficient cpu`, `Too many pods`, …
    pub reason: String,
    /// Whether the pod asks for more than the node has in total (no eviction helps).
    pub unresolvable: bool,
}

/// What `pod` lacks on `node` (Kubernetes' `fitsRequest`), empty if it fits.
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<Insufficient> {
    let mut out = Vec::new();
    let alloc = &node.allocatable;
    let used = &node.requested;
    if i64::try_from(node.pods.len()).unwrap_or(i64::MAX) + 1 > alloc.pods {
        out.push(Insufficient {
            reason: "Too many pods".to_owned(),
            unresolvable: false,
        });
    }
    let req = &pod.requests;
    if req.milli_cpu == 0
        && req.memory == 0
        && req.ephemeral_storage == 0
        && req.scalar.values().all(|v| *v == 0)
    {
        return out;
    }
    let mut check = |name: &str, want: i64, have: i64, in_use: i64| {
        if want > 0 && want > have - in_use {
            out.push(Insufficient {
                reason: format!("Insufficient {name}"),
                unresolvable: want > have,
            });
        }
    };
    check("cpu", req.milli_cpu, alloc.milli_cpu, used.milli_cpu);
    check("memory", req.memory, alloc.memory, used.memory);
    check(
        "ephemeral-storage",
        req.ephemeral_storage,
        alloc.ephemeral_storage,
        used.ephemeral_storage,
    );
    for (name, want) in &req.scalar {
        check(
            name,
            *want,
            alloc.scalar.get(name).copied().unwrap_or(0),
            used.scalar.get(name).copied().unwrap_or(0),
        );
    }
    out
}

impl PreFilter for NodeResourcesFit {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        _: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        (None, Status::success())
    }
}

impl Filter for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let missing = insufficient(pod, node);
        if missing.is_empty() {
            return Status::success();
        }
        let code = if missing.iter().any(|m| m.unresolvable) {
            crate::framework::Code::UnschedulableAndUnresolvable
        } else {
            crate::framework::Code::Unschedulable
        };
        Status::with_reasons(code, missing.into_iter().map(|m| m.reason).collect())
    }
}

/// `(requested with the pod, allocatable)` of resource `name` on `node`, using the
/// non-zero defaults for CPU and memory as Kubernetes' scorers do.
fn requested_and_allocatable(pod: &PodInfo, node: &NodeInfo, name: &str) -> (i64, i64) {
    match name {
        "cpu" => (
            node.non_zero_cpu + pod.non_zero_cpu,
            node.allocatable.milli_cpu,
        ),
        "memory" => (
            node.non_zero_memory + pod.non_zero_memory,
            node.allocatable.memory,
        ),
        other => (
            node.requested.get(other) + pod.requests.get(other),
            node.allocatable.get(other),
        ),
    }
}

fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

fn most_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// The broken-linear shape function of RequestedToCapacityRatio; `points` are
/// (utilisation 0–100, score 0–10), scores scaled to 0–100.
fn shape(points: &[(i64, i64)], utilisation: i64) -> i64 {
    let scaled = |s: i64| s * (MAX_NODE_SCORE / 10);
    let Some(first) = points.first() else {
        return 0;
    };
    if utilisation <= first.0 {
        return scaled(first.1);
    }
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if utilisation <= x1 {
            let (y0, y1) = (scaled(y0), scaled(y1));
            return y0 + (y1 - y0) * (utilisation - x0) / (x1 - x0).max(1);
        }
    }
    scaled(points[points.len() - 1].1)
}

impl NodeResourcesFit {
    fn resource_score(&self, requested: i64, capacity: i64) -> i64 {
        match &self.strategy {
            ScoringStrategy::LeastAllocated(_) => least_requested(requested, capacity),
            ScoringStrategy::MostAllocated(_) => most_requested(requested, capacity),
            ScoringStrategy::RequestedToCapacityRatio(_, points) => {
                if capacity == 0 || requested > capacity {
                    shape(points, 100)
                } else {
                    shape(points, requested * 100 / capacity)
                }
            }
        }
    }
}

impl Score for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let resources = match &self.strategy {
            ScoringStrategy::LeastAllocated(r)
            | ScoringStrategy::MostAllocated(r)
            | ScoringStrategy::RequestedToCapacityRatio(r, _) => r,
        };
        let (mut total, mut weights) = (0_i64, 0_i64);
        for r in resources {
            let (req, cap) = requested_and_allocatable(pod, node, &r.name);
            if cap == 0 {
                continue;
            }
            total += self.resource_score(req, cap) * r.weight;
            weights += r.weight;
        }
        if weights == 0 {
            return Ok(0);
        }
        Ok(match self.strategy {
            ScoringStrategy::RequestedToCapacityRatio(..) => (total + weights / 2) / weights,
            _ => total / weights,
        })
    }
}

/// The NodeResourcesBalancedAllocation plugin: `(1 − std-dev of the utilisation
/// fractions) × 100`.
#[derive(Clone, Debug)]
pub struct BalancedAllocation {
    /// The resources balanced (default: CPU and memory).
    pub resources: Vec<ResourceWeight>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        BalancedAllocation {
            resources: vec![
                ResourceWeight::new("cpu", 1),
                ResourceWeight::new("memory", 1),
            ],
        }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }
}

impl Score for BalancedAllocation {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let mut fractions = [0.0_f64; 8];
        let mut n = 0;
        for r in &self.resources {
            let (req, cap) = requested_and_allocatable(pod, node, &r.name);
            if cap == 0 || n == fractions.len() {
                continue;
            }
            fractions[n] = (req as f64 / cap as f64).min(1.0);
            n += 1;
        }
        let fractions = &fractions[..n];
        let std = match fractions {
            [] | [_] => 0.0,
            [a, b] => (a - b).abs() / 2.0,
            many => {
                let mean = many.iter().sum::<f64>() / many.len() as f64;
                (many.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / many.len() as f64).sqrt()
            }
        };
        Ok(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scorer_arithmetic_matches_kubernetes() {
        assert_eq!(least_requested(3000, 4000), 25);
        assert_eq!(least_requested(5000, 4000), 0);
        assert_eq!(most_requested(3000, 4000), 75);
        assert_eq!(most_requested(5000, 4000), 100);
        let points = [(0, 0), (100, 10)];
        assert_eq!(shape(&points, 50), 50);
        let points = [(0, 10), (100, 0)];
        assert_eq!(shape(&points, 30), 70);
    }
}
