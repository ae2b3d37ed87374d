//! Validation of `StorageClass` (storage `ValidateStorageClass`).

use std::collections::BTreeSet;

use super::common::qualified_name;
use super::{FieldError, FieldPath};
use crate::api::StorageClass;

/// The most parameters a class may have.
pub const MAX_PARAMETERS: usize = 512;
/// The most bytes the parameters may hold together.
pub const MAX_PARAMETERS_SIZE: usize = 256 * 1024;
const RECLAIM_POLICIES: [&str; 2] = ["Delete", "Retain"];
const BINDING_MODES: [&str; 2] = ["Immediate", "WaitForFirstConsumer"];

/// Checks provisioner, parameters, reclaim policy, binding mode and allowed topologies.
pub fn storage_class(sc: &StorageClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let pp = FieldPath::new("provisioner");
    if sc.provisioner.is_empty() {
        errors.push(FieldError::required(pp, ""));
    } else {
        errors.extend(qualified_name(&sc.provisioner.to_lowercase(), &pp));
    }
    let params = FieldPath::new("parameters");
    if sc.parameters.len() > MAX_PARAMETERS {
        errors.push(FieldError::too_long(params.clone(), MAX_PARAMETERS));
    } else {
        let mut size = 0;
        for (k, v) in &sc.parameters {
            if k.is_empty() {
                errors.push(FieldError::invalid(
                    params.clone(),
                    k,
                    "field can not be empty.",
                ));
            }
            size += k.len() + v.len();
        }
        if size > MAX_PARAMETERS_SIZE {
            errors.push(FieldError::too_long(params, MAX_PARAMETERS_SIZE));
        }
    }
    if let Some(policy) = sc.reclaim_policy.as_deref().filter(|p| !p.is_empty())
        && !RECLAIM_POLICIES.contains(&policy)
    {
        errors.push(FieldError::not_supported(
            FieldPath::new("reclaimPolicy"),
            policy,
            &RECLAIM_POLICIES,
        ));
    }
    match sc.volume_binding_mode.as_deref() {
        None => errors.push(FieldError::required(
            FieldPath::new("volumeBindingMode"),
            "",
        )),
        Some(mode) if !BINDING_MODES.contains(&mode) => {
            errors.push(FieldError::not_supported(
                FieldPath::new("volumeBindingMode"),
                mode,
                &BINDING_MODES,
            ));
        }
        Some(_) => {}
    }
    let tp = FieldPath::new("allowedTopologies");
    let mut terms = Vec::new();
    for (i, term) in sc.allowed_topologies.iter().enumerate() {
        let p = tp.index(i);
        if term.match_label_expressions.is_empty() {
            errors.push(FieldError::required(
                p.clone(),
                "must contain at least one requirement",
            ));
        }
        let mut keys = BTreeSet::new();
        for (j, req) in term.match_label_expressions.iter().enumerate() {
            let rp = p.child("matchLabelExpressions").index(j);
            errors.extend(qualified_name(&req.key, &rp.child("key")));
            if !keys.insert(&req.key) {
                errors.push(FieldError::duplicate(rp.child("key"), &req.key));
            }
            if req.values.is_empty() {
                errors.push(FieldError::required(
                    rp.child("values"),
                    "must specify as least one value",
                ));
            }
            let mut values = BTreeSet::new();
            for (k, v) in req.values.iter().enumerate() {
                if !values.insert(v) {
                    errors.push(FieldError::duplicate(rp.child("values").index(k), v));
                }
            }
        }
        if terms.contains(&term) {
            errors.push(FieldError::duplicate(p, format!("{term:?}")));
        } else {
            terms.push(term);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::{TopologySelectorLabelRequirement, TopologySelectorTerm};
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn sc() -> StorageClass {
        StorageClass {
            metadata: ObjectMeta::named("fast"),
            provisioner: "ebs.csi.aws.com".into(),
            ..StorageClass::default()
        }
    }

    fn check(mut sc: StorageClass) -> Vec<(String, ErrorType)> {
        sc.apply_defaults();
        storage_class(&sc)
            .into_iter()
            .map(|e| (e.path.to_string(), e.kind))
            .collect()
    }

    fn has(errs: &[(String, ErrorType)], path: &str, kind: ErrorType) -> bool {
        errs.iter().any(|(p, k)| p == path && *k == kind)
    }

    #[test]
    fn docs_examples_are_valid() {
        let text = include_str!("../../tests/fixtures/storage-class.yaml");
        for doc in serde_saphyr::from_multiple::<serde_json::Value>(text).unwrap() {
            let mut sc: StorageClass = serde_json::from_value(doc).unwrap();
            sc.apply_defaults();
            assert_eq!(validate(&sc), Ok(()));
        }
    }

    #[test]
    fn provisioner_policy_and_mode() {
        let mut s = sc();
        s.provisioner.clear();
        assert!(has(&check(s), "provisioner", ErrorType::Required));
        let mut s = sc();
        s.provisioner = "bad provisioner!".into();
        assert!(has(&check(s), "provisioner", ErrorType::Invalid));
        let mut s = sc();
        s.reclaim_policy = Some("Recycle".into());
        s.volume_binding_mode = Some("Later".into());
        let errs = check(s);
        assert!(has(&errs, "reclaimPolicy", ErrorType::NotSupported));
        assert!(has(&errs, "volumeBindingMode", ErrorType::NotSupported));
        let errs: Vec<_> = storage_class(&sc())
            .into_iter()
            .map(|e| (e.path.to_string(), e.kind))
            .collect();
        assert!(
            has(&errs, "volumeBindingMode", ErrorType::Required),
            "undefaulted"
        );
    }

    #[test]
    fn parameters_and_topologies() {
        let mut s = sc();
        s.parameters.insert(String::new(), "x".into());
        let req = TopologySelectorLabelRequirement {
            key: "topology.kubernetes.io/zone".into(),
            values: vec!["a".into(), "a".into()],
        };
        s.allowed_topologies = vec![
            TopologySelectorTerm::default(),
            TopologySelectorTerm {
                match_label_expressions: vec![
                    req.clone(),
                    TopologySelectorLabelRequirement {
                        values: vec![],
                        ..req
                    },
                ],
            },
        ];
        let errs = check(s);
        assert!(has(&errs, "parameters", ErrorType::Invalid));
        assert!(has(&errs, "allowedTopologies[0]", ErrorType::Required));
        assert!(has(
            &errs,
            "allowedTopologies[1].matchLabelExpressions[0].values[1]",
            ErrorType::Duplicate
        ));
        assert!(has(
            &errs,
            "allowedTopologies[1].matchLabelExpressions[1].key",
            ErrorType::Duplicate
        ));
        assert!(has(
            &errs,
            "allowedTopologies[1].matchLabelExpressions[1].values",
            ErrorType::Required
        ));
    }
}
