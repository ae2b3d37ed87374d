//! Tests of service validation: one failing case per rule, on defaulted services.

use super::*;
use crate::Resource;
use crate::api::{ClientIpConfig, SessionAffinityConfig};
use crate::meta::ObjectMeta;
use crate::validation::ErrorType;

fn svc(type_: &str) -> Service {
    let mut svc = Service {
        metadata: ObjectMeta::namespaced("default", "web"),
        ..Service::default()
    };
    svc.spec.type_ = Some(type_.into());
    svc.spec.selector.insert("app".into(), "web".into());
    svc.spec.ports = vec![ServicePort {
        port: 80,
        ..ServicePort::default()
    }];
    svc
}

/// Defaults `svc`, validates it and returns `(path, kind)` of every error.
fn check(mut svc: Service) -> Vec<(String, ErrorType)> {
    svc.apply_defaults();
    service(&svc)
        .into_iter()
        .map(|e| (e.path.to_string(), e.kind))
        .collect()
}

fn has(errs: &[(String, ErrorType)], path: &str, kind: ErrorType) -> bool {
    errs.iter().any(|(p, k)| p == path && *k == kind)
}

#[test]
fn valid_services_pass() {
    for type_ in ["ClusterIP", "NodePort", "LoadBalancer"] {
        assert_eq!(check(svc(type_)), [], "{type_}");
    }
    let mut ext = svc("ExternalName");
    ext.spec.ports.clear();
    ext.spec.external_name = Some("db.example.com.".into());
    assert_eq!(check(ext), []);
    let mut headless = svc("ClusterIP");
    headless.spec.ports.clear();
    headless.spec.cluster_ip = Some("None".into());
    assert_eq!(check(headless), []);
    let mut dual = svc("ClusterIP");
    dual.spec.cluster_ip = Some("10.0.0.10".into());
    dual.spec.cluster_ips = vec!["10.0.0.10".into(), "fd00::10".into()];
    dual.spec.ip_families = vec!["IPv4".into(), "IPv6".into()];
    dual.spec.ip_family_policy = Some("RequireDualStack".into());
    assert_eq!(check(dual), []);
}

#[test]
fn ports_are_required_unless_headless_or_external_name() {
    let mut s = svc("ClusterIP");
    s.spec.ports.clear();
    assert!(has(&check(s), "spec.ports", ErrorType::Required));
}

#[test]
fn port_rules() {
    let mut s = svc("ClusterIP");
    s.spec.ports = vec![
        ServicePort {
            port: 0,
            ..ServicePort::default()
        },
        ServicePort {
            name: Some("http".into()),
            port: 81,
            protocol: Some("ICMP".into()),
            target_port: Some(IntOrString::Int(70000)),
            ..ServicePort::default()
        },
        ServicePort {
            name: Some("http".into()),
            port: 82,
            target_port: Some(IntOrString::from("not_a_port_name")),
            app_protocol: Some("bad proto!".into()),
            ..ServicePort::default()
        },
        ServicePort {
            name: Some("Bad_Name".into()),
            port: 82,
            ..ServicePort::default()
        },
    ];
    let errs = check(s);
    assert!(
        has(&errs, "spec.ports[0].name", ErrorType::Required),
        "{errs:?}"
    );
    assert!(has(&errs, "spec.ports[0].port", ErrorType::Invalid));
    assert!(has(
        &errs,
        "spec.ports[1].protocol",
        ErrorType::NotSupported
    ));
    assert!(has(&errs, "spec.ports[1].targetPort", ErrorType::Invalid));
    assert!(has(&errs, "spec.ports[2].name", ErrorType::Duplicate));
    assert!(has(&errs, "spec.ports[2].targetPort", ErrorType::Invalid));
    assert!(has(&errs, "spec.ports[2].appProtocol", ErrorType::Invalid));
    assert!(has(&errs, "spec.ports[3].name", ErrorType::Invalid));
    assert!(
        has(&errs, "spec.ports[3]", ErrorType::Duplicate),
        "same protocol and port as ports[2]"
    );
}

#[test]
fn node_ports() {
    let mut s = svc("ClusterIP");
    s.spec.ports[0].node_port = Some(30080);
    assert!(has(
        &check(s),
        "spec.ports[0].nodePort",
        ErrorType::Forbidden
    ));
    let mut s = svc("NodePort");
    s.spec.ports[0].node_port = Some(30080);
    s.spec.ports.push(ServicePort {
        name: Some("b".into()),
        port: 81,
        node_port: Some(30080),
        ..ServicePort::default()
    });
    s.spec.ports[0].name = Some("a".into());
    let errs = check(s);
    assert!(
        has(&errs, "spec.ports[1].nodePort", ErrorType::Duplicate),
        "{errs:?}"
    );
    let mut s = svc("NodePort");
    s.spec.ports[0].node_port = Some(70000);
    assert!(has(&check(s), "spec.ports[0].nodePort", ErrorType::Invalid));
}

