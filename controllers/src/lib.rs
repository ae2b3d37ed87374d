//! Keel's controllers: the reconciler framework ([`runtime`]) that every controller —
//! Keel's own and users' — is written with.
//!
//! The framework follows kube-runtime and controller-runtime: a shared, indexed
//! [`Cache`](runtime::Cache) per kind fed by one list+watch, a de-duplicating,
//! rate-limited [`WorkQueue`](runtime::WorkQueue), and a [`Controller`](runtime::Controller)
//! that maps events of its kind, of the kinds it owns and of the kinds it watches to
//! keys, and reconciles each key with at most one worker at a time.

#[macro_use]
mod macros;

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpointslice;
pub mod garbagecollector;
pub mod job;
pub mod manager;
pub mod nodelifecycle;
pub mod podgc;
pub mod replicaset;
pub mod runtime;
pub mod statefulset;
pub mod workload;

pub use manager::{ControllerManager, ManagedController, ManagerHandle, Shutdown};
