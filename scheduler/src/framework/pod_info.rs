//! [`PodInfo`]: a pod with what scheduling needs computed once — its requests, host
//! ports and parsed affinity terms — and [`Resources`], the arithmetic form of a
//! resource list.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use keel_core::api::{Pod, PodAffinityTerm, ResourceList};
use keel_core::labels::{LabelSelectorOperator, LabelSelectorRequirement, Selector};

/// The request Kubernetes assumes for scoring a container that requests no CPU (100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// The request Kubernetes assumes for scoring a container that requests no memory
/// (200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Amounts of resources: CPU in millicores, the rest in units (bytes, pods, devices).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Resources {
    /// CPU, in thousandths of a core.
    pub milli_cpu: i64,
    /// Memory, in bytes.
    pub memory: i64,
    /// Local ephemeral storage, in bytes.
    pub ephemeral_storage: i64,
    /// Pods (only meaningful for a node's allocatable).
    pub pods: i64,
    /// Extended and other resources (`nvidia.com/gpu`, `hugepages-2Mi`, …).
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// The amounts of a Kubernetes resource list.
    pub fn from_list(list: &ResourceList) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list {
            match name.as_str() {
                "cpu" => r.milli_cpu = q.milli_value(),
                "memory" => r.memory = q.value(),
                "ephemeral-storage" => r.ephemeral_storage = q.value(),
                "pods" => r.pods = q.value(),
                other => {
                    r.scalar.insert(other.to_owned(), q.value());
                }
            }
        }
        r
    }

    /// Adds `other` (saturating).
    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    /// Subtracts `other` (saturating).
    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_sub(*v);
        }
    }

    /// The amount of the resource `name`.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.milli_cpu,
            "memory" => self.memory,
            "ephemeral-storage" => self.ephemeral_storage,
            "pods" => self.pods,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }
}

/// A host port a pod asks for: address, protocol, port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The host address; `0.0.0.0` for all.
    pub ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The port.
    pub port: i32,
}

impl HostPort {
    /// Whether two host ports collide: same protocol and port, and one of them binds
    /// every address or both bind the same one.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// A pod (anti-)affinity term, parsed: which pods it selects and over which topology.
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    /// The namespaces whose pods count (empty with no namespace selector: the pod's own).
    pub namespaces: BTreeSet<String>,
    /// Pods in namespaces whose labels match count too (`Some(everything)`: all).
    pub namespace_selector: Option<Selector>,
    /// The pods' labels must match this.
    pub selector: Selector,
    /// The node label that defines a topology domain.
    pub topology_key: String,
}

impl AffinityTerm {
    fn parse(pod: &Pod, term: &PodAffinityTerm) -> AffinityTerm {
        let own_ns = pod.metadata.namespace.clone().unwrap_or_default();
        let mut selector = term.label_selector.clone().unwrap_or_default();
        let labels = &pod.metadata.labels;
        for (keys, op) in [
            (&term.match_label_keys, LabelSelectorOperator::In),
            (&term.mismatch_label_keys, LabelSelectorOperator::NotIn),
        ] {
            for key in keys {
                if let Some(v) = labels.get(key) {
                    selector.match_expressions.push(LabelSelectorRequirement {
                        key: key.clone(),
                        operator: op,
                        values: vec![v.clone()],
                    });
                }
            }
        }
        // A term without a selector selects no pods (Kubernetes' `LabelSelectorAsSelector(nil)`).
        let parsed = if term.label_selector.is_none() {
            Selector::nothing()
        } else {
            selector
                .to_selector()
                .unwrap_or_else(|_| Selector::nothing())
        };
        let namespace_selector = term
            .namespace_selector
            .as_ref()
            .map(|s| s.to_selector().unwrap_or_else(|_| Selector::nothing()));
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().cloned().collect();
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.insert(own_ns);
        }
        AffinityTerm {
            namespaces,
            namespace_selector,
            selector: parsed,
            topology_key: term.topology_key.clone(),
        }
    }

    /// Whether `pod` (in a namespace labelled `ns_labels`) is selected by this term.
    pub fn matches(&self, pod: &Pod, ns_labels: Option<&BTreeMap<String, String>>) -> bool {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let in_ns = self.namespaces.contains(ns)
            || self.namespace_selector.as_ref().is_some_and(|s| {
                (s.is_empty() && !s.is_nothing()) || ns_labels.is_some_and(|l| s.matches(l))
            });
        in_ns && self.selector.matches(&pod.metadata.labels)
    }
}

