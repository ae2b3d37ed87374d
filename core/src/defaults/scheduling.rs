//! Defaults of `PriorityClass` (`SetDefaults_PriorityClass`).

use crate::api::PriorityClass;

/// `preemptionPolicy` defaults to `PreemptLowerPriority`.
pub fn priority_class(pc: &mut PriorityClass) {
    if pc.preemption_policy.is_none() {
        pc.preemption_policy = Some(PriorityClass::PREEMPT_LOWER_PRIORITY.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;

    #[test]
    fn preemption_policy() {
        let mut pc = PriorityClass::default();
        pc.apply_defaults();
        assert_eq!(
            pc.preemption_policy.as_deref(),
            Some("PreemptLowerPriority")
        );
        let mut pc = PriorityClass {
            preemption_policy: Some("Never".into()),
            ..PriorityClass::default()
        };
        pc.apply_defaults();
        assert_eq!(pc.preemption_policy.as_deref(), Some("Never"));
    }
}
