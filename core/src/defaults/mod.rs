//! Defaulting: what the API server fills in (Kubernetes' `SetDefaults_*`), one module per
//! API module.

pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod config;
pub mod endpoint_slice;
pub mod namespace;
pub mod node;
pub mod persistent_volume;
pub mod persistent_volume_claim;
pub mod pod;
pub mod quota;
pub mod rbac;
pub mod scheduling;
pub mod service;
pub mod storage_class;
