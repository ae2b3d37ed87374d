//! Keel's node plug-in points, shaped after Kubernetes' CRI, CNI and CSI:
//! [`ContainerRuntime`], [`NetworkPlugin`], [`VolumePlugin`], [`MetricsSource`]; the
//! in-memory [`sim`] backends; and (feature `conformance`) the suites every backend —
//! ours and users' — runs.

mod container;
mod error;
mod metrics;
mod network;
pub mod sim;
pub mod support;
mod volume;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use container::{
    ContainerConfig, ContainerEvent, ContainerEventKind, ContainerFilter, ContainerRuntime,
    ContainerState, ContainerStatus, ExecResult, ImageInfo, Mount, SandboxConfig, SandboxState,
    SandboxStatus,
};
pub use error::RuntimeError;
pub use metrics::{MetricsSource, Usage};
pub use network::{NetworkPlugin, PodNetwork};
pub use volume::{VolumeInfo, VolumePlugin, VolumeRequest};
