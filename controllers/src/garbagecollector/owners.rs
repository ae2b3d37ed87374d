//! The owner side: owners of one kind whose deletion is watched, and whose
//! `foregroundDeletion` / `orphan` finalizers are removed once their dependents allow.

use std::sync::Arc;

use keel_core::client::{Api, Client, FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use keel_core::{Error, Resource};
use tokio::sync::broadcast::error::RecvError;

use super::{BY_UID, Signals};
use crate::manager::Shutdown;
use crate::runtime::{Cache, Informers, ObjectRef, WorkQueue};

/// (dependents referencing a uid, those of them blocking its deletion).
pub(crate) type Lookup = Arc<dyn Fn(&str) -> (usize, usize) + Send + Sync>;

impl Signals {
    /// Adds a dependent kind's lookup of the objects referencing a uid.
    pub(crate) fn register(&self, lookup: Lookup) {
        self.lookups
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(lookup);
    }

    /// Dependents referencing `uid`, and those blocking its deletion, over every kind.
    pub(crate) fn dependents_of(&self, uid: &str) -> (usize, usize) {
        self.lookups
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|l| l(uid))
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }
}

fn deleting_with<K: Resource>(o: &K, finalizer: &str) -> bool {
    let m = o.meta();
    m.deletion_timestamp.is_some() && m.finalizers.iter().any(|f| f == finalizer)
}

fn waits<K: Resource>(o: &K) -> bool {
    deleting_with(o, FOREGROUND_FINALIZER) || deleting_with(o, ORPHAN_FINALIZER)
}

/// Runs the owner side for kind `K` until `shutdown`.
pub(crate) async fn run<K: Resource + Clone>(client: Client, signals: Signals, shutdown: Shutdown) {
    let cache: Cache<K> = Informers::of(&client).cache();
    cache.add_indexer(BY_UID, |o: &K| o.meta().uid.clone().into_iter().collect());
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    let feed = tokio::spawn(feed(cache.clone(), signals.clone(), queue.clone()));
    let worker = async {
        cache.wait_until_ready().await;
        signals.all_loaded().await;
        while let Some(key) = queue.get().await {
            match finish(&client, &cache, &signals, &key).await {
                Ok(()) => queue.forget(&key),
                Err(error) => {
                    tracing::debug!(kind = K::KIND, object = %key, %error, "finalizer removal retried");
                    queue.add_rate_limited(key.clone());
                }
            }
            queue.done(&key);
        }
    };
    tokio::select! {
        () = worker => {}
        () = shutdown.wait() => {}
    }
    queue.shut_down();
    feed.abort();
}

async fn feed<K: Resource>(cache: Cache<K>, signals: Signals, queue: WorkQueue<ObjectRef>) {
    let mut changes = cache.subscribe();
    let mut gone = signals.dependent_gone.subscribe();
    loop {
        tokio::select! {
            change = changes.recv() => {
                let Some(change) = change else { return };
                match (&change.old, &change.new) {
                    (Some(old), None) => {
                        if let Some(uid) = &old.meta().uid {
                            let _ = signals.owner_changed.send(uid.clone());
                        }
                    }
                    (old, Some(new)) if new.meta().deletion_timestamp.is_some() => {
                        let started = old.as_ref().is_none_or(|o| o.meta().deletion_timestamp.is_none());
                        if started && let Some(uid) = &new.meta().uid {
                            let _ = signals.owner_changed.send(uid.clone());
                        }
                        if waits(&**new) {
                            queue.add(ObjectRef::from_obj(&**new));
                        }
                    }
                    _ => {}
                }
            }
            uids = gone.recv() => match uids {
                Ok(uids) => {
                    for uid in uids {
                        for o in cache.by_index(BY_UID, &uid).iter().filter(|o| waits(&***o)) {
                            queue.add(ObjectRef::from_obj(&**o));
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    for o in cache.list().iter().filter(|o| waits(&***o)) {
                        queue.add(ObjectRef::from_obj(&**o));
                    }
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// Removes the owner's `orphan` finalizer once no dependent references it, and its
/// `foregroundDeletion` finalizer once no dependent blocks it.
async fn finish<K: Resource + Clone>(
    client: &Client,
    cache: &Cache<K>,
    signals: &Signals,
    key: &ObjectRef,
) -> Result<(), Error> {
    let Some(obj) = cache.get(key) else {
        return Ok(());
    };
    let uid = obj.meta().uid.clone().unwrap_or_default();
    let (referencing, blocking) = signals.dependents_of(&uid);
    let mut remove = Vec::new();
    if deleting_with(&*obj, ORPHAN_FINALIZER) && referencing == 0 {
        remove.push(ORPHAN_FINALIZER);
    }
    if deleting_with(&*obj, FOREGROUND_FINALIZER) && blocking == 0 {
        remove.push(FOREGROUND_FINALIZER);
    }
    if remove.is_empty() {
        // Dependents are still there: make sure they are being looked at.
        let _ = signals.owner_changed.send(uid);
        return Ok(());
    }
    let mut next = (*obj).clone();
    next.meta_mut()
        .finalizers
        .retain(|f| !remove.contains(&f.as_str()));
    let api: Api<K> = match &key.namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    match api.replace(obj.meta().name_str(), &next).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}
