//! `PersistentVolumeClaim` (core/v1): a user's request for storage.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceList;
use crate::labels::LabelSelector;
use crate::meta::Time;

/// What storage a claim asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeClaimSpec {
    /// How the volume must be mountable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// Only volumes with matching labels may be bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The size asked for (`requests.storage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<VolumeResourceRequirements>,
    /// The volume bound to the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// The storage class; `""` asks for a volume without class, unset for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// `Filesystem` (default) or `Block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// An object to pre-populate the volume from (a snapshot or another claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<TypedLocalObjectReference>,
    /// Like `dataSource`, also allowing other kinds and namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_ref: Option<TypedObjectReference>,
    /// The volume attributes class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<String>,
}

/// Storage asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeResourceRequirements {
    /// The minimum size (`storage`).
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub requests: ResourceList,
    /// The maximum size.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub limits: ResourceList,
}

/// A reference to an object in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypedLocalObjectReference {
    /// The API group; unset or empty for the core group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// The kind.
    #[serde(default)]
    pub kind: String,
    /// The name.
    #[serde(default)]
    pub name: String,
}

/// A reference to an object, possibly in another namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypedObjectReference {
    /// The API group; unset or empty for the core group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// The kind.
    #[serde(default)]
    pub kind: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The namespace, when not the claim's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The observed state of a claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeClaimStatus {
    /// `Pending`, `Bound` or `Lost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The access modes of the bound volume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// The size of the bound volume.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub capacity: ResourceList,
    /// Conditions, e.g. `Resizing`, `FileSystemResizePending`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PersistentVolumeClaimCondition>,
    /// Resources allocated by an expansion.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub allocated_resources: ResourceList,
    /// Per-resource expansion state.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocated_resource_statuses: BTreeMap<String, String>,
    /// The volume attributes class currently applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_volume_attributes_class_name: Option<String>,
    /// A pending change of volume attributes class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modify_volume_status: Option<ModifyVolumeStatus>,
}

/// One condition of a claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeClaimCondition {
    /// The condition type.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the condition was last probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The state of a change of volume attributes class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifyVolumeStatus {
    /// The class being applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_volume_attributes_class_name: Option<String>,
    /// `Pending`, `InProgress` or `Infeasible`.
    #[serde(default)]
    pub status: String,
}

impl PersistentVolumeClaimStatus {
    /// Not yet bound.
    pub const PHASE_PENDING: &'static str = "Pending";
    /// Bound to a volume.
    pub const PHASE_BOUND: &'static str = "Bound";
    /// The bound volume is gone.
    pub const PHASE_LOST: &'static str = "Lost";
}

crate::resource! {
    /// A claim: a user's request for storage, bound to one persistent volume.
    #[resource(api_version = "v1", kind = "PersistentVolumeClaim", plural = "persistentvolumeclaims", namespaced = true)]
    pub struct PersistentVolumeClaim {
        /// What is asked for.
        pub spec: PersistentVolumeClaimSpec,
        /// The binding.
        pub status: PersistentVolumeClaimStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::persistent_volume_claim::persistent_volume_claim(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::persistent_volume_claim::persistent_volume_claim(self)
        }
    }
}

impl PersistentVolumeClaim {
    /// `status.phase`, if set.
    pub fn phase(&self) -> Option<&str> {
        self.status.as_ref()?.phase.as_deref()
    }

    /// `spec.resources.requests.storage`, if set.
    pub fn requested_storage(&self) -> Option<&crate::quantity::Quantity> {
        self.spec.resources.as_ref()?.requests.get("storage")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_examples_round_trip() {
        let text = include_str!("../../tests/fixtures/persistent-volume-claim.yaml");
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).unwrap();
        assert_eq!(docs.len(), 3);
        for doc in docs {
            let pvc: PersistentVolumeClaim = serde_json::from_value(doc.clone()).unwrap();
            assert!(pvc.requested_storage().is_some());
            assert_eq!(serde_json::to_value(&pvc).unwrap(), doc);
        }
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "a"},
            "spec": {"resources": {"request": {"storage": "1Gi"}}}});
        let err = serde_path_to_error::deserialize::<_, PersistentVolumeClaim>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.resources.request");
    }
}
