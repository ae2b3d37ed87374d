//! ClusterIP and NodePort allocation for Services, as the API server's service storage
//! does it: on create, a Service of type ClusterIP, NodePort or LoadBalancer gets a
//! free address of each of its IP families from the service range, and NodePort /
//! LoadBalancer ports get free node ports; addresses and ports the user asks for are
//! checked to be in range and free. What is in use is read from the stored Services,
//! under one lock held until the create is written, so two Services never share an
//! address or a node port, and a deleted Service's are free again at once. The lock is
//! the client's (the API server's): several clients over one shared store do not see
//! each other's allocations in flight, so a store has one serving client, as a cluster
//! has one API server in front of its etcd here.

use std::collections::HashSet;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use crate::api::Service;
use crate::validation::{FieldError, FieldPath, ValidationError};

/// An address range `base/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceCidr {
    base: IpAddr,
    prefix: u8,
}

impl ServiceCidr {
    /// Parses `10.96.0.0/12` or `fd00:10:96::/112`.
    ///
    /// # Errors
    /// A message naming the text when it is not a CIDR.
    pub fn parse(text: &str) -> Result<ServiceCidr, String> {
        let bad = || format!("invalid CIDR {text:?}");
        let (ip, prefix) = text.split_once('/').ok_or_else(bad)?;
        let base: IpAddr = ip.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(bad());
        }
        Ok(ServiceCidr { base, prefix })
    }

    fn bits(&self) -> u32 {
        if self.base.is_ipv4() { 32 } else { 128 }
    }

    fn to_int(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        }
    }

    fn network(&self) -> u128 {
        let host_bits = self.bits() - u32::from(self.prefix);
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        Self::to_int(self.base) & mask
    }

    /// How many host addresses the range offers (the network address, and the
    /// broadcast address of IPv4 ranges, are never handed out), capped at 2^64.
    fn size(&self) -> u128 {
        let host_bits = self.bits() - u32::from(self.prefix);
        let all = 1u128 << host_bits.min(64);
        let reserved = if self.base.is_ipv4() { 2 } else { 1 };
        all.saturating_sub(reserved)
    }

    fn nth(&self, i: u128) -> IpAddr {
        let v = self.network() + 1 + i;
        if self.base.is_ipv4() {
            IpAddr::V4(u32::try_from(v).unwrap_or(u32::MAX).into())
        } else {
            IpAddr::V6(v.into())
        }
    }

    /// Whether `ip` is a host address of the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.base.is_ipv4() {
            return false;
        }
        let v = Self::to_int(ip);
        v > self.network() && v - self.network() <= self.size()
    }

    /// `IPv4` or `IPv6`.
    pub fn family(&self) -> &'static str {
        if self.base.is_ipv4() { "IPv4" } else { "IPv6" }
    }
}

impl std::fmt::Display for ServiceCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// Where Services' addresses and node ports come from (`--service-cluster-ip-range`,
/// `--service-node-port-range`). The first range is the primary family.
#[derive(Clone, Debug)]
pub struct ServiceNetwork {
    /// One range per family, primary first.
    pub cidrs: Vec<ServiceCidr>,
    /// The node ports.
    pub node_ports: RangeInclusive<i32>,
}

impl Default for ServiceNetwork {
    /// `10.96.0.0/12` and `fd00:10:96::/112` (dual-stack, IPv4 primary), node ports
    /// 30000–32767: Kubernetes' defaults.
    fn default() -> Self {
        ServiceNetwork {
            cidrs: vec![
                ServiceCidr::parse("10.96.0.0/12").unwrap_or_else(|_| unreachable!()),
                ServiceCidr::parse("fd00:10:96::/112").unwrap_or_else(|_| unreachable!()),
            ],
            node_ports: 30000..=32767,
        }
    }
}

/// What the stored Services use.
#[derive(Debug, Default)]
pub(crate) struct InUse {
    ips: HashSet<IpAddr>,
    node_ports: HashSet<i32>,
}

impl InUse {
    pub(crate) fn of<'a>(services: impl IntoIterator<Item = &'a Service>) -> InUse {
        let mut used = InUse::default();
        for s in services {
            used.add(s);
        }
        used
    }

    fn add(&mut self, s: &Service) {
        for ip in s.spec.cluster_ips.iter().chain(s.spec.cluster_ip.as_ref()) {
            if let Ok(ip) = ip.parse() {
                self.ips.insert(ip);
            }
        }
        self.node_ports
            .extend(s.spec.ports.iter().filter_map(|p| p.node_port));
    }
}

