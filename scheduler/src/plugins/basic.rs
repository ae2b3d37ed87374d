//! The small default plugins: PrioritySort, SchedulingGates, NodeUnschedulable,
//! NodeName, NodePorts.

use keel_core::api::Pod;

use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreEnqueue, PreFilter, PreFilterResult,
    QueueSort, QueuedPodInfo, Snapshot, Status,
};

/// Orders the active queue by priority, then by arrival.
#[derive(Debug, Default)]
pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        "PrioritySort"
    }
}

impl QueueSort for PrioritySort {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        let (pa, pb) = (
            a.pod.spec.priority.unwrap_or(0),
            b.pod.spec.priority.unwrap_or(0),
        );
        pa > pb || (pa == pb && a.timestamp < b.timestamp)
    }
}

/// Keeps pods with `spec.schedulingGates` out of the active queue.
#[derive(Debug, Default)]
pub struct SchedulingGates;

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        "SchedulingGates"
    }
}

impl PreEnqueue for SchedulingGates {
    fn pre_enqueue(&self, pod: &Pod) -> Status {
        if pod.spec.scheduling_gates.is_empty() {
            return Status::success();
        }
        let names: Vec<&str> = pod
            .spec
            .scheduling_gates
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        Status::unresolvable(format!(
            "waiting for scheduling gates: [{}]",
            names.join(" ")
        ))
    }
}

/// Reason of [`NodeUnschedulable`].
pub const ERR_UNSCHEDULABLE: &str = "node(s) were unschedulable";

/// Rejects nodes with `spec.unschedulable` (cordoned), unless the pod tolerates the
/// `node.kubernetes.io/unschedulable:NoSchedule` taint.
#[derive(Debug, Default)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        "NodeUnschedulable"
    }
}

impl PreFilter for NodeUnschedulable {
    /// Skips the Filter when no node is cordoned (it could reject none).
    fn pre_filter(
        &self,
        _: &mut CycleState,
        _: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        skip_unless(snapshot.cordoned_nodes() > 0)
    }
}

impl Filter for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.unschedulable {
            cordoned(pod)
        } else {
            Status::success()
        }
    }
}

/// A PreFilter's answer when it only decides whether its Filter has anything to do:
/// Skip unless `needed`.
pub(crate) fn skip_unless(needed: bool) -> (Option<PreFilterResult>, Status) {
    if needed {
        (None, Status::success())
    } else {
        (None, Status::skip())
    }
}

/// NodeUnschedulable's verdict on a cordoned node.
#[cold]
fn cordoned(pod: &PodInfo) -> Status {
    let taint = keel_core::api::Taint {
        key: "node.kubernetes.io/unschedulable".into(),
        value: None,
        effect: "NoSchedule".into(),
        time_added: None,
    };
    if pod
        .pod
        .spec
        .tolerations
        .iter()
        .any(|t| super::helper::tolerates(t, &taint))
    {
        return Status::success();
    }
    Status::unresolvable(ERR_UNSCHEDULABLE)
}

/// Reason of [`NodeName`].
pub const ERR_NODE_NAME: &str = "node(s) didn't match the requested node name";

/// A pod that names its node (`spec.nodeName`) fits only there.
#[derive(Debug, Default)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        "NodeName"
    }
}

impl PreFilter for NodeName {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.pod.spec.node_name.as_deref().is_none_or(str::is_empty) {
            return (None, Status::skip());
        }
        (None, Status::success())
    }
}

impl Filter for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match pod.pod.spec.node_name.as_deref() {
            Some(n) if !n.is_empty() && n != node.name() => Status::unresolvable(ERR_NODE_NAME),
            _ => Status::success(),
        }
    }
}

/// Reason of [`NodePorts`].
pub const ERR_NODE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";

/// Rejects nodes where a host port the pod asks for is taken.
#[derive(Debug, Default)]
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        "NodePorts"
    }
}

impl PreFilter for NodePorts {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.host_ports.is_empty() {
            return (None, Status::skip());
        }
        (None, Status::success())
    }
}

impl Filter for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let taken = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
        if taken {
            Status::unschedulable(ERR_NODE_PORTS)
        } else {
            Status::success()
        }
    }
}
