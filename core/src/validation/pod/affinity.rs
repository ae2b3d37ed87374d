//! Scheduling constraints: tolerations, node and pod affinity, topology spread.

use std::collections::BTreeSet;

use super::super::common::{qualified_name, validate_label_selector};
use super::super::{FieldError, FieldPath, validate_labels};
use crate::api::{
    Affinity, NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, Toleration,
    TopologySpreadConstraint,
};
use crate::names;

/// Kubernetes' `ValidateTolerations`.
pub(super) fn tolerations(list: &[Toleration], path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        let key = t.key.as_deref().unwrap_or("");
        let operator = t.operator.as_deref().unwrap_or("");
        if key.is_empty() {
            if operator != "Exists" {
                errors.push(FieldError::invalid(
                    p.child("operator"),
                    operator,
                    "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                ));
            }
        } else {
            errors.extend(qualified_name(key, &p.child("key")));
        }
        if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
            errors.push(FieldError::invalid(
                p.child("effect"),
                t.effect.as_deref().unwrap_or(""),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        let value = t.value.as_deref().unwrap_or("");
        match operator {
            "" | "Equal" => {
                for msg in names::is_valid_label_value(value) {
                    errors.push(FieldError::invalid(p.child("operator"), value, msg));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errors.push(FieldError::invalid(
                        p.child("operator"),
                        t,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errors.push(FieldError::not_supported(
                p.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if let Some(effect) = t.effect.as_deref()
            && !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            errors.push(FieldError::not_supported(
                p.child("effect"),
                effect,
                &["NoExecute", "NoSchedule", "PreferNoSchedule"],
            ));
        }
    }
}

impl std::fmt::Display for Toleration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}:{}",
            self.key.as_deref().unwrap_or(""),
            if self.operator.as_deref() == Some("Exists") {
                ""
            } else {
                "="
            },
            self.value.as_deref().unwrap_or(""),
            self.effect.as_deref().unwrap_or("")
        )
    }
}

/// Node affinity and pod (anti-)affinity.
pub(super) fn affinity(a: &Affinity, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(node) = &a.node_affinity {
        let np = path.child("nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            let rp = np.child("requiredDuringSchedulingIgnoredDuringExecution");
            if required.node_selector_terms.is_empty() {
                errors.push(FieldError::required(
                    rp.child("nodeSelectorTerms"),
                    "must have at least one node selector term",
                ));
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                node_selector_term(term, &rp.child("nodeSelectorTerms").index(i), errors);
            }
        }
        for (i, pref) in node
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .enumerate()
        {
            let pp = np
                .child("preferredDuringSchedulingIgnoredDuringExecution")
                .index(i);
            weight(pref.weight, &pp.child("weight"), errors);
            node_selector_term(&pref.preference, &pp.child("preference"), errors);
        }
    }
    for (field, terms) in [
        (
            "podAffinity",
            a.pod_affinity.as_ref().map(|x| {
                (
                    &x.required_during_scheduling_ignored_during_execution,
                    &x.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            a.pod_anti_affinity.as_ref().map(|x| {
                (
                    &x.required_during_scheduling_ignored_during_execution,
                    &x.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ] {
        let Some((required, preferred)) = terms else {
            continue;
        };
        let ap = path.child(field);
        for (i, term) in required.iter().enumerate() {
            pod_affinity_term(
                term,
                &ap.child("requiredDuringSchedulingIgnoredDuringExecution")
                    .index(i),
                errors,
            );
        }
        for (i, w) in preferred.iter().enumerate() {
            let wp = ap
                .child("preferredDuringSchedulingIgnoredDuringExecution")
                .index(i);
            weight(w.weight, &wp.child("weight"), errors);
            pod_affinity_term(&w.pod_affinity_term, &wp.child("podAffinityTerm"), errors);
        }
    }
}

fn weight(w: i32, p: &FieldPath, errors: &mut Vec<FieldError>) {
    if !(1..=100).contains(&w) {
        errors.push(FieldError::invalid(
            p.clone(),
            w,
            "must be in the range 1-100",
        ));
    }
}

fn node_selector_term(term: &NodeSelectorTerm, p: &FieldPath, errors: &mut Vec<FieldError>) {
    for (i, r) in term.match_expressions.iter().enumerate() {
        node_requirement(r, &p.child("matchExpressions").index(i), errors);
    }
    for (i, r) in term.match_fields.iter().enumerate() {
        let fp = p.child("matchFields").index(i);
        if r.key != "metadata.name" {
            errors.push(FieldError::invalid(
                fp.child("key"),
                &r.key,
                "not a valid field selector key",
            ));
        }
        if !matches!(r.operator.as_str(), "In" | "NotIn") {
            errors.push(FieldError::invalid(
                fp.child("operator"),
                &r.operator,
                "not a valid selector operator",
            ));
        }
        if r.values.len() != 1 {
            errors.push(FieldError::required(
                fp.child("values"),
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            ));
        }
    }
}

fn node_requirement(r: &NodeSelectorRequirement, p: &FieldPath, errors: &mut Vec<FieldError>) {
    match r.operator.as_str() {
        "In" | "NotIn" => {
            if r.values.is_empty() {
                errors.push(FieldError::required(
                    p.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !r.values.is_empty() {
                errors.push(FieldError::forbidden(
                    p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        "Gt" | "Lt" => {
            if r.values.len() != 1 {
                errors.push(FieldError::required(
                    p.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                ));
            } else if r.values[0].parse::<i64>().is_err() {
                errors.push(FieldError::invalid(
                    p.child("values").index(0),
                    &r.values[0],
                    "must be an integer when `operator` is 'Lt' or 'Gt'",
                ));
            }
        }
        other => errors.push(FieldError::invalid(
            p.child("operator"),
            other,
            "not a valid selector operator",
        )),
    }
    errors.extend(qualified_name(&r.key, &p.child("key")));
    if matches!(r.operator.as_str(), "In" | "NotIn") {
        for (i, v) in r.values.iter().enumerate() {
            for msg in names::is_valid_label_value(v) {
                errors.push(FieldError::invalid(p.child("values").index(i), v, msg));
            }
        }
    }
}

fn pod_affinity_term(term: &PodAffinityTerm, p: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(selector) = &term.label_selector {
        errors.extend(validate_label_selector(selector, &p.child("labelSelector")));
    }
    if let Some(selector) = &term.namespace_selector {
        errors.extend(validate_label_selector(
            selector,
            &p.child("namespaceSelector"),
        ));
    }
    for (i, ns) in term.namespaces.iter().enumerate() {
        for msg in names::is_dns1123_label(ns) {
            errors.push(FieldError::invalid(p.child("namespaces").index(i), ns, msg));
        }
    }
    if term.topology_key.is_empty() {
        errors.push(FieldError::required(
            p.child("topologyKey"),
            "can not be empty",
        ));
    } else {
        errors.extend(qualified_name(&term.topology_key, &p.child("topologyKey")));
    }
    for (field, keys) in [
        ("matchLabelKeys", &term.match_label_keys),
        ("mismatchLabelKeys", &term.mismatch_label_keys),
    ] {
        for (i, k) in keys.iter().enumerate() {
            errors.extend(qualified_name(k, &p.child(field).index(i)));
        }
    }
}

/// Kubernetes' `validateTopologySpreadConstraints`.
pub(super) fn topology_spread(
    list: &[TopologySpreadConstraint],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let mut seen = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        if c.max_skew <= 0 {
            errors.push(FieldError::invalid(
                p.child("maxSkew"),
                c.max_skew,
                "must be greater than zero",
            ));
        }
        if c.topology_key.is_empty() {
            errors.push(FieldError::required(
                p.child("topologyKey"),
                "can not be empty",
            ));
        } else {
            errors.extend(qualified_name(&c.topology_key, &p.child("topologyKey")));
        }
        if !matches!(
            c.when_unsatisfiable.as_str(),
            "DoNotSchedule" | "ScheduleAnyway"
        ) {
            errors.push(FieldError::not_supported(
                p.child("whenUnsatisfiable"),
                &c.when_unsatisfiable,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if let Some(min) = c.min_domains {
            if min <= 0 {
                errors.push(FieldError::invalid(
                    p.child("minDomains"),
                    min,
                    "must be greater than 0",
                ));
            } else if c.when_unsatisfiable != "DoNotSchedule" {
                errors.push(FieldError::invalid(
                    p.child("minDomains"),
                    min,
                    format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}",
                        c.when_unsatisfiable
                    ),
                ));
            }
        }
        for (field, v) in [
            ("nodeAffinityPolicy", &c.node_affinity_policy),
            ("nodeTaintsPolicy", &c.node_taints_policy),
        ] {
            if let Some(v) = v.as_deref()
                && !matches!(v, "Honor" | "Ignore")
            {
                errors.push(FieldError::not_supported(
                    p.child(field),
                    v,
                    &["Honor", "Ignore"],
                ));
            }
        }
        if let Some(selector) = &c.label_selector {
            errors.extend(validate_label_selector(selector, &p.child("labelSelector")));
        }
        let pair = (c.topology_key.as_str(), c.when_unsatisfiable.as_str());
        if !seen.insert(pair) {
            errors.push(FieldError::duplicate(
                p,
                format!("{{{}, {}}}", pair.0, pair.1),
            ));
        }
    }
    let _ = validate_labels;
}
