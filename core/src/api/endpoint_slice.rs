//! `EndpointSlice` (discovery.k8s.io/v1): a slice of the network endpoints of a service.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ObjectReference;

/// The label naming the service an endpoint slice belongs to.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages an endpoint slice.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";

/// One endpoint: addresses of one backend (usually a pod).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endpoint {
    /// The endpoint's addresses (1–100), of the slice's `addressType`.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Readiness, serving and terminating state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<EndpointConditions>,
    /// The endpoint's hostname (a DNS-1123 label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The object backing the endpoint, usually a pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<ObjectReference>,
    /// The node hosting the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The zone of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Topology-aware routing hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<EndpointHints>,
    /// Deprecated topology labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deprecated_topology: BTreeMap<String, String>,
}

/// The state of an endpoint; an unset field means unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointConditions {
    /// Ready to receive traffic (serving and not terminating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Passing readiness checks, terminating or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<bool>,
    /// Being deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating: Option<bool>,
}

/// Routing hints of an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointHints {
    /// Zones that should consume this endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub for_zones: Vec<ForZone>,
    /// Nodes that should consume this endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub for_nodes: Vec<ForNode>,
}

/// A zone that should consume an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForZone {
    /// The zone's name.
    #[serde(default)]
    pub name: String,
}

/// A node that should consume an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForNode {
    /// The node's name.
    #[serde(default)]
    pub name: String,
}

/// A port of the endpoints in a slice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPort {
    /// The port's name (the service port's name); defaults to `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The port number; unset means all ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The application protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

crate::resource! {
    /// A slice of the endpoints of a service (at most 1000 endpoints per slice).
    #[resource(api_version = "discovery.k8s.io/v1", kind = "EndpointSlice", plural = "endpointslices", namespaced = true)]
    pub struct EndpointSlice {
        /// `IPv4`, `IPv6` or `FQDN`: the type of every address in the slice.
        #[serde(default)]
        pub address_type: String,
        /// The endpoints.
        #[serde(default)]
        pub endpoints: Vec<Endpoint>,
        /// The ports every endpoint exposes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub ports: Vec<EndpointPort>,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::endpoint_slice::endpoint_slice(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::endpoint_slice::endpoint_slice(self)
        }
    }
}

impl EndpointSlice {
    /// The service this slice belongs to (its `kubernetes.io/service-name` label).
    pub fn service_name(&self) -> Option<&str> {
        self.metadata
            .labels
            .get(LABEL_SERVICE_NAME)
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_slice_round_trips() {
        let json = serde_json::json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "web-abc12", "namespace": "default",
                "labels": {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
                "nodeName": "node-1", "zone": "a", "hints": {"forZones": [{"name": "a"}]},
                "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "default", "uid": "u"}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
        });
        let slice: EndpointSlice = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(slice.service_name(), Some("web"));
        assert_eq!(serde_json::to_value(&slice).unwrap(), json);
    }

    #[test]
    fn empty_endpoints_are_kept() {
        let json = serde_json::json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "a", "namespace": "default"}, "addressType": "IPv4", "endpoints": []});
        let slice: EndpointSlice = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&slice).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "a"}, "addressType": "IPv4", "endpoints": [{"addresses": [], "ready": true}]});
        let err = serde_path_to_error::deserialize::<_, EndpointSlice>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "endpoints[0].ready");
    }
}
