//! `ResourceQuota` and `LimitRange` (core/v1): per-namespace resource limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceList;

/// The limits of a quota.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceQuotaSpec {
    /// The hard limit of each resource, e.g. `requests.cpu: "4"`, `pods: "10"`.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub hard: ResourceList,
    /// The quota only counts objects matching all these scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Like `scopes`, as expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_selector: Option<ScopeSelector>,
}

/// Scope expressions, ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScopeSelector {
    /// The expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<ScopedResourceSelectorRequirement>,
}

/// One scope expression, e.g. `PriorityClass In (high)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScopedResourceSelectorRequirement {
    /// The scope, e.g. `PriorityClass`.
    #[serde(default)]
    pub scope_name: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    /// The values for `In`/`NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Enforced limits and current usage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceQuotaStatus {
    /// The enforced limits.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub hard: ResourceList,
    /// The current usage.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub used: ResourceList,
}

crate::resource! {
    /// A resource quota: caps on what a namespace may consume.
    #[resource(api_version = "v1", kind = "ResourceQuota", plural = "resourcequotas", namespaced = true)]
    pub struct ResourceQuota {
        /// The limits.
        pub spec: ResourceQuotaSpec,
        /// Limits and usage.
        pub status: ResourceQuotaStatus,
    }
    impl {
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::quota::resource_quota(self)
        }
    }
}

/// The limits of a limit range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitRangeSpec {
    /// One item per kind of object limited.
    #[serde(default)]
    pub limits: Vec<LimitRangeItem>,
}

/// Limits of one kind of object (`Container`, `Pod`, `PersistentVolumeClaim`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitRangeItem {
    /// `Container`, `Pod` or `PersistentVolumeClaim`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// Maximum usage.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub max: ResourceList,
    /// Minimum usage.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub min: ResourceList,
    /// Default limits of containers.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub default: ResourceList,
    /// Default requests of containers.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub default_request: ResourceList,
    /// The maximum ratio of limit to request.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub max_limit_request_ratio: ResourceList,
}

crate::resource! {
    /// A limit range: per-object minimums, maximums and defaults in a namespace.
    #[resource(api_version = "v1", kind = "LimitRange", plural = "limitranges", namespaced = true)]
    pub struct LimitRange {
        /// The limits.
        #[serde(default)]
        pub spec: LimitRangeSpec,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::quota::limit_range(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::quota::limit_range(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_quota_round_trips() {
        let text = include_str!("../../tests/fixtures/kubectl/resourcequota.yaml");
        let quota: ResourceQuota = serde_saphyr::from_str(text).unwrap();
        assert_eq!(quota.spec.hard.len(), 3);
        let json = serde_json::to_value(&quota).unwrap();
        assert_eq!(json["status"], serde_json::json!({}));
        let full = serde_json::json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "pods-high", "namespace": "default"},
            "spec": {"hard": {"cpu": "1k", "pods": "10"}, "scopes": ["NotTerminating"],
                "scopeSelector": {"matchExpressions": [{"operator": "In", "scopeName": "PriorityClass", "values": ["high"]}]}},
            "status": {"hard": {"pods": "10"}, "used": {"pods": "1"}}});
        let quota: ResourceQuota = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(serde_json::to_value(&quota).unwrap(), full);
    }

    #[test]
    fn limit_range_round_trips() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": "cpu-resource-constraint", "namespace": "default"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "500m"},
                "max": {"cpu": "1"}, "min": {"cpu": "100m"}, "maxLimitRequestRatio": {"cpu": "2"}}]}});
        let lr: LimitRange = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&lr).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "a"},
            "spec": {"hard": {}, "scope": []}});
        let err = serde_path_to_error::deserialize::<_, ResourceQuota>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.scope");
    }
}