fn invalid(path: FieldPath, value: impl std::fmt::Display, detail: String) -> FieldError {
    FieldError::invalid(path, value, detail)
}

impl ServiceNetwork {
    fn cidr(&self, family: &str) -> Option<&ServiceCidr> {
        self.cidrs.iter().find(|c| c.family() == family)
    }

    /// Fills in the Service's IP families, cluster IPs and node ports (a pick from
    /// `random` for each), and records them in `used`.
    pub(crate) fn allocate(
        &self,
        svc: &mut Service,
        used: &mut InUse,
        mut random: impl FnMut() -> u64,
    ) -> Result<(), ValidationError> {
        let errors = self.allocate_fields(svc, used, &mut random);
        if errors.is_empty() {
            used.add(svc);
            return Ok(());
        }
        Err(ValidationError {
            kind: "Service".into(),
            namespace: svc.metadata.namespace.clone(),
            name: svc.metadata.name.clone().unwrap_or_default(),
            errors,
        })
    }

    fn allocate_fields(
        &self,
        svc: &mut Service,
        used: &InUse,
        random: &mut dyn FnMut() -> u64,
    ) -> Vec<FieldError> {
        let spec_path = FieldPath::new("spec");
        let type_ = svc.spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
        if type_ == "ExternalName" {
            return Vec::new();
        }
        let mut errors = Vec::new();
        let headless = svc.spec.cluster_ip.as_deref() == Some(Service::CLUSTER_IP_NONE)
            || svc.spec.cluster_ips.first().map(String::as_str) == Some(Service::CLUSTER_IP_NONE);
        if svc.spec.cluster_ips.is_empty()
            && let Some(ip) = svc.spec.cluster_ip.clone().filter(|ip| !ip.is_empty())
        {
            svc.spec.cluster_ips.push(ip);
        }
        // Families: as asked, else those of the asked-for addresses, else the policy's.
        let policy = svc
            .spec
            .ip_family_policy
            .clone()
            .unwrap_or_else(|| "SingleStack".into());
        if svc.spec.ip_families.is_empty() {
            for ip in svc
                .spec
                .cluster_ips
                .iter()
                .filter_map(|ip| ip.parse::<IpAddr>().ok())
            {
                svc.spec
                    .ip_families
                    .push(if ip.is_ipv4() { "IPv4" } else { "IPv6" }.into());
            }
        }
        if svc.spec.ip_families.is_empty() {
            match self.cidrs.first() {
                Some(primary) => svc.spec.ip_families.push(primary.family().into()),
                None => {
                    return vec![invalid(
                        spec_path.child("clusterIPs"),
                        "",
                        "no service IP range is configured on this cluster".into(),
                    )];
                }
            }
        }
        if policy != "SingleStack" && svc.spec.ip_families.len() == 1 {
            let other = if svc.spec.ip_families[0] == "IPv4" {
                "IPv6"
            } else {
                "IPv4"
            };
            if self.cidr(other).is_some() {
                svc.spec.ip_families.push(other.into());
            } else if policy == "RequireDualStack" {
                errors.push(invalid(
                    spec_path.child("ipFamilyPolicy"),
                    &policy,
                    "this cluster is not configured for dual-stack services".into(),
                ));
            }
        }
        svc.spec.ip_family_policy = Some(policy);
        for (i, family) in svc.spec.ip_families.iter().enumerate() {
            if self.cidr(family).is_none() {
                errors.push(invalid(
                    spec_path.child("ipFamilies").index(i),
                    family,
                    "not configured on this cluster".into(),
                ));
            }
        }
        if !errors.is_empty() {
            return errors;
        }
        if headless {
            svc.spec.cluster_ip = Some(Service::CLUSTER_IP_NONE.into());
            svc.spec.cluster_ips = vec![Service::CLUSTER_IP_NONE.into()];
        } else {
            errors.extend(self.cluster_ips(svc, used, random));
        }
        if type_ == "NodePort" || type_ == "LoadBalancer" {
            // `allocateLoadBalancerNodePorts: false` only stops new ones being picked.
            let pick = svc.spec.allocate_load_balancer_node_ports != Some(false);
            errors.extend(self.node_ports(svc, used, random, pick));
        }
        errors
    }

