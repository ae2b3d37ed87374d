//! In-memory, deterministic backends in `tokio` time, for tests and scale simulations:
//! [`SimRuntime`] (containers with chosen behaviours and injected failures; also a
//! [`MetricsSource`](crate::MetricsSource)), [`SimNetwork`] over dual-stack host-local
//! [`ipam`], [`SimVolumes`] with a capacity.

pub mod ipam;
mod load;
mod network;
mod runtime;
mod volumes;

pub use ipam::{Cidr, ClusterCidrs, HostLocalIpam};
pub use load::LoadMeter;
pub use network::SimNetwork;
pub use runtime::{Behavior, DEFAULT_IMAGE_SIZE, KILLED_EXIT_CODE, SimRuntime};
pub use volumes::SimVolumes;
