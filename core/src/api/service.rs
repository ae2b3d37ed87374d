//! `Service` (core/v1): a stable virtual IP and DNS name in front of a set of pods.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::intstr::IntOrString;
use crate::meta::Condition;

/// How a service is exposed and which pods back it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// The ports the service exposes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    /// Pods with these labels back the service; empty means endpoints are managed
    /// elsewhere.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The virtual IP, `None` for a headless service; allocated by the store when empty.
    #[serde(default, rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    /// The virtual IPs, one per IP family; `clusterIPs[0]` equals `clusterIP`.
    #[serde(default, rename = "clusterIPs", skip_serializing_if = "Vec::is_empty")]
    pub cluster_ips: Vec<String>,
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Extra IPs on which nodes accept traffic for the service.
    #[serde(default, rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    /// `None` (default) or `ClientIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<String>,
    /// Settings of `ClientIP` affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    /// Deprecated: the IP a load balancer should use.
    #[serde(
        default,
        rename = "loadBalancerIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub load_balancer_ip: Option<String>,
    /// CIDRs allowed to reach a load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
    /// The DNS name an `ExternalName` service aliases (a CNAME).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
    /// `Cluster` or `Local`: how external traffic is routed to endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<String>,
    /// The node port of the health check of a `Local` load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_node_port: Option<i32>,
    /// Publish endpoints of pods that are not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_not_ready_addresses: Option<bool>,
    /// `IPv4` and/or `IPv6`; assigned by the store when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_families: Vec<String>,
    /// `SingleStack`, `PreferDualStack` or `RequireDualStack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_family_policy: Option<String>,
    /// Whether a `LoadBalancer` service gets node ports (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocate_load_balancer_node_ports: Option<bool>,
    /// The load balancer implementation to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// `Cluster` or `Local`: how in-cluster traffic is routed to endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<String>,
    /// A preference for how traffic is spread, e.g. `PreferClose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_distribution: Option<String>,
}

/// One port of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePort {
    /// The port's name (a DNS-1123 label); required when there are several ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The application protocol, e.g. `http`, `kubernetes.io/h2c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// The port the service exposes.
    #[serde(default)]
    pub port: i32,
    /// The pods' port, a number or a named container port; defaults to `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// The port on every node (`NodePort`/`LoadBalancer`); allocated when 0 or unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i32>,
}

/// Session affinity settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionAffinityConfig {
    /// Settings of `ClientIP` affinity.
    #[serde(default, rename = "clientIP", skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<ClientIpConfig>,
}

/// `ClientIP` session affinity settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientIpConfig {
    /// How long a client sticks to an endpoint, 1–86400 seconds (default 10800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
}

/// The observed state of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceStatus {
    /// The load balancer's addresses, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerStatus>,
    /// The service's conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The addresses of a load balancer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerStatus {
    /// One entry per address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<LoadBalancerIngress>,
}

/// One address of a load balancer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerIngress {
    /// An IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// A DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `VIP` or `Proxy`: how the load balancer's IP behaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_mode: Option<String>,
    /// The ports of the load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortStatus>,
}

/// The status of one load balancer port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortStatus {
    /// The port number.
    #[serde(default)]
    pub port: i32,
    /// `TCP`, `UDP` or `SCTP`.
    #[serde(default)]
    pub protocol: String,
    /// Why the port is in error, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

crate::resource! {
    /// A service: a stable virtual IP and DNS name load-balancing to the pods its
    /// selector matches.
    #[resource(api_version = "v1", kind = "Service", plural = "services", namespaced = true)]
    pub struct Service {
        /// How the service is exposed.
        pub spec: ServiceSpec,
        /// The load balancer's state.
        pub status: ServiceStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::service::service(self);
        }
        fn validate_name(name: &str) -> Vec<String> {
            crate::names::is_dns1035_label(name)
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::service::service(self)
        }
    }
}

impl Service {
    /// `spec.type` for a virtual IP reachable inside the cluster (the default).
    pub const TYPE_CLUSTER_IP: &'static str = "ClusterIP";
    /// `spec.type` adding a port on every node.
    pub const TYPE_NODE_PORT: &'static str = "NodePort";
    /// `spec.type` adding an external load balancer.
    pub const TYPE_LOAD_BALANCER: &'static str = "LoadBalancer";
    /// `spec.type` for a DNS alias (CNAME) to `spec.externalName`.
    pub const TYPE_EXTERNAL_NAME: &'static str = "ExternalName";
    /// `spec.clusterIP` of a headless service.
    pub const CLUSTER_IP_NONE: &'static str = "None";

