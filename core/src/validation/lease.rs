//! Validation of `Lease` (coordination `ValidateLeaseSpec`).

use super::common::qualified_name;
use super::{FieldError, FieldPath};
use crate::api::Lease;

/// The strategies Kubernetes knows (a `/`-qualified name names a custom one).
pub const KNOWN_STRATEGIES: [&str; 1] = ["OldestEmulationVersion"];

/// `leaseDurationSeconds` > 0, `leaseTransitions` ≥ 0, a known (or qualified) strategy,
/// and `preferredHolder` only with a strategy.
pub fn lease(lease: &Lease) -> Vec<FieldError> {
    let spec = &lease.spec;
    let sp = FieldPath::new("spec");
    let mut errors = Vec::new();
    if let Some(d) = spec.lease_duration_seconds
        && d <= 0
    {
        errors.push(FieldError::invalid(
            sp.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec.lease_transitions
        && t < 0
    {
        errors.push(FieldError::invalid(
            sp.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(strategy) = &spec.strategy {
        let p = sp.child("strategy");
        if strategy.contains('/') {
            errors.extend(qualified_name(strategy, &p));
        } else if !KNOWN_STRATEGIES.contains(&strategy.as_str()) {
            errors.push(FieldError::not_supported(p, strategy, &KNOWN_STRATEGIES));
        }
    }
    if spec
        .preferred_holder
        .as_deref()
        .is_some_and(|h| !h.is_empty())
        && spec.strategy.as_deref().unwrap_or("").is_empty()
    {
        errors.push(FieldError::forbidden(
            sp.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::ErrorType;

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    #[test]
    fn lease_rules() {
        let mut l = Lease::default();
        l.spec.lease_duration_seconds = Some(15);
        l.spec.holder_identity = Some("a".into());
        assert!(lease(&l).is_empty());
        l.spec.lease_duration_seconds = Some(0);
        l.spec.lease_transitions = Some(-1);
        l.spec.preferred_holder = Some("b".into());
        let errs = lease(&l);
        assert!(has(&errs, "spec.leaseDurationSeconds", ErrorType::Invalid));
        assert!(has(&errs, "spec.leaseTransitions", ErrorType::Invalid));
        assert!(has(&errs, "spec.preferredHolder", ErrorType::Forbidden));
        l.spec.strategy = Some("Newest".into());
        assert!(has(&lease(&l), "spec.strategy", ErrorType::NotSupported));
        l.spec.strategy = Some("example.com/custom".into());
        assert!(!has(&lease(&l), "spec.strategy", ErrorType::NotSupported));
    }
}
