//! `PriorityClass` (scheduling.k8s.io/v1): a named pod priority, cluster-scoped.

crate::resource! {
    /// A priority class: maps a name to the priority pods using it get.
    #[resource(api_version = "scheduling.k8s.io/v1", kind = "PriorityClass", plural = "priorityclasses", namespaced = false)]
    pub struct PriorityClass {
        /// The priority; higher is more important. At most 1,000,000,000 for user classes.
        #[serde(default)]
        pub value: i32,
        /// Whether pods without a priority class get this one (at most one class).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub global_default: Option<bool>,
        /// When to use the class, for humans.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// `PreemptLowerPriority` (default) or `Never`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub preemption_policy: Option<String>,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::scheduling::priority_class(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::scheduling::priority_class(self)
        }
    }
}

impl PriorityClass {
    /// The highest priority a user-defined class may have.
    pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
    /// The priority of `system-cluster-critical`.
    pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2 * Self::HIGHEST_USER_DEFINABLE_PRIORITY;
    /// The prefix reserved for system classes.
    pub const SYSTEM_PREFIX: &'static str = "system-";
    /// Pods of this class may preempt lower-priority pods.
    pub const PREEMPT_LOWER_PRIORITY: &'static str = "PreemptLowerPriority";
    /// Pods of this class never preempt.
    pub const PREEMPT_NEVER: &'static str = "Never";
    /// The built-in system classes and their values.
    pub const SYSTEM_CLASSES: [(&'static str, i32); 2] = [
        (
            "system-node-critical",
            Self::SYSTEM_CRITICAL_PRIORITY + 1000,
        ),
        ("system-cluster-critical", Self::SYSTEM_CRITICAL_PRIORITY),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_priority_class_round_trips() {
        let text = include_str!("../../tests/fixtures/kubectl/priorityclass.yaml");
        let pc: PriorityClass = serde_saphyr::from_str(text).unwrap();
        assert_eq!(pc.value, 1000);
        assert_eq!(pc.preemption_policy.as_deref(), Some("Never"));
        let json = serde_json::json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "high-priority"}, "value": 1_000_000, "globalDefault": false,
            "description": "d", "preemptionPolicy": "PreemptLowerPriority"});
        let pc: PriorityClass = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&pc).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "a"}, "value": 1, "globaldefault": true});
        let err = serde_path_to_error::deserialize::<_, PriorityClass>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "globaldefault");
    }
}
