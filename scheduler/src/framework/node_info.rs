//! [`NodeInfo`]: a node with the pods on it and what they use — requested resources,
//! host ports, images — kept up to date as pods come and go.

use std::collections::HashMap;
use std::sync::Arc;

use keel_core::api::Node;

use super::pod_info::{HostPort, PodInfo, Resources};
use super::score_memo::NodeMemos;

/// An image on a node: its size and on how many nodes of the cluster it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageState {
    /// Size in bytes.
    pub size: i64,
    /// How many nodes have it.
    pub num_nodes: usize,
}

/// A node and the pods on it (bound or assumed).
///
/// Laid out (`repr(C)`, cache-line aligned) so that what every Filter and Score of
/// every cycle reads sits in the first cache lines: the flags and what the default
/// scorers read (non-zero requests, allocatable CPU and memory) in the first, what a
/// fit check reads (pod count, allocatable and requested amounts) in the first two;
/// the rest follows.
///
/// A snapshot's nodes remember their last fused resource score and resource-fit
/// verdict until they change; a `NodeInfo` built by hand or cloned out of a snapshot is
/// its holder's to change field by field, and never remembers (see ARCHITECTURE.md).
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct NodeInfo {
    /// `spec.unschedulable` (kept inline: read for every node in every cycle).
    pub unschedulable: bool,
    /// Whether the node has any taint.
    pub has_taints: bool,
    /// The sum of the pods' requests for scoring (see [`PodInfo::non_zero_cpu`]).
    pub non_zero_cpu: i64,
    /// See `non_zero_cpu`.
    pub non_zero_memory: i64,
    /// Every pod on the node (here, so that a fit check reads two cache lines).
    pub pods: Vec<Arc<PodInfo>>,
    /// What the node offers (`status.allocatable`).
    pub allocatable: Resources,
    /// The sum of the pods' requests.
    pub requested: Resources,
    /// The last fused score of CPU and memory and the last fit verdict computed for the
    /// node as it is (read instead of the amounts when they answer: the third cache
    /// line).
    pub(crate) memo: NodeMemos,
    node: Arc<Node>,
    /// The node's name (read for the chosen node of every cycle: kept here rather than
    /// behind the node object).
    name: Arc<str>,
    /// The pods with any pod (anti-)affinity term.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// The pods with a required anti-affinity term.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// Host ports in use.
    pub used_ports: Vec<HostPort>,
    /// Images on the node (every name of each), with cluster-wide spread filled in by
    /// the snapshot.
    pub images: HashMap<String, ImageState>,
    /// Bumped on every change.
    pub generation: u64,
}

impl NodeInfo {
    /// A node without pods.
    pub fn new(node: Arc<Node>) -> NodeInfo {
        let mut info = NodeInfo {
            allocatable: Resources::default(),
            node: node.clone(),
            name: Arc::from(""),
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            requested: Resources::default(),
            non_zero_cpu: 0,
            non_zero_memory: 0,
            used_ports: Vec::new(),
            images: HashMap::new(),
            generation: 0,
            unschedulable: false,
            has_taints: false,
            memo: NodeMemos::default(),
        };
        info.set_node(node);
        info
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node, shared.
    pub fn node_arc(&self) -> &Arc<Node> {
        &self.node
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's name, shared.
    pub(crate) fn name_shared(&self) -> &Arc<str> {
        &self.name
    }

    /// Replaces the node object (its pods stay).
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.memo.forget();
        let status = node.status.as_ref();
        self.allocatable = status
            .map(|s| Resources::from_list(&s.allocatable))
            .unwrap_or_default();
        self.images.clear();
        for image in status.map(|s| s.images.as_slice()).unwrap_or_default() {
            for name in &image.names {
                self.images.insert(
                    name.clone(),
                    ImageState {
                        size: image.size_bytes.unwrap_or(0),
                        num_nodes: 1,
                    },
                );
            }
        }
        let name = node.metadata.name.as_deref().unwrap_or("");
        if *self.name != *name {
            self.name = Arc::from(name);
        }
        self.unschedulable = node.spec.unschedulable == Some(true);
        self.has_taints = !node.spec.taints.is_empty();
        self.node = node;
        self.generation += 1;
    }

    /// Adds a pod (bound here, or assumed while its binding is in flight).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.memo.forget();
        self.requested.add(&pod.requests);
        self.non_zero_cpu += pod.non_zero_cpu;
        self.non_zero_memory += pod.non_zero_memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
        self.generation += 1;
    }

    /// Removes the pod with `uid` (or, without uid, `namespace/name`); returns it.
    pub fn remove_pod(&mut self, namespace: &str, name: &str) -> Option<Arc<PodInfo>> {
        let same = |p: &Arc<PodInfo>| {
            p.pod.metadata.name.as_deref() == Some(name)
                && p.pod.metadata.namespace.as_deref().unwrap_or("") == namespace
        };
        let i = self.pods.iter().position(same)?;
        let pod = self.pods.swap_remove(i);
        self.memo.forget();
        self.pods_with_affinity.retain(|p| !same(p));
        self.pods_with_required_anti_affinity.retain(|p| !same(p));
        self.requested.sub(&pod.requests);
        self.non_zero_cpu -= pod.non_zero_cpu;
        self.non_zero_memory -= pod.non_zero_memory;
        for port in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(j);
            }
        }
        self.generation += 1;
        Some(pod)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::{NodeInfo, Resources};

    /// The end of a field of `NodeInfo`, in bytes from its start.
    fn end(offset: usize, size: usize) -> usize {
        offset + size
    }

    #[test]
    fn what_every_cycle_reads_sits_in_the_first_cache_lines() {
        let i64s = size_of::<i64>();
        let alloc = offset_of!(NodeInfo, allocatable);
        let req = offset_of!(NodeInfo, requested);
        // Scoring (LeastAllocated, BalancedAllocation): the first line.
        for e in [
            end(offset_of!(NodeInfo, non_zero_cpu), i64s),
            end(offset_of!(NodeInfo, non_zero_memory), i64s),
            end(alloc + offset_of!(Resources, milli_cpu), i64s),
            end(alloc + offset_of!(Resources, memory), i64s),
        ] {
            assert!(e <= 64, "a scored amount ends at byte {e}");
        }
        // The fit check: the first two lines.
        for e in [
            end(offset_of!(NodeInfo, pods), size_of::<Vec<()>>()),
            end(alloc + offset_of!(Resources, pods), i64s),
            end(alloc + offset_of!(Resources, ephemeral_storage), i64s),
            end(req + offset_of!(Resources, milli_cpu), i64s),
            end(req + offset_of!(Resources, memory), i64s),
            end(req + offset_of!(Resources, ephemeral_storage), i64s),
        ] {
            assert!(e <= 128, "a fit amount ends at byte {e}");
        }
        assert!(offset_of!(NodeInfo, unschedulable) < 64 && offset_of!(NodeInfo, has_taints) < 64);
        // The memos: one line, read alone by a node that answers by memo.
        let memo = offset_of!(NodeInfo, memo);
        assert_eq!(memo / 64, (memo + size_of::<super::NodeMemos>() - 1) / 64);
    }
}