    fn cluster_ips(
        &self,
        svc: &mut Service,
        used: &InUse,
        random: &mut dyn FnMut() -> u64,
    ) -> Vec<FieldError> {
        let spec_path = FieldPath::new("spec");
        let mut errors = Vec::new();
        let families = svc.spec.ip_families.clone();
        let mut taken: Vec<IpAddr> = Vec::new();
        for (i, family) in families.iter().enumerate() {
            let Some(cidr) = self.cidr(family) else {
                continue;
            };
            let path = spec_path.child("clusterIPs").index(i);
            match svc.spec.cluster_ips.get(i).cloned() {
                Some(text) => match text.parse::<IpAddr>() {
                    Ok(ip) if !cidr.contains(ip) => errors.push(invalid(
                        path,
                        &text,
                        format!(
                            "failed to allocate IP {text}: the provided IP ({text}) is not in the valid range. The range of valid IPs is {cidr}"
                        ),
                    )),
                    Ok(ip) if used.ips.contains(&ip) || taken.contains(&ip) => errors.push(invalid(
                        path,
                        &text,
                        format!("failed to allocate IP {text}: provided IP is already allocated"),
                    )),
                    Ok(ip) => taken.push(ip),
                    // Validation reports addresses that do not parse.
                    Err(_) => {}
                },
                None => match free_ip(cidr, used, &taken, random) {
                    Some(ip) => {
                        taken.push(ip);
                        svc.spec.cluster_ips.push(ip.to_string());
                    }
                    None => errors.push(invalid(
                        path,
                        "",
                        format!("failed to allocate a serviceIP: range is full ({cidr})"),
                    )),
                },
            }
        }
        svc.spec.cluster_ip = svc.spec.cluster_ips.first().cloned();
        errors
    }

    /// Checks asked-for node ports and (when `pick`) picks the missing ones. Entries of
    /// one port number (say 53 over TCP and UDP) share one node port, as Kubernetes'
    /// `initNodePorts` gives them.
    fn node_ports(
        &self,
        svc: &mut Service,
        used: &InUse,
        random: &mut dyn FnMut() -> u64,
        pick: bool,
    ) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut taken: Vec<i32> = Vec::new();
        let mut by_port: std::collections::HashMap<i32, i32> = std::collections::HashMap::new();
        let range = &self.node_ports;
        for (i, port) in svc.spec.ports.iter_mut().enumerate() {
            let path = FieldPath::new("spec")
                .child("ports")
                .index(i)
                .child("nodePort");
            let shared = by_port.get(&port.port).copied();
            match port.node_port.filter(|p| *p != 0) {
                Some(p) if shared == Some(p) => {}
                None if shared.is_some() && pick => port.node_port = shared,
                None if !pick => {}
                Some(p) if !range.contains(&p) => errors.push(invalid(
                    path,
                    p,
                    format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        range.start(),
                        range.end()
                    ),
                )),
                Some(p) if used.node_ports.contains(&p) || taken.contains(&p) => {
                    errors.push(invalid(path, p, "provided port is already allocated".into()));
                }
                Some(p) => {
                    taken.push(p);
                    by_port.insert(port.port, p);
                }
                None => {
                    let span = i64::from(*range.end()) - i64::from(*range.start()) + 1;
                    let start = i64::try_from(random() % u64::try_from(span.max(1)).unwrap_or(1)).unwrap_or(0);
                    let pick = (0..span)
                        .map(|k| *range.start() + i32::try_from((start + k) % span).unwrap_or(0))
                        .find(|p| !used.node_ports.contains(p) && !taken.contains(p));
                    match pick {
                        Some(p) => {
                            taken.push(p);
                            by_port.insert(port.port, p);
                            port.node_port = Some(p);
                        }
                        None => errors.push(invalid(path, 0, "range is full".into())),
                    }
                }
            }
        }
        errors
    }
}

