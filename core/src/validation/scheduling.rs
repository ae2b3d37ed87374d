//! Validation of `PriorityClass` (scheduling `ValidatePriorityClass`).

use super::{FieldError, FieldPath};
use crate::api::PriorityClass;

/// User classes stay at or below 1,000,000,000; `system-` names are reserved for the
/// built-in classes (with their exact values, not global default); `preemptionPolicy`
/// is `PreemptLowerPriority` or `Never`.
pub fn priority_class(pc: &PriorityClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = pc.metadata.name_str();
    if name.starts_with(PriorityClass::SYSTEM_PREFIX) {
        let problem = match PriorityClass::SYSTEM_CLASSES
            .iter()
            .find(|(n, _)| *n == name)
        {
            None => Some(format!("{name:?} is not a known system priority class")),
            Some((_, value)) if *value != pc.value => {
                Some(format!("value of {name} PriorityClass must be {value}"))
            }
            Some(_) if pc.global_default == Some(true) => Some(format!(
                "globalDefault of {name} PriorityClass must be false"
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            errors.push(FieldError::forbidden(
                FieldPath::new("metadata").child("name"),
                format!(
                    "priority class names with '{}' prefix are reserved for system use only. error: {problem}",
                    PriorityClass::SYSTEM_PREFIX
                ),
            ));
        }
    } else if pc.value > PriorityClass::HIGHEST_USER_DEFINABLE_PRIORITY {
        errors.push(FieldError::forbidden(
            FieldPath::new("value"),
            format!(
                "maximum allowed value of a user defined priority is {}",
                PriorityClass::HIGHEST_USER_DEFINABLE_PRIORITY
            ),
        ));
    }
    match pc.preemption_policy.as_deref() {
        None | Some(PriorityClass::PREEMPT_LOWER_PRIORITY | PriorityClass::PREEMPT_NEVER) => {}
        Some("") => errors.push(FieldError::required(FieldPath::new("preemptionPolicy"), "")),
        Some(other) => errors.push(FieldError::not_supported(
            FieldPath::new("preemptionPolicy"),
            other,
            &[
                PriorityClass::PREEMPT_LOWER_PRIORITY,
                PriorityClass::PREEMPT_NEVER,
            ],
        )),
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn pc(name: &str, value: i32) -> PriorityClass {
        let mut pc = PriorityClass {
            metadata: ObjectMeta::named(name),
            value,
            ..PriorityClass::default()
        };
        pc.apply_defaults();
        pc
    }

    #[test]
    fn user_and_system_classes() {
        assert_eq!(validate(&pc("high", 1_000_000_000)), Ok(()));
        assert_eq!(validate(&pc("system-node-critical", 2_000_001_000)), Ok(()));
        let errs = priority_class(&pc("high", 1_000_000_001));
        assert_eq!(errs[0].path.as_str(), "value");
        assert_eq!(errs[0].kind, ErrorType::Forbidden);
        let errs = priority_class(&pc("system-custom", 5));
        assert_eq!(errs[0].path.as_str(), "metadata.name");
        assert_eq!(errs[0].kind, ErrorType::Forbidden);
        let errs = priority_class(&pc("system-cluster-critical", 5));
        assert!(
            errs[0].detail.contains("must be 2000000000"),
            "{}",
            errs[0].detail
        );
    }

    #[test]
    fn preemption_policy_values() {
        let mut p = pc("high", 1);
        p.preemption_policy = Some("Sometimes".into());
        let errs = priority_class(&p);
        assert_eq!(errs[0].path.as_str(), "preemptionPolicy");
        assert_eq!(errs[0].kind, ErrorType::NotSupported);
    }
}
