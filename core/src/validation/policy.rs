//! Validation of `PodDisruptionBudget` (policy `ValidatePodDisruptionBudgetSpec`).

use super::common::{int_or_percent_up_to_100, validate_label_selector};
use super::{FieldError, FieldPath};
use crate::api::PodDisruptionBudget;

/// At most one of `minAvailable`/`maxUnavailable` (neither is valid, as in
/// Kubernetes), each a non-negative int or a percentage ≤ 100%; a valid selector; a known
/// `unhealthyPodEvictionPolicy`.
pub fn pod_disruption_budget(pdb: &PodDisruptionBudget) -> Vec<FieldError> {
    let spec = &pdb.spec;
    let sp = FieldPath::new("spec");
    let mut errors = Vec::new();
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        errors.push(FieldError::invalid(
            sp.clone(),
            "",
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    if let Some(v) = &spec.min_available {
        errors.extend(int_or_percent_up_to_100(v, &sp.child("minAvailable")));
    }
    if let Some(v) = &spec.max_unavailable {
        errors.extend(int_or_percent_up_to_100(v, &sp.child("maxUnavailable")));
    }
    if let Some(selector) = &spec.selector {
        errors.extend(validate_label_selector(selector, &sp.child("selector")));
    }
    if let Some(policy) = &spec.unhealthy_pod_eviction_policy {
        const POLICIES: [&str; 2] = [
            PodDisruptionBudget::ALWAYS_ALLOW,
            PodDisruptionBudget::IF_HEALTHY_BUDGET,
        ];
        if !POLICIES.contains(&policy.as_str()) {
            errors.push(FieldError::not_supported(
                sp.child("unhealthyPodEvictionPolicy"),
                policy,
                &POLICIES,
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intstr::IntOrString;
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    #[test]
    fn pdb_rules() {
        let mut pdb = PodDisruptionBudget {
            metadata: ObjectMeta::namespaced("default", "web"),
            ..PodDisruptionBudget::default()
        };
        pdb.spec.min_available = Some(IntOrString::from("50%"));
        assert_eq!(validate(&pdb), Ok(()));
        pdb.spec.max_unavailable = Some(IntOrString::Int(-1));
        pdb.spec.min_available = Some(IntOrString::from("150%"));
        pdb.spec.unhealthy_pod_eviction_policy = Some("Never".into());
        let errs = pod_disruption_budget(&pdb);
        assert!(has(&errs, "spec", ErrorType::Invalid));
        assert!(has(&errs, "spec.minAvailable", ErrorType::Invalid));
        assert!(has(&errs, "spec.maxUnavailable", ErrorType::Invalid));
        assert!(has(
            &errs,
            "spec.unhealthyPodEvictionPolicy",
            ErrorType::NotSupported
        ));
        pdb.spec.min_available = None;
        pdb.spec.max_unavailable = Some(IntOrString::from("ten"));
        assert!(has(
            &pod_disruption_budget(&pdb),
            "spec.maxUnavailable",
            ErrorType::Invalid
        ));
    }
}
