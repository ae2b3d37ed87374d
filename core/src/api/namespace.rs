//! `Namespace` (core/v1): a scope for names, cluster-scoped.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::Time;

/// The finalizer the API server puts on every new namespace; the namespace controller
/// removes it once the namespace's content is gone.
pub const FINALIZER_KUBERNETES: &str = "kubernetes";
/// The label the API server sets on every namespace to its name.
pub const LABEL_METADATA_NAME: &str = "kubernetes.io/metadata.name";

/// What a namespace needs before it can be deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceSpec {
    /// Opaque values that must be empty before the namespace is removed from storage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// The observed state of a namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceStatus {
    /// `Active` or `Terminating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The latest observations of the namespace's state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<NamespaceCondition>,
}

impl NamespaceStatus {
    /// The namespace is in use.
    pub const PHASE_ACTIVE: &'static str = "Active";
    /// The namespace is being deleted.
    pub const PHASE_TERMINATING: &'static str = "Terminating";
}

/// One condition of a namespace (e.g. `NamespaceDeletionContentFailure`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceCondition {
    /// The condition type.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the condition last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason for the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

crate::resource! {
    /// A namespace: a scope for the names of namespaced objects.
    #[resource(api_version = "v1", kind = "Namespace", plural = "namespaces", namespaced = false)]
    pub struct Namespace {
        /// Finalizers.
        pub spec: NamespaceSpec,
        /// Phase and conditions.
        pub status: NamespaceStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::namespace::namespace(self);
        }
        fn validate_name(name: &str) -> Vec<String> {
            crate::names::is_dns1123_label(name)
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::namespace::namespace(self)
        }
        fn field_value(&self, path: &str) -> Option<String> {
            (path == "status.phase").then(|| {
                self.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()
            })
        }
    }
}

impl Namespace {
    /// Whether the namespace is being deleted (`status.phase` is `Terminating`).
    pub fn is_terminating(&self) -> bool {
        self.status.as_ref().and_then(|s| s.phase.as_deref())
            == Some(NamespaceStatus::PHASE_TERMINATING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_manifest_round_trips() {
        let text = include_str!("../../tests/fixtures/kubectl/namespace.yaml");
        let ns: Namespace = serde_saphyr::from_str(text).unwrap();
        assert_eq!(ns.metadata.name_str(), "team-a");
        assert_eq!(ns.status, Some(NamespaceStatus::default()));
        let json = serde_json::to_value(&ns).unwrap();
        assert_eq!(json["spec"], serde_json::json!({}));
        assert_eq!(json["status"], serde_json::json!({}));
    }

    #[test]
    fn full_object_round_trips() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "gone", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Terminating", "conditions": [{"type": "NamespaceDeletionContentFailure",
                "status": "False", "lastTransitionTime": "2024-01-01T00:00:01Z", "reason": "ContentDeleted",
                "message": "All content successfully deleted"}]}
        });
        let ns: Namespace = serde_json::from_value(json.clone()).unwrap();
        assert!(ns.is_terminating());
        assert_eq!(serde_json::to_value(&ns).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"},
            "spec": {"finalizer": []}});
        let err = serde_path_to_error::deserialize::<_, Namespace>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.finalizer");
    }
}
