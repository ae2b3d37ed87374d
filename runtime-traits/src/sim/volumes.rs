//! [`SimVolumes`]: in-memory volumes with a total capacity, node-local when provisioned
//! for a node.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use crate::error::RuntimeError;
use crate::volume::{VolumeInfo, VolumePlugin, VolumeRequest};

#[derive(Debug)]
struct Vol {
    info: VolumeInfo,
    attached: BTreeSet<String>,
    mounted: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct State {
    volumes: BTreeMap<String, Vol>,
    used: i64,
}

/// Simulated storage with `capacity` bytes in all.
#[derive(Debug)]
pub struct SimVolumes {
    capacity: i64,
    state: Mutex<State>,
}

impl SimVolumes {
    /// Storage of `capacity` bytes.
    pub fn new(capacity: i64) -> SimVolumes {
        SimVolumes {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes provisioned so far.
    pub fn used(&self) -> i64 {
        self.lock().used
    }
}

fn handle(name: &str) -> String {
    format!("simvol-{name}")
}

#[async_trait::async_trait]
impl VolumePlugin for SimVolumes {
    async fn provision(&self, request: &VolumeRequest) -> Result<VolumeInfo, RuntimeError> {
        let mut st = self.lock();
        let h = handle(&request.name);
        if let Some(v) = st.volumes.get(&h) {
            return Ok(v.info.clone());
        }
        if st.used + request.capacity_bytes > self.capacity {
            return Err(RuntimeError::Exhausted(format!(
                "cannot provision {} bytes for {}: {} of {} bytes left",
                request.capacity_bytes,
                request.name,
                self.capacity - st.used,
                self.capacity
            )));
        }
        st.used += request.capacity_bytes;
        let info = VolumeInfo {
            handle: h.clone(),
            capacity_bytes: request.capacity_bytes,
            node: request.node.clone(),
        };
        st.volumes.insert(
            h,
            Vol {
                info: info.clone(),
                attached: BTreeSet::new(),
                mounted: BTreeSet::new(),
            },
        );
        Ok(info)
    }

    async fn delete(&self, handle: &str) -> Result<(), RuntimeError> {
        let mut st = self.lock();
        let v = st
            .volumes
            .get(handle)
            .ok_or_else(|| RuntimeError::not_found("volume", handle))?;
        if !v.mounted.is_empty() {
            return Err(RuntimeError::InvalidState(format!(
                "volume {handle} is mounted"
            )));
        }
        let size = v.info.capacity_bytes;
        st.volumes.remove(handle);
        st.used -= size;
        Ok(())
    }

    async fn attach(&self, handle: &str, node: &str) -> Result<(), RuntimeError> {
        let mut st = self.lock();
        let v = st
            .volumes
            .get_mut(handle)
            .ok_or_else(|| RuntimeError::not_found("volume", handle))?;
        if v.info.node.as_deref().is_some_and(|n| n != node) {
            return Err(RuntimeError::InvalidState(format!(
                "volume {handle} is local to another node"
            )));
        }
        v.attached.insert(node.to_owned());
        Ok(())
    }

    async fn detach(&self, handle: &str, node: &str) -> Result<(), RuntimeError> {
        let mut st = self.lock();
        let v = st
            .volumes
            .get_mut(handle)
            .ok_or_else(|| RuntimeError::not_found("volume", handle))?;
        v.attached.remove(node);
        Ok(())
    }

    async fn mount(&self, handle: &str, pod_uid: &str) -> Result<String, RuntimeError> {
        let mut st = self.lock();
        let v = st
            .volumes
            .get_mut(handle)
            .ok_or_else(|| RuntimeError::not_found("volume", handle))?;
        v.mounted.insert(pod_uid.to_owned());
        Ok(format!("/sim/volumes/{handle}"))
    }

    async fn unmount(&self, handle: &str, pod_uid: &str) -> Result<(), RuntimeError> {
        let mut st = self.lock();
        let v = st
            .volumes
            .get_mut(handle)
            .ok_or_else(|| RuntimeError::not_found("volume", handle))?;
        v.mounted.remove(pod_uid);
        Ok(())
    }
}
