//! The garbage collector: deletes objects whose owners are gone, and carries out the
//! Foreground and Orphan deletion policies (Kubernetes' `garbagecollector`).
//!
//! A *dependent* is an object with `ownerReferences`. When every owner it names is gone
//! (no object of that kind, name and uid), the dependent is deleted — in the
//! background, or in the foreground when an owner was itself being deleted in the
//! foreground. References to owners that are gone are dropped from a dependent that
//! still has a living owner. An owner deleted with `propagationPolicy: Orphan` (the
//! `orphan` finalizer) has its dependents' references to it removed, then the finalizer;
//! one deleted with `Foreground` (the `foregroundDeletion` finalizer) keeps the finalizer
//! until none of its dependents that block owner deletion is left.
//!
//! The collector watches the kinds given to it: by default the built-in workload kinds
//! (Pod, ReplicaSet, Job, PersistentVolumeClaim, EndpointSlice and ControllerRevision as dependents, and so
//! also owners; Deployment, DaemonSet, StatefulSet, CronJob and Service as owners). Add users' kinds
//! with [`GarbageCollector::dependent`] and [`GarbageCollector::owner`]; owners of any
//! registered kind are looked up by kind, so a dependent of a custom kind is collected
//! even when that kind is not watched as an owner (it is then checked when the
//! dependent changes, not when the owner goes). Orphan and Foreground deletions only
//! see dependents of the kinds watched as dependents: add every kind whose objects may
//! name owners, or an Orphan deletion could finish before such a dependent is released.

mod dependents;
mod owners;

use keel_core::Resource;
use keel_core::api::{
    ControllerRevision, CronJob, DaemonSet, Deployment, EndpointSlice, Job, PersistentVolumeClaim,
    Pod, ReplicaSet, Service, StatefulSet,
};
use keel_core::client::Client;
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::manager::Shutdown;

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "garbagecollector";

/// Index of dependents by the uid of every owner they reference.
pub const BY_OWNER_UID: &str = "owner-uid";

/// Index of owners by their own uid.
pub const BY_UID: &str = "uid";

type Spawn = std::sync::Arc<dyn Fn(&Client, &Signals, &Shutdown, &mut JoinSet<()>) + Send + Sync>;

/// What dependents and owners tell each other: "look at the objects referencing (or
/// referenced by) this uid".
#[derive(Clone)]
pub(crate) struct Signals {
    /// An owner went away or started being deleted: its dependents must be looked at.
    pub(crate) owner_changed: broadcast::Sender<String>,
    /// A dependent went away or dropped references: these owners must be looked at.
    pub(crate) dependent_gone: broadcast::Sender<Vec<String>>,
    /// Each dependent kind's lookup of the objects referencing a uid.
    pub(crate) lookups: std::sync::Arc<std::sync::RwLock<Vec<owners::Lookup>>>,
    /// How many dependent kinds have loaded their cache (owners act only once all did,
    /// or an owner could look free of dependents that are merely not loaded yet).
    pub(crate) loaded: tokio::sync::watch::Sender<usize>,
    /// How many dependent kinds there are.
    pub(crate) dependent_kinds: usize,
}

impl Signals {
    /// Waits until every dependent kind's cache is loaded.
    pub(crate) async fn all_loaded(&self) {
        let mut rx = self.loaded.subscribe();
        let want = self.dependent_kinds;
        let _ = rx.wait_for(|n| *n >= want).await;
    }
}

/// The garbage collector, for the kinds added (see the module documentation).
#[derive(Clone)]
pub struct GarbageCollector {
    kinds: Vec<(&'static str, bool, Spawn)>,
}

impl std::fmt::Debug for GarbageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(k, dependent, _)| {
                format!("{k} ({})", if *dependent { "dependent" } else { "owner" })
            })
            .collect();
        f.debug_struct("GarbageCollector")
            .field("kinds", &kinds)
            .finish()
    }
}

impl Default for GarbageCollector {
    fn default() -> Self {
        GarbageCollector::empty()
            .dependent::<Pod>()
            .dependent::<ReplicaSet>()
            .dependent::<Job>()
            .dependent::<PersistentVolumeClaim>()
            .dependent::<EndpointSlice>()
            .dependent::<ControllerRevision>()
            .owner::<Deployment>()
            .owner::<ReplicaSet>()
            .owner::<DaemonSet>()
            .owner::<StatefulSet>()
            .owner::<Job>()
            .owner::<CronJob>()
            .owner::<Service>()
    }
}

impl GarbageCollector {
    /// A collector that watches no kind yet.
    pub fn empty() -> GarbageCollector {
        GarbageCollector { kinds: Vec::new() }
    }

    /// Collects objects of kind `K` whose owners are gone (and, as for any kind it
    /// watches, carries out their own Foreground / Orphan deletions).
    #[must_use]
    pub fn dependent<K: Resource + Clone>(mut self) -> Self {
        self = self.owner::<K>();
        if !self.kinds.iter().any(|(k, d, _)| *d && *k == K::KIND) {
            self.kinds.push((
                K::KIND,
                true,
                std::sync::Arc::new(|client, signals, shutdown, tasks| {
                    tasks.spawn(dependents::run::<K>(
                        client.clone(),
                        signals.clone(),
                        shutdown.clone(),
                    ));
                }),
            ));
        }
        self
    }

    /// Watches owners of kind `K`: their dependents are collected as soon as they go,
    /// and their Foreground / Orphan deletions are carried out.
    #[must_use]
    pub fn owner<K: Resource + Clone>(mut self) -> Self {
        if !self.kinds.iter().any(|(k, d, _)| !*d && *k == K::KIND) {
            self.kinds.push((
                K::KIND,
                false,
                std::sync::Arc::new(|client, signals, shutdown, tasks| {
                    tasks.spawn(owners::run::<K>(
                        client.clone(),
                        signals.clone(),
                        shutdown.clone(),
                    ));
                }),
            ));
        }
        self
    }

    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let signals = Signals {
            owner_changed: broadcast::channel(4096).0,
            dependent_gone: broadcast::channel(4096).0,
            lookups: std::sync::Arc::default(),
            loaded: tokio::sync::watch::channel(0).0,
            dependent_kinds: self
                .kinds
                .iter()
                .filter(|(_, dependent, _)| *dependent)
                .count(),
        };
        let mut tasks = JoinSet::new();
        for (_, _, spawn) in &self.kinds {
            spawn(&client, &signals, &shutdown, &mut tasks);
        }
        shutdown.wait().await;
        while tasks.join_next().await.is_some() {}
    }
}

managed_controller!(GarbageCollector, NAME);
