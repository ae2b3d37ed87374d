//! [`VolumePlugin`]: provisions volumes for a StorageClass and makes them available to
//! pods, shaped after CSI (controller: create / delete / publish; node: stage / publish).

use std::collections::BTreeMap;

use crate::error::RuntimeError;

/// What to provision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeRequest {
    /// The name to give it (the PersistentVolume's name).
    pub name: String,
    /// The StorageClass's parameters.
    pub parameters: BTreeMap<String, String>,
    /// At least this many bytes.
    pub capacity_bytes: i64,
    /// The node it must be reachable from (`WaitForFirstConsumer`), if any.
    pub node: Option<String>,
}

/// A provisioned volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The backend's handle.
    pub handle: String,
    /// Its size in bytes.
    pub capacity_bytes: i64,
    /// The only node it can be used from, for node-local volumes.
    pub node: Option<String>,
}

/// Provisions, attaches and mounts volumes, idempotently.
#[async_trait::async_trait]
pub trait VolumePlugin: Send + Sync + 'static {
    /// Creates a volume (the same one if asked again for the same name).
    async fn provision(&self, request: &VolumeRequest) -> Result<VolumeInfo, RuntimeError>;
    /// Deletes a volume and its data.
    async fn delete(&self, handle: &str) -> Result<(), RuntimeError>;
    /// Makes the volume available on `node`.
    async fn attach(&self, handle: &str, node: &str) -> Result<(), RuntimeError>;
    /// Makes it unavailable on `node`.
    async fn detach(&self, handle: &str, node: &str) -> Result<(), RuntimeError>;
    /// Mounts it for pod `pod_uid`; returns the path to hand to the runtime.
    async fn mount(&self, handle: &str, pod_uid: &str) -> Result<String, RuntimeError>;
    /// Unmounts it for pod `pod_uid`.
    async fn unmount(&self, handle: &str, pod_uid: &str) -> Result<(), RuntimeError>;
}
