//! [`ControllerManager`]: runs a chosen set of controllers against one client — the
//! library form of `kube-controller-manager`.
//!
//! ```no_run
//! # async fn example(client: keel_core::client::Client) {
//! use keel_controllers::ControllerManager;
//!
//! let manager = ControllerManager::new(client).with_all().start();
//! // … the cluster runs …
//! manager.shutdown().await;
//! # }
//! ```

use std::fmt;

use futures::future::BoxFuture;
use keel_core::client::Client;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The signal a managed controller stops on: [`wait`](Self::wait) completes when the
/// manager shuts down. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// A signal and the sender that fires it (`send(true)`).
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown { rx })
    }

    /// Completes once shutdown was asked for (or the manager was dropped).
    pub fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// Whether shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        *self.rx.borrow()
    }
}

/// A controller a [`ControllerManager`] can run: Keel's built-in ones and users' own.
pub trait ManagedController: Send + 'static {
    /// The controller's name (`replicaset`, `deployment`, …), unique in a manager.
    fn name(&self) -> &str;

    /// Runs the controller until `shutdown` fires, then returns once its running
    /// reconciles have finished.
    fn run(self: Box<Self>, client: Client, shutdown: Shutdown) -> BoxFuture<'static, ()>;
}

/// The names of the built-in controllers, in the order [`ControllerManager::with_all`]
/// starts them.
pub const BUILT_IN: &[&str] = &[
    crate::replicaset::NAME,
    crate::deployment::NAME,
    crate::endpointslice::NAME,
    crate::garbagecollector::NAME,
    crate::job::NAME,
    crate::cronjob::NAME,
    crate::daemonset::NAME,
    crate::statefulset::NAME,
];

/// A built-in controller by name, with its default settings.
pub fn built_in(name: &str) -> Option<Box<dyn ManagedController>> {
    Some(match name {
        crate::replicaset::NAME => Box::new(crate::replicaset::ReplicaSetController::default()),
        crate::deployment::NAME => Box::new(crate::deployment::DeploymentController::default()),
        crate::endpointslice::NAME => {
            Box::new(crate::endpointslice::EndpointSliceController::default())
        }
        crate::garbagecollector::NAME => {
            Box::new(crate::garbagecollector::GarbageCollector::default())
        }
        crate::job::NAME => Box::new(crate::job::JobController::default()),
        crate::cronjob::NAME => Box::new(crate::cronjob::CronJobController::default()),
        crate::daemonset::NAME => Box::new(crate::daemonset::DaemonSetController::default()),
        crate::statefulset::NAME => Box::new(crate::statefulset::StatefulSetController::default()),
        _ => return None,
    })
}

/// The error for a controller name that is not built in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown controller {name:?}; the built-in controllers are {}", BUILT_IN.join(", "))]
pub struct UnknownController {
    /// The name asked for.
    pub name: String,
}

/// Runs a set of controllers; build it with [`new`](Self::new) and
/// [`with_all`](Self::with_all) / [`with`](Self::with) /
/// [`with_controller`](Self::with_controller), then [`start`](Self::start) it.
pub struct ControllerManager {
    client: Client,
    controllers: Vec<Box<dyn ManagedController>>,
}

impl fmt::Debug for ControllerManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControllerManager")
            .field("controllers", &self.names())
            .finish_non_exhaustive()
    }
}

impl ControllerManager {
    /// A manager with no controllers yet, for the cluster `client` talks to.
    pub fn new(client: Client) -> ControllerManager {
        ControllerManager {
            client,
            controllers: Vec::new(),
        }
    }

    /// Adds every built-in controller not added yet ([`BUILT_IN`]).
    #[must_use]
    pub fn with_all(mut self) -> Self {
        for name in BUILT_IN {
            if !self.has(name) {
                self.controllers.extend(built_in(name));
            }
        }
        self
    }

    /// Adds the built-in controller `name` (a no-op if it is already added).
    pub fn with(mut self, name: &str) -> Result<Self, UnknownController> {
        if !self.has(name) {
            let c = built_in(name).ok_or_else(|| UnknownController {
                name: name.to_owned(),
            })?;
            self.controllers.push(c);
        }
        Ok(self)
    }

    /// Adds a controller value: a built-in one with non-default settings, or a user's
    /// own. It replaces an added controller of the same name.
    #[must_use]
    pub fn with_controller(mut self, controller: impl ManagedController) -> Self {
        self.controllers.retain(|c| c.name() != controller.name());
        self.controllers.push(Box::new(controller));
        self
    }

    /// The names of the controllers added, in start order.
    pub fn names(&self) -> Vec<String> {
        self.controllers
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.controllers.iter().any(|c| c.name() == name)
    }

    /// Starts every controller on the current tokio runtime.
    pub fn start(self) -> ManagerHandle {
        let (stop, shutdown) = Shutdown::new();
        let names = self.names();
        let mut tasks = JoinSet::new();
        for c in self.controllers {
            tasks.spawn(c.run(self.client.clone(), shutdown.clone()));
        }
        ManagerHandle { stop, tasks, names }
    }
}

/// The running controllers of a [`ControllerManager`]. Dropping it aborts them;
/// [`shutdown`](Self::shutdown) stops them gracefully.
#[derive(Debug)]
pub struct ManagerHandle {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    names: Vec<String>,
}

impl ManagerHandle {
    /// The names of the running controllers.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Stops every controller: no new reconciles start, running ones finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done
                && e.is_panic()
            {
                tracing::error!("a controller panicked while shutting down");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_name_builds_its_controller() {
        for name in BUILT_IN {
            assert_eq!(
                built_in(name).map(|c| c.name().to_owned()).as_deref(),
                Some(*name)
            );
        }
        assert!(built_in("nope").is_none());
    }

    #[tokio::test]
    async fn controllers_are_added_by_name_once_and_unknown_names_are_errors() {
        let client = Client::in_memory();
        let all = ControllerManager::new(client.clone()).with_all();
        assert_eq!(all.names(), BUILT_IN);
        let m = ControllerManager::new(client.clone())
            .with("deployment")
            .and_then(|m| m.with("deployment"))
            .unwrap();
        assert_eq!(m.names(), ["deployment"]);
        let err = ControllerManager::new(client)
            .with("replicasets")
            .unwrap_err();
        assert!(err.to_string().starts_with("unknown controller \"replicasets\"; the built-in controllers are replicaset, deployment"));
        let handle = m.start();
        assert_eq!(handle.names(), ["deployment"]);
        handle.shutdown().await;
    }
}
