//! `PodDisruptionBudget` (policy/v1): how many pods of a set voluntary disruptions may
//! take down at once.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::intstr::IntOrString;
use crate::labels::LabelSelector;
use crate::meta::{Condition, Time};

/// The budget.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudgetSpec {
    /// Pods that must stay available (a number or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
    /// The pods covered by the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pods that may be unavailable (a number or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// `IfHealthyBudget` or `AlwaysAllow`: when unhealthy pods may be evicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_pod_eviction_policy: Option<String>,
}

/// The observed state of a budget.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudgetStatus {
    /// The generation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Pods being evicted, by name, with when the eviction was allowed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disrupted_pods: BTreeMap<String, Time>,
    /// How many more pods may be disrupted now.
    #[serde(default)]
    pub disruptions_allowed: i32,
    /// Healthy pods now.
    #[serde(default)]
    pub current_healthy: i32,
    /// Healthy pods wanted.
    #[serde(default)]
    pub desired_healthy: i32,
    /// Pods covered by the budget.
    #[serde(default)]
    pub expected_pods: i32,
    /// `DisruptionAllowed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

crate::resource! {
    /// A pod disruption budget: a floor on the available pods of a set during voluntary
    /// disruptions (evictions, drains).
    #[resource(api_version = "policy/v1", kind = "PodDisruptionBudget", plural = "poddisruptionbudgets", namespaced = true)]
    pub struct PodDisruptionBudget {
        /// The budget.
        pub spec: PodDisruptionBudgetSpec,
        /// What is allowed now.
        pub status: PodDisruptionBudgetStatus,
    }
    impl {
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::policy::pod_disruption_budget(self)
        }
    }
}

impl PodDisruptionBudget {
    /// Unhealthy pods may be evicted only when the budget allows it.
    pub const IF_HEALTHY_BUDGET: &'static str = "IfHealthyBudget";
    /// Unhealthy pods may always be evicted.
    pub const ALWAYS_ALLOW: &'static str = "AlwaysAllow";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_pdb_round_trips() {
        let text = include_str!("../../tests/fixtures/kubectl/pdb.yaml");
        let pdb: PodDisruptionBudget = serde_saphyr::from_str(text).unwrap();
        assert_eq!(pdb.spec.min_available, Some(IntOrString::from("50%")));
        let json = serde_json::json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "zk-pdb", "namespace": "default", "generation": 1},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "zookeeper"}},
                "unhealthyPodEvictionPolicy": "AlwaysAllow"},
            "status": {"observedGeneration": 1, "disruptedPods": {"zk-0": "2024-01-01T00:00:00Z"},
                "disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3,
                "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods",
                    "message": "", "observedGeneration": 1, "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
        let pdb: PodDisruptionBudget = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&pdb).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "a"}, "spec": {"minAvailble": 1}});
        let err = serde_path_to_error::deserialize::<_, PodDisruptionBudget>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.minAvailble");
    }
}
