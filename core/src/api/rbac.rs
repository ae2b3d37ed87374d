//! RBAC (rbac.authorization.k8s.io/v1): `Role`, `ClusterRole`, `RoleBinding`,
//! `ClusterRoleBinding`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::labels::LabelSelector;

/// The API group of RBAC (`roleRef.apiGroup`, user and group subjects).
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One permission: verbs on resources, or on non-resource URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    /// The verbs allowed, e.g. `get`, `list`, `watch`, `*`.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// The API groups of the resources (`""` is the core group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// The resources, e.g. `pods`, `pods/log`, `*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Restricts the rule to these object names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// Non-resource URLs, e.g. `/healthz` (cluster roles only).
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

/// How a cluster role's rules are aggregated from other cluster roles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregationRule {
    /// Cluster roles matching any selector contribute their rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

/// Who a binding grants the role to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    #[serde(default)]
    pub kind: String,
    /// `rbac.authorization.k8s.io` for users and groups, `""` for service accounts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    /// The subject's name.
    #[serde(default)]
    pub name: String,
    /// The service account's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    /// A user.
    pub const USER: &'static str = "User";
    /// A group of users.
    pub const GROUP: &'static str = "Group";
    /// A service account.
    pub const SERVICE_ACCOUNT: &'static str = "ServiceAccount";
}

/// The role a binding grants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleRef {
    /// `rbac.authorization.k8s.io`.
    #[serde(default)]
    pub api_group: String,
    /// `Role` or `ClusterRole`.
    #[serde(default)]
    pub kind: String,
    /// The role's name.
    #[serde(default)]
    pub name: String,
}

crate::resource! {
    /// A role: permissions within one namespace.
    #[resource(api_version = "rbac.authorization.k8s.io/v1", kind = "Role", plural = "roles", namespaced = true)]
    pub struct Role {
        /// The permissions.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub rules: Vec<PolicyRule>,
    }
    impl {
        fn validate_name(name: &str) -> Vec<String> {
            crate::validation::rbac::is_valid_path_segment_name(name)
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::rbac::role(self)
        }
    }
}

crate::resource! {
    /// A cluster role: permissions cluster-wide, or in namespaces through role bindings.
    #[resource(api_version = "rbac.authorization.k8s.io/v1", kind = "ClusterRole", plural = "clusterroles", namespaced = false)]
    pub struct ClusterRole {
        /// The permissions.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub rules: Vec<PolicyRule>,
        /// Makes the rules the union of other cluster roles' (controller-managed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub aggregation_rule: Option<AggregationRule>,
    }
    impl {
        fn validate_name(name: &str) -> Vec<String> {
            crate::validation::rbac::is_valid_path_segment_name(name)
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::rbac::cluster_role(self)
        }
    }
}

crate::resource! {
    /// A role binding: grants a role (or cluster role) to subjects in one namespace.
    #[resource(api_version = "rbac.authorization.k8s.io/v1", kind = "RoleBinding", plural = "rolebindings", namespaced = true)]
    pub struct RoleBinding {
        /// Who gets the role.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub subjects: Vec<Subject>,
        /// The role granted.
        #[serde(default)]
        pub role_ref: RoleRef,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::rbac::role_binding(self);
        }
        fn validate_name(name: &str) -> Vec<String> {
            crate::validation::rbac::is_valid_path_segment_name(name)
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::rbac::role_binding(self)
        }
    }
}

crate::resource! {
    /// A cluster role binding: grants a cluster role to subjects cluster-wide.
    #[resource(api_version = "rbac.authorization.k8s.io/v1", kind = "ClusterRoleBinding", plural = "clusterrolebindings", namespaced = false)]
    pub struct ClusterRoleBinding {
        /// Who gets the role.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub subjects: Vec<Subject>,
        /// The cluster role granted.
        #[serde(default)]
        pub role_ref: RoleRef,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::rbac::cluster_role_binding(self);
        }
        fn validate_name(name: &str) -> Vec<String> {
            crate::validation::rbac::is_valid_path_segment_name(name)
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::rbac::cluster_role_binding(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_bindings_round_trip() {
        for text in [
            include_str!("../../tests/fixtures/kubectl/clusterrolebinding.yaml"),
            include_str!("../../tests/fixtures/kubectl/rolebinding.yaml"),
        ] {
            let mut doc: serde_json::Value = serde_saphyr::from_str(text).unwrap();
            doc["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("creationTimestamp");
            let back = if doc["kind"] == "RoleBinding" {
                serde_json::to_value(serde_json::from_value::<RoleBinding>(doc.clone()).unwrap())
                    .unwrap()
            } else {
                serde_json::to_value(
                    serde_json::from_value::<ClusterRoleBinding>(doc.clone()).unwrap(),
                )
                .unwrap()
            };
            assert_eq!(back, doc);
        }
    }

    #[test]
    fn roles_round_trip() {
        let json = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "monitoring"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"], "verbs": ["get"]},
                      {"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}]});
        let role: ClusterRole = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(role.rules[1].non_resource_urls.len(), 2);
        assert_eq!(serde_json::to_value(&role).unwrap(), json);
        let json = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "pod-reader", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]});
        let role: Role = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&role).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "a"}, "rules": [{"verbs": ["get"], "apiGroup": [""]}]});
        let err = serde_path_to_error::deserialize::<_, Role>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "rules[0].apiGroup");
    }
}
