//! Kubernetes' default plugins, with their default weights, and [`default_profile`].

mod basic;
mod coscheduling;
pub mod helper;
mod image_locality;
mod inter_pod_affinity;
mod node_affinity;
mod pod_topology_spread;
mod preemption;
mod resources;
mod taint_toleration;
mod volume_binding;

use std::sync::Arc;

pub use basic::{
    ERR_NODE_NAME, ERR_NODE_PORTS, ERR_UNSCHEDULABLE, NodeName, NodePorts, NodeUnschedulable,
    PrioritySort, SchedulingGates,
};
pub use coscheduling::{
    Coscheduling, MIN_AVAILABLE_LABEL, POD_GROUP_LABEL, coscheduling_profile, pod_group,
    reject_group,
};
pub use image_locality::{ImageLocality, normalized_image_name};
pub use inter_pod_affinity::{
    ERR_AFFINITY, ERR_ANTI_AFFINITY, ERR_EXISTING_ANTI_AFFINITY, InterPodAffinity,
};
pub use node_affinity::{ERR_REASON_POD, NodeAffinity, matches_required};
pub use pod_topology_spread::{
    DefaultingType, ERR_CONSTRAINTS, ERR_MISSING_LABEL, PodTopologySpread, ZONE,
};
pub use preemption::{Candidate, DefaultPreemption, NO_VICTIMS, NOT_HELPFUL, pick, select_victims};
pub use resources::{
    BalancedAllocation, Insufficient, NodeResourcesFit, ResourceWeight, ScoringStrategy, fits,
    insufficient,
};
pub use taint_toleration::TaintToleration;
pub use volume_binding::{ERR_NODE_CONFLICT, ERR_UNBOUND_IMMEDIATE, VolumeBinding};

use crate::framework::Profile;

/// The name of the default profile (`spec.schedulerName` default).
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// kube-scheduler's default profile: the default plugins at each extension point, in
/// Kubernetes' order, with its default score weights (TaintToleration 3, NodeAffinity
/// 2, PodTopologySpread 2, InterPodAffinity 2, NodeResourcesFit 1,
/// NodeResourcesBalancedAllocation 1, ImageLocality 1). Binding is added by the
/// [`Scheduler`](crate::Scheduler), which has the client.
pub fn default_profile() -> Profile {
    let taint = Arc::new(TaintToleration);
    let node_affinity = Arc::new(NodeAffinity);
    let ports = Arc::new(NodePorts);
    let fit = Arc::new(NodeResourcesFit::default());
    let spread = Arc::new(PodTopologySpread::default());
    let affinity = Arc::new(InterPodAffinity::default());
    let mut p = Profile::empty(DEFAULT_SCHEDULER_NAME);
    p.queue_sort = Some(Arc::new(PrioritySort));
    p.pre_enqueue.push(Arc::new(SchedulingGates));
    let unschedulable = Arc::new(NodeUnschedulable);
    p.pre_filter.push(unschedulable.clone());
    p.pre_filter.push(taint.clone());
    p.pre_filter.push(node_affinity.clone());
    p.pre_filter.push(ports.clone());
    p.pre_filter.push(fit.clone());
    let volumes = Arc::new(VolumeBinding);
    p.pre_filter.push(volumes.clone());
    p.pre_filter.push(spread.clone());
    p.pre_filter.push(affinity.clone());
    p.filter.push(unschedulable);
    let node_name = Arc::new(NodeName);
    p.pre_filter.push(node_name.clone());
    p.filter.push(node_name);
    p.filter.push(taint.clone());
    p.filter.push(node_affinity.clone());
    p.filter.push(ports);
    p.filter.push(fit.clone());
    p.filter.push(volumes);
    p.filter.push(spread.clone());
    p.filter.push(affinity.clone());
    p.post_filter.push(Arc::new(DefaultPreemption));
    p.pre_score.push(taint.clone());
    p.pre_score.push(node_affinity.clone());
    p.pre_score.push(spread.clone());
    p.pre_score.push(affinity.clone());
    p.pre_score.push(Arc::new(ImageLocality));
    p.score.push((taint, 3));
    p.score.push((node_affinity, 2));
    p.score.push((fit, 1));
    p.score.push((Arc::new(BalancedAllocation::default()), 1));
    p.score.push((spread, 2));
    p.score.push((affinity, 2));
    p.score.push((Arc::new(ImageLocality), 1));
    p
}
