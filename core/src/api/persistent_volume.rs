//! `PersistentVolume` (core/v1): a piece of storage in the cluster, cluster-scoped.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{NodeSelector, ObjectReference, ResourceList};
use crate::meta::Time;

/// Mounted read-write by one node.
pub const ACCESS_MODE_READ_WRITE_ONCE: &str = "ReadWriteOnce";
/// Mounted read-only by many nodes.
pub const ACCESS_MODE_READ_ONLY_MANY: &str = "ReadOnlyMany";
/// Mounted read-write by many nodes.
pub const ACCESS_MODE_READ_WRITE_MANY: &str = "ReadWriteMany";
/// Mounted read-write by one pod.
pub const ACCESS_MODE_READ_WRITE_ONCE_POD: &str = "ReadWriteOncePod";
/// Every access mode Kubernetes supports.
pub const ACCESS_MODES: [&str; 4] = [
    ACCESS_MODE_READ_WRITE_ONCE,
    ACCESS_MODE_READ_ONLY_MANY,
    ACCESS_MODE_READ_WRITE_MANY,
    ACCESS_MODE_READ_WRITE_ONCE_POD,
];
/// `volumeMode` of a volume holding a file system (the default).
pub const VOLUME_MODE_FILESYSTEM: &str = "Filesystem";
/// `volumeMode` of a raw block device.
pub const VOLUME_MODE_BLOCK: &str = "Block";

/// The storage and how it may be used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeSpec {
    /// The volume's size: exactly one entry, `storage`.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub capacity: ResourceList,
    /// How the volume may be mounted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// The claim bound to this volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_ref: Option<ObjectReference>,
    /// `Retain` (default), `Delete` or `Recycle`: what happens when the claim goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_reclaim_policy: Option<String>,
    /// The storage class the volume belongs to; empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Mount options, e.g. `["ro", "soft"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
    /// `Filesystem` (default) or `Block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// Nodes from which the volume can be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<VolumeNodeAffinity>,
    /// The volume attributes class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<String>,
    /// A directory on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    /// A local disk, partition or directory (needs `nodeAffinity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalVolumeSource>,
    /// An NFS export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<NfsVolumeSource>,
    /// A volume of a CSI driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<CsiPersistentVolumeSource>,
    /// The in-tree `gcePersistentDisk` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gce_persistent_disk: Option<serde_json::Value>,
    /// The in-tree `awsElasticBlockStore` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_elastic_block_store: Option<serde_json::Value>,
    /// The in-tree `glusterfs` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glusterfs: Option<serde_json::Value>,
    /// The in-tree `rbd` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbd: Option<serde_json::Value>,
    /// The in-tree `iscsi` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iscsi: Option<serde_json::Value>,
    /// The in-tree `cinder` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cinder: Option<serde_json::Value>,
    /// The in-tree `cephfs` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cephfs: Option<serde_json::Value>,
    /// The in-tree `fc` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fc: Option<serde_json::Value>,
    /// The in-tree `flocker` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flocker: Option<serde_json::Value>,
    /// The in-tree `flexVolume` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex_volume: Option<serde_json::Value>,
    /// The in-tree `azureFile` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<serde_json::Value>,
    /// The in-tree `vsphereVolume` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsphere_volume: Option<serde_json::Value>,
    /// The in-tree `quobyte` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quobyte: Option<serde_json::Value>,
    /// The in-tree `azureDisk` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_disk: Option<serde_json::Value>,
    /// The in-tree `photonPersistentDisk` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photon_persistent_disk: Option<serde_json::Value>,
    /// The in-tree `portworxVolume` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portworx_volume: Option<serde_json::Value>,
    /// The in-tree `scaleIO` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, rename = "scaleIO", skip_serializing_if = "Option::is_none")]
    pub scale_io: Option<serde_json::Value>,
    /// The in-tree `storageos` source, kept as written (opaque: Keel cannot mount it, but
    /// exported volumes using it load and count as their one volume source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storageos: Option<serde_json::Value>,
}

