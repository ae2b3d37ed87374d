//! Keel's scheduler: kube-scheduler's scheduling framework as a library.
//!
//! - [`framework`]: one trait per extension point ([`PreFilter`](framework::PreFilter),
//!   [`Filter`](framework::Filter), [`Score`](framework::Score), …), [`CycleState`](framework::CycleState),
//!   [`Status`](framework::Status), [`NodeInfo`](framework::NodeInfo), [`Snapshot`],
//!   [`Profile`], and [`Framework::schedule`]:
//!   one cycle as a pure function, callable without a store.
//! - [`plugins`]: Kubernetes' default plugins with their default weights.

pub mod algorithm;
pub mod binder;
pub mod framework;
pub mod plugins;
pub mod queue;
mod scheduler;

pub use algorithm::Algorithm;
pub use framework::{FitError, Framework, Profile, ScheduleResult, Snapshot};
pub use scheduler::{Scheduler, SchedulerBuilder, SchedulerHandle, SchedulerShared};