/// An affinity term with its weight.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1–100).
    pub weight: i64,
}

/// A pod and what scheduling needs of it, computed once.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The pod.
    pub pod: Arc<Pod>,
    /// Its effective requests (Kubernetes' `PodRequests`: containers, init containers,
    /// sidecars, overhead).
    pub requests: Resources,
    /// CPU and memory requests for scoring, where a container without a request
    /// counts as 100m CPU and 200 MiB.
    pub non_zero_cpu: i64,
    /// See `non_zero_cpu`.
    pub non_zero_memory: i64,
    /// Host ports it binds.
    pub host_ports: Vec<HostPort>,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

impl PodInfo {
    /// Computes the scheduling view of `pod`.
    pub fn new(pod: Arc<Pod>) -> PodInfo {
        let spec = &pod.spec;
        let requests = match spec.containers.as_slice() {
            // One container and nothing added to it (the common pod): its requests are
            // the pod's, without building the summed resource list.
            [only]
                if spec.init_containers.is_empty()
                    && spec.overhead.is_none()
                    && spec
                        .resources
                        .as_ref()
                        .is_none_or(|r| r.requests.is_empty()) =>
            {
                only.resources
                    .as_ref()
                    .map(|r| Resources::from_list(&r.requests))
                    .unwrap_or_default()
            }
            _ => Resources::from_list(&spec.resource_requests()),
        };
        let (mut cpu, mut mem) = (0_i64, 0_i64);
        for c in &pod.spec.containers {
            let r = c.resources.as_ref().map(|r| &r.requests);
            let get = |k: &str| r.and_then(|r| r.get(k));
            cpu += get("cpu").map_or(
                DEFAULT_MILLI_CPU_REQUEST,
                keel_core::quantity::Quantity::milli_value,
            );
            mem +=
                get("memory").map_or(DEFAULT_MEMORY_REQUEST, keel_core::quantity::Quantity::value);
        }
        if let Some(o) = &pod.spec.overhead {
            cpu += o
                .get("cpu")
                .map_or(0, keel_core::quantity::Quantity::milli_value);
            mem += o
                .get("memory")
                .map_or(0, keel_core::quantity::Quantity::value);
        }
        let mut host_ports = Vec::new();
        for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
            for p in &c.ports {
                if let Some(port) = p.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".to_owned()),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                        port,
                    });
                }
            }
        }
        let affinity = pod.spec.affinity.as_deref();
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: &[PodAffinityTerm]| {
            terms
                .iter()
                .map(|t| AffinityTerm::parse(&pod, t))
                .collect::<Vec<_>>()
        };
        let preferred = |terms: &[keel_core::api::WeightedPodAffinityTerm]| {
            terms
                .iter()
                .map(|t| WeightedAffinityTerm {
                    term: AffinityTerm::parse(&pod, &t.pod_affinity_term),
                    weight: i64::from(t.weight),
                })
                .collect::<Vec<_>>()
        };
        PodInfo {
            requests,
            non_zero_cpu: cpu,
            non_zero_memory: mem,
            host_ports,
            required_affinity: pa
                .map(|a| required(&a.required_during_scheduling_ignored_during_execution))
                .unwrap_or_default(),
            required_anti_affinity: paa
                .map(|a| required(&a.required_during_scheduling_ignored_during_execution))
                .unwrap_or_default(),
            preferred_affinity: pa
                .map(|a| preferred(&a.preferred_during_scheduling_ignored_during_execution))
                .unwrap_or_default(),
            preferred_anti_affinity: paa
                .map(|a| preferred(&a.preferred_during_scheduling_ignored_during_execution))
                .unwrap_or_default(),
            pod,
        }
    }

    /// Whether the pod has any pod affinity or anti-affinity term.
    pub fn has_affinity(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }

    /// The pod's priority (`spec.priority`, 0 when unset).
    pub fn priority(&self) -> i32 {
        self.pod.spec.priority.unwrap_or(0)
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.pod.metadata.namespace.as_deref().unwrap_or(""),
            self.pod.metadata.name.as_deref().unwrap_or("")
        )
    }
}
