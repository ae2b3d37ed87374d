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
use std::sync::Arc;

use futures::future::BoxFuture;
use keel_core::client::Client;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::runtime::{LeaderElector, LeaderHandle, LeaseConfig};

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
/// A value holds the controller's settings; each [`run`](Self::run) starts it afresh.
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
    crate::podgc::NAME,
    crate::nodelifecycle::NAME,
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
        crate::podgc::NAME => Box::new(crate::podgc::PodGcController::default()),
        crate::nodelifecycle::NAME => {
            Box::new(crate::nodelifecycle::NodeLifecycleController::default())
        }
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

/// Makes a fresh copy of a controller (controllers restart when leadership returns).
type Factory = Arc<dyn Fn() -> Box<dyn ManagedController> + Send + Sync>;

/// Runs a set of controllers; build it with [`new`](Self::new) and
/// [`with_all`](Self::with_all) / [`with`](Self::with) /
/// [`with_controller`](Self::with_controller), optionally
/// [`leader_election`](Self::leader_election), then [`start`](Self::start) it.
pub struct ControllerManager {
    client: Client,
    controllers: Vec<(String, Factory)>,
    lease: Option<LeaseConfig>,
}

impl fmt::Debug for ControllerManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControllerManager")
            .field("controllers", &self.names())
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl ControllerManager {
    /// A manager with no controllers yet, for the cluster `client` talks to.
    pub fn new(client: Client) -> ControllerManager {
        ControllerManager {
            client,
            controllers: Vec::new(),
            lease: None,
        }
    }

    fn add_built_in(&mut self, name: &str) -> bool {
        if built_in(name).is_none() {
            return false;
        }
        let owned = name.to_owned();
        self.controllers.push((
            name.to_owned(),
            Arc::new(move || built_in(&owned).unwrap_or_else(|| unreachable!("checked above"))),
        ));
        true
    }

    /// Adds every built-in controller not added yet ([`BUILT_IN`]).
    #[must_use]
    pub fn with_all(mut self) -> Self {
        for name in BUILT_IN {
            if !self.has(name) {
                self.add_built_in(name);
            }
        }
        self
    }

    /// Adds the built-in controller `name` (a no-op if it is already added).
    pub fn with(mut self, name: &str) -> Result<Self, UnknownController> {
        if !self.has(name) && !self.add_built_in(name) {
            return Err(UnknownController {
                name: name.to_owned(),
            });
        }
        Ok(self)
    }

    /// Adds a controller value: a built-in one with non-default settings, or a user's
    /// own. It replaces an added controller of the same name.
    #[must_use]
    pub fn with_controller<C: ManagedController + Clone + Sync>(mut self, controller: C) -> Self {
        let name = controller.name().to_owned();
        self.controllers.retain(|(n, _)| *n != name);
        self.controllers
            .push((name, Arc::new(move || Box::new(controller.clone()))));
        self
    }

    /// Runs the controllers only while this manager holds the lease `config` names
    /// (kube-controller-manager's `--leader-elect`): several managers of one cluster
    /// then never act at once. Losing the lease stops the controllers; regaining it
    /// starts them afresh.
    #[must_use]
    pub fn leader_election(mut self, config: LeaseConfig) -> Self {
        self.lease = Some(config);
        self
    }

    /// The names of the controllers added, in start order.
    pub fn names(&self) -> Vec<String> {
        self.controllers.iter().map(|(n, _)| n.clone()).collect()
    }

    fn has(&self, name: &str) -> bool {
        self.controllers.iter().any(|(n, _)| n == name)
    }

    /// Starts the controllers (at once, or once the lease is held) on the current
    /// tokio runtime.
    pub fn start(self) -> ManagerHandle {
        let (stop, stopped) = watch::channel(false);
        let names = self.names();
        let leader = self
            .lease
            .map(|config| LeaderElector::new(&self.client, config).start());
        let factories: Vec<Factory> = self.controllers.into_iter().map(|(_, f)| f).collect();
        let mut task = JoinSet::new();
        task.spawn(supervise(self.client, factories, leader.clone(), stopped));
        ManagerHandle {
            stop,
            task,
            names,
            leader,
        }
    }
}

/// How long a controller that stopped on its own waits before it runs again.
const RESTART_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the controllers while leading (always, without an election) until stopped.
async fn supervise(
    client: Client,
    factories: Vec<Factory>,
    leader: Option<LeaderHandle>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if let Some(l) = &leader {
            tokio::select! {
                () = l.wait_leading() => {}
                _ = stopped.wait_for(|s| *s) => break,
            }
        }
        let (stop_controllers, shutdown) = Shutdown::new();
        let mut running = JoinSet::new();
        let mut which = std::collections::HashMap::new();
        for (i, make) in factories.iter().enumerate() {
            let id = running
                .spawn(make().run(client.clone(), shutdown.clone()))
                .id();
            which.insert(id, i);
        }
        let lost = async {
            match &leader {
                Some(l) => l.wait_not_leading().await,
                None => futures::future::pending().await,
            }
        };
        tokio::pin!(lost);
        let asked = loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => break true,
                () = &mut lost => break false,
                Some(done) = running.join_next_with_id() => {
                    // A controller ended on its own (it returned or panicked): run a
                    // fresh copy, so the lease is never held with a controller dead.
                    let id = match &done { Ok((id, ())) => *id, Err(e) => e.id() };
                    if let Some(i) = which.remove(&id) {
                        tracing::error!(controller = i, "a controller stopped; restarting it");
                        let again = factories[i]().run(client.clone(), shutdown.clone());
                        let id = running
                            .spawn(async move {
                                tokio::time::sleep(RESTART_DELAY).await;
                                again.await;
                            })
                            .id();
                        which.insert(id, i);
                    }
                }
            }
        };
        let _ = stop_controllers.send(true);
        if asked {
            while let Some(done) = running.join_next().await {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!("a controller panicked while shutting down");
                }
            }
            break;
        }
        // Lost the lease: another manager may take over within seconds, so nothing of
        // ours may write any more — abort at once (kube-controller-manager exits).
        tracing::warn!("lost the controller-manager lease; stopping the controllers");
        running.abort_all();
        while running.join_next().await.is_some() {}
    }
    if let Some(l) = leader {
        l.stop().await;
    }
}

/// The running controllers of a [`ControllerManager`]. Dropping it aborts them;
/// [`shutdown`](Self::shutdown) stops them gracefully (and releases the lease).
#[derive(Debug)]
pub struct ManagerHandle {
    stop: watch::Sender<bool>,
    task: JoinSet<()>,
    names: Vec<String>,
    leader: Option<LeaderHandle>,
}

impl ManagerHandle {
    /// The names of the controllers.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the controllers run: always without leader election, while the lease is
    /// held with it.
    pub fn is_leader(&self) -> bool {
        self.leader.as_ref().is_none_or(LeaderHandle::is_leader)
    }

    /// The election, when the manager runs with [`ControllerManager::leader_election`].
    pub fn leader(&self) -> Option<&LeaderHandle> {
        self.leader.as_ref()
    }

    /// Stops every controller: no new reconciles start, running ones finish; a held
    /// lease is released.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.task.join_next().await.is_some() {}
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
