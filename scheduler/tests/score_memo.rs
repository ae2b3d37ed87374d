//! The fused LeastAllocated + BalancedAllocation scorer remembers each snapshot node's
//! score between pods of one shape, and NodeResourcesFit each node's verdict: whatever
//! happens to the snapshot between cycles, scores are always the two plugins' own and
//! verdicts the filter's, computed afresh.

mod common;

use std::sync::Arc;

use common::{node, node_with, pod};
use keel_core::api::Node;
use keel_scheduler::framework::{
    CycleState, Filter, FusedScore, NodeInfo, PodInfo, Score, Snapshot,
};
use keel_scheduler::plugins::{BalancedAllocation, NodeResourcesFit};
use proptest::prelude::*;
use serde_json::json;

/// Pod shapes (CPU, memory, ephemeral storage requests): few, so that shapes repeat;
/// one without requests (scored by the non-zero defaults); two that differ only in
/// storage.
const SHAPES: [(&str, &str, &str); 5] = [
    ("100m", "128Mi", ""),
    ("250m", "1Gi", ""),
    ("", "", ""),
    ("2", "", ""),
    ("100m", "128Mi", "1Gi"),
];

#[derive(Clone, Debug)]
enum Op {
    /// Scores every node for a pod of shape `.0` with the scorer `.1`.
    Score(usize, usize),
    /// Filters every node by resources for a pod of shape `.0`.
    Fit(usize),
    /// Places a pod of shape `.0` on node `.1`.
    Place(usize, usize),
    /// Removes the `.0`-th placed pod (modulo how many there are).
    Remove(usize),
    /// Replaces node `.0` with one of `.1` cores.
    Resize(usize, u8),
    /// Goes on with a clone of the snapshot (and keeps changing the old one).
    Clone,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..SHAPES.len(), 0..2_usize).prop_map(|(s, f)| Op::Score(s, f)),
        3 => (0..SHAPES.len()).prop_map(Op::Fit),
        3 => (0..SHAPES.len(), 0..NODES).prop_map(|(s, n)| Op::Place(s, n)),
        1 => any::<usize>().prop_map(Op::Remove),
        1 => (0..NODES, 1_u8..16).prop_map(|(n, c)| Op::Resize(n, c)),
        1 => Just(Op::Clone),
    ]
}

const NODES: usize = 5;

fn shaped(i: usize, shape: usize) -> PodInfo {
    let (cpu, mem, storage) = SHAPES[shape];
    let mut p = pod(&format!("p{i}"), cpu, mem);
    if !storage.is_empty() {
        let resources = p.spec.containers[0].resources.get_or_insert_default();
        resources.requests.insert(
            "ephemeral-storage".into(),
            storage.parse().expect("quantity"),
        );
    }
    PodInfo::new(Arc::new(p))
}

/// Node `i` with `cores`; the even ones with 2Gi of ephemeral storage.
fn sized(i: usize, cores: &str) -> Arc<Node> {
    let storage = if i.is_multiple_of(2) { "2Gi" } else { "0" };
    Arc::new(node_with(
        &format!("n{i}"),
        cores,
        "8Gi",
        json!({"status": {"allocatable": {"ephemeral-storage": storage}}}),
    ))
}

/// The two plugins' weighted scores of `nodes`, each computed on its own.
fn fresh(pod: &PodInfo, nodes: &[&NodeInfo], weights: (i64, i64)) -> Vec<i64> {
    let state = CycleState::new();
    let (mut fit, mut balanced) = (vec![0; nodes.len()], vec![0; nodes.len()]);
    (NodeResourcesFit::default().score_nodes(&state, pod, nodes, &mut fit)).unwrap();
    (BalancedAllocation::default().score_nodes(&state, pod, nodes, &mut balanced)).unwrap();
    (fit.iter().zip(&balanced))
        .map(|(f, b)| f * weights.0 + b * weights.1)
        .collect()
}

