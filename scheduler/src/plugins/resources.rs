//! NodeResourcesFit (the pod's requests must fit what the node has left; scoring by
//! LeastAllocated, MostAllocated or RequestedToCapacityRatio) and
//! NodeResourcesBalancedAllocation (prefer nodes whose CPU and memory use stay even).

use std::num::NonZeroU64;

use crate::framework::{
    CycleState, Filter, FusedScore, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreFilter,
    PreFilterResult, Question, Questions, Score, Snapshot, Status, filter_each, score_one,
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

/// Whether `pod` fits what `node` has left: [`insufficient`] is empty (checked
/// without building the reasons — this runs for every node of every cycle).
#[inline]
pub fn fits(pod: &PodInfo, node: &NodeInfo) -> bool {
    let (alloc, used, req) = (&node.allocatable, &node.requested, &pod.requests);
    fits_basic(pod, node)
        && req.scalar.iter().all(|(name, want)| {
            has_room(
                *want,
                alloc.scalar.get(name).copied().unwrap_or(0),
                used.scalar.get(name).copied().unwrap_or(0),
            )
        })
}

/// [`fits`] on the pod count, CPU, memory and ephemeral storage (not the extended
/// resources).
#[inline]
fn fits_basic(pod: &PodInfo, node: &NodeInfo) -> bool {
    let (alloc, used, req) = (&node.allocatable, &node.requested, &pod.requests);
    i64::try_from(node.pods.len()).unwrap_or(i64::MAX) < alloc.pods
        && has_room(req.milli_cpu, alloc.milli_cpu, used.milli_cpu)
        && has_room(req.memory, alloc.memory, used.memory)
        && has_room(
            req.ephemeral_storage,
            alloc.ephemeral_storage,
            used.ephemeral_storage,
        )
}

/// Whether `want` (nothing when ≤ 0) fits in `have` with `in_use` taken.
#[inline]
fn has_room(want: i64, have: i64, in_use: i64) -> bool {
    want <= 0 || want <= have - in_use
}

impl Filter for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if fits(pod, node) {
            Status::success()
        } else {
            unfit_status(pod, node)
        }
    }

    fn filter_nodes<'n>(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &mut Vec<&'n NodeInfo>,
        rejected: &mut Vec<(&'n NodeInfo, Status)>,
    ) {
        if !pod.requests.scalar.is_empty() {
            filter_each(state, pod, nodes, rejected, |_, pod, n| {
                if fits(pod, n) {
                    Status::success()
                } else {
                    unfit_status(pod, n)
                }
            });
            return;
        }
        // The common pod (CPU, memory, storage only): a status is built only for the
        // nodes it does not fit. Pods of a shape met before ask the nodes' memos.
        let req = &pod.requests;
        let question = FIT_QUESTIONS.ask((req.milli_cpu, req.memory, req.ephemeral_storage));
        nodes.retain(|n| {
            let ok = match question {
                None => fits_basic(pod, n),
                Some(question) => {
                    if let Some(verdict) = n.memo.fit.recall(question) {
                        verdict == 1
                    } else {
                        let ok = fits_basic(pod, n);
                        n.memo.fit.remember(question, i64::from(ok));
                        ok
                    }
                }
            };
            if !ok {
                rejected.push((n, unfit_status(pod, n)));
            }
            ok
        });
    }
}

/// The questions of NodeResourcesFit's verdicts, by the pod's CPU, memory and
/// ephemeral storage requests (the verdict depends on nothing else of the pod without
/// extended resources, and on no setting of the plugin: one table for the process).
static FIT_QUESTIONS: Questions<(i64, i64, i64)> = Questions::new();

/// NodeResourcesFit's verdict on a node the pod does not fit.
#[cold]
fn unfit_status(pod: &PodInfo, node: &NodeInfo) -> Status {
    let missing = insufficient(pod, node);
    let code = if missing.iter().any(|m| m.unresolvable) {
        crate::framework::Code::UnschedulableAndUnresolvable
    } else {
        crate::framework::Code::Unschedulable
    };
    Status::with_reasons(code, missing.into_iter().map(|m| m.reason).collect())
}

