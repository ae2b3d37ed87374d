//! Pieces every [`ContainerRuntime`](crate::ContainerRuntime) backend needs, shared by
//! the sim and process runtimes (and free for users' backends): the sandbox table, the
//! event hub, and the list filter.

use std::collections::BTreeMap;

use futures::stream::BoxStream;
use tokio::sync::broadcast;

use crate::container::{
    ContainerEvent, ContainerEventKind, ContainerFilter, ContainerStatus, ImageInfo, SandboxConfig,
    SandboxState, SandboxStatus,
};
use crate::error::RuntimeError;

/// The sandboxes of one runtime, with ids `<prefix>-<n>`.
#[derive(Debug)]
pub struct Sandboxes {
    prefix: &'static str,
    next: u64,
    table: BTreeMap<String, SandboxStatus>,
}

impl Default for Sandboxes {
    /// Ids `sandbox-<n>`.
    fn default() -> Self {
        Sandboxes::new("sandbox")
    }
}

impl Sandboxes {
    /// An empty table whose ids start with `prefix`.
    pub fn new(prefix: &'static str) -> Sandboxes {
        Sandboxes {
            prefix,
            next: 0,
            table: BTreeMap::new(),
        }
    }

    /// Adds a ready sandbox for `config`; its id.
    pub fn create(&mut self, config: &SandboxConfig) -> String {
        self.next += 1;
        let id = format!("{}-{}", self.prefix, self.next);
        self.table.insert(
            id.clone(),
            SandboxStatus {
                id: id.clone(),
                config: config.clone(),
                state: SandboxState::Ready,
            },
        );
        id
    }

    /// Every sandbox.
    pub fn list(&self) -> Vec<SandboxStatus> {
        self.table.values().cloned().collect()
    }

    /// The sandbox `id`.
    pub fn get(&self, id: &str) -> Option<&SandboxStatus> {
        self.table.get(id)
    }

    /// Every sandbox, by id.
    pub fn iter(&self) -> impl Iterator<Item = &SandboxStatus> {
        self.table.values()
    }

    /// `Ok` if sandbox `id` exists and is ready (containers may be created in it).
    pub fn require_ready(&self, id: &str) -> Result<(), RuntimeError> {
        match self.table.get(id) {
            None => Err(RuntimeError::not_found("sandbox", id)),
            Some(s) if s.state != SandboxState::Ready => Err(RuntimeError::InvalidState(format!(
                "sandbox {id} is not ready"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Marks sandbox `id` stopped.
    pub fn stop(&mut self, id: &str) -> Result<(), RuntimeError> {
        let s = self
            .table
            .get_mut(id)
            .ok_or_else(|| RuntimeError::not_found("sandbox", id))?;
        s.state = SandboxState::NotReady;
        Ok(())
    }

    /// Forgets sandbox `id`.
    pub fn remove(&mut self, id: &str) {
        self.table.remove(id);
    }
}

/// Broadcasts container events to every [`ContainerRuntime::events`](crate::ContainerRuntime::events) stream.
#[derive(Debug)]
pub struct EventHub {
    tx: broadcast::Sender<ContainerEvent>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub {
            tx: broadcast::channel(4096).0,
        }
    }
}

impl EventHub {
    /// Tells every subscriber.
    pub fn emit(&self, container_id: &str, sandbox_id: &str, kind: ContainerEventKind) {
        let _ = self.tx.send(ContainerEvent {
            container_id: container_id.to_owned(),
            sandbox_id: sandbox_id.to_owned(),
            kind,
        });
    }

    /// Every event from now on (a subscriber that falls far behind skips what it missed).
    pub fn stream(&self) -> BoxStream<'static, ContainerEvent> {
        let rx = self.tx.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) => return Some((e, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
}

/// Whether `filter` selects `status`.
pub fn selects(filter: &ContainerFilter, status: &ContainerStatus) -> bool {
    filter
        .sandbox_id
        .as_ref()
        .is_none_or(|s| *s == status.sandbox_id)
        && (!filter.running_only || status.state.is_running())
}

/// The images of a `name → size` table.
pub fn image_list(images: &BTreeMap<String, i64>) -> Vec<ImageInfo> {
    images
        .iter()
        .map(|(name, size)| ImageInfo {
            name: name.clone(),
            size_bytes: *size,
        })
        .collect()
}