/// The default profile's weights and other ones, fused.
fn scorers() -> Vec<((i64, i64), Box<dyn FusedScore>)> {
    [(1, 1), (3, 2)]
        .into_iter()
        .map(|(w, v)| {
            let fused = NodeResourcesFit::default().fuse(w, &BalancedAllocation::default(), v);
            ((w, v), fused.expect("the default pair fuses"))
        })
        .collect()
}

fn scored(fused: &dyn FusedScore, pod: &PodInfo, nodes: &[&NodeInfo]) -> Vec<i64> {
    let mut totals = vec![0; nodes.len()];
    (fused.score_into(&CycleState::new(), pod, nodes, &mut totals)).unwrap();
    totals
}

/// NodeResourcesFit's batched verdicts on every node of `s`: the nodes kept, and the
/// rejected ones with their reasons.
fn verdicts(pod: &PodInfo, s: &Snapshot) -> (Vec<String>, Vec<(String, String)>) {
    let mut kept: Vec<&NodeInfo> = s.nodes().iter().collect();
    let mut rejected = Vec::new();
    NodeResourcesFit::default().filter_nodes(&CycleState::new(), pod, &mut kept, &mut rejected);
    (
        kept.iter().map(|n| n.name().to_owned()).collect(),
        (rejected.iter())
            .map(|(n, status)| (n.name().to_owned(), status.to_string()))
            .collect(),
    )
}

/// The same, node by node through `Filter::filter`.
fn fresh_verdicts(pod: &PodInfo, s: &Snapshot) -> (Vec<String>, Vec<(String, String)>) {
    let (mut kept, mut rejected) = (Vec::new(), Vec::new());
    for n in s.nodes() {
        let status = NodeResourcesFit::default().filter(&CycleState::new(), pod, n);
        if status.is_success() {
            kept.push(n.name().to_owned());
        } else {
            rejected.push((n.name().to_owned(), status.to_string()));
        }
    }
    (kept, rejected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn remembered_scores_are_always_the_plugins_own(ops in proptest::collection::vec(op(), 1..60)) {
        let mut snapshot = Snapshot::from_objects((0..NODES).map(|i| sized(i, "4")), Vec::new());
        let mut old = None;
        let mut placed: Vec<String> = Vec::new();
        let scorers = scorers();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Score(shape, f) => {
                    let pod = shaped(i, shape);
                    let (weights, fused) = &scorers[f];
                    for s in std::iter::once(&snapshot).chain(old.as_ref()) {
                        let nodes: Vec<&NodeInfo> = s.nodes().iter().collect();
                        prop_assert_eq!(scored(&**fused, &pod, &nodes), fresh(&pod, &nodes, *weights));
                    }
                }
                Op::Fit(shape) => {
                    let pod = shaped(i, shape);
                    for s in std::iter::once(&snapshot).chain(old.as_ref()) {
                        prop_assert_eq!(verdicts(&pod, s), fresh_verdicts(&pod, s));
                    }
                }
                Op::Place(shape, n) => {
                    let pod = shaped(i, shape);
                    let placed_here = snapshot.assume(Arc::new(pod), &format!("n{n}"));
                    prop_assert!(placed_here);
                    placed.push(format!("p{i}"));
                }
                Op::Remove(k) if !placed.is_empty() => {
                    let name = placed.swap_remove(k % placed.len());
                    prop_assert!(snapshot.remove_pod("default", &name).is_some());
                }
                Op::Remove(_) => {}
                Op::Resize(n, cores) => {
                    snapshot.set_node(sized(n, &cores.to_string()));
                }
                Op::Clone => {
                    let mut previous = snapshot.clone();
                    std::mem::swap(&mut previous, &mut snapshot);
                    if let Some(name) = placed.first() {
                        previous.remove_pod("default", name);
                    }
                    old = Some(previous);
                }
            }
        }
    }
}