/// A scored resource with its name resolved once per cycle (not per node).
#[derive(Clone, Copy, Debug)]
enum Scored<'a> {
    Cpu,
    Memory,
    Other(&'a str),
}

/// The resources of `weights` resolved, with their weights.
fn resolve(weights: &[ResourceWeight]) -> Vec<(Scored<'_>, i64)> {
    weights
        .iter()
        .map(|r| {
            let scored = match r.name.as_str() {
                "cpu" => Scored::Cpu,
                "memory" => Scored::Memory,
                other => Scored::Other(other),
            };
            (scored, r.weight)
        })
        .collect()
}

/// `(requested with the pod, allocatable)` of a resource on `node`, using the
/// non-zero defaults for CPU and memory as Kubernetes' scorers do.
fn requested_and_allocatable(pod: &PodInfo, node: &NodeInfo, resource: Scored) -> (i64, i64) {
    match resource {
        Scored::Cpu => (
            node.non_zero_cpu + pod.non_zero_cpu,
            node.allocatable.milli_cpu,
        ),
        Scored::Memory => (
            node.non_zero_memory + pod.non_zero_memory,
            node.allocatable.memory,
        ),
        Scored::Other(other) => (
            node.requested.get(other) + pod.requests.get(other),
            node.allocatable.get(other),
        ),
    }
}

#[inline]
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

/// RequestedToCapacityRatio's score of one resource.
fn ratio_score(points: &[(i64, i64)], requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        shape(points, 100)
    } else {
        shape(points, requested * 100 / capacity)
    }
}

/// The weighted average of `per_resource` over `amounts` — `(requested with the pod,
/// allocatable, weight)` of each scored resource; resources the node does not have
/// are left out. `round` rounds it to nearest, as RequestedToCapacityRatio does,
/// instead of truncating.
#[inline]
fn weighted(
    amounts: impl IntoIterator<Item = (i64, i64, i64)>,
    per_resource: impl Fn(i64, i64) -> i64,
    round: bool,
) -> i64 {
    let (mut total, mut weights) = (0_i64, 0_i64);
    for (req, cap, weight) in amounts {
        if cap == 0 {
            continue;
        }
        total += per_resource(req, cap) * weight;
        weights += weight;
    }
    match (weights, round) {
        (0, _) => 0,
        (w, true) => (total + w / 2) / w,
        (w, false) => average(total, w),
    }
}

/// `total / weights` truncated, by a shift when the weights sum to a power of two
/// (the default 1 + 1) rather than a division per node.
#[inline]
fn average(total: i64, weights: i64) -> i64 {
    if weights > 0 && total >= 0 && weights.count_ones() == 1 {
        total >> weights.trailing_zeros()
    } else {
        total / weights
    }
}

impl NodeResourcesFit {
    fn resources(&self) -> &[ResourceWeight] {
        match &self.strategy {
            ScoringStrategy::LeastAllocated(r)
            | ScoringStrategy::MostAllocated(r)
            | ScoringStrategy::RequestedToCapacityRatio(r, _) => r,
        }
    }

    /// Scores `nodes` into `scores`, choosing the strategy and resolving the resources
    /// once for all of them.
    fn score_all(&self, pod: &PodInfo, nodes: &[&NodeInfo], scores: &mut [i64]) {
        let resources = resolve(self.resources());
        if let ([(Scored::Cpu, 1), (Scored::Memory, 1)], ScoringStrategy::LeastAllocated(_)) =
            (&resources[..], &self.strategy)
        {
            // The default: both resources weighted 1, least allocated.
            for (slot, node) in scores.iter_mut().zip(nodes) {
                let (req, cap) = cpu_and_memory(pod, node);
                *slot = least_allocated(req, cap, [1, 1]);
            }
        } else if let [(Scored::Cpu, wc), (Scored::Memory, wm)] = resources[..] {
            // The default pair: a fixed pair of amounts, no per-resource dispatch.
            self.score_each(nodes, scores, |node| {
                let (rc, cc) = requested_and_allocatable(pod, node, Scored::Cpu);
                let (rm, cm) = requested_and_allocatable(pod, node, Scored::Memory);
                [(rc, cc, wc), (rm, cm, wm)]
            });
        } else {
            self.score_each(nodes, scores, |node| {
                resources.iter().map(move |&(resource, weight)| {
                    let (req, cap) = requested_and_allocatable(pod, node, resource);
                    (req, cap, weight)
                })
            });
        }
    }

