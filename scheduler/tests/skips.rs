//! Which Filter and Score plugins run follows the skip marks in the `CycleState`,
//! whoever made them: a PreFilter/PreScore of the same name returning Skip (any of
//! several with that name), a plugin marking by hand, or the caller before the cycle.
//! A fused pair of scorers is not used when one of them is skipped.

mod common;

use std::sync::Arc;

use common::{node, pod};
use keel_scheduler::framework::{
    CycleState, Filter, Framework, NodeInfo, Plugin, PodInfo, PreFilter, PreFilterResult, PreScore,
    Profile, Snapshot, Status,
};
use keel_scheduler::plugins::default_profile;

/// A Filter that rejects every node.
struct Picky;

impl Plugin for Picky {
    fn name(&self) -> &'static str {
        "Picky"
    }
}

impl Filter for Picky {
    fn filter(&self, _: &CycleState, _: &PodInfo, _: &NodeInfo) -> Status {
        Status::unschedulable("picky")
    }
}

/// A PreFilter named `name` that returns Skip when `skip`, and marks `marks` by hand.
struct Pre {
    name: &'static str,
    skip: bool,
    marks: &'static [&'static str],
}

impl Pre {
    /// A plugin named `name` that returns Skip and marks nothing by hand.
    fn skipping(name: &'static str) -> Pre {
        Pre {
            name,
            skip: true,
            marks: &[],
        }
    }
}

impl Plugin for Pre {
    fn name(&self) -> &'static str {
        self.name
    }
}

impl PreFilter for Pre {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        _: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        for m in self.marks {
            state.skip_filter(m);
        }
        let status = if self.skip {
            Status::skip()
        } else {
            Status::success()
        };
        (None, status)
    }
}

impl PreScore for Pre {
    fn pre_score(&self, _: &mut CycleState, _: &PodInfo, _: &Snapshot, _: &[&NodeInfo]) -> Status {
        if self.skip {
            Status::skip()
        } else {
            Status::success()
        }
    }
}

fn with_picky(pre: Vec<Pre>) -> Framework {
    let mut profile = default_profile();
    profile.filter.push(Arc::new(Picky));
    for p in pre {
        profile.pre_filter.push(Arc::new(p));
    }
    Framework::new(profile)
}

fn snapshot() -> Snapshot {
    Snapshot::from_objects([Arc::new(node("a", "4", "8Gi"))], Vec::new())
}

fn placed(fw: &Framework, state: &mut CycleState) -> bool {
    let info = PodInfo::new(Arc::new(pod("p", "1", "1Gi")));
    fw.schedule_pod(state, &info, &snapshot()).is_ok()
}

#[test]
fn a_filter_runs_unless_marked_skipped() {
    assert!(!placed(&with_picky(Vec::new()), &mut CycleState::new()));
    let skipping = Pre::skipping("Picky");
    assert!(placed(&with_picky(vec![skipping]), &mut CycleState::new()));
}

#[test]
fn any_prefilter_of_the_name_skips_it() {
    let first = Pre {
        name: "Picky",
        skip: false,
        marks: &[],
    };
    let second = Pre::skipping("Picky");
    assert!(placed(
        &with_picky(vec![first, second]),
        &mut CycleState::new()
    ));
}

#[test]
fn marks_made_by_hand_or_before_the_cycle_count() {
    let marker = Pre {
        name: "Marker",
        skip: false,
        marks: &["Picky"],
    };
    assert!(placed(&with_picky(vec![marker]), &mut CycleState::new()));
    let mut marked = CycleState::new();
    marked.skip_filter("Picky");
    assert!(placed(&with_picky(Vec::new()), &mut marked));
}

/// Where a 1-core, 1 GiB pod goes on `a` (8 cores, 8 GiB: balanced) and `b` (8 cores,
/// 64 GiB: more left over, less balanced) under `profile`.
fn choice(profile: Profile) -> String {
    let s = Snapshot::from_objects(
        [
            Arc::new(node("a", "8", "8Gi")),
            Arc::new(node("b", "8", "64Gi")),
        ],
        Vec::new(),
    );
    let info = PodInfo::new(Arc::new(pod("p", "1", "1Gi")));
    let fw = Framework::new(profile);
    fw.schedule_pod(&mut CycleState::new(), &info, &s)
        .expect("fits")
        .suggested_host
}

/// The default profile with a PreScore named `name` that returns Skip.
fn skipping_pre_score(name: &'static str) -> Profile {
    let mut profile = default_profile();
    profile.pre_score.push(Arc::new(Pre::skipping(name)));
    profile
}

#[test]
fn a_fused_pair_is_not_used_when_a_partner_is_skipped() {
    // BalancedAllocation prefers `a` (100 against 94), LeastAllocated `b` (92 against 87).
    assert_eq!(choice(default_profile()), "a");
    let mut without = default_profile();
    without
        .score
        .retain(|(p, _)| p.name() != "NodeResourcesBalancedAllocation");
    assert_eq!(choice(without), "b");
    assert_eq!(
        choice(skipping_pre_score("NodeResourcesBalancedAllocation")),
        "b",
        "BalancedAllocation skipped: LeastAllocated alone"
    );
    assert_eq!(
        choice(skipping_pre_score("NodeResourcesFit")),
        "a",
        "NodeResourcesFit skipped: balance alone"
    );
}