#[test]
fn a_node_taken_out_of_a_snapshot_is_scored_afresh_after_any_change() {
    let snapshot = Snapshot::from_objects([Arc::new(node("n", "4", "8Gi"))], Vec::new());
    let ((weights, fused), pod) = (scorers().remove(0), shaped(0, 0));
    let ask = |n: &NodeInfo| (scored(&*fused, &pod, &[n]), fresh(&pod, &[n], weights));
    for _ in 0..3 {
        let (memo, plain) = ask(&snapshot.nodes()[0]);
        assert_eq!(memo, plain, "the snapshot's node");
    }
    // A clone is the caller's: its public amounts can be written directly.
    let mut taken = snapshot.nodes()[0].clone();
    let before = ask(&taken).0;
    taken.non_zero_cpu += 3_000;
    taken.allocatable.memory /= 2;
    let (memo, plain) = ask(&taken);
    assert_eq!(memo, plain);
    assert_ne!(memo, before, "the change shows");
    // So is a node built by hand.
    let mut own = NodeInfo::new(Arc::new(node("own", "4", "8Gi")));
    let before = ask(&own).0;
    own.non_zero_memory += 4 << 30;
    let (memo, plain) = ask(&own);
    assert_eq!(memo, plain);
    assert_ne!(memo, before);
    let (memo, plain) = ask(&snapshot.nodes()[0]);
    assert_eq!(memo, plain, "the snapshot's node is untouched");
}

/// With a negative weight the two additions can overflow where their sum would not:
/// such scores are not remembered, so a recalled pass overflows exactly where a
/// computed one does (a panic with overflow checks on, as here).
#[cfg(debug_assertions)]
#[test]
fn scores_with_a_negative_part_are_computed_every_time() {
    let snapshot = Snapshot::from_objects([Arc::new(node("n", "4", "8Gi"))], Vec::new());
    let fused = (NodeResourcesFit::default())
        .fuse(-1, &BalancedAllocation::default(), 1)
        .expect("fuses");
    let pod = shaped(0, 0);
    let nodes: Vec<&NodeInfo> = snapshot.nodes().iter().collect();
    let fresh = fresh(&pod, &nodes, (-1, 1));
    assert!(
        fresh[0] > 0 && fresh[0] < 100,
        "a small positive sum: {fresh:?}"
    );
    for _ in 0..2 {
        // The shape met twice: from now on scores are remembered if they may be.
        assert_eq!(scored(&*fused, &pod, &nodes), fresh);
    }
    for _ in 0..2 {
        let mut totals = vec![i64::MIN + 1];
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fused.score_into(&CycleState::new(), &pod, &nodes, &mut totals)
        }));
        assert!(run.is_err(), "adding the negative part first overflows");
    }
}

/// Threads scoring and filtering one snapshot at once, with different shapes and
/// scorers, overwrite each other's memos: every answer is still the fresh one.
#[test]
fn threads_sharing_a_snapshot_get_fresh_answers() {
    let mut snapshot = Snapshot::from_objects((0..NODES).map(|i| sized(i, "4")), Vec::new());
    for (i, shape) in [0, 1, 3, 4].into_iter().enumerate() {
        assert!(snapshot.assume(Arc::new(shaped(100 + i, shape)), &format!("n{i}")));
    }
    let scorers = scorers();
    let nodes: Vec<&NodeInfo> = snapshot.nodes().iter().collect();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (scorers, nodes, snapshot) = (&scorers, &nodes, &snapshot);
            scope.spawn(move || {
                for round in 0..200 {
                    let pod = shaped(round, (t + round / 3) % SHAPES.len());
                    let (weights, fused) = &scorers[(t + round) % 2];
                    assert_eq!(scored(&**fused, &pod, nodes), fresh(&pod, nodes, *weights));
                    assert_eq!(verdicts(&pod, snapshot), fresh_verdicts(&pod, snapshot));
                }
            });
        }
    });
}
