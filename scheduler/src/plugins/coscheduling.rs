//! Coscheduling (gang scheduling), after kubernetes-sigs/scheduler-plugins: pods
//! labelled with a pod group and its minimum size are bound all together or not at
//! all. Each member that fits waits at Permit until the group has `min-available`
//! members placed (waiting or bound); then all are let go. A member that waits longer
//! than the timeout is rejected, and so are its waiting siblings.

use std::time::Duration;

use crate::framework::{
    Code, CycleState, Permit, Plugin, PodInfo, PreFilter, PreFilterResult, Snapshot, Status,
    WaitingPods,
};

/// The label naming a pod's group.
pub const POD_GROUP_LABEL: &str = "pod-group.scheduling.sigs.k8s.io/name";
/// The label giving the group's minimum size.
pub const MIN_AVAILABLE_LABEL: &str = "pod-group.scheduling.sigs.k8s.io/min-available";

/// The Coscheduling plugin.
#[derive(Clone, Debug)]
pub struct Coscheduling {
    /// How long a member waits at Permit for the rest of its group.
    pub permit_waiting_time: Duration,
}

impl Default for Coscheduling {
    fn default() -> Self {
        Coscheduling {
            permit_waiting_time: Duration::from_secs(60),
        }
    }
}

impl Plugin for Coscheduling {
    fn name(&self) -> &'static str {
        "Coscheduling"
    }
}

/// The pod's group and minimum size, if it belongs to one.
pub fn pod_group(pod: &keel_core::api::Pod) -> Option<(String, usize)> {
    let labels = &pod.metadata.labels;
    let name = labels.get(POD_GROUP_LABEL)?;
    let min = labels
        .get(MIN_AVAILABLE_LABEL)
        .and_then(|m| m.parse().ok())
        .unwrap_or(1);
    Some((
        format!("{}/{name}", pod.metadata.namespace.as_deref().unwrap_or("")),
        min,
    ))
}

/// Members of the group already bound (not assumed: assumed ones are waiting).
#[derive(Clone, Debug)]
struct Bound(usize);

impl PreFilter for Coscheduling {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let Some((group, _)) = pod_group(&pod.pod) else {
            return (None, Status::skip());
        };
        let bound = snapshot
            .nodes()
            .iter()
            .flat_map(|n| &n.pods)
            .filter(|p| {
                p.pod.node_name().is_some() && pod_group(&p.pod).is_some_and(|(g, _)| g == group)
            })
            .count();
        state.write(Bound(bound));
        (None, Status::success())
    }
}

impl Permit for Coscheduling {
    fn permit(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &str,
        waiting: &WaitingPods,
    ) -> (Status, Duration) {
        let Some((group, min)) = pod_group(&pod.pod) else {
            return (Status::success(), Duration::ZERO);
        };
        let siblings: Vec<(String, String)> = waiting
            .list()
            .into_iter()
            .filter(|(p, _)| pod_group(p).is_some_and(|(g, _)| g == group))
            .map(|(p, _)| {
                (
                    p.metadata.namespace.clone().unwrap_or_default(),
                    p.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let bound = state.read::<Bound>().map_or(0, |b| b.0);
        if bound + siblings.len() + 1 >= min {
            for (ns, name) in &siblings {
                waiting.allow(ns, name);
            }
            return (Status::success(), Duration::ZERO);
        }
        (
            Status::new(
                Code::Wait,
                format!(
                    "waiting for pod group {group}: {} of {min} members placed",
                    bound + siblings.len() + 1
                ),
            ),
            self.permit_waiting_time,
        )
    }
}

/// Rejects every waiting member of `pod`'s group (one member failed or timed out, so
/// the group cannot be complete now).
pub fn reject_group(pod: &keel_core::api::Pod, waiting: &WaitingPods, message: &str) {
    let Some((group, _)) = pod_group(pod) else {
        return;
    };
    for (p, _) in waiting.list() {
        if pod_group(&p).is_some_and(|(g, _)| g == group) {
            waiting.reject(
                p.metadata.namespace.as_deref().unwrap_or(""),
                p.metadata.name.as_deref().unwrap_or(""),
                message,
            );
        }
    }
}

/// The default profile plus Coscheduling at PreFilter and Permit.
pub fn coscheduling_profile(plugin: Coscheduling) -> crate::framework::Profile {
    let plugin = std::sync::Arc::new(plugin);
    let mut p = super::default_profile();
    p.pre_filter.push(plugin.clone());
    p.permit.push(plugin);
    p
}
