//! `StorageClass` (storage.k8s.io/v1): a class of dynamically provisioned storage.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The annotation marking the default storage class.
pub const ANNOTATION_IS_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// A topology domain a storage class may provision in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySelectorTerm {
    /// All requirements must hold (ANDed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_label_expressions: Vec<TopologySelectorLabelRequirement>,
}

/// A topology label and the values it may take.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySelectorLabelRequirement {
    /// The label key.
    #[serde(default)]
    pub key: String,
    /// The allowed values.
    #[serde(default)]
    pub values: Vec<String>,
}

crate::resource! {
    /// A storage class: how volumes of one kind are provisioned on demand.
    #[resource(api_version = "storage.k8s.io/v1", kind = "StorageClass", plural = "storageclasses", namespaced = false)]
    pub struct StorageClass {
        /// The provisioner (a CSI driver name or `kubernetes.io/no-provisioner`).
        #[serde(default)]
        pub provisioner: String,
        /// Provisioner-specific parameters.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub parameters: BTreeMap<String, String>,
        /// `Delete` (default) or `Retain`, given to provisioned volumes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reclaim_policy: Option<String>,
        /// Mount options given to provisioned volumes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub mount_options: Vec<String>,
        /// Whether claims of this class may be expanded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub allow_volume_expansion: Option<bool>,
        /// `Immediate` (default) or `WaitForFirstConsumer`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub volume_binding_mode: Option<String>,
        /// Where volumes may be provisioned; empty means anywhere.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub allowed_topologies: Vec<TopologySelectorTerm>,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::storage_class::storage_class(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::storage_class::storage_class(self)
        }
    }
}

impl StorageClass {
    /// Bind and provision as soon as a claim is created.
    pub const BINDING_IMMEDIATE: &'static str = "Immediate";
    /// Bind and provision when a pod using the claim is scheduled.
    pub const BINDING_WAIT_FOR_FIRST_CONSUMER: &'static str = "WaitForFirstConsumer";

    /// Whether the class is annotated as the cluster's default.
    pub fn is_default_class(&self) -> bool {
        self.metadata
            .annotations
            .get(ANNOTATION_IS_DEFAULT_CLASS)
            .map(String::as_str)
            == Some("true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_examples_round_trip() {
        let text = include_str!("../../tests/fixtures/storage-class.yaml");
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).unwrap();
        assert_eq!(docs.len(), 3);
        for doc in docs {
            let sc: StorageClass = serde_json::from_value(doc.clone()).unwrap();
            assert!(!sc.is_default_class());
            assert_eq!(serde_json::to_value(&sc).unwrap(), doc);
        }
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "a"},
            "provisioner": "p", "allowedTopologies": [{"matchLabelExpression": []}]});
        let err = serde_path_to_error::deserialize::<_, StorageClass>(json).unwrap_err();
        assert_eq!(
            err.path().to_string(),
            "allowedTopologies[0].matchLabelExpression"
        );
    }
}