/// A free host address of `cidr`, probing from a random offset.
fn free_ip(
    cidr: &ServiceCidr,
    used: &InUse,
    taken: &[IpAddr],
    random: &mut dyn FnMut() -> u64,
) -> Option<IpAddr> {
    let size = cidr.size();
    if size == 0 {
        return None;
    }
    let start = u128::from(random()) % size;
    // Probe linearly; the used set is small next to any realistic range.
    let limit = size.min(u128::try_from(used.ips.len() + taken.len() + 1).unwrap_or(u128::MAX));
    (0..=limit)
        .map(|k| cidr.nth((start + k) % size))
        .find(|ip| !used.ips.contains(ip) && !taken.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ServicePort, ServiceSpec};

    fn svc(type_: &str) -> Service {
        Service {
            metadata: crate::meta::ObjectMeta::namespaced("default", "web"),
            spec: ServiceSpec {
                type_: Some(type_.into()),
                ports: vec![ServicePort {
                    port: 80,
                    ..ServicePort::default()
                }],
                ..ServiceSpec::default()
            },
            ..Service::default()
        }
    }

    fn counter() -> impl FnMut() -> u64 {
        let mut n = 0;
        move || {
            n += 7;
            n
        }
    }

    #[test]
    fn cidrs_parse_and_contain_host_addresses_only() {
        let c = ServiceCidr::parse("10.96.0.0/30").unwrap();
        assert_eq!(c.size(), 2);
        assert!(!c.contains("10.96.0.0".parse().unwrap()));
        assert!(c.contains("10.96.0.1".parse().unwrap()));
        assert!(c.contains("10.96.0.2".parse().unwrap()));
        assert!(!c.contains("10.96.0.3".parse().unwrap()), "broadcast");
        assert!(ServiceCidr::parse("10.0.0.0/33").is_err());
        assert!(ServiceCidr::parse("nonsense").is_err());
        assert_eq!(ServiceCidr::parse("fd00::/120").unwrap().family(), "IPv6");
    }

    #[test]
    fn cluster_ips_are_unique_until_the_range_is_full() {
        let net = ServiceNetwork {
            cidrs: vec![ServiceCidr::parse("10.0.0.0/30").unwrap()],
            node_ports: 30000..=30001,
        };
        let mut used = InUse::default();
        let mut rng = counter();
        let mut a = svc("ClusterIP");
        net.allocate(&mut a, &mut used, &mut rng).unwrap();
        let mut b = svc("ClusterIP");
        net.allocate(&mut b, &mut used, &mut rng).unwrap();
        assert_ne!(a.spec.cluster_ip, b.spec.cluster_ip);
        assert_eq!(a.spec.ip_families, ["IPv4"]);
        assert_eq!(a.spec.ip_family_policy.as_deref(), Some("SingleStack"));
        let err = net
            .allocate(&mut svc("ClusterIP"), &mut used, &mut rng)
            .unwrap_err();
        assert!(err.to_string().contains("range is full"), "{err}");
        let mut dup = svc("ClusterIP");
        dup.spec.cluster_ip = a.spec.cluster_ip.clone();
        let err = net
            .allocate(&mut dup, &mut InUse::of([&a]), &mut rng)
            .unwrap_err();
        assert!(
            err.to_string().contains("provided IP is already allocated"),
            "{err}"
        );
        assert_eq!(err.errors[0].path.as_str(), "spec.clusterIPs[0]");
    }

    #[test]
    fn dual_stack_headless_external_name_and_node_ports() {
        let net = ServiceNetwork::default();
        let mut rng = counter();
        let mut used = InUse::default();
        let mut dual = svc("NodePort");
        dual.spec.ip_family_policy = Some("PreferDualStack".into());
        net.allocate(&mut dual, &mut used, &mut rng).unwrap();
        assert_eq!(dual.spec.ip_families, ["IPv4", "IPv6"]);
        assert_eq!(dual.spec.cluster_ips.len(), 2);
        assert!(dual.spec.cluster_ips[1].contains(':'));
        let np = dual.spec.ports[0].node_port.unwrap();
        assert!((30000..=32767).contains(&np));
        let mut clash = svc("NodePort");
        clash.spec.ports[0].node_port = Some(np);
        let err = net.allocate(&mut clash, &mut used, &mut rng).unwrap_err();
        assert_eq!(err.errors[0].path.as_str(), "spec.ports[0].nodePort");

        let mut headless = svc("ClusterIP");
        headless.spec.cluster_ip = Some("None".into());
        net.allocate(&mut headless, &mut used, &mut rng).unwrap();
        assert_eq!(headless.spec.cluster_ips, ["None"]);
        let mut external = svc("ExternalName");
        external.spec.external_name = Some("example.com".into());
        net.allocate(&mut external, &mut used, &mut rng).unwrap();
        assert_eq!(external.spec.cluster_ip, None);

        let v4_only = ServiceNetwork {
            cidrs: vec![ServiceCidr::parse("10.0.0.0/24").unwrap()],
            node_ports: 30000..=30010,
        };
        let mut require = svc("ClusterIP");
        require.spec.ip_family_policy = Some("RequireDualStack".into());
        let err = v4_only
            .allocate(&mut require, &mut InUse::default(), &mut rng)
            .unwrap_err();
        assert_eq!(err.errors[0].path.as_str(), "spec.ipFamilyPolicy");
    }
}
