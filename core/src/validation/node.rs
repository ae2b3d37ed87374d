//! Validation of `Node` (`ValidateNode`).

use std::collections::BTreeSet;

use super::common::{cidr, non_negative_quantity, parse_cidr, qualified_name};
use super::{FieldError, FieldPath};
use crate::api::{Node, Taint};
use crate::names;

const EFFECTS: [&str; 3] = [
    Taint::EFFECT_NO_SCHEDULE,
    Taint::EFFECT_PREFER_NO_SCHEDULE,
    Taint::EFFECT_NO_EXECUTE,
];

/// Checks taints, pod CIDRs and the resource quantities of the status.
///
/// Taint errors are reported under `metadata.taints`, as Kubernetes (`ValidateNode`
/// builds the taints path from the metadata path) reports them.
pub fn node(node: &Node) -> Vec<FieldError> {
    let mut errors = taints(
        &node.spec.taints,
        &FieldPath::new("metadata").child("taints"),
    );
    if let Some(status) = &node.status {
        let sp = FieldPath::new("status");
        for (field, list) in [
            ("capacity", &status.capacity),
            ("allocatable", &status.allocatable),
        ] {
            for (name, q) in list {
                errors.extend(non_negative_quantity(q, &sp.child(field).key(name)));
            }
        }
    }
    let cidrs = &node.spec.pod_cidrs;
    if !cidrs.is_empty() {
        let p = FieldPath::new("spec").child("podCIDRs");
        for (i, value) in cidrs.iter().enumerate() {
            errors.extend(cidr(value, &p.index(i)));
        }
        if cidrs.len() > 1 {
            let parsed: Vec<_> = cidrs.iter().filter_map(|c| parse_cidr(c)).collect();
            let v4 = parsed.iter().filter(|(ip, _)| ip.is_ipv4()).count();
            let v6 = parsed.len() - v4;
            if cidrs.len() > 2 || v4 != 1 || v6 != 1 {
                errors.push(FieldError::invalid(
                    p.clone(),
                    format!("[{}]", cidrs.join(" ")),
                    "may specify no more than one CIDR for each IP family",
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, value) in cidrs.iter().enumerate() {
                if !seen.insert(value) {
                    errors.push(FieldError::duplicate(p.index(i), value));
                }
            }
        }
    }
    errors
}

/// `validateNodeTaints`: key a qualified name, value a label value, a known effect, and
/// unique by key and effect.
pub fn taints(taints: &[Taint], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, taint) in taints.iter().enumerate() {
        let p = path.index(i);
        errors.extend(qualified_name(&taint.key, &p.child("key")));
        let value = taint.value.as_deref().unwrap_or("");
        let msgs = names::is_valid_label_value(value);
        if !msgs.is_empty() {
            errors.push(FieldError::invalid(p.child("value"), value, msgs.join(";")));
        }
        if taint.effect.is_empty() {
            errors.push(FieldError::required(p.child("effect"), ""));
        } else if !EFFECTS.contains(&taint.effect.as_str()) {
            errors.push(FieldError::not_supported(
                p.child("effect"),
                &taint.effect,
                &EFFECTS,
            ));
        }
        if !seen.insert((taint.effect.as_str(), taint.key.as_str())) {
            let mut dup =
                FieldError::duplicate(p, format!("{}={}:{}", taint.key, value, taint.effect));
            "taints must be unique by key and effect pair".clone_into(&mut dup.detail);
            errors.push(dup);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::NodeStatus;
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    #[test]
    fn valid_node_passes() {
        let mut n = Node {
            metadata: ObjectMeta::named("node-1"),
            ..Node::default()
        };
        n.spec.taints = vec![taint("a", "NoSchedule"), taint("a", "NoExecute")];
        n.spec.pod_cidrs = vec!["10.244.0.0/24".into(), "fd00::/64".into()];
        n.apply_defaults();
        assert_eq!(validate(&n), Ok(()));
    }

    #[test]
    fn taint_rules() {
        let mut n = Node::default();
        n.spec.taints = vec![
            taint("bad key!", "NoSchedule"),
            taint("a", ""),
            taint("b", "Sometimes"),
            taint("c", "NoSchedule"),
            taint("c", "NoSchedule"),
            Taint {
                value: Some("-bad-".into()),
                ..taint("d", "NoSchedule")
            },
        ];
        let errs = node(&n);
        assert!(has(&errs, "metadata.taints[0].key", ErrorType::Invalid));
        assert!(has(&errs, "metadata.taints[1].effect", ErrorType::Required));
        assert!(has(
            &errs,
            "metadata.taints[2].effect",
            ErrorType::NotSupported
        ));
        assert!(has(&errs, "metadata.taints[4]", ErrorType::Duplicate));
        assert!(has(&errs, "metadata.taints[5].value", ErrorType::Invalid));
    }

    #[test]
    fn pod_cidr_rules() {
        let mut n = Node::default();
        n.spec.pod_cidrs = vec!["10.0.0.0/33".into()];
        assert!(has(&node(&n), "spec.podCIDRs[0]", ErrorType::Invalid));
        n.spec.pod_cidrs = vec!["10.0.0.0/24".into(), "10.1.0.0/24".into()];
        assert!(has(&node(&n), "spec.podCIDRs", ErrorType::Invalid));
        n.spec.pod_cidrs = vec!["10.0.0.0/24".into(), "10.0.0.0/24".into()];
        assert!(has(&node(&n), "spec.podCIDRs[1]", ErrorType::Duplicate));
        n.spec.pod_cidrs = vec!["10.0.0.0/24".into(), "fd00::/64".into(), "fd01::/64".into()];
        assert!(has(&node(&n), "spec.podCIDRs", ErrorType::Invalid));
    }

    #[test]
    fn status_quantities_are_non_negative() {
        let mut n = Node::default();
        let mut status = NodeStatus::default();
        status.capacity.insert("cpu".into(), "-1".parse().unwrap());
        n.status = Some(status);
        assert!(has(&node(&n), "status.capacity[cpu]", ErrorType::Invalid));
    }
}