#[test]
fn type_and_session_affinity_values() {
    let errs = check(svc("Magic"));
    assert!(has(&errs, "spec.type", ErrorType::NotSupported));
    let mut s = svc("ClusterIP");
    s.spec.session_affinity = Some("Sticky".into());
    assert!(has(
        &check(s),
        "spec.sessionAffinity",
        ErrorType::NotSupported
    ));
    let mut s = svc("ClusterIP");
    s.spec.session_affinity = Some("ClientIP".into());
    s.spec.session_affinity_config = Some(SessionAffinityConfig {
        client_ip: Some(ClientIpConfig {
            timeout_seconds: Some(86401),
        }),
    });
    assert!(has(
        &check(s),
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        ErrorType::Invalid
    ));
    let mut s = svc("ClusterIP");
    s.apply_defaults();
    s.spec.session_affinity_config = Some(SessionAffinityConfig::default());
    let errs: Vec<_> = service(&s)
        .into_iter()
        .map(|e| (e.path.to_string(), e.kind))
        .collect();
    assert!(has(
        &errs,
        "spec.sessionAffinityConfig",
        ErrorType::Forbidden
    ));
}

#[test]
fn selector_labels_are_checked() {
    let mut s = svc("ClusterIP");
    s.spec.selector.insert("app".into(), "-bad-".into());
    assert!(has(&check(s), "spec.selector[app]", ErrorType::Invalid));
}

#[test]
fn external_name_rules() {
    let mut s = svc("ExternalName");
    let errs = check(s.clone());
    assert!(has(&errs, "spec.externalName", ErrorType::Required));
    s.spec.external_name = Some("Not A Host".into());
    s.spec.cluster_ip = Some("10.0.0.1".into());
    s.spec.ip_families = vec!["IPv4".into()];
    s.spec.ip_family_policy = Some("SingleStack".into());
    let errs = check(s);
    assert!(has(&errs, "spec.externalName", ErrorType::Invalid));
    assert!(has(&errs, "spec.clusterIPs", ErrorType::Forbidden));
    assert!(has(&errs, "spec.ipFamilies", ErrorType::Forbidden));
    assert!(has(&errs, "spec.ipFamilyPolicy", ErrorType::Forbidden));
}

#[test]
fn headless_is_not_allowed_for_node_port_and_load_balancer() {
    for type_ in ["NodePort", "LoadBalancer"] {
        let mut s = svc(type_);
        s.spec.cluster_ip = Some("None".into());
        assert!(
            has(&check(s), "spec.clusterIPs[0]", ErrorType::Invalid),
            "{type_}"
        );
    }
}

#[test]
fn cluster_ips_rules() {
    let mut s = svc("ClusterIP");
    s.spec.cluster_ip = Some("10.0.0.1".into());
    s.spec.cluster_ips = vec!["10.0.0.2".into()];
    assert!(has(&check(s), "spec.clusterIPs", ErrorType::Invalid));
    let mut s = svc("ClusterIP");
    s.spec.cluster_ips = vec!["10.0.0.2".into()];
    assert!(
        has(&check(s), "spec.clusterIPs", ErrorType::Invalid),
        "clusterIPs without clusterIP"
    );
    let mut s = svc("ClusterIP");
    s.spec.cluster_ip = Some("not-an-ip".into());
    assert!(has(&check(s), "spec.clusterIPs[0]", ErrorType::Invalid));
    let mut s = svc("ClusterIP");
    s.spec.cluster_ip = Some("10.0.0.1".into());
    s.spec.cluster_ips = vec!["10.0.0.1".into(), "10.0.0.2".into()];
    s.spec.ip_family_policy = Some("PreferDualStack".into());
    assert!(
        has(&check(s), "spec.clusterIPs", ErrorType::Invalid),
        "two IPv4 addresses"
    );
    let mut s = svc("ClusterIP");
    s.spec.cluster_ip = Some("10.0.0.1".into());
    s.spec.ip_families = vec!["IPv6".into()];
    assert!(
        has(&check(s), "spec.clusterIPs[0]", ErrorType::Invalid),
        "family mismatch"
    );
}

