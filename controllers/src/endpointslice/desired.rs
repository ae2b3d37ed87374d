//! The EndpointSlices a Service should have, computed from its pods (pure).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use keel_core::api::{Endpoint, EndpointConditions, EndpointPort, ObjectReference, Pod, Service};
use keel_core::intstr::IntOrString;

/// At most this many endpoints per slice (Kubernetes' `--max-endpoints-per-slice`).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// One slice's content: its address type, ports and endpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceContent {
    /// `IPv4` or `IPv6`.
    pub address_type: String,
    /// The Service's ports as the pods serve them.
    pub ports: Vec<EndpointPort>,
    /// The pods' endpoints, ordered by pod name.
    pub endpoints: Vec<Endpoint>,
}

/// The address families the Service's endpoints are published for: `spec.ipFamilies`
/// when set, else IPv4.
fn families(svc: &Service) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = svc
        .spec
        .ip_families
        .iter()
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some("IPv4"),
            "IPv6" => Some("IPv6"),
            _ => None,
        })
        .collect();
    if out.is_empty() {
        out.push("IPv4");
    }
    out
}

/// The pod's address of `family`, if it has one.
fn address(pod: &Pod, family: &str) -> Option<String> {
    let status = pod.status.as_ref()?;
    let mut ips: Vec<&str> = status.pod_ips.iter().map(|p| p.ip.as_str()).collect();
    if ips.is_empty() {
        ips.extend(status.pod_ip.as_deref());
    }
    ips.into_iter()
        .find(|ip| match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => family == "IPv4",
            Ok(IpAddr::V6(_)) => family == "IPv6",
            Err(_) => false,
        })
        .map(str::to_owned)
}

/// The Service's ports with their target ports resolved on `pod` (a named target port
/// is looked up among the pod's container ports; a pod that lacks it gets no such
/// port, as in Kubernetes).
fn ports_for(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    svc.spec
        .ports
        .iter()
        .filter_map(|sp| {
            let protocol = sp.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
            let port = match &sp.target_port {
                None => Some(sp.port),
                Some(IntOrString::Int(n)) => Some(*n),
                Some(IntOrString::String(name)) => name.parse().ok().or_else(|| {
                    pod.spec
                        .containers
                        .iter()
                        .flat_map(|c| &c.ports)
                        .find(|p| {
                            p.name.as_deref() == Some(name.as_str())
                                && p.protocol.as_deref().unwrap_or("TCP") == protocol
                        })
                        .map(|p| p.container_port)
                }),
            }?;
            Some(EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                protocol: Some(protocol),
                port: Some(port),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

/// The zone of a pod's node, as the caller looks it up.
type ZoneOf<'a> = &'a dyn Fn(&Pod) -> Option<String>;

fn endpoint(svc: &Service, pod: &Pod, address: String, zone_of: ZoneOf<'_>) -> Endpoint {
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let ready = pod.is_ready();
    let publish_not_ready = svc.spec.publish_not_ready_addresses == Some(true);
    let svc_name = svc.metadata.name_str();
    let hostname = pod
        .spec
        .hostname
        .clone()
        .filter(|_| pod.spec.subdomain.as_deref() == Some(svc_name));
    Endpoint {
        addresses: vec![address],
        conditions: Some(EndpointConditions {
            ready: Some(publish_not_ready || (ready && !terminating)),
            serving: Some(ready),
            terminating: Some(terminating),
        }),
        hostname,
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        }),
        node_name: pod.spec.node_name.clone(),
        zone: zone_of(pod),
        ..Endpoint::default()
    }
}

/// The slices `svc` should have for `pods` (those its selector selects): one group per
/// address family and port mapping, each cut into slices of at most
/// [`MAX_ENDPOINTS_PER_SLICE`]. Pods without an address of the family, and finished
/// pods, have no endpoint. `zone_of` gives the zone of a pod's node.
pub fn desired(svc: &Service, pods: &[Arc<Pod>], zone_of: ZoneOf<'_>) -> Vec<SliceContent> {
    let mut pods: Vec<&Arc<Pod>> = pods.iter().filter(|p| !p.is_terminal()).collect();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut out = Vec::new();
    for family in families(svc) {
        // Port mappings keyed by their JSON, in first-seen order.
        let mut groups: BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)> = BTreeMap::new();
        for pod in &pods {
            let Some(addr) = address(pod, family) else {
                continue;
            };
            let ports = ports_for(svc, pod);
            let key = serde_json::to_string(&ports).unwrap_or_default();
            groups
                .entry(key)
                .or_insert_with(|| (ports, Vec::new()))
                .1
                .push(endpoint(svc, pod, addr, zone_of));
        }
        if groups.is_empty() {
            // Kubernetes keeps one empty slice so consumers see "no endpoints".
            groups.insert(String::new(), (Vec::new(), Vec::new()));
        }
        for (ports, endpoints) in groups.into_values() {
            if endpoints.is_empty() {
                out.push(SliceContent {
                    address_type: family.to_owned(),
                    ports,
                    endpoints,
                });
                continue;
            }
            for chunk in endpoints.chunks(MAX_ENDPOINTS_PER_SLICE) {
                out.push(SliceContent {
                    address_type: family.to_owned(),
                    ports: ports.clone(),
                    endpoints: chunk.to_vec(),
                });
            }
        }
    }
    out
}
