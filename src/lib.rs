//! Keel: Kubernetes' core ideas — Pods, ReplicaSets, Services, label selectors, a pluggable
//! scheduler, level-triggered controllers — as composable Rust crates.
//!
//! This facade re-exports the workspace crates under short names; see `ARCHITECTURE.md`.

pub use keel_controllers as controllers;
pub use keel_core as core;
pub use keel_node as node;
pub use keel_runtime as runtime;
pub use keel_scheduler as scheduler;
