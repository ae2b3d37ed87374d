//! [`LocalVolumes`]: volumes as directories under a root on the host — what the process
//! runtime mounts. Their data outlives pods (and pod restarts) until the volume is
//! deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use keel_runtime::{RuntimeError, VolumeInfo, VolumePlugin, VolumeRequest};

/// Directories under `root`, one per volume.
#[derive(Debug)]
pub struct LocalVolumes {
    root: PathBuf,
    mounts: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl LocalVolumes {
    /// Volumes kept under `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> LocalVolumes {
        LocalVolumes {
            root: root.into(),
            mounts: Mutex::new(BTreeMap::new()),
        }
    }

    fn dir(&self, handle: &str) -> Result<PathBuf, RuntimeError> {
        if handle.is_empty() || handle.contains('/') || handle.starts_with('.') {
            return Err(RuntimeError::Other(format!(
                "invalid volume handle {handle:?}"
            )));
        }
        Ok(self.root.join(handle))
    }

    fn existing(&self, handle: &str) -> Result<PathBuf, RuntimeError> {
        let dir = self.dir(handle)?;
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(RuntimeError::not_found("volume", handle))
        }
    }
}

fn io(e: &std::io::Error) -> RuntimeError {
    RuntimeError::Other(e.to_string())
}

#[async_trait::async_trait]
impl VolumePlugin for LocalVolumes {
    async fn provision(&self, request: &VolumeRequest) -> Result<VolumeInfo, RuntimeError> {
        let dir = self.dir(&request.name)?;
        std::fs::create_dir_all(&dir).map_err(|e| io(&e))?;
        Ok(VolumeInfo {
            handle: request.name.clone(),
            capacity_bytes: request.capacity_bytes,
            node: request.node.clone(),
        })
    }

    async fn delete(&self, handle: &str) -> Result<(), RuntimeError> {
        let dir = self.existing(handle)?;
        let mounted = self
            .mounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(handle)
            .is_some_and(|m| !m.is_empty());
        if mounted {
            return Err(RuntimeError::InvalidState(format!(
                "volume {handle} is mounted"
            )));
        }
        std::fs::remove_dir_all(dir).map_err(|e| io(&e))
    }

    async fn attach(&self, handle: &str, _node: &str) -> Result<(), RuntimeError> {
        self.existing(handle).map(|_| ())
    }

    async fn detach(&self, handle: &str, _node: &str) -> Result<(), RuntimeError> {
        self.existing(handle).map(|_| ())
    }

    async fn mount(&self, handle: &str, pod_uid: &str) -> Result<String, RuntimeError> {
        let dir = self.existing(handle)?;
        self.mounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(handle.to_owned())
            .or_default()
            .insert(pod_uid.to_owned());
        Ok(dir.to_string_lossy().into_owned())
    }

    async fn unmount(&self, handle: &str, pod_uid: &str) -> Result<(), RuntimeError> {
        self.existing(handle)?;
        if let Some(m) = self
            .mounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(handle)
        {
            m.remove(pod_uid);
        }
        Ok(())
    }
}
