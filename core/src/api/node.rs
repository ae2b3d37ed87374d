//! `Node` (core/v1): a machine that runs pods, cluster-scoped.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceList;
use crate::meta::Time;

/// Taint key: the node's `Ready` condition is `False`.
pub const TAINT_NODE_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint key: the node's `Ready` condition is `Unknown` (the node stopped reporting).
pub const TAINT_NODE_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Taint key: the node is cordoned (`spec.unschedulable`).
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// Taint key: the node reports memory pressure.
pub const TAINT_NODE_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
/// Taint key: the node reports disk pressure.
pub const TAINT_NODE_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
/// Taint key: the node reports PID pressure.
pub const TAINT_NODE_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
/// Taint key: the node's network is not configured.
pub const TAINT_NODE_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

/// How a node was set up and whether it takes new pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// The pod IP range assigned to the node (first of `podCIDRs`).
    #[serde(default, rename = "podCIDR", skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// The pod IP ranges assigned to the node, at most one per IP family.
    #[serde(default, rename = "podCIDRs", skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
    /// The cloud provider's ID of the node: `<ProviderName>://<ProviderSpecificNodeID>`.
    #[serde(
        default,
        rename = "providerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    /// Cordoned: no new pods are scheduled here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<bool>,
    /// Taints that repel pods not tolerating them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Deprecated dynamic kubelet config source; kept as written (Keel never reads it,
    /// and the feature is removed from Kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_source: Option<serde_json::Value>,
    /// Deprecated; kept so old manifests load.
    #[serde(
        default,
        rename = "externalID",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
}

/// A taint: pods that do not tolerate it are kept off (or evicted from) the node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taint {
    /// The taint key (a qualified name).
    #[serde(default)]
    pub key: String,
    /// The taint value (a label value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[serde(default)]
    pub effect: String,
    /// When a `NoExecute` taint was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<Time>,
}

impl Taint {
    /// Pods that do not tolerate the taint are not scheduled here.
    pub const EFFECT_NO_SCHEDULE: &'static str = "NoSchedule";
    /// The scheduler tries to avoid the node.
    pub const EFFECT_PREFER_NO_SCHEDULE: &'static str = "PreferNoSchedule";
    /// Pods that do not tolerate the taint are evicted.
    pub const EFFECT_NO_EXECUTE: &'static str = "NoExecute";
}

/// The observed state of a node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStatus {
    /// Total resources of the node.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub capacity: ResourceList,
    /// Resources available to pods (capacity minus reservations).
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub allocatable: ResourceList,
    /// Deprecated node lifecycle phase (`Pending`, `Running`, `Terminated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Observations such as `Ready`, `MemoryPressure`, `DiskPressure`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<NodeCondition>,
    /// Addresses reachable to the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    /// Ports of the daemons running on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_endpoints: Option<NodeDaemonEndpoints>,
    /// Versions and identifiers of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_info: Option<NodeSystemInfo>,
    /// Container images on the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ContainerImage>,
    /// Volumes in use (mounted) on the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_in_use: Vec<String>,
    /// Volumes attached to the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_attached: Vec<AttachedVolume>,
    /// Status of the (removed) dynamic kubelet config; kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// The runtime handlers available on the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_handlers: Vec<NodeRuntimeHandler>,
    /// Features the node's kubelet supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<NodeFeatures>,
}

/// One observation of a node's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeCondition {
    /// `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`, ….
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the kubelet last reported the condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason for the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl NodeCondition {
    /// The node is healthy and ready to accept pods.
    pub const READY: &'static str = "Ready";
    /// The node is short of memory.
    pub const MEMORY_PRESSURE: &'static str = "MemoryPressure";
    /// The node is short of disk.
    pub const DISK_PRESSURE: &'static str = "DiskPressure";
    /// The node is short of process IDs.
    pub const PID_PRESSURE: &'static str = "PIDPressure";
    /// The node's network is not configured.
    pub const NETWORK_UNAVAILABLE: &'static str = "NetworkUnavailable";
}

/// One address of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAddress {
    /// `Hostname`, `InternalIP`, `ExternalIP`, `InternalDNS` or `ExternalDNS`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// The address.
    #[serde(default)]
    pub address: String,
}

/// Ports of the daemons on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeDaemonEndpoints {
    /// The kubelet's endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_endpoint: Option<DaemonEndpoint>,
}

/// A daemon's port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DaemonEndpoint {
    /// The port number (Kubernetes spells this field `Port`).
    #[serde(default)]
    pub port: i32,
}

