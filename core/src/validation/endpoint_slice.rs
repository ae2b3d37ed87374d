//! Validation of `EndpointSlice` (discovery `ValidateEndpointSlice`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::common::{dns1123_label, dns1123_subdomain, non_special_ip, qualified_name};
use super::{FieldError, FieldPath, validate_labels};
use crate::api::EndpointSlice;
use crate::names;

/// The most endpoints one slice holds.
pub const MAX_ENDPOINTS: usize = 1000;
/// The most addresses one endpoint holds.
pub const MAX_ADDRESSES: usize = 100;
/// The most ports one slice holds.
pub const MAX_PORTS: usize = 20000;
/// The most zone hints one endpoint holds.
pub const MAX_HINTS: usize = 8;
const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

fn too_many(path: FieldPath, count: usize, max: usize) -> FieldError {
    FieldError::invalid(path, count, format!("must have at most {max} items"))
}

/// Checks the address type, the endpoints' addresses against it, and the ports.
pub fn endpoint_slice(slice: &EndpointSlice) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let at = slice.address_type.as_str();
    if at.is_empty() {
        errors.push(FieldError::required(FieldPath::new("addressType"), ""));
    } else if !ADDRESS_TYPES.contains(&at) {
        errors.push(FieldError::not_supported(
            FieldPath::new("addressType"),
            at,
            &ADDRESS_TYPES,
        ));
    }
    let ep = FieldPath::new("endpoints");
    if slice.endpoints.len() > MAX_ENDPOINTS {
        errors.push(too_many(ep, slice.endpoints.len(), MAX_ENDPOINTS));
    } else {
        for (i, endpoint) in slice.endpoints.iter().enumerate() {
            let p = ep.index(i);
            let ap = p.child("addresses");
            if endpoint.addresses.is_empty() {
                errors.push(FieldError::required(
                    ap.clone(),
                    "must contain at least 1 address",
                ));
            } else if endpoint.addresses.len() > MAX_ADDRESSES {
                errors.push(too_many(
                    ap.clone(),
                    endpoint.addresses.len(),
                    MAX_ADDRESSES,
                ));
            }
            for (j, address) in endpoint.addresses.iter().enumerate() {
                errors.extend(address_errors(at, address, &ap.index(j)));
            }
            if let Some(node) = &endpoint.node_name {
                errors.extend(dns1123_subdomain(node, &p.child("nodeName")));
            }
            errors.extend(validate_labels(
                &endpoint.deprecated_topology,
                &p.child("deprecatedTopology"),
            ));
            if let Some(hostname) = &endpoint.hostname {
                errors.extend(dns1123_label(hostname, &p.child("hostname")));
            }
            if let Some(hints) = &endpoint.hints {
                let zp = p.child("hints").child("forZones");
                if hints.for_zones.len() > MAX_HINTS {
                    errors.push(too_many(zp.clone(), hints.for_zones.len(), MAX_HINTS));
                } else {
                    let mut zones = BTreeSet::new();
                    for (j, zone) in hints.for_zones.iter().enumerate() {
                        for msg in names::is_valid_label_value(&zone.name) {
                            errors.push(FieldError::invalid(
                                zp.index(j).child("name"),
                                &zone.name,
                                msg,
                            ));
                        }
                        if !zones.insert(&zone.name) {
                            errors.push(FieldError::duplicate(zp.index(j), &zone.name));
                        }
                    }
                }
            }
        }
    }
    let pp = FieldPath::new("ports");
    if slice.ports.len() > MAX_PORTS {
        errors.push(too_many(pp, slice.ports.len(), MAX_PORTS));
        return errors;
    }
    let mut port_names = BTreeSet::new();
    for (i, port) in slice.ports.iter().enumerate() {
        let p = pp.index(i);
        let name = port.name.as_deref().unwrap_or("");
        if !name.is_empty() {
            errors.extend(dns1123_label(name, &p.child("name")));
        }
        if !port_names.insert(name) {
            errors.push(FieldError::duplicate(p.child("name"), name));
        }
        match port.protocol.as_deref() {
            None => errors.push(FieldError::required(p.child("protocol"), "")),
            Some(proto) if !PROTOCOLS.contains(&proto) => {
                errors.push(FieldError::not_supported(
                    p.child("protocol"),
                    proto,
                    &PROTOCOLS,
                ));
            }
            Some(_) => {}
        }
        if let Some(number) = port.port {
            for msg in names::is_valid_port_num(i64::from(number)) {
                errors.push(FieldError::invalid(p.child("port"), number, msg));
            }
        }
        if let Some(app) = &port.app_protocol {
            errors.extend(qualified_name(app, &p.child("appProtocol")));
        }
    }
    errors
}

