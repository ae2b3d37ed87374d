//! Validation of `ResourceQuota` (`ValidateResourceQuota`) and `LimitRange`
//! (`ValidateLimitRange`, main rules).

use std::collections::BTreeSet;

use super::common::{non_negative_quantity, qualified_name};
use super::{FieldError, FieldPath};
use crate::api::{LimitRange, ResourceList, ResourceQuota};
use crate::quantity::Quantity;

/// Resource names a quota may limit without a `/` (`IsStandardQuotaResourceName`).
pub const STANDARD_QUOTA_RESOURCES: [&str; 19] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];
/// Quota scopes (`IsStandardResourceQuotaScope`).
pub const STANDARD_SCOPES: [&str; 7] = [
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];
const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_hugepages(name: &str) -> bool {
    ["hugepages-", "requests.hugepages-", "limits.hugepages-"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// `ValidateResourceQuotaResourceName`.
fn quota_resource_name(name: &str, p: &FieldPath) -> Vec<FieldError> {
    let errors = qualified_name(name, p);
    if !errors.is_empty() || name.contains('/') {
        return errors;
    }
    if !STANDARD_QUOTA_RESOURCES.contains(&name) && !is_hugepages(name) {
        return vec![FieldError::invalid(
            p.clone(),
            name,
            "must be a standard resource for quota",
        )];
    }
    errors
}

/// `ValidateResourceQuantityValue`: non-negative, whole for countable resources.
fn quantity_value(name: &str, q: &Quantity, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = non_negative_quantity(q, p);
    let integer = INTEGER_RESOURCES.contains(&name) || name.starts_with("count/");
    if integer && q.milli_value() % 1000 != 0 {
        errors.push(FieldError::invalid(p.clone(), q, "must be an integer"));
    }
    errors
}

fn resource_list(list: &ResourceList, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (name, q) in list {
        let rp = p.key(name);
        errors.extend(quota_resource_name(name, &rp));
        errors.extend(quantity_value(name, q, &rp));
    }
    errors
}

/// Checks `spec.hard`, scopes, the scope selector, and `status.hard`/`status.used`.
pub fn resource_quota(quota: &ResourceQuota) -> Vec<FieldError> {
    let sp = FieldPath::new("spec");
    let spec = &quota.spec;
    let mut errors = resource_list(&spec.hard, &sp.child("hard"));
    let scopes_path = sp.child("scopes");
    let joined = || format!("[{}]", spec.scopes.join(" "));
    let mut set = BTreeSet::new();
    for scope in &spec.scopes {
        if !STANDARD_SCOPES.contains(&scope.as_str()) {
            errors.push(FieldError::invalid(
                scopes_path.clone(),
                joined(),
                "unsupported scope",
            ));
        }
        set.insert(scope.as_str());
    }
    for (a, b) in [
        ("BestEffort", "NotBestEffort"),
        ("Terminating", "NotTerminating"),
    ] {
        if set.contains(a) && set.contains(b) {
            errors.push(FieldError::invalid(
                scopes_path.clone(),
                joined(),
                "conflicting scopes",
            ));
        }
    }
    if let Some(selector) = &spec.scope_selector {
        let p = sp.child("scopeSelector").child("matchExpressions");
        let mut selected = BTreeSet::new();
        for (i, req) in selector.match_expressions.iter().enumerate() {
            let rp = p.index(i);
            if !STANDARD_SCOPES.contains(&req.scope_name.as_str()) {
                errors.push(FieldError::invalid(
                    rp.child("scopeName"),
                    &req.scope_name,
                    "unsupported scope",
                ));
            }
            match req.operator.as_str() {
                "In" | "NotIn" if req.values.is_empty() => errors.push(FieldError::required(
                    rp.child("values"),
                    "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
                )),
                "Exists" | "DoesNotExist" if !req.values.is_empty() => errors.push(FieldError::invalid(
                    rp.child("values"),
                    format!("[{}]", req.values.join(" ")),
                    "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
                )),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => errors.push(FieldError::invalid(rp.child("operator"), other, "not a valid selector operator")),
            }
            selected.insert(req.scope_name.as_str());
        }
        for (a, b) in [
            ("BestEffort", "NotBestEffort"),
            ("Terminating", "NotTerminating"),
        ] {
            if selected.contains(a) && selected.contains(b) {
                errors.push(FieldError::invalid(p.clone(), "", "conflicting scopes"));
            }
        }
    }
    if let Some(status) = &quota.status {
        let st = FieldPath::new("status");
        errors.extend(resource_list(&status.hard, &st.child("hard")));
        errors.extend(resource_list(&status.used, &st.child("used")));
    }
    errors
}

/// Checks each item's type, non-negative quantities and `min ≤ default request ≤
/// default ≤ max`.
pub fn limit_range(lr: &LimitRange) -> Vec<FieldError> {
    const TYPES: [&str; 3] = ["Container", "PersistentVolumeClaim", "Pod"];
    let mut errors = Vec::new();
    let lp = FieldPath::new("spec").child("limits");
    let mut seen = BTreeSet::new();
    for (i, item) in lr.spec.limits.iter().enumerate() {
        let p = lp.index(i);
        if !TYPES.contains(&item.type_.as_str()) {
            errors.push(FieldError::not_supported(
                p.child("type"),
                &item.type_,
                &TYPES,
            ));
        }
        if !seen.insert(item.type_.as_str()) {
            errors.push(FieldError::duplicate(p.child("type"), &item.type_));
        }
        for (field, list) in [
            ("max", &item.max),
            ("min", &item.min),
            ("default", &item.default),
            ("defaultRequest", &item.default_request),
            ("maxLimitRequestRatio", &item.max_limit_request_ratio),
        ] {
            for (name, q) in list {
                errors.extend(non_negative_quantity(q, &p.child(field).key(name)));
            }
        }
        for (name, max) in &item.max {
            if let Some(min) = item.min.get(name)
                && min.milli_value() > max.milli_value()
            {
                errors.push(FieldError::invalid(
                    p.child("min").key(name),
                    min,
                    format!("min value {min} is greater than max value {max}"),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        LimitRangeItem, ResourceQuotaStatus, ScopeSelector, ScopedResourceSelectorRequirement,
    };
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    fn quota(entries: &[(&str, &str)]) -> ResourceQuota {
        let mut q = ResourceQuota {
            metadata: ObjectMeta::namespaced("default", "compute"),
            ..ResourceQuota::default()
        };
        for (k, v) in entries {
            q.spec.hard.insert((*k).into(), v.parse().unwrap());
        }
        q
    }

    #[test]
    fn valid_quota_passes() {
        let q = quota(&[
            ("requests.cpu", "4"),
            ("pods", "10"),
            ("count/deployments.apps", "5"),
            ("hugepages-2Mi", "1Gi"),
        ]);
        assert_eq!(validate(&q), Ok(()));
    }

    #[test]
    fn hard_values_and_names() {
        let q = quota(&[
            ("cpu", "-1"),
            ("pods", "1.5"),
            ("storage", "1Gi"),
            ("bad name!", "1"),
        ]);
        let errs = resource_quota(&q);
        assert!(has(&errs, "spec.hard[cpu]", ErrorType::Invalid));
        assert!(has(&errs, "spec.hard[pods]", ErrorType::Invalid));
        assert!(has(&errs, "spec.hard[storage]", ErrorType::Invalid));
        assert!(has(&errs, "spec.hard[bad name!]", ErrorType::Invalid));
        let mut q = quota(&[]);
        let mut status = ResourceQuotaStatus::default();
        status.used.insert("pods".into(), "-1".parse().unwrap());
        q.status = Some(status);
        assert!(has(
            &resource_quota(&q),
            "status.used[pods]",
            ErrorType::Invalid
        ));
    }

    #[test]
    fn scopes() {
        let mut q = quota(&[("pods", "1")]);
        q.spec.scopes = vec![
            "BestEffort".into(),
            "NotBestEffort".into(),
            "Weekend".into(),
        ];
        let errs = resource_quota(&q);
        assert_eq!(
            errs.iter()
                .filter(|e| e.path.as_str() == "spec.scopes")
                .count(),
            2
        );
        let mut q = quota(&[("pods", "1")]);
        q.spec.scope_selector = Some(ScopeSelector {
            match_expressions: vec![
                ScopedResourceSelectorRequirement {
                    scope_name: "PriorityClass".into(),
                    operator: "In".into(),
                    values: vec![],
                },
                ScopedResourceSelectorRequirement {
                    scope_name: "Weekend".into(),
                    operator: "Maybe".into(),
                    values: vec![],
                },
            ],
        });
        let errs = resource_quota(&q);
        assert!(has(
            &errs,
            "spec.scopeSelector.matchExpressions[0].values",
            ErrorType::Required
        ));
        assert!(has(
            &errs,
            "spec.scopeSelector.matchExpressions[1].scopeName",
            ErrorType::Invalid
        ));
        assert!(has(
            &errs,
            "spec.scopeSelector.matchExpressions[1].operator",
            ErrorType::Invalid
        ));
    }

    #[test]
    fn limit_range_rules() {
        let mut item = LimitRangeItem {
            type_: "Container".into(),
            ..LimitRangeItem::default()
        };
        item.max.insert("cpu".into(), "1".parse().unwrap());
        item.min.insert("cpu".into(), "2".parse().unwrap());
        let mut lr = LimitRange::default();
        lr.spec.limits = vec![
            item,
            LimitRangeItem {
                type_: "Node".into(),
                ..LimitRangeItem::default()
            },
        ];
        let errs = limit_range(&lr);
        assert!(has(&errs, "spec.limits[0].min[cpu]", ErrorType::Invalid));
        assert!(has(&errs, "spec.limits[1].type", ErrorType::NotSupported));
    }
}
