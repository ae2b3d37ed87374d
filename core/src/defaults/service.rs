//! Defaults of `Service` (`SetDefaults_Service`, and the create-time normalisation of
//! `clusterIP`/`clusterIPs`).
//!
//! The allocation of `clusterIP(s)`, `ipFamilies`, `ipFamilyPolicy`, node ports and the
//! health-check node port is the store's job (Kubernetes does it in the service REST
//! storage, not in defaulting).

use crate::api::{ClientIpConfig, Service, SessionAffinityConfig};
use crate::intstr::IntOrString;

/// The default `ClientIP` affinity timeout: 3 hours.
pub const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS: i32 = 10800;

/// Applies Kubernetes' service defaults.
pub fn service(svc: &mut Service) {
    let spec = &mut svc.spec;
    if spec.session_affinity.as_deref().is_none_or(str::is_empty) {
        spec.session_affinity = Some("None".to_owned());
    }
    match spec.session_affinity.as_deref() {
        Some("None") => spec.session_affinity_config = None,
        Some("ClientIP") => {
            let has_timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .is_some();
            if !has_timeout {
                spec.session_affinity_config = Some(SessionAffinityConfig {
                    client_ip: Some(ClientIpConfig {
                        timeout_seconds: Some(DEFAULT_CLIENT_IP_TIMEOUT_SECONDS),
                    }),
                });
            }
        }
        _ => {}
    }
    if spec.type_.as_deref().is_none_or(str::is_empty) {
        spec.type_ = Some(Service::TYPE_CLUSTER_IP.to_owned());
    }
    for port in &mut spec.ports {
        if port.protocol.as_deref().is_none_or(str::is_empty) {
            port.protocol = Some("TCP".to_owned());
        }
        let unset = match &port.target_port {
            None | Some(IntOrString::Int(0)) => true,
            Some(IntOrString::String(s)) => s.is_empty(),
            Some(IntOrString::Int(_)) => false,
        };
        if unset {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
    let externally_accessible = svc.is_externally_accessible();
    let spec = &mut svc.spec;
    if externally_accessible
        && spec
            .external_traffic_policy
            .as_deref()
            .is_none_or(str::is_empty)
    {
        spec.external_traffic_policy = Some("Cluster".to_owned());
    }
    let type_ = spec.type_.clone().unwrap_or_default();
    if spec.internal_traffic_policy.is_none()
        && matches!(
            type_.as_str(),
            Service::TYPE_CLUSTER_IP | Service::TYPE_NODE_PORT | Service::TYPE_LOAD_BALANCER
        )
    {
        spec.internal_traffic_policy = Some("Cluster".to_owned());
    }
    if type_ == Service::TYPE_LOAD_BALANCER {
        if spec.allocate_load_balancer_node_ports.is_none() {
            spec.allocate_load_balancer_node_ports = Some(true);
        }
        if let Some(lb) = svc.status.as_mut().and_then(|s| s.load_balancer.as_mut()) {
            for ingress in &mut lb.ingress {
                if ingress.ip.as_deref().is_some_and(|ip| !ip.is_empty())
                    && ingress.ip_mode.is_none()
                {
                    ingress.ip_mode = Some("VIP".to_owned());
                }
            }
        }
    }
    // Create-time normalisation (`NormalizeClusterIPs`): a client that sets only the
    // singular field gets the plural one.
    let spec = &mut svc.spec;
    if let Some(ip) = spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty())
        && spec.cluster_ips.is_empty()
    {
        spec.cluster_ips = vec![ip.to_owned()];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::{LoadBalancerIngress, LoadBalancerStatus, ServicePort, ServiceStatus};

    fn defaulted(mut svc: Service) -> Service {
        svc.apply_defaults();
        let once = svc.clone();
        svc.apply_defaults();
        assert_eq!(svc, once, "defaulting is idempotent");
        svc
    }

    fn port(port: i32) -> ServicePort {
        ServicePort {
            port,
            ..ServicePort::default()
        }
    }

    #[test]
    fn cluster_ip_service_defaults() {
        let mut svc = Service::default();
        svc.spec.ports = vec![port(80)];
        let svc = defaulted(svc);
        let spec = &svc.spec;
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.session_affinity.as_deref(), Some("None"));
        assert_eq!(spec.ports[0].protocol.as_deref(), Some("TCP"));
        assert_eq!(spec.ports[0].target_port, Some(IntOrString::Int(80)));
        assert_eq!(spec.internal_traffic_policy.as_deref(), Some("Cluster"));
        assert_eq!(spec.external_traffic_policy, None);
        assert_eq!(spec.allocate_load_balancer_node_ports, None);
    }

    #[test]
    fn target_port_zero_or_empty_becomes_port_but_a_name_is_kept() {
        let mut svc = Service::default();
        svc.spec.ports = vec![port(80), port(81), port(82)];
        svc.spec.ports[0].target_port = Some(IntOrString::Int(0));
        svc.spec.ports[1].target_port = Some(IntOrString::from(""));
        svc.spec.ports[2].target_port = Some(IntOrString::from("http"));
        let svc = defaulted(svc);
        assert_eq!(svc.spec.ports[0].target_port, Some(IntOrString::Int(80)));
        assert_eq!(svc.spec.ports[1].target_port, Some(IntOrString::Int(81)));
        assert_eq!(
            svc.spec.ports[2].target_port,
            Some(IntOrString::from("http"))
        );
    }

    #[test]
    fn client_ip_affinity_gets_a_timeout_and_none_drops_the_config() {
        let mut svc = Service::default();
        svc.spec.session_affinity = Some("ClientIP".into());
        svc.spec.session_affinity_config = Some(SessionAffinityConfig::default());
        let svc = defaulted(svc);
        let timeout = svc
            .spec
            .session_affinity_config
            .unwrap()
            .client_ip
            .unwrap()
            .timeout_seconds;
        assert_eq!(timeout, Some(10800));
        let mut svc = Service::default();
        svc.spec.session_affinity_config = Some(SessionAffinityConfig::default());
        assert_eq!(defaulted(svc).spec.session_affinity_config, None);
    }

    #[test]
    fn load_balancer_defaults() {
        let mut svc = Service::default();
        svc.spec.type_ = Some("LoadBalancer".into());
        svc.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: vec![
                    LoadBalancerIngress {
                        ip: Some("192.0.2.1".into()),
                        ..LoadBalancerIngress::default()
                    },
                    LoadBalancerIngress {
                        hostname: Some("lb.example.com".into()),
                        ..LoadBalancerIngress::default()
                    },
                ],
            }),
            ..ServiceStatus::default()
        });
        let svc = defaulted(svc);
        assert_eq!(svc.spec.external_traffic_policy.as_deref(), Some("Cluster"));
        assert_eq!(svc.spec.allocate_load_balancer_node_ports, Some(true));
        assert_eq!(svc.spec.internal_traffic_policy.as_deref(), Some("Cluster"));
        let ingress = &svc.status.unwrap().load_balancer.unwrap().ingress;
        assert_eq!(ingress[0].ip_mode.as_deref(), Some("VIP"));
        assert_eq!(ingress[1].ip_mode, None);
    }

    #[test]
    fn node_port_and_external_ips_get_an_external_policy() {
        let mut svc = Service::default();
        svc.spec.type_ = Some("NodePort".into());
        assert_eq!(
            defaulted(svc).spec.external_traffic_policy.as_deref(),
            Some("Cluster")
        );
        let mut svc = Service::default();
        svc.spec.external_ips = vec!["192.0.2.1".into()];
        assert_eq!(
            defaulted(svc).spec.external_traffic_policy.as_deref(),
            Some("Cluster")
        );
    }

    #[test]
    fn external_name_gets_no_traffic_policies() {
        let mut svc = Service::default();
        svc.spec.type_ = Some("ExternalName".into());
        let svc = defaulted(svc);
        assert_eq!(svc.spec.internal_traffic_policy, None);
        assert_eq!(svc.spec.external_traffic_policy, None);
    }

    #[test]
    fn cluster_ip_is_copied_to_cluster_ips() {
        let mut svc = Service::default();
        svc.spec.cluster_ip = Some("None".into());
        assert_eq!(defaulted(svc).spec.cluster_ips, ["None"]);
        let mut svc = Service::default();
        svc.spec.cluster_ip = Some("10.0.0.1".into());
        svc.spec.cluster_ips = vec!["10.0.0.1".into(), "fd00::1".into()];
        assert_eq!(defaulted(svc).spec.cluster_ips.len(), 2);
    }
}