#[test]
fn ip_family_rules() {
    let mut s = svc("ClusterIP");
    s.spec.ip_families = vec!["IPv4".into(), "IPv4".into(), "IPv5".into()];
    let errs = check(s);
    assert!(has(&errs, "spec.ipFamilies[1]", ErrorType::Duplicate));
    assert!(has(&errs, "spec.ipFamilies[2]", ErrorType::NotSupported));
    let mut s = svc("ClusterIP");
    s.spec.ip_family_policy = Some("DualStackPlease".into());
    assert!(has(
        &check(s),
        "spec.ipFamilyPolicy",
        ErrorType::NotSupported
    ));
    let mut s = svc("ClusterIP");
    s.spec.ip_families = vec!["IPv4".into(), "IPv6".into()];
    s.spec.ip_family_policy = Some("SingleStack".into());
    assert!(has(&check(s), "spec.ipFamilyPolicy", ErrorType::Invalid));
}

#[test]
fn external_ips_must_be_valid_and_not_special() {
    let mut s = svc("ClusterIP");
    s.spec.external_ips = vec!["nope".into(), "127.0.0.1".into()];
    let errs = check(s);
    assert!(has(&errs, "spec.externalIPs[0]", ErrorType::Invalid));
    assert!(has(&errs, "spec.externalIPs[1]", ErrorType::Invalid));
}

#[test]
fn traffic_policies() {
    let mut s = svc("ClusterIP");
    s.spec.external_traffic_policy = Some("Local".into());
    assert!(has(
        &check(s),
        "spec.externalTrafficPolicy",
        ErrorType::Invalid
    ));
    let mut s = svc("NodePort");
    s.spec.external_traffic_policy = Some("Everywhere".into());
    assert!(has(
        &check(s),
        "spec.externalTrafficPolicy",
        ErrorType::NotSupported
    ));
    let mut s = svc("NodePort");
    s.spec.health_check_node_port = Some(31000);
    assert!(has(
        &check(s),
        "spec.healthCheckNodePort",
        ErrorType::Invalid
    ));
    let mut s = svc("LoadBalancer");
    s.spec.external_traffic_policy = Some("Local".into());
    s.spec.health_check_node_port = Some(31000);
    assert_eq!(check(s), []);
    let mut s = svc("ClusterIP");
    s.spec.internal_traffic_policy = Some("Nearby".into());
    assert!(has(
        &check(s),
        "spec.internalTrafficPolicy",
        ErrorType::NotSupported
    ));
    let mut s = svc("ClusterIP");
    s.spec.traffic_distribution = Some("Anywhere".into());
    assert!(has(
        &check(s),
        "spec.trafficDistribution",
        ErrorType::NotSupported
    ));
    let mut s = svc("ClusterIP");
    s.apply_defaults();
    s.spec.internal_traffic_policy = None;
    s.spec.type_ = None;
    let errs: Vec<_> = service(&s)
        .into_iter()
        .map(|e| (e.path.to_string(), e.kind))
        .collect();
    assert!(has(&errs, "spec.type", ErrorType::Required));
}

#[test]
fn load_balancer_only_fields() {
    let mut s = svc("ClusterIP");
    s.spec.load_balancer_source_ranges = vec!["10.0.0.0/33".into()];
    s.spec.load_balancer_class = Some("example.com/lb".into());
    let errs = check(s);
    assert!(has(
        &errs,
        "spec.LoadBalancerSourceRanges",
        ErrorType::Forbidden
    ));
    assert!(has(
        &errs,
        "spec.LoadBalancerSourceRanges[0]",
        ErrorType::Invalid
    ));
    assert!(has(&errs, "spec.loadBalancerClass", ErrorType::Forbidden));
    let mut s = svc("NodePort");
    s.spec.allocate_load_balancer_node_ports = Some(true);
    assert!(has(
        &check(s),
        "spec.allocateLoadBalancerNodePorts",
        ErrorType::Forbidden
    ));
    let mut s = svc("LoadBalancer");
    s.spec.load_balancer_source_ranges = vec![" 10.0.0.0/8".into()];
    assert_eq!(check(s), []);
    let mut s = svc("LoadBalancer");
    s.apply_defaults();
    s.spec.allocate_load_balancer_node_ports = None;
    let errs: Vec<_> = service(&s)
        .into_iter()
        .map(|e| (e.path.to_string(), e.kind))
        .collect();
    assert!(has(
        &errs,
        "allocateLoadBalancerNodePorts",
        ErrorType::Required
    ));
}

#[test]
fn names_are_dns1035_labels() {
    assert!(Service::validate_name("web").is_empty());
    assert!(!Service::validate_name("1web").is_empty());
}