    /// `spec.type`, `ClusterIP` when unset.
    pub fn type_str(&self) -> &str {
        self.spec.type_.as_deref().unwrap_or(Self::TYPE_CLUSTER_IP)
    }

    /// Whether the service is headless (`clusterIP: None`): DNS resolves to the pods.
    pub fn is_headless(&self) -> bool {
        self.spec.cluster_ip.as_deref() == Some(Self::CLUSTER_IP_NONE)
    }

    /// Whether traffic from outside the cluster reaches the service (Kubernetes'
    /// `ExternallyAccessible`): `NodePort`, `LoadBalancer`, or `ClusterIP` with
    /// external IPs.
    pub fn is_externally_accessible(&self) -> bool {
        match self.type_str() {
            Self::TYPE_NODE_PORT | Self::TYPE_LOAD_BALANCER => true,
            Self::TYPE_CLUSTER_IP => !self.spec.external_ips.is_empty(),
            _ => false,
        }
    }
}

impl ServiceSpec {
    /// The `targetPort` of the port at `index`, if set.
    pub fn target_port_of(&self, index: usize) -> Option<&IntOrString> {
        self.ports.get(index)?.target_port.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Service {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn kubectl_services_round_trip() {
        for text in [
            include_str!("../../tests/fixtures/kubectl/service-clusterip.yaml"),
            include_str!("../../tests/fixtures/kubectl/service-nodeport.yaml"),
            include_str!("../../tests/fixtures/kubectl/service-lb.yaml"),
            include_str!("../../tests/fixtures/kubectl/service-externalname.yaml"),
        ] {
            let svc = load(text);
            let original: serde_json::Value = serde_saphyr::from_str(text).unwrap();
            let mut back = serde_json::to_value(&svc).unwrap();
            // kubectl writes `creationTimestamp: null`, which is the absent value.
            back["metadata"]["creationTimestamp"] = serde_json::Value::Null;
            assert_eq!(back, original);
        }
        let lb = load(include_str!("../../tests/fixtures/kubectl/service-lb.yaml"));
        assert_eq!(
            lb.status.unwrap().load_balancer,
            Some(LoadBalancerStatus::default())
        );
    }

    #[test]
    fn full_service_round_trips_with_kubernetes_names() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "ports": [{"name": "http", "protocol": "TCP", "appProtocol": "http", "port": 80,
                    "targetPort": "http", "nodePort": 30080}],
                "selector": {"app": "web"}, "clusterIP": "10.0.0.10", "clusterIPs": ["10.0.0.10", "fd00::10"],
                "type": "LoadBalancer", "externalIPs": ["192.0.2.1"], "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
                "loadBalancerIP": "192.0.2.2", "loadBalancerSourceRanges": ["10.0.0.0/8"],
                "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000,
                "publishNotReadyAddresses": true, "ipFamilies": ["IPv4", "IPv6"],
                "ipFamilyPolicy": "PreferDualStack", "allocateLoadBalancerNodePorts": true,
                "loadBalancerClass": "example.com/lb", "internalTrafficPolicy": "Cluster",
                "trafficDistribution": "PreferClose"
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2", "ipMode": "VIP",
                "ports": [{"port": 80, "protocol": "TCP", "error": "x"}]}, {"hostname": "lb.example.com"}]},
                "conditions": [{"type": "Ready", "status": "True", "reason": "R", "message": "m",
                    "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
        });
        let svc: Service = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(svc.spec.target_port_of(0), Some(&IntOrString::from("http")));
        assert!(svc.is_externally_accessible());
        assert_eq!(serde_json::to_value(&svc).unwrap(), json);
    }

    #[test]
    fn helpers_follow_the_type_and_cluster_ip() {
        let mut svc = Service::default();
        assert_eq!(svc.type_str(), "ClusterIP");
        assert!(!svc.is_headless());
        assert!(!svc.is_externally_accessible());
        svc.spec.cluster_ip = Some("None".into());
        assert!(svc.is_headless());
        svc.spec.external_ips.push("192.0.2.1".into());
        assert!(svc.is_externally_accessible());
        svc.spec.type_ = Some("ExternalName".into());
        assert!(!svc.is_externally_accessible());
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
            "spec": {"ports": [{"port": 80, "targetport": 8080}]}});
        let err = serde_path_to_error::deserialize::<_, Service>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.ports[0].targetport");
    }
}
