//! [`ContainerRuntime`]: pod sandboxes and containers, shaped after Kubernetes' CRI.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::stream::BoxStream;
use tokio::time::Instant;

use crate::error::RuntimeError;

/// What a pod sandbox is made for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's uid.
    pub uid: String,
    /// The pod's hostname.
    pub hostname: Option<String>,
    /// The pod's labels.
    pub labels: BTreeMap<String, String>,
}

/// Whether a sandbox is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxState {
    /// Running; containers can be created in it.
    Ready,
    /// Stopped.
    NotReady,
}

/// A sandbox as the runtime reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxStatus {
    /// The runtime's id.
    pub id: String,
    /// What it was made for.
    pub config: SandboxConfig,
    /// Up or not.
    pub state: SandboxState,
}

/// A directory made visible inside a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The pod volume's name.
    pub name: String,
    /// Where it is on the host (or the backend's volume handle).
    pub host_path: String,
    /// Where the container sees it.
    pub container_path: String,
    /// Read-only.
    pub read_only: bool,
}

/// What a container is made from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerConfig {
    /// The container's name in its pod.
    pub name: String,
    /// The image.
    pub image: String,
    /// The entrypoint (empty: the image's).
    pub command: Vec<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// Mounted volumes.
    pub mounts: Vec<Mount>,
    /// How many times this container was created before in its pod (restarts).
    pub attempt: u32,
    /// CPU limit in millicores (0: none).
    pub cpu_limit_milli: i64,
    /// Memory limit in bytes (0: none).
    pub memory_limit: i64,
}

/// Where a container is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// Created, not started.
    Created,
    /// Running since `started_at`.
    Running {
        /// When it started (tokio time).
        started_at: Instant,
    },
    /// Finished.
    Exited {
        /// When it started.
        started_at: Option<Instant>,
        /// When it finished.
        finished_at: Instant,
        /// Its exit code.
        exit_code: i32,
        /// Why, in Kubernetes' words: `Completed`, `Error`, `OOMKilled`, …
        reason: String,
    },
}

impl ContainerState {
    /// Whether it runs.
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Running { .. })
    }

    /// The exit code, once exited.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            ContainerState::Exited { exit_code, .. } => Some(*exit_code),
            _ => None,
        }
    }
}

/// A container as the runtime reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerStatus {
    /// The runtime's id.
    pub id: String,
    /// Its sandbox.
    pub sandbox_id: String,
    /// Its name in the pod.
    pub name: String,
    /// Its image.
    pub image: String,
    /// Its attempt (see [`ContainerConfig::attempt`]).
    pub attempt: u32,
    /// Its state.
    pub state: ContainerState,
}

/// Which containers to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerFilter {
    /// Only in this sandbox.
    pub sandbox_id: Option<String>,
    /// Only running ones.
    pub running_only: bool,
}

/// A change of a container's state, as pushed by the runtime (CRI's
/// `GetContainerEvents`), so an agent need not poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The container.
    pub container_id: String,
    /// Its sandbox.
    pub sandbox_id: String,
    /// What happened.
    pub kind: ContainerEventKind,
}

/// What happened to a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerEventKind {
    /// Created.
    Created,
    /// Started.
    Started,
    /// Exited with this code.
    Exited(i32),
    /// Removed.
    Removed,
}

/// What an exec returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code.
    pub exit_code: i32,
    /// What it wrote to stdout.
    pub stdout: String,
    /// What it wrote to stderr.
    pub stderr: String,
}

/// An image the runtime has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Its name (with tag).
    pub name: String,
    /// Its size in bytes.
    pub size_bytes: i64,
}

/// Runs pods' containers: the CRI-shaped plug-in point. Ids are the runtime's own.
#[async_trait::async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    /// Makes a pod's sandbox (its shared namespaces); returns its id.
    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError>;
    /// Stops a sandbox and every container in it (immediately).
    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError>;
    /// Removes a stopped sandbox and its containers.
    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError>;
    /// Every sandbox.
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError>;

    /// Creates a container in a ready sandbox; returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
    ) -> Result<String, RuntimeError>;
    /// Starts a created container.
    async fn start_container(&self, id: &str) -> Result<(), RuntimeError>;
    /// Asks the container to stop (SIGTERM), and kills it after `grace`.
    async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), RuntimeError>;
    /// Removes a container that is not running.
    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError>;
    /// One container's status.
    async fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError>;
    /// The containers `filter` selects.
    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerStatus>, RuntimeError>;
    /// Every container state change from now on.
    fn events(&self) -> BoxStream<'static, ContainerEvent>;
    /// What the container wrote (stdout and stderr, interleaved).
    async fn logs(&self, id: &str) -> Result<String, RuntimeError>;
    /// Runs `command` in a running container (exec probes), giving up after `timeout`.
    async fn exec(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError>;

    /// Makes `image` available locally.
    async fn pull_image(&self, image: &str) -> Result<ImageInfo, RuntimeError>;
    /// The images available locally.
    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError>;
}
