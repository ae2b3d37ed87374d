//! Checks shared by several kinds: label selectors, quantities, IPs and CIDRs, path
//! segment names, ints-or-percents (Kubernetes' `apimachinery` validation helpers).

use std::net::IpAddr;

use super::{FieldError, FieldPath, validate_labels};
use crate::intstr::IntOrString;
use crate::labels::{LabelSelector, LabelSelectorOperator};
use crate::names;
use crate::quantity::Quantity;

/// `ValidateLabelSelector`: match labels and expressions (operators and their values).
pub fn validate_label_selector(selector: &LabelSelector, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = validate_labels(&selector.match_labels, &path.child("matchLabels"));
    for (i, req) in selector.match_expressions.iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        match req.operator {
            LabelSelectorOperator::In | LabelSelectorOperator::NotIn => {
                if req.values.is_empty() {
                    errors.push(FieldError::required(
                        p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            LabelSelectorOperator::Exists | LabelSelectorOperator::DoesNotExist => {
                if !req.values.is_empty() {
                    errors.push(FieldError::forbidden(
                        p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
        }
        errors.extend(qualified_name(&req.key, &p.child("key")));
        for (j, v) in req.values.iter().enumerate() {
            for msg in names::is_valid_label_value(v) {
                errors.push(FieldError::invalid(p.child("values").index(j), v, msg));
            }
        }
    }
    errors
}

/// `ValidateQualifiedName`: one `Invalid` per message.
pub fn qualified_name(value: &str, path: &FieldPath) -> Vec<FieldError> {
    qualified_name_at(value, || path.clone())
}

/// [`qualified_name`] with the path built only for an error (validation visits far
/// more fields than it finds wrong).
pub(crate) fn qualified_name_at(value: &str, path: impl Fn() -> FieldPath) -> Vec<FieldError> {
    names::is_qualified_name(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path(), value, msg))
        .collect()
}

/// `ValidateDNS1123Label`: one `Invalid` per message.
pub fn dns1123_label(value: &str, path: &FieldPath) -> Vec<FieldError> {
    names::is_dns1123_label(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path.clone(), value, msg))
        .collect()
}

/// `ValidateDNS1123Subdomain`: one `Invalid` per message.
pub fn dns1123_subdomain(value: &str, path: &FieldPath) -> Vec<FieldError> {
    dns1123_subdomain_at(value, || path.clone())
}

/// [`dns1123_subdomain`] with the path built only for an error.
pub(crate) fn dns1123_subdomain_at(value: &str, path: impl Fn() -> FieldPath) -> Vec<FieldError> {
    names::is_dns1123_subdomain(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path(), value, msg))
        .collect()
}

/// `ValidateNonnegativeQuantity`.
pub fn non_negative_quantity(value: &Quantity, path: &FieldPath) -> Vec<FieldError> {
    non_negative_quantity_at(value, || path.clone())
}

/// [`non_negative_quantity`] with the path built only for an error.
pub(crate) fn non_negative_quantity_at(
    value: &Quantity,
    path: impl FnOnce() -> FieldPath,
) -> Vec<FieldError> {
    if value.is_negative() {
        vec![FieldError::invalid(
            path(),
            value,
            "must be greater than or equal to 0",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidatePositiveQuantityValue`.
pub fn positive_quantity(value: &Quantity, path: &FieldPath) -> Vec<FieldError> {
    if value.is_negative() || value.is_zero() {
        vec![FieldError::invalid(
            path.clone(),
            value,
            "must be greater than zero",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidateNonnegativeField`.
pub fn non_negative(value: i64, path: &FieldPath) -> Vec<FieldError> {
    if value < 0 {
        vec![FieldError::invalid(
            path.clone(),
            value,
            "must be greater than or equal to 0",
        )]
    } else {
        Vec::new()
    }
}

/// `IsValidPathSegmentName`: any name but `.` and `..`, without `/` or `%` (the name
/// rule of RBAC objects and of references to arbitrary kinds).
pub fn is_valid_path_segment_name(name: &str) -> Vec<String> {
    let mut msgs = Vec::new();
    if name == "." || name == ".." {
        msgs.push(format!("may not be '{name}'"));
        return msgs;
    }
    for illegal in ["/", "%"] {
        if name.contains(illegal) {
            msgs.push(format!("may not contain '{illegal}'"));
        }
    }
    msgs
}

/// Parses an IP as Kubernetes' validation accepts it (no zone, no leading zeros in
/// IPv4 octets).
pub fn parse_ip(value: &str) -> Option<IpAddr> {
    value.parse().ok()
}

/// `IsValidIP` as field errors.
pub fn ip(value: &str, path: &FieldPath) -> Vec<FieldError> {
    names::is_valid_ip(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path.clone(), value, msg))
        .collect()
}

/// `IsValidCIDR`: `ip/prefix` with the prefix within the family's bits.
pub fn cidr(value: &str, path: &FieldPath) -> Vec<FieldError> {
    if parse_cidr(value).is_some() {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            path.clone(),
            value,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        )]
    }
}

/// Parses `ip/prefix`.
pub fn parse_cidr(value: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = value.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

/// `ValidateNonSpecialIP`: not unspecified, loopback, link-local or link-local multicast.
pub fn non_special_ip(value: &str, path: &FieldPath) -> Vec<FieldError> {
    let Some(ip) = parse_ip(value) else {
        return vec![FieldError::invalid(
            path.clone(),
            value,
            "must be a valid IP address",
        )];
    };
    let detail = match ip {
        _ if ip.is_unspecified() => Some("may not be unspecified (0.0.0.0, ::)"),
        _ if ip.is_loopback() => Some("may not be in the loopback range (127.0.0.0/8, ::1/128)"),
        IpAddr::V4(v4) if v4.is_link_local() => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        IpAddr::V4(v4) if v4.octets()[..3] == [224, 0, 0] => {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        IpAddr::V6(v6) if (v6.segments()[0] & 0xff0f) == 0xff02 => {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        _ => None,
    };
    detail
        .map(|d| FieldError::invalid(path.clone(), value, d))
        .into_iter()
        .collect()
}

/// `ValidatePositiveIntOrPercent` + `IsNotMoreThan100Percent`.
pub fn int_or_percent_up_to_100(value: &IntOrString, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match value {
        IntOrString::String(s) => {
            for msg in names::is_valid_percent(s) {
                errors.push(FieldError::invalid(path.clone(), s, msg));
            }
            if let Some(pct) = s.strip_suffix('%').and_then(|d| d.parse::<i64>().ok())
                && pct > 100
            {
                errors.push(FieldError::invalid(
                    path.clone(),
                    s,
                    "must not be greater than 100%",
                ));
            }
        }
        IntOrString::Int(i) => errors.extend(non_negative(i64::from(*i), path)),
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelSelectorRequirement;
    use crate::validation::ErrorType;

    #[test]
    fn selectors_check_operators_and_values() {
        let p = FieldPath::new("spec").child("selector");
        let sel = LabelSelector {
            match_expressions: vec![
                LabelSelectorRequirement {
                    key: "a".into(),
                    operator: LabelSelectorOperator::In,
                    values: vec![],
                },
                LabelSelectorRequirement {
                    key: "b".into(),
                    operator: LabelSelectorOperator::Exists,
                    values: vec!["x".into()],
                },
            ],
            ..LabelSelector::default()
        };
        let errs = validate_label_selector(&sel, &p);
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].path.as_str(),
            "spec.selector.matchExpressions[0].values"
        );
        assert_eq!(errs[0].kind, ErrorType::Required);
        assert_eq!(errs[1].kind, ErrorType::Forbidden);
    }

    #[test]
    fn path_segment_names() {
        assert!(is_valid_path_segment_name("system:controller:x").is_empty());
        assert_eq!(is_valid_path_segment_name(".."), ["may not be '..'"]);
        assert_eq!(
            is_valid_path_segment_name("a/b%c"),
            ["may not contain '/'", "may not contain '%'"]
        );
    }

    #[test]
    fn cidrs_and_special_ips() {
        let p = FieldPath::new("x");
        assert!(cidr("10.0.0.0/8", &p).is_empty());
        assert!(cidr("fd00::/64", &p).is_empty());
        assert_eq!(cidr("10.0.0.0/33", &p).len(), 1);
        assert_eq!(cidr("10.0.0.0", &p).len(), 1);
        assert!(non_special_ip("192.0.2.1", &p).is_empty());
        for special in [
            "0.0.0.0",
            "127.0.0.1",
            "::1",
            "169.254.1.1",
            "fe80::1",
            "224.0.0.1",
            "ff02::1",
        ] {
            assert_eq!(non_special_ip(special, &p).len(), 1, "{special}");
        }
    }

    #[test]
    fn int_or_percent() {
        let p = FieldPath::new("x");
        assert!(int_or_percent_up_to_100(&IntOrString::from("100%"), &p).is_empty());
        assert_eq!(
            int_or_percent_up_to_100(&IntOrString::from("101%"), &p).len(),
            1
        );
        assert_eq!(
            int_or_percent_up_to_100(&IntOrString::from("x"), &p).len(),
            1
        );
        assert_eq!(int_or_percent_up_to_100(&IntOrString::Int(-1), &p).len(), 1);
    }
}
