//! The reconciler framework: [`Cache`] and [`Informers`] (shared, indexed views of
//! kinds), [`WorkQueue`] (de-duplicating, rate-limited), [`Controller`], [`Action`],
//! [`finalizer()`], [`Expectations`], [`LeaderElector`], the event [`Recorder`] and
//! [`Metrics`].
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use keel_core::api::{ConfigMap, Pod};
//! # use keel_core::client::{Api, Client};
//! use keel_controllers::runtime::{Action, Config, Controller};
//!
//! # async fn example(client: Client) {
//! #[derive(Debug, thiserror::Error)]
//! #[error("failed")]
//! struct Failed;
//!
//! Controller::new(Api::<ConfigMap>::all(&client), Config::default())
//!     .owns::<Pod>()
//!     .run(
//!         |cm: Arc<ConfigMap>, _ctx: Arc<()>| async move {
//!             // make the world look like `cm` says
//!             Ok::<_, Failed>(Action::await_change())
//!         },
//!         |_cm, _error: &Failed, _ctx| Action::requeue(std::time::Duration::from_secs(5)),
//!         Arc::new(()),
//!     )
//!     .await;
//! # }
//! ```

mod action;
pub mod cache;
mod controller;
pub mod events;
mod expectations;
pub mod finalizer;
mod informers;
mod leader;
mod metrics;
pub mod predicate;
pub mod queue;
pub mod rate_limit;
mod reference;

pub use action::Action;
pub use cache::{Cache, Change};
pub use controller::{Config, Controller, is_owner_kind};
pub use events::{EventType, Recorder};
pub use expectations::{EXPECTATIONS_TIMEOUT, Expectations};
pub use finalizer::finalizer;
pub use informers::{InformerRegistry, Informers, reflector};
pub use leader::{LeaderElector, LeaderHandle, LeaseConfig};
pub use metrics::{Metrics, QueueMetrics};
pub use queue::WorkQueue;
pub use rate_limit::RateLimiter;
pub use reference::ObjectRef;
