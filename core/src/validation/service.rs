//! Validation of `Service` (Kubernetes' `ValidateService`).
//!
//! The store allocates cluster IPs, IP families, node ports and the health-check node
//! port after defaulting; the checks that Kubernetes runs after that allocation (a
//! `LoadBalancer` with `externalTrafficPolicy: Local` *requires* `healthCheckNodePort`)
//! are left to the store.

use std::collections::BTreeSet;

use super::common::{
    cidr, dns1123_label, dns1123_subdomain, ip, non_special_ip, parse_ip, qualified_name,
};
use super::{FieldError, FieldPath, validate_labels};
use crate::api::{Service, ServicePort, ServiceSpec};
use crate::intstr::IntOrString;
use crate::names;

/// The longest `ClientIP` affinity: one day.
pub const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

fn is_headless(spec: &ServiceSpec) -> bool {
    spec.cluster_ips.len() == 1 && spec.cluster_ips[0] == Service::CLUSTER_IP_NONE
}

/// Validates a (defaulted) service.
pub fn service(svc: &Service) -> Vec<FieldError> {
    let spec = &svc.spec;
    let sp = FieldPath::new("spec");
    let mut errors = Vec::new();
    let type_ = spec.type_.as_deref().unwrap_or("");
    let headless = is_headless(spec);

    if spec.ports.is_empty() && !headless && type_ != Service::TYPE_EXTERNAL_NAME {
        errors.push(FieldError::required(sp.child("ports"), ""));
    }
    match type_ {
        Service::TYPE_LOAD_BALANCER | Service::TYPE_NODE_PORT if headless => {
            errors.push(FieldError::invalid(
                sp.child("clusterIPs").index(0),
                "None",
                format!("may not be set to 'None' for {type_} services"),
            ));
        }
        Service::TYPE_EXTERNAL_NAME => {
            if !spec.cluster_ips.is_empty() {
                errors.push(FieldError::forbidden(
                    sp.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if !spec.ip_families.is_empty() {
                errors.push(FieldError::forbidden(
                    sp.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_family_policy.is_some() {
                errors.push(FieldError::forbidden(
                    sp.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            // The CNAME may end with a dot to mark it fully qualified.
            let cname = spec.external_name.as_deref().unwrap_or("");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errors.push(FieldError::required(sp.child("externalName"), ""));
            } else {
                errors.extend(dns1123_subdomain(cname, &sp.child("externalName")));
            }
        }
        _ => {}
    }

    let mut names_seen = BTreeSet::new();
    for (i, port) in spec.ports.iter().enumerate() {
        errors.extend(service_port(
            port,
            spec.ports.len() > 1,
            &mut names_seen,
            &sp.child("ports").index(i),
        ));
    }
    errors.extend(validate_labels(&spec.selector, &sp.child("selector")));

    match spec.session_affinity.as_deref() {
        None | Some("") => errors.push(FieldError::required(sp.child("sessionAffinity"), "")),
        Some("ClientIP") => {
            errors.extend(client_ip_affinity(spec, &sp.child("sessionAffinityConfig")));
        }
        Some("None") => {
            if spec.session_affinity_config.is_some() {
                errors.push(FieldError::forbidden(
                    sp.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                ));
            }
        }
        Some(other) => errors.push(FieldError::not_supported(
            sp.child("sessionAffinity"),
            other,
            &["ClientIP", "None"],
        )),
    }

    errors.extend(cluster_ips_related_fields(spec, type_, &sp));

    for (i, external) in spec.external_ips.iter().enumerate() {
        let p = sp.child("externalIPs").index(i);
        let errs = ip(external, &p);
        if errs.is_empty() {
            errors.extend(non_special_ip(external, &p));
        } else {
            errors.extend(errs);
        }
    }

    if type_.is_empty() {
        errors.push(FieldError::required(sp.child("type"), ""));
    } else if !TYPES.contains(&type_) {
        errors.push(FieldError::not_supported(sp.child("type"), type_, &TYPES));
    }

    if type_ == Service::TYPE_CLUSTER_IP {
        for (i, port) in spec.ports.iter().enumerate() {
            if port.node_port.is_some_and(|n| n != 0) {
                errors.push(FieldError::forbidden(
                    sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }

    let mut node_ports = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for (i, port) in spec.ports.iter().enumerate() {
        let protocol = port.protocol.as_deref().unwrap_or("");
        let p = sp.child("ports").index(i);
        if let Some(node_port) = port.node_port.filter(|n| *n != 0) {
            for msg in names::is_valid_port_num(i64::from(node_port)) {
                errors.push(FieldError::invalid(p.child("nodePort"), node_port, msg));
            }
            if !node_ports.insert((protocol, node_port)) {
                errors.push(FieldError::duplicate(p.child("nodePort"), node_port));
            }
        }
        if !ports.insert((protocol, port.port)) {
            errors.push(FieldError::duplicate(
                p,
                format!("{{{protocol} {}}}", port.port),
            ));
        }
    }

    if !spec.load_balancer_source_ranges.is_empty() {
        // Kubernetes spells this path with a capital L.
        let p = sp.child("LoadBalancerSourceRanges");
        if type_ != Service::TYPE_LOAD_BALANCER {
            errors.push(FieldError::forbidden(
                p.clone(),
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        for (i, range) in spec.load_balancer_source_ranges.iter().enumerate() {
            // Historically these may be space-padded.
            errors.extend(cidr(range.trim(), &p.index(i)));
        }
    }

    errors.extend(traffic_policies(svc, &sp));

    if let Some(class) = &spec.load_balancer_class {
        if type_ == Service::TYPE_LOAD_BALANCER {
            errors.extend(qualified_name(class, &sp.child("loadBalancerClass")));
        } else {
            errors.push(FieldError::forbidden(
                sp.child("loadBalancerClass"),
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && type_ != Service::TYPE_LOAD_BALANCER {
        errors.push(FieldError::forbidden(
            sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if type_ == Service::TYPE_LOAD_BALANCER && spec.allocate_load_balancer_node_ports.is_none() {
        // Kubernetes reports this path without the `spec.` prefix.
        errors.push(FieldError::required(
            FieldPath::new("allocateLoadBalancerNodePorts"),
            "",
        ));
    }
    errors
}

fn service_port(
    port: &ServicePort,
    require_name: bool,
    seen: &mut BTreeSet<String>,
    p: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = port.name.as_deref().unwrap_or("");
    if require_name && name.is_empty() {
        errors.push(FieldError::required(p.child("name"), ""));
    } else if !name.is_empty() {
        errors.extend(dns1123_label(name, &p.child("name")));
        if !seen.insert(name.to_owned()) {
            errors.push(FieldError::duplicate(p.child("name"), name));
        }
    }
    for msg in names::is_valid_port_num(i64::from(port.port)) {
        errors.push(FieldError::invalid(p.child("port"), port.port, msg));
    }
    match port.protocol.as_deref() {
        None | Some("") => errors.push(FieldError::required(p.child("protocol"), "")),
        Some(proto) if !PROTOCOLS.contains(&proto) => {
            errors.push(FieldError::not_supported(
                p.child("protocol"),
                proto,
                &PROTOCOLS,
            ));
        }
        Some(_) => {}
    }
    errors.extend(port_num_or_name(
        port.target_port.as_ref().unwrap_or(&IntOrString::Int(0)),
        &p.child("targetPort"),
    ));
    if let Some(app) = &port.app_protocol {
        errors.extend(qualified_name(app, &p.child("appProtocol")));
    }
    errors
}

/// `ValidatePortNumOrName`: a port number 1–65535 or an IANA port name.
pub fn port_num_or_name(port: &IntOrString, p: &FieldPath) -> Vec<FieldError> {
    match port {
        IntOrString::Int(n) => names::is_valid_port_num(i64::from(*n))
            .into_iter()
            .map(|msg| FieldError::invalid(p.clone(), n, msg))
            .collect(),
        IntOrString::String(s) => names::is_valid_port_name(s)
            .into_iter()
            .map(|msg| FieldError::invalid(p.clone(), s, msg))
            .collect(),
    }
}

fn client_ip_affinity(spec: &ServiceSpec, p: &FieldPath) -> Vec<FieldError> {
    let when = "when session affinity type is ClientIP";
    let Some(config) = &spec.session_affinity_config else {
        return vec![FieldError::required(p.clone(), when)];
    };
    let Some(client_ip) = &config.client_ip else {
        return vec![FieldError::required(p.child("clientIP"), when)];
    };
    let tp = p.child("clientIP").child("timeoutSeconds");
    match client_ip.timeout_seconds {
        None => vec![FieldError::required(tp, when)],
        Some(t) if t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS => vec![FieldError::invalid(
            tp,
            t,
            format!("must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"),
        )],
        Some(_) => Vec::new(),
    }
}

/// `ValidateServiceClusterIPsRelatedFields`, plus the allocator's rule that
/// `SingleStack` allows one family.
fn cluster_ips_related_fields(spec: &ServiceSpec, type_: &str, sp: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if type_ == Service::TYPE_EXTERNAL_NAME {
        return errors;
    }
    let ips_path = sp.child("clusterIPs");
    let fam_path = sp.child("ipFamilies");
    let joined = || format!("[{}]", spec.cluster_ips.join(" "));
    match spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty()) {
        Some(cluster_ip) => match spec.cluster_ips.first() {
            None => errors.push(FieldError::required(ips_path.clone(), "")),
            Some(first) if first != cluster_ip => {
                errors.push(FieldError::invalid(
                    ips_path.clone(),
                    joined(),
                    "first value must match `clusterIP`",
                ));
            }
            Some(_) => {}
        },
        None if !spec.cluster_ips.is_empty() => errors.push(FieldError::invalid(
            ips_path.clone(),
            joined(),
            "must be empty when `clusterIP` is not specified",
        )),
        None => {}
    }
    let mut seen = BTreeSet::new();
    for (i, family) in spec.ip_families.iter().enumerate() {
        if family != "IPv4" && family != "IPv6" {
            errors.push(FieldError::not_supported(
                fam_path.index(i),
                family,
                &["IPv4", "IPv6"],
            ));
        }
        if !seen.insert(family.as_str()) {
            errors.push(FieldError::duplicate(fam_path.index(i), family));
        }
    }
    if let Some(policy) = &spec.ip_family_policy {
        const POLICIES: [&str; 3] = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !POLICIES.contains(&policy.as_str()) {
            errors.push(FieldError::not_supported(
                sp.child("ipFamilyPolicy"),
                policy,
                &POLICIES,
            ));
        } else if policy == "SingleStack"
            && (spec.ip_families.len() > 1 || spec.cluster_ips.len() > 1)
        {
            errors.push(FieldError::invalid(
                sp.child("ipFamilyPolicy"),
                policy,
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
            ));
        }
    }
    let mut invalid_ips = false;
    for (i, cluster_ip) in spec.cluster_ips.iter().enumerate() {
        if i == 0 && cluster_ip == Service::CLUSTER_IP_NONE {
            if spec.cluster_ips.len() > 1 {
                invalid_ips = true;
                errors.push(FieldError::invalid(
                    ips_path.clone(),
                    joined(),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let errs = ip(cluster_ip, &ips_path.index(i));
        invalid_ips |= !errs.is_empty();
        errors.extend(errs);
    }
    if spec.cluster_ips.len() > 2 {
        errors.push(FieldError::invalid(
            ips_path.clone(),
            joined(),
            "may only hold up to 2 values",
        ));
    }
    if invalid_ips {
        return errors;
    }
    let parsed: Vec<_> = spec
        .cluster_ips
        .iter()
        .filter_map(|ip| parse_ip(ip))
        .collect();
    if spec.cluster_ips.len() > 1 {
        let v4 = parsed.iter().filter(|ip| ip.is_ipv4()).count();
        let v6 = parsed.iter().filter(|ip| ip.is_ipv6()).count();
        if v4 == 0 || v6 == 0 {
            errors.push(FieldError::invalid(
                ips_path.clone(),
                joined(),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    if !is_headless(spec) {
        for (i, (cluster_ip, family)) in spec.cluster_ips.iter().zip(&spec.ip_families).enumerate()
        {
            let Some(addr) = parse_ip(cluster_ip) else {
                continue;
            };
            let expected = match family.as_str() {
                "IPv4" if addr.is_ipv6() => "IPv4",
                "IPv6" if addr.is_ipv4() => "IPv6",
                _ => continue,
            };
            errors.push(FieldError::invalid(
                ips_path.index(i),
                cluster_ip,
                format!("expected an {expected} value as indicated by `ipFamilies[{i}]`"),
            ));
        }
    }
    errors
}

fn traffic_policies(svc: &Service, sp: &FieldPath) -> Vec<FieldError> {
    let spec = &svc.spec;
    let mut errors = Vec::new();
    let etp = spec.external_traffic_policy.as_deref().unwrap_or("");
    if svc.is_externally_accessible() {
        if etp.is_empty() {
            errors.push(FieldError::required(sp.child("externalTrafficPolicy"), ""));
        } else if etp != "Cluster" && etp != "Local" {
            errors.push(FieldError::not_supported(
                sp.child("externalTrafficPolicy"),
                etp,
                &["Cluster", "Local"],
            ));
        }
    } else if !etp.is_empty() {
        errors.push(FieldError::invalid(
            sp.child("externalTrafficPolicy"),
            etp,
            "may only be set for externally-accessible services",
        ));
    }
    let needs_health_check =
        spec.type_.as_deref() == Some(Service::TYPE_LOAD_BALANCER) && etp == "Local";
    match spec.health_check_node_port.filter(|p| *p != 0) {
        Some(port) if !needs_health_check => errors.push(FieldError::invalid(
            sp.child("healthCheckNodePort"),
            port,
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        )),
        Some(port) => {
            for msg in names::is_valid_port_num(i64::from(port)) {
                errors.push(FieldError::invalid(
                    sp.child("healthCheckNodePort"),
                    port,
                    msg,
                ));
            }
        }
        None => {}
    }
    match spec.internal_traffic_policy.as_deref() {
        None => {
            if matches!(
                spec.type_.as_deref(),
                Some(
                    Service::TYPE_CLUSTER_IP
                        | Service::TYPE_NODE_PORT
                        | Service::TYPE_LOAD_BALANCER
                )
            ) {
                errors.push(FieldError::required(sp.child("internalTrafficPolicy"), ""));
            }
        }
        Some("Cluster" | "Local") => {}
        Some(other) => {
            errors.push(FieldError::not_supported(
                sp.child("internalTrafficPolicy"),
                other,
                &["Cluster", "Local"],
            ));
        }
    }
    if let Some(td) = spec.traffic_distribution.as_deref() {
        const DISTRIBUTIONS: [&str; 3] = ["PreferClose", "PreferSameNode", "PreferSameZone"];
        if !DISTRIBUTIONS.contains(&td) {
            errors.push(FieldError::not_supported(
                sp.child("trafficDistribution"),
                td,
                &DISTRIBUTIONS,
            ));
        }
    }
    errors
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
