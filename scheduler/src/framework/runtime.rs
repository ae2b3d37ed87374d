//! [`Framework`]: one profile's plugins run as kube-scheduler runs them.
//! [`Framework::schedule`] is one scheduling cycle as a pure function of the pod and
//! the snapshot (plus a seeded tie-break and a rotating start node, both deterministic).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use keel_core::api::Pod;

use super::cycle_state::CycleState;
use super::interface::{FusedScore, PostFilterResult, PreFilterResult};
use super::node_info::NodeInfo;
use super::pod_info::PodInfo;
use super::profile::Profile;
use super::result::{Diagnosis, FitError, ScheduleResult};
use super::skips::{Paired, Skips};
use super::snapshot::Snapshot;
use super::status::{Code, Status};

/// Below this many nodes, every node is examined.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive share of nodes to examine never drops below this percentage.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// How many feasible nodes to find before scoring, out of `all` (kube-scheduler's
/// `numFeasibleNodesToFind`): every node below 100; otherwise `percentage` % (adaptive
/// when `None`: 50 % minus 1 % per 125 nodes, at least 5 %), but at least 100.
pub fn num_feasible_nodes_to_find(percentage: Option<u32>, all: usize) -> usize {
    if all < MIN_FEASIBLE_NODES_TO_FIND {
        return all;
    }
    let pct = match percentage {
        Some(p) if p >= 100 => return all,
        Some(p) if p > 0 => p as usize,
        _ => 50_usize
            .saturating_sub(all / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
    };
    (all * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// The runtime of one [`Profile`].
pub struct Framework {
    profile: Profile,
    /// Per Score plugin, its scoring fused with the next plugin's ([`Score::fuse`]).
    ///
    /// [`Score::fuse`]: super::interface::Score::fuse
    fused: Vec<Option<Box<dyn FusedScore>>>,
    /// Per Filter plugin, the PreFilter plugins of the same name (whose Skip skips it).
    filter_pre: Vec<Paired>,
    /// Per Score plugin, the PreScore plugins of the same name (whose Skip skips it).
    score_pre: Vec<Paired>,
    waiting: super::WaitingPods,
    next_start: AtomicUsize,
    rng: AtomicU64,
}

impl std::fmt::Debug for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framework")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Default for Framework {
    /// The default profile (`default-scheduler`) with seed 0.
    fn default() -> Self {
        Framework::new(crate::plugins::default_profile())
    }
}

fn splitmix(state: &AtomicU64) -> u64 {
    let mut z = state
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Framework {
    /// Runs `profile` with seed 0.
    pub fn new(profile: Profile) -> Framework {
        Framework::with_seed(profile, 0)
    }

    /// Runs `profile`; `seed` decides ties between equally scored nodes (same seed and
    /// same inputs → same placements).
    pub fn with_seed(profile: Profile, seed: u64) -> Framework {
        let fused = (0..profile.score.len())
            .map(|i| {
                let ((p, weight), (next, next_weight)) =
                    (&profile.score[i], profile.score.get(i + 1)?);
                p.fuse(*weight, &**next, *next_weight)
            })
            .collect();
        let filter_pre = (profile.filter.iter())
            .map(|f| Paired::of(profile.pre_filter.iter().map(|p| p.name()), f.name()))
            .collect();
        let score_pre = (profile.score.iter())
            .map(|(s, _)| Paired::of(profile.pre_score.iter().map(|p| p.name()), s.name()))
            .collect();
        Framework {
            profile,
            fused,
            filter_pre,
            score_pre,
            waiting: super::WaitingPods::default(),
            next_start: AtomicUsize::new(0),
            rng: AtomicU64::new(seed),
        }
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The pods waiting at Permit.
    pub fn waiting_pods(&self) -> &super::WaitingPods {
        &self.waiting
    }

    /// One scheduling cycle for `pod` against `snapshot`: PreFilter, Filter over the
    /// nodes (starting where the last cycle stopped, until enough feasible nodes are
    /// found), PreScore, Score, NormalizeScore, weights, and a seeded tie-break.
    #[allow(
        clippy::result_large_err,
        reason = "the signature DESIGN.md names; FitError is built once per failed cycle"
    )]
    pub fn schedule(&self, pod: &Pod, snapshot: &Snapshot) -> Result<ScheduleResult, FitError> {
        let info = PodInfo::new(Arc::new(pod.clone()));
        self.schedule_pod(&mut CycleState::new(), &info, snapshot)
    }

    /// [`schedule`](Self::schedule) with a precomputed [`PodInfo`] and a cycle state the
    /// caller keeps (for Reserve, Permit and PostFilter afterwards).
    #[allow(clippy::result_large_err, reason = "see schedule")]
    pub fn schedule_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<ScheduleResult, FitError> {
        let all = snapshot.num_nodes();
        let fail = |diagnosis: Diagnosis, error: Option<String>| FitError {
            pod: pod.key(),
            num_all_nodes: all,
            diagnosis,
            error,
        };
        if all == 0 {
            return Err(fail(Diagnosis::default(), None));
        }
        let mut diagnosis = Diagnosis::default();
        let mut skips = Skips::default();
        let allowed = match self.pre_filter(state, pod, snapshot, &mut skips) {
            Ok(result) => result.node_names,
            Err(status) => {
                if status.code() == Code::Error {
                    return Err(fail(diagnosis, Some(status.to_string())));
                }
                if let Some(p) = status.plugin() {
                    diagnosis.unschedulable_plugins.insert(p);
                }
                for n in snapshot.nodes() {
                    diagnosis
                        .node_to_status
                        .insert(n.name().to_owned(), status.clone());
                }
                diagnosis.pre_filter_msg = Some(status.to_string());
                return Err(fail(diagnosis, None));
            }
        };
        let feasible = self.find_feasible(
            state,
            pod,
            snapshot,
            allowed.as_ref(),
            skips,
            &mut diagnosis,
        );
        let feasible = match feasible {
            Ok(f) => f,
            Err(e) => return Err(fail(diagnosis, Some(e))),
        };
        if feasible.is_empty() {
            return Err(fail(diagnosis, None));
        }
        let evaluated = feasible.len() + diagnosis.node_to_status.len();
        if feasible.len() == 1 {
            return Ok(ScheduleResult {
                suggested_host: feasible[0].name().to_owned(),
                evaluated_nodes: evaluated,
                feasible_nodes: 1,
            });
        }
        let totals = self
            .prioritize(state, pod, snapshot, &feasible)
            .map_err(|e| fail(Diagnosis::default(), Some(e)))?;
        let best = self.select_host(&totals);
        Ok(ScheduleResult {
            suggested_host: feasible[best].name().to_owned(),
            evaluated_nodes: evaluated,
            feasible_nodes: feasible.len(),
        })
    }

    /// Runs every PreFilter plugin: the merged node restriction, or the first rejection
    /// (with its plugin recorded).
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        self.pre_filter(state, pod, snapshot, &mut Skips::default())
    }

    /// [`run_pre_filter`](Self::run_pre_filter), marking the plugins that skip in
    /// `skips` too.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        skips: &mut Skips,
    ) -> Result<PreFilterResult, Status> {
        let mut merged = PreFilterResult::default();
        *skips = Skips::start(state.marks(true));
        for (i, p) in self.profile.pre_filter.iter().enumerate() {
            let (result, status) = p.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                state.skip_filter(p.name());
                skips.mark(i);
                continue;
            }
            if !status.is_success() {
                return Err(status.with_plugin(p.name()));
            }
            if let Some(r) = result {
                merged = merged.merge(r);
                if merged
                    .node_names
                    .as_ref()
                    .is_some_and(std::collections::BTreeSet::is_empty)
                {
                    return Err(Status::unresolvable(
                        "node(s) didn't satisfy plugin(s) [".to_owned() + p.name() + "]",
                    )
                    .with_plugin(p.name()));
                }
            }
        }
        skips.finish(state.marks(true));
        Ok(merged)
    }

    /// Runs every Filter plugin on one node, stopping at the first rejection.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for p in &self.profile.filter {
            if state.skips_filter(p.name()) {
                continue;
            }
            let status = p.filter(state, pod, node);
            if !status.is_success() {
                return status.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Filters nodes from the rotating start until `want` feasible ones are found, in
    /// rounds: each round takes as many more candidates as feasible nodes are still
    /// wanted and runs every active Filter plugin over the round
    /// ([`Filter::filter_nodes`](super::interface::Filter::filter_nodes)). A round never
    /// yields more than are wanted, so the outcome — which nodes, how many examined —
    /// is the one of filtering node by node.
    fn find_feasible<'s>(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &'s Snapshot,
        allowed: Option<&std::collections::BTreeSet<String>>,
        skips: Skips,
        diagnosis: &mut Diagnosis,
    ) -> Result<Vec<&'s NodeInfo>, String> {
        let nodes = snapshot.nodes();
        let all = nodes.len();
        let want = match allowed {
            Some(a) => {
                num_feasible_nodes_to_find(self.profile.percentage_of_nodes_to_score, a.len())
            }
            None => num_feasible_nodes_to_find(self.profile.percentage_of_nodes_to_score, all),
        };
        // The first round's buffer becomes `feasible` (usually the only round).
        let mut feasible = Vec::new();
        let mut round = Vec::with_capacity(want.min(all));
        let mut rejected: Vec<(&NodeInfo, Status)> = Vec::new();
        let start = self.next_start.load(Ordering::Relaxed) % all;
        // The filters that run this cycle, decided per round rather than per node.
        let active = || {
            (self.profile.filter.iter())
                .zip(&self.filter_pre)
                .filter(|&(p, &pre)| !skips.skipped(pre, state, |s| s.skips_filter(p.name())))
                .map(|(p, _)| p)
        };
        let mut examined = 0;
        while examined < all && feasible.len() < want {
            let need = want - feasible.len();
            while examined < all && round.len() < need {
                // The next stretch of nodes up to the end of the list (then wrap).
                let from = (start + examined) % all;
                let stretch = &nodes[from..all.min(from + (all - examined))];
                let taken = match allowed {
                    None => {
                        let n = stretch.len().min(need - round.len());
                        round.extend(&stretch[..n]);
                        n
                    }
                    Some(a) => {
                        let mut n = 0;
                        for node in stretch {
                            if round.len() == need {
                                break;
                            }
                            n += 1;
                            if a.contains(node.name()) {
                                round.push(node);
                            }
                        }
                        n
                    }
                };
                examined += taken;
            }
            for p in active() {
                if round.is_empty() {
                    break;
                }
                let first = rejected.len();
                p.filter_nodes(state, pod, &mut round, &mut rejected);
                for (_, status) in &mut rejected[first..] {
                    *status = std::mem::take(status).with_plugin(p.name());
                }
            }
            if feasible.is_empty() {
                std::mem::swap(&mut feasible, &mut round);
            } else {
                feasible.append(&mut round);
            }
        }
        if let Some((_, error)) = rejected.iter().find(|(_, s)| s.code() == Code::Error) {
            return Err(error.to_string());
        }
        for (node, status) in rejected {
            if let Some(p) = status.plugin() {
                diagnosis.unschedulable_plugins.insert(p);
            }
            diagnosis
                .node_to_status
                .insert(node.name().to_owned(), status);
        }
        if allowed.is_none() {
            self.next_start
                .store((start + examined) % all, Ordering::Relaxed);
        }
        Ok(feasible)
    }

    fn prioritize(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Result<Vec<i64>, String> {
        let mut skips = Skips::start(state.marks(false));
        for (i, p) in self.profile.pre_score.iter().enumerate() {
            let status = p.pre_score(state, pod, snapshot, nodes);
            if status.is_skip() {
                state.skip_score(p.name());
                skips.mark(i);
            } else if !status.is_success() {
                return Err(format!("{}: {status}", p.name()));
            }
        }
        skips.finish(state.marks(false));
        let plugins = &self.profile.score;
        let runs = |i: usize| {
            let name = plugins[i].0.name();
            !skips.skipped(self.score_pre[i], state, |s| s.skips_score(name))
        };
        let mut totals = vec![0_i64; nodes.len()];
        let mut scores = Vec::new();
        let mut i = 0;
        while i < plugins.len() {
            let (p, weight) = &plugins[i];
            if !runs(i) {
                i += 1;
                continue;
            }
            if let Some(fused) = &self.fused[i]
                && runs(i + 1)
            {
                fused
                    .score_into(state, pod, nodes, &mut totals)
                    .map_err(|s| format!("{}: {s}", s.plugin().unwrap_or(p.name())))?;
                i += 2;
                continue;
            }
            scores.resize(nodes.len(), 0);
            p.score_nodes(state, pod, nodes, &mut scores)
                .map_err(|s| format!("{}: {s}", p.name()))?;
            let status = p.normalize(state, pod, &mut scores);
            if !status.is_success() {
                return Err(format!("{}: {status}", p.name()));
            }
            for (t, s) in totals.iter_mut().zip(&scores) {
                *t += s * weight;
            }
            i += 1;
        }
        Ok(totals)
    }

    /// The index of the highest total; ties are broken uniformly at random with the
    /// seeded generator (kube-scheduler's `selectHost` samples the same distribution
    /// with a reservoir; one draw per cycle here instead of one per tie).
    fn select_host(&self, totals: &[i64]) -> usize {
        let (mut best, mut max, mut ties) = (0, i64::MIN, 0_usize);
        for (i, &t) in totals.iter().enumerate() {
            if t > max {
                (best, max, ties) = (i, t, 1);
            } else if t == max {
                ties += 1;
            }
        }
        if ties <= 1 {
            return best;
        }
        let pick = usize::try_from(splitmix(&self.rng) % ties as u64).unwrap_or(0);
        (totals[best..].iter().enumerate())
            .filter(|&(_, &t)| t == max)
            .nth(pick)
            .map_or(best, |(i, _)| best + i)
    }

    /// Runs PostFilter plugins until one nominates a node.
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &BTreeMap<String, Status>,
    ) -> (Option<PostFilterResult>, Status) {
        let mut last = Status::unschedulable("no PostFilter plugin");
        for p in &self.profile.post_filter {
            let (result, status) = p.post_filter(state, pod, snapshot, statuses, self);
            if status.is_success() {
                return (result, status);
            }
            last = status.with_plugin(p.name());
        }
        (None, last)
    }

    /// Updates the PreFilter state as if `added` were on `node` (preemption's what-if).
    pub fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &Arc<PodInfo>,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        for p in &self.profile.pre_filter {
            if state.skips_filter(p.name()) {
                continue;
            }
            if let Some(ext) = p.extensions() {
                let s = ext.add_pod(state, pod, added, node, snapshot);
                if !s.is_success() {
                    return s.with_plugin(p.name());
                }
            }
        }
        Status::success()
    }

    /// Updates the PreFilter state as if `removed` were gone from `node`.
    pub fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &Arc<PodInfo>,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        for p in &self.profile.pre_filter {
            if state.skips_filter(p.name()) {
                continue;
            }
            if let Some(ext) = p.extensions() {
                let s = ext.remove_pod(state, pod, removed, node, snapshot);
                if !s.is_success() {
                    return s.with_plugin(p.name());
                }
            }
        }
        Status::success()
    }

    /// Runs Reserve plugins; on a failure, unreserves everything and returns it.
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.profile.reserve {
            let s = p.reserve(state, pod, node);
            if !s.is_success() {
                self.run_unreserve(state, pod, node);
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Runs every Reserve plugin's `unreserve`, in reverse order.
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        for p in self.profile.reserve.iter().rev() {
            p.unreserve(state, pod, node);
        }
    }

    /// Runs Permit plugins: a rejection wins; otherwise [`Code::Wait`] with the longest
    /// timeout if any plugin waits; else success.
    pub fn run_permit(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &str,
    ) -> (Status, Duration) {
        let mut wait: Option<(Status, Duration)> = None;
        for p in &self.profile.permit {
            let (s, timeout) = p.permit(state, pod, node, &self.waiting);
            match s.code() {
                Code::Success | Code::Skip => {}
                Code::Wait => {
                    let longest = wait.as_ref().map_or(timeout, |(_, d)| (*d).max(timeout));
                    wait = Some((s.with_plugin(p.name()), longest));
                }
                _ => return (s.with_plugin(p.name()), Duration::ZERO),
            }
        }
        wait.unwrap_or((Status::success(), Duration::ZERO))
    }

    /// Runs PreBind plugins, stopping at the first failure.
    pub async fn run_pre_bind(&self, state: &CycleState, pod: &Pod, node: &str) -> Status {
        for p in &self.profile.pre_bind {
            let s = p.pre_bind(state, pod, node).await;
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Runs Bind plugins until one does not skip.
    pub async fn run_bind(&self, state: &CycleState, pod: &Pod, node: &str) -> Status {
        for p in &self.profile.bind {
            let s = p.bind(state, pod, node).await;
            if !s.is_skip() {
                return if s.is_success() {
                    s
                } else {
                    s.with_plugin(p.name())
                };
            }
        }
        Status::error("no bind plugin bound the pod")
    }

    /// Runs PostBind plugins.
    pub fn run_post_bind(&self, state: &CycleState, pod: &Pod, node: &str) {
        for p in &self.profile.post_bind {
            p.post_bind(state, pod, node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_to_find_follow_kubernetes_adaptive_rule() {
        assert_eq!(num_feasible_nodes_to_find(None, 50), 50);
        assert_eq!(num_feasible_nodes_to_find(None, 100), 100);
        assert_eq!(
            num_feasible_nodes_to_find(None, 1_000),
            420,
            "50 - 8 = 42 %"
        );
        assert_eq!(
            num_feasible_nodes_to_find(None, 5_000),
            500,
            "50 - 40 = 10 %"
        );
        assert_eq!(num_feasible_nodes_to_find(None, 6_000), 300, "floor of 5 %");
        assert_eq!(num_feasible_nodes_to_find(None, 150), 100, "at least 100");
        assert_eq!(num_feasible_nodes_to_find(Some(100), 5_000), 5_000);
        assert_eq!(num_feasible_nodes_to_find(Some(30), 1_000), 300);
    }
}