    /// Scores each node from its `amounts` (see [`weighted`]) by the strategy.
    #[inline]
    fn score_each<'n, A: IntoIterator<Item = (i64, i64, i64)>>(
        &self,
        nodes: &[&'n NodeInfo],
        scores: &mut [i64],
        amounts: impl Fn(&'n NodeInfo) -> A,
    ) {
        let slots = scores.iter_mut().zip(nodes);
        match &self.strategy {
            ScoringStrategy::LeastAllocated(_) => {
                for (slot, node) in slots {
                    *slot = weighted(amounts(node), least_requested, false);
                }
            }
            ScoringStrategy::MostAllocated(_) => {
                for (slot, node) in slots {
                    *slot = weighted(amounts(node), most_requested, false);
                }
            }
            ScoringStrategy::RequestedToCapacityRatio(_, points) => {
                let per_resource = |r, c| ratio_score(points, r, c);
                for (slot, node) in slots {
                    *slot = weighted(amounts(node), per_resource, true);
                }
            }
        }
    }
}

impl Score for NodeResourcesFit {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        score_one(self, state, pod, node)
    }

    fn score_nodes(
        &self,
        _: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Result<(), Status> {
        self.score_all(pod, nodes, scores);
        Ok(())
    }

    /// LeastAllocated over CPU and memory (weights ≥ 1) followed by
    /// BalancedAllocation over CPU and memory — the default profile — fuse.
    fn fuse(&self, weight: i64, next: &dyn Score, next_weight: i64) -> Option<Box<dyn FusedScore>> {
        let next: &dyn std::any::Any = next;
        let balanced = next.downcast_ref::<BalancedAllocation>()?;
        let ScoringStrategy::LeastAllocated(resources) = &self.strategy else {
            return None;
        };
        let [(Scored::Cpu, cpu), (Scored::Memory, memory)] = resolve(resources)[..] else {
            return None;
        };
        let [(Scored::Cpu, _), (Scored::Memory, _)] = resolve(&balanced.resources)[..] else {
            return None;
        };
        (cpu >= 1 && memory >= 1).then(|| {
            Box::new(LeastAllocatedBalanced {
                resource_weights: [cpu, memory],
                fit_weight: weight,
                balanced_weight: next_weight,
                questions: Questions::default(),
            }) as Box<dyn FusedScore>
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

/// `(1 − std-dev of the utilisation fractions) × 100` of the `(requested with the
/// pod, allocatable)` amounts of the balanced resources on a node.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
#[inline]
fn balanced(amounts: impl IntoIterator<Item = (i64, i64)>) -> i64 {
    let mut fractions = [0.0_f64; 8];
    let mut n = 0;
    for (req, cap) in amounts {
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
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// `requested / capacity` of two resources, in one packed division.
#[allow(clippy::cast_precision_loss)]
#[inline]
fn fractions(requested: [i64; 2], capacity: [i64; 2]) -> [f64; 2] {
    let num = [requested[0] as f64, requested[1] as f64];
    let den = [capacity[0] as f64, capacity[1] as f64];
    [num[0] / den[0], num[1] / den[1]]
}

/// [`balanced`] of two resources from their use fractions (the node has both).
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
#[inline]
fn balanced_fractions(fractions: [f64; 2]) -> i64 {
    let f = [fractions[0].min(1.0), fractions[1].min(1.0)];
    let std = (f[0] - f[1]).abs() / 2.0;
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// CPU and memory `(requested with the pod, allocatable)` of `node`, as pairs.
#[inline]
fn cpu_and_memory(pod: &PodInfo, node: &NodeInfo) -> ([i64; 2], [i64; 2]) {
    let (rc, cc) = requested_and_allocatable(pod, node, Scored::Cpu);
    let (rm, cm) = requested_and_allocatable(pod, node, Scored::Memory);
    ([rc, rm], [cc, cm])
}

/// LeastAllocated over CPU and memory with `weights` (each at least 1).
#[allow(
    clippy::inline_always,
    reason = "the per-node scoring loops must inline it"
)]
#[inline(always)]
fn least_allocated(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> i64 {
    if usual(req, cap) {
        least_allocated_usual(req, cap, weights)
    } else {
        least_allocated_unusual(req, cap, weights)
    }
}

/// Capacities in `[1, 2^51]` and requests in `[0, 2^51)` — every real node's CPU and
/// memory. In this range no per-resource step overflows or divides by zero, the CPU
/// and memory LeastAllocated scores lie in `[0, 100]`, and the amounts convert to floats
/// exactly ([`small_to_f64`]), so the scores skip the general code's checks (the
/// weighted average can still overflow for absurd weights, as in the general code).
#[allow(
    clippy::inline_always,
    reason = "the per-node scoring loops must inline it"
)]
#[inline(always)]
fn usual(req: [i64; 2], cap: [i64; 2]) -> bool {
    const USUAL: u64 = 1 << 51;
    (cap[0].wrapping_sub(1) | cap[1].wrapping_sub(1) | req[0] | req[1]).cast_unsigned() < USUAL
}

/// [`least_allocated`] of [`usual`] amounts.
#[allow(
    clippy::inline_always,
    reason = "the per-node scoring loops must inline it"
)]
#[inline(always)]
fn least_allocated_usual(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> i64 {
    // `least_requested` without its checks (a request above the capacity scores 0), in
    // unsigned arithmetic by a divisor known not to be zero.
    let least = |req: i64, cap: i64| {
        let free = (cap - req).max(0).cast_unsigned() * MAX_NODE_SCORE.cast_unsigned();
        let cap = NonZeroU64::new(cap.cast_unsigned()).unwrap_or(NonZeroU64::MIN);
        (free / cap).cast_signed()
    };
    let (cpu, memory) = (least(req[0], cap[0]), least(req[1], cap[1]));
    if weights == [1, 1] {
        // Both in [0, 100]: the midpoint is a shift.
        (cpu + memory) >> 1
    } else {
        average(
            cpu * weights[0] + memory * weights[1],
            weights[0] + weights[1],
        )
    }
}

/// [`least_allocated`] of amounts that are not [`usual`] (out of line: rare).
#[cold]
#[inline(never)]
fn least_allocated_unusual(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> i64 {
    if cap[0] > 0 && cap[1] > 0 {
        let (cpu, memory) = (
            least_requested(req[0], cap[0]),
            least_requested(req[1], cap[1]),
        );
        if weights == [1, 1] {
            i64::midpoint(cpu, memory)
        } else {
            average(
                cpu * weights[0] + memory * weights[1],
                weights[0] + weights[1],
            )
        }
    } else {
        least_allocated_lacking(req, cap, weights)
    }
}

/// [`least_allocated`] on a node that lacks CPU or memory (out of line: rare).
#[cold]
#[inline(never)]
fn least_allocated_lacking(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> i64 {
    let amounts = [(req[0], cap[0], weights[0]), (req[1], cap[1], weights[1])];
    weighted(amounts, least_requested, false)
}

/// BalancedAllocation over CPU and memory.
#[allow(
    clippy::inline_always,
    reason = "the per-node scoring loops must inline it"
)]
#[inline(always)]
fn balanced_cpu_memory(req: [i64; 2], cap: [i64; 2]) -> i64 {
    if usual(req, cap) {
        balanced_usual(req, cap)
    } else {
        balanced_unusual(req, cap)
    }
}

/// [`balanced_cpu_memory`] of [`usual`] amounts.
#[allow(
    clippy::inline_always,
    reason = "the per-node scoring loops must inline it"
)]
#[inline(always)]
fn balanced_usual(req: [i64; 2], cap: [i64; 2]) -> i64 {
    balanced_fractions([
        small_to_f64(req[0]) / small_to_f64(cap[0]),
        small_to_f64(req[1]) / small_to_f64(cap[1]),
    ])
}

/// [`balanced_cpu_memory`] of amounts that are not [`usual`] (out of line: rare).
#[cold]
#[inline(never)]
fn balanced_unusual(req: [i64; 2], cap: [i64; 2]) -> i64 {
    if cap[0] == 0 || cap[1] == 0 {
        balanced_lacking(req, cap)
    } else {
        balanced_fractions(fractions(req, cap))
    }
}

/// [`balanced_cpu_memory`] on a node that lacks CPU or memory (out of line: rare).
#[cold]
#[inline(never)]
fn balanced_lacking(req: [i64; 2], cap: [i64; 2]) -> i64 {
    balanced([(req[0], cap[0]), (req[1], cap[1])])
}

/// NodeResourcesFit's LeastAllocated over CPU and memory and BalancedAllocation over
/// CPU and memory in one pass ([`Score::fuse`]): each node's amounts read once, one
/// loop instead of two.
#[derive(Debug)]
struct LeastAllocatedBalanced {
    /// LeastAllocated's CPU and memory weights (each at least 1).
    resource_weights: [i64; 2],
    /// NodeResourcesFit's weight in the profile.
    fit_weight: i64,
    /// BalancedAllocation's weight in the profile.
    balanced_weight: i64,
    /// The questions of the last pod shapes scored (by the pod's non-zero CPU and
    /// memory requests, all the scores read of a pod).
    questions: Questions<(i64, i64)>,
}

impl FusedScore for LeastAllocatedBalanced {
    fn score_into(
        &self,
        _: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        totals: &mut [i64],
    ) -> Result<(), Status> {
        let weights = (self.resource_weights, self.fit_weight, self.balanced_weight);
        let question = self.questions.ask((pod.non_zero_cpu, pod.non_zero_memory));
        if weights == ([1, 1], 1, 1) {
            // The default profile's weights, as constants: no multiplications, a midpoint.
            fused_pass(pod, nodes, totals, ([1, 1], 1, 1), question);
        } else {
            fused_pass(pod, nodes, totals, weights, question);
        }
        Ok(())
    }
}

/// `x as f64` for `0 <= x < 2^52`: `x` placed in the mantissa of `2^52`, minus `2^52`
/// (exact; two instructions instead of the general conversion).
#[inline]
fn small_to_f64(x: i64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    f64::from_bits(x.cast_unsigned() | TWO_52.to_bits()) - TWO_52
}

/// Adds the weighted LeastAllocated and BalancedAllocation scores of `nodes` to
/// `totals`; `weights` are LeastAllocated's CPU and memory weights and the two
/// plugins' profile weights. With a `question` (a pod shape met before), each node's
/// score is recalled when the node remembers it, and remembered when computed.
#[allow(
    clippy::inline_always,
    reason = "inlined with constant weights for the default"
)]
#[inline(always)]
fn fused_pass(
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    totals: &mut [i64],
    (resource_weights, fit_weight, balanced_weight): ([i64; 2], i64, i64),
    question: Option<Question>,
) {
    // Added in the order the two plugins' scores would be.
    let weighted = |node: &NodeInfo| {
        let (req, cap) = cpu_and_memory(pod, node);
        let (fit, balanced) = both_scores(req, cap, resource_weights);
        (fit * fit_weight, balanced * balanced_weight)
    };
    let Some(question) = question else {
        for (total, node) in totals.iter_mut().zip(nodes) {
            let (fit, balanced) = weighted(node);
            *total += fit;
            *total += balanced;
        }
        return;
    };
    for (total, node) in totals.iter_mut().zip(nodes) {
        if let Some(score) = node.memo.score.recall(question) {
            *total += score;
            continue;
        }
        let (fit, balanced) = weighted(node);
        *total += fit;
        *total += balanced;
        // Remembered only when adding the sum at once is adding the two (neither
        // negative: the additions overflow, or not, alike).
        if fit >= 0
            && balanced >= 0
            && let Some(score) = fit.checked_add(balanced)
        {
            node.memo.score.remember(question, score);
        }
    }
}