/// Identifiers and versions of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSystemInfo {
    /// The machine ID reported by the node.
    #[serde(default, rename = "machineID")]
    pub machine_id: String,
    /// The system UUID reported by the node.
    #[serde(default, rename = "systemUUID")]
    pub system_uuid: String,
    /// The boot ID reported by the node.
    #[serde(default, rename = "bootID")]
    pub boot_id: String,
    /// The kernel version (`uname -r`).
    #[serde(default)]
    pub kernel_version: String,
    /// The OS image (`/etc/os-release` PRETTY_NAME).
    #[serde(default)]
    pub os_image: String,
    /// The container runtime and version, e.g. `containerd://1.7.0`.
    #[serde(default)]
    pub container_runtime_version: String,
    /// The kubelet version.
    #[serde(default)]
    pub kubelet_version: String,
    /// The kube-proxy version (deprecated).
    #[serde(default)]
    pub kube_proxy_version: String,
    /// The operating system, e.g. `linux`.
    #[serde(default)]
    pub operating_system: String,
    /// The architecture, e.g. `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// Swap information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<NodeSwapStatus>,
}

/// Swap memory of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSwapStatus {
    /// Total swap in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
}

/// A container image on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerImage {
    /// Names of the image, e.g. `nginx:1.27`, `docker.io/library/nginx@sha256:…`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Size of the image in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
}

/// A volume attached to a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttachedVolume {
    /// Name of the attached volume.
    #[serde(default)]
    pub name: String,
    /// Where the volume's device is on the node.
    #[serde(default)]
    pub device_path: String,
}

/// A runtime handler (e.g. `runc`, `kata`) available on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeRuntimeHandler {
    /// The handler name; empty for the default handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the handler supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<NodeRuntimeHandlerFeatures>,
}

/// Features of a runtime handler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeRuntimeHandlerFeatures {
    /// Recursive read-only mounts are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_read_only_mounts: Option<bool>,
    /// User namespaces are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_namespaces: Option<bool>,
}

/// Features the kubelet supports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeFeatures {
    /// Fine-grained supplemental groups policy is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplemental_groups_policy: Option<bool>,
}

crate::resource! {
    /// A node: a machine (real or simulated) that runs pods.
    #[resource(api_version = "v1", kind = "Node", plural = "nodes", namespaced = false)]
    pub struct Node {
        /// How the node was set up.
        pub spec: NodeSpec,
        /// What the node reports.
        pub status: NodeStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::node::node(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::node::node(self)
        }
        fn field_value(&self, path: &str) -> Option<String> {
            (path == "spec.unschedulable").then(|| self.spec.unschedulable.unwrap_or(false).to_string())
        }
    }
}

impl Node {
    /// The condition of type `type_`, if reported.
    pub fn condition(&self, type_: &str) -> Option<&NodeCondition> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
    }

    /// Whether the node's `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.condition(NodeCondition::READY)
            .is_some_and(|c| c.status == "True")
    }

    /// Whether the node is cordoned (`spec.unschedulable: true`).
    pub fn is_unschedulable(&self) -> bool {
        self.spec.unschedulable == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL_NODE: &str = r#"{
      "apiVersion": "v1", "kind": "Node",
      "metadata": {"name": "kind-control-plane", "labels": {"kubernetes.io/os": "linux"}},
      "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24", "fd00:10:244::/64"],
        "providerID": "kind://docker/kind/kind-control-plane",
        "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                   {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:00Z"}]},
      "status": {
        "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "kind-control-plane"}],
        "allocatable": {"cpu": "8", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"},
        "capacity": {"cpu": "8", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:00Z",
          "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "images": [{"names": ["registry.k8s.io/etcd:3.5.10-0"], "sizeBytes": 56649232}],
        "nodeInfo": {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://1.7.1",
          "kernelVersion": "6.5.0", "kubeProxyVersion": "v1.29.0", "kubeletVersion": "v1.29.0",
          "machineID": "m", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": "u"},
        "runtimeHandlers": [{"name": "runc", "features": {"recursiveReadOnlyMounts": true, "userNamespaces": false}}],
        "features": {"supplementalGroupsPolicy": true},
        "volumesInUse": ["kubernetes.io/csi/x"],
        "volumesAttached": [{"name": "kubernetes.io/csi/x", "devicePath": "/dev/x"}]
      }
    }"#;

    #[test]
    fn kubectl_node_round_trips() {
        let value: serde_json::Value = serde_json::from_str(KUBECTL_NODE).unwrap();
        let node: Node = serde_json::from_value(value.clone()).unwrap();
        assert!(node.is_ready());
        assert!(!node.is_unschedulable());
        assert_eq!(node.spec.taints[1].key, TAINT_NODE_UNREACHABLE);
        assert_eq!(serde_json::to_value(&node).unwrap(), value);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule", "efect": "x"}]}});
        let err = serde_path_to_error::deserialize::<_, Node>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.taints[0].efect");
    }

    #[test]
    fn readiness_needs_a_true_ready_condition() {
        let mut node = Node::default();
        assert!(!node.is_ready());
        node.status = Some(NodeStatus {
            conditions: vec![NodeCondition {
                type_: "Ready".into(),
                status: "Unknown".into(),
                ..NodeCondition::default()
            }],
            ..NodeStatus::default()
        });
        assert!(!node.is_ready());
    }
}