fn address_errors(address_type: &str, address: &str, p: &FieldPath) -> Vec<FieldError> {
    let parsed: Option<IpAddr> = address.parse().ok();
    match address_type {
        "IPv4" => match parsed {
            Some(IpAddr::V4(_)) => non_special_ip(address, p),
            _ => vec![FieldError::invalid(
                p.clone(),
                address,
                "must be a valid IPv4 address",
            )],
        },
        "IPv6" => match parsed {
            Some(IpAddr::V6(_)) => non_special_ip(address, p),
            _ => vec![FieldError::invalid(
                p.clone(),
                address,
                "must be a valid IPv6 address",
            )],
        },
        "FQDN" => {
            let mut errs = dns1123_subdomain(address, p);
            if errs.is_empty() && !address.contains('.') {
                errs.push(FieldError::invalid(
                    p.clone(),
                    address,
                    "should be a domain with at least two segments separated by dots",
                ));
            }
            errs
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::{Endpoint, EndpointPort};
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn slice(address_type: &str, addresses: &[&str]) -> EndpointSlice {
        let mut s = EndpointSlice {
            metadata: ObjectMeta::namespaced("default", "web-abc"),
            address_type: address_type.into(),
            endpoints: vec![Endpoint {
                addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
                ..Endpoint::default()
            }],
            ports: vec![EndpointPort {
                name: Some("http".into()),
                port: Some(80),
                ..EndpointPort::default()
            }],
        };
        s.apply_defaults();
        s
    }

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    #[test]
    fn valid_slices_pass() {
        assert_eq!(validate(&slice("IPv4", &["10.0.0.1"])), Ok(()));
        assert_eq!(validate(&slice("IPv6", &["fd00::1"])), Ok(()));
        assert_eq!(validate(&slice("FQDN", &["db.example.com"])), Ok(()));
    }

    #[test]
    fn address_type_and_addresses() {
        assert!(has(
            &endpoint_slice(&slice("", &["10.0.0.1"])),
            "addressType",
            ErrorType::Required
        ));
        assert!(has(
            &endpoint_slice(&slice("IPX", &["10.0.0.1"])),
            "addressType",
            ErrorType::NotSupported
        ));
        let errs = endpoint_slice(&slice("IPv4", &["fd00::1", "127.0.0.1"]));
        assert!(has(&errs, "endpoints[0].addresses[0]", ErrorType::Invalid));
        assert!(has(&errs, "endpoints[0].addresses[1]", ErrorType::Invalid));
        assert!(has(
            &endpoint_slice(&slice("IPv6", &["10.0.0.1"])),
            "endpoints[0].addresses[0]",
            ErrorType::Invalid
        ));
        assert!(has(
            &endpoint_slice(&slice("FQDN", &["Not_A_Name"])),
            "endpoints[0].addresses[0]",
            ErrorType::Invalid
        ));
        assert!(has(
            &endpoint_slice(&slice("IPv4", &[])),
            "endpoints[0].addresses",
            ErrorType::Required
        ));
    }

    #[test]
    fn endpoint_fields() {
        let mut s = slice("IPv4", &["10.0.0.1"]);
        s.endpoints[0].hostname = Some("Bad_Host".into());
        s.endpoints[0].node_name = Some("Bad_Node".into());
        let errs = endpoint_slice(&s);
        assert!(has(&errs, "endpoints[0].hostname", ErrorType::Invalid));
        assert!(has(&errs, "endpoints[0].nodeName", ErrorType::Invalid));
    }

    #[test]
    fn port_rules() {
        let mut s = slice("IPv4", &["10.0.0.1"]);
        s.ports.push(EndpointPort {
            name: Some("http".into()),
            protocol: Some("ICMP".into()),
            port: Some(0),
            app_protocol: Some("bad proto!".into()),
        });
        s.ports.push(EndpointPort {
            name: Some("Bad_Name".into()),
            ..EndpointPort::default()
        });
        let errs = endpoint_slice(&s);
        assert!(has(&errs, "ports[1].name", ErrorType::Duplicate));
        assert!(has(&errs, "ports[1].protocol", ErrorType::NotSupported));
        assert!(has(&errs, "ports[1].port", ErrorType::Invalid));
        assert!(has(&errs, "ports[1].appProtocol", ErrorType::Invalid));
        assert!(has(&errs, "ports[2].name", ErrorType::Invalid));
        assert!(
            has(&errs, "ports[2].protocol", ErrorType::Required),
            "not defaulted"
        );
    }
}