/// LeastAllocated (with `weights`) and BalancedAllocation over CPU and memory, with
/// one range check for both.
#[allow(
    clippy::inline_always,
    reason = "the per-node scoring loops must inline it"
)]
#[inline(always)]
fn both_scores(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> (i64, i64) {
    if usual(req, cap) {
        (
            least_allocated_usual(req, cap, weights),
            balanced_usual(req, cap),
        )
    } else {
        unusual_pair(req, cap, weights)
    }
}

/// Both scores of amounts that are not [`usual`] (out of line: rare).
#[cold]
#[inline(never)]
fn unusual_pair(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> (i64, i64) {
    (
        least_allocated_unusual(req, cap, weights),
        balanced_unusual(req, cap),
    )
}

impl Score for BalancedAllocation {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        score_one(self, state, pod, node)
    }

    fn score_nodes(
        &self,
        _: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Result<(), Status> {
        let resources = resolve(&self.resources);
        let slots = scores.iter_mut().zip(nodes);
        if let [(Scored::Cpu, _), (Scored::Memory, _)] = resources[..] {
            // The default pair: no per-resource dispatch.
            for (slot, node) in slots {
                let (req, cap) = cpu_and_memory(pod, node);
                *slot = balanced_cpu_memory(req, cap);
            }
        } else {
            for (slot, node) in slots {
                *slot = balanced(
                    resources
                        .iter()
                        .map(|&(resource, _)| requested_and_allocatable(pod, node, resource)),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kubernetes' formulas written plainly: LeastAllocated's weighted average of
    /// `(capacity - requested) * 100 / capacity` over the resources the node has, and
    /// BalancedAllocation's `int64((1 - std) * 100)` of the capped use fractions.
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    fn reference(req: [i64; 2], cap: [i64; 2], weights: [i64; 2]) -> (i64, i64) {
        let (mut total, mut sum) = (0, 0);
        let mut fractions = Vec::new();
        for i in 0..2 {
            if cap[i] == 0 {
                continue;
            }
            let least = if req[i] > cap[i] {
                0
            } else {
                (cap[i] - req[i]) * 100 / cap[i]
            };
            total += least * weights[i];
            sum += weights[i];
            fractions.push((req[i] as f64 / cap[i] as f64).min(1.0));
        }
        let least = if sum == 0 { 0 } else { total / sum };
        let std = match fractions[..] {
            [a, b] => (a - b).abs() / 2.0,
            _ => 0.0,
        };
        (least, ((1.0 - std) * 100.0) as i64)
    }

    #[test]
    fn resource_scores_match_the_plain_formulas() {
        let amounts = [
            0,
            1,
            3,
            999,
            4_000,
            32_000,
            128 << 30,
            -1,
            (1 << 51) - 1,
            1 << 51,
            (1 << 51) + 1,
            (1 << 52) - 1,
            1 << 52,
            (1 << 52) + 3,
            1 << 55,
        ];
        for weights in [[1, 1], [2, 3], [1, 7]] {
            for &rc in &amounts {
                for &cc in &amounts {
                    for &rm in &[0, 1, 999, 32_000, -1, (1 << 51) - 1, 1 << 51] {
                        for &cm in &[0, 7, 4_000, 128 << 30, 1 << 51, (1 << 52) + 1] {
                            let (req, cap) = ([rc, rm], [cc, cm]);
                            let want = reference(req, cap, weights);
                            assert_eq!(
                                (
                                    least_allocated(req, cap, weights),
                                    balanced_cpu_memory(req, cap)
                                ),
                                want,
                                "requested {req:?}, capacity {cap:?}, weights {weights:?}"
                            );
                            // The fused pass's own range check and dispatch.
                            assert_eq!(
                                both_scores(req, cap, weights),
                                want,
                                "requested {req:?}, capacity {cap:?}, weights {weights:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[allow(clippy::cast_precision_loss)]
    fn small_amounts_convert_exactly() {
        for x in [0, 1, 2, 1_000, (1 << 52) - 2, (1 << 52) - 1] {
            assert_eq!(small_to_f64(x).to_bits(), (x as f64).to_bits(), "{x}");
        }
    }

    #[test]
    fn the_usual_range_is_capacities_from_one_to_2_51_and_requests_below() {
        let top = 1_i64 << 51;
        assert!(usual([0, 0], [1, 1]));
        assert!(usual([top - 1, 0], [top, top]));
        assert!(!usual([0, 0], [0, 1]), "a node without CPU");
        assert!(!usual([0, 0], [1, top + 1]));
        assert!(!usual([top, 0], [1, 1]));
        assert!(!usual([0, -1], [1, 1]), "a negative request");
        assert!(!usual([0, 0], [1, i64::MIN]));
    }

    #[test]
    fn scorer_arithmetic_matches_kubernetes() {
        assert_eq!(least_requested(3000, 4000), 25);
        assert_eq!(least_requested(5000, 4000), 0);
        assert_eq!(most_requested(3000, 4000), 75);
        assert_eq!(most_requested(5000, 4000), 100);
        assert_eq!(
            least_requested(1, 3),
            66,
            "truncated like an integer division"
        );
        assert_eq!(least_requested(0, 4000), 100);
        assert_eq!(most_requested(0, 4000), 0);
        assert_eq!(least_requested(10, 0), 0);
        let points = [(0, 0), (100, 10)];
        assert_eq!(shape(&points, 50), 50);
        let points = [(0, 10), (100, 0)];
        assert_eq!(shape(&points, 30), 70);
    }

    /// A snapshot of one 4-core node and a 100m pod.
    fn one_node_and_a_pod() -> (Snapshot, PodInfo) {
        let node: keel_core::api::Node = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"}}
        }))
        .expect("node");
        let pod: keel_core::api::Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [{"name": "c", "image": "i",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}
        }))
        .expect("pod");
        let snapshot = Snapshot::from_objects([std::sync::Arc::new(node)], Vec::new());
        (snapshot, PodInfo::new(std::sync::Arc::new(pod)))
    }

    /// (The fit check's question table is the process's: no other test of this binary
    /// filters, so no other shape pushes this one out between meetings.)
    #[test]
    fn a_shape_met_twice_is_answered_by_the_nodes_memos_until_they_change() {
        let (mut snapshot, pod) = one_node_and_a_pod();
        let fused = (NodeResourcesFit::default())
            .fuse(1, &BalancedAllocation::default(), 1)
            .expect("fuses");
        let state = CycleState::new();
        let mut expected = 0;
        for meeting in 1..=3 {
            let node = &snapshot.nodes()[0];
            let mut totals = [0];
            fused
                .score_into(&state, &pod, &[node], &mut totals)
                .unwrap();
            let (mut kept, mut rejected) = (vec![node], Vec::new());
            NodeResourcesFit::default().filter_nodes(&state, &pod, &mut kept, &mut rejected);
            assert_eq!(kept.len(), 1);
            let remembered = (node.memo.score.answer(), node.memo.fit.answer());
            if meeting == 1 {
                assert_eq!(
                    remembered,
                    (None, None),
                    "a first meeting remembers nothing"
                );
            } else {
                assert_eq!(remembered, (Some(totals[0]), Some(1)), "meeting {meeting}");
            }
            expected = totals[0];
        }
        assert!(expected > 0);
        assert!(snapshot.assume(std::sync::Arc::new(pod), "n"));
        let node = &snapshot.nodes()[0];
        assert_eq!(
            (node.memo.score.answer(), node.memo.fit.answer()),
            (None, None)
        );
    }
}