/// The nodes a volume is reachable from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeNodeAffinity {
    /// Nodes must match these terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<NodeSelector>,
}

/// A file or directory on the host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostPathVolumeSource {
    /// The path on the host.
    #[serde(default)]
    pub path: String,
    /// `""`, `DirectoryOrCreate`, `Directory`, `FileOrCreate`, `File`, `Socket`,
    /// `CharDevice` or `BlockDevice`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// A local disk, partition or directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalVolumeSource {
    /// The full path on the node.
    #[serde(default)]
    pub path: String,
    /// The file system type of a block device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
}

/// An NFS export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NfsVolumeSource {
    /// The NFS server's hostname or IP.
    #[serde(default)]
    pub server: String,
    /// The exported path.
    #[serde(default)]
    pub path: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A volume managed by a CSI driver.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsiPersistentVolumeSource {
    /// The driver's name.
    #[serde(default)]
    pub driver: String,
    /// The driver's ID of the volume.
    #[serde(default)]
    pub volume_handle: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The file system type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
    /// Driver-specific attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_attributes: BTreeMap<String, String>,
    /// The secret passed to the driver's `controllerPublish` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_publish_secret_ref: Option<SecretReference>,
    /// The secret passed to the driver's `nodeStage` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_stage_secret_ref: Option<SecretReference>,
    /// The secret passed to the driver's `nodePublish` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_publish_secret_ref: Option<SecretReference>,
    /// The secret passed to the driver's `controllerExpand` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_expand_secret_ref: Option<SecretReference>,
    /// The secret passed to the driver's `nodeExpand` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_expand_secret_ref: Option<SecretReference>,
}

/// A reference to a secret in any namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretReference {
    /// The secret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The secret's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The observed state of a volume.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeStatus {
    /// `Pending`, `Available`, `Bound`, `Released` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why the volume is in this state, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why the volume is in this state, CamelCase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the phase last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_phase_transition_time: Option<Time>,
}

impl PersistentVolumeStatus {
    /// Not yet available.
    pub const PHASE_PENDING: &'static str = "Pending";
    /// Free, not yet bound.
    pub const PHASE_AVAILABLE: &'static str = "Available";
    /// Bound to a claim.
    pub const PHASE_BOUND: &'static str = "Bound";
    /// The claim was deleted; not yet reclaimed.
    pub const PHASE_RELEASED: &'static str = "Released";
    /// Reclamation failed.
    pub const PHASE_FAILED: &'static str = "Failed";
}

crate::resource! {
    /// A persistent volume: storage provisioned by an administrator or a provisioner,
    /// bound to at most one claim.
    #[resource(api_version = "v1", kind = "PersistentVolume", plural = "persistentvolumes", namespaced = false)]
    pub struct PersistentVolume {
        /// The storage.
        pub spec: PersistentVolumeSpec,
        /// The phase.
        pub status: PersistentVolumeStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::persistent_volume::persistent_volume(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::persistent_volume::persistent_volume(self)
        }
    }
}

impl PersistentVolume {
    /// `status.phase`, if set.
    pub fn phase(&self) -> Option<&str> {
        self.status.as_ref()?.phase.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_example_round_trips() {
        let text = include_str!("../../tests/fixtures/persistent-volume.yaml");
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).unwrap();
        for doc in docs {
            let pv: PersistentVolume = serde_json::from_value(doc.clone()).unwrap();
            assert_eq!(serde_json::to_value(&pv).unwrap(), doc);
        }
    }

    #[test]
    fn in_tree_sources_are_kept() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "a"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.x", "lun": 0},
                "csi": {"driver": "d", "volumeHandle": "h", "nodePublishSecretRef": {"name": "s", "namespace": "n"}}}});
        let pv: PersistentVolume = serde_json::from_value(json.clone()).unwrap();
        assert!(pv.spec.iscsi.is_some());
        assert_eq!(serde_json::to_value(&pv).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "a"},
            "spec": {"hostPath": {"path": "/x", "kind": "y"}}});
        let err = serde_path_to_error::deserialize::<_, PersistentVolume>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.hostPath.kind");
    }
}
