//! Keel's node: the agent that runs the pods bound to a node (the kubelet role)
//! through the `keel-runtime` plug-in points.

mod agent;
mod config;
pub mod env;
pub mod pod_volumes;
pub mod probe;
pub mod process;
pub mod proxy;
pub mod register;
pub mod status;
pub mod volumes;

pub use agent::{NodeAgent, NodeAgentHandle};
pub use config::NodeConfig;
