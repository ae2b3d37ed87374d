//! The dependent side: objects of one kind whose owners are checked, and which are
//! deleted when their owners are gone.

use std::collections::BTreeSet;
use std::sync::Arc;

use keel_core::client::{Api, Client, DeleteParams, Preconditions, PropagationPolicy};
use keel_core::client::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use keel_core::meta::OwnerReference;
use keel_core::{Error, Resource};
use tokio::sync::broadcast::error::RecvError;

use super::{BY_OWNER_UID, Signals};
use crate::manager::Shutdown;
use crate::runtime::{Cache, Informers, ObjectRef, WorkQueue};

/// What became of an owner.
enum Owner {
    /// No object of that kind, name and uid.
    Gone,
    /// Alive and not being deleted (or its kind is unknown: assume alive).
    Solid,
    /// Being deleted in the foreground: waits for its dependents.
    Waiting,
    /// Being deleted with its dependents orphaned.
    Orphaning,
}

/// The state of the owner `r` names; an owner of a kind the cluster does not know is
/// taken as alive; an error reading it is returned (and the dependent retried).
async fn owner_state(
    client: &Client,
    r: &OwnerReference,
    namespace: Option<&str>,
) -> Result<Owner, Error> {
    let Ok(api) = client.dynamic(&format!("{}/{}", r.api_version, r.kind), namespace) else {
        return Ok(Owner::Solid);
    };
    if namespace.is_none() && api.entry().namespaced {
        // A cluster-scoped object cannot be owned by a namespaced one: the reference
        // cannot be resolved, and such a dependent is never collected (Kubernetes).
        tracing::warn!(owner = %r.name, kind = %r.kind, "a cluster-scoped object names a namespaced owner");
        return Ok(Owner::Solid);
    }
    Ok(match api.get(&r.name).await {
        Ok(o) if o.meta().uid.as_deref() == Some(r.uid.as_str()) => {
            let m = o.meta();
            let has = |f: &str| m.finalizers.iter().any(|x| x == f);
            match m.deletion_timestamp {
                Some(_) if has(ORPHAN_FINALIZER) => Owner::Orphaning,
                Some(_) if has(FOREGROUND_FINALIZER) => Owner::Waiting,
                _ => Owner::Solid,
            }
        }
        Ok(_) => Owner::Gone,
        Err(e) if e.is_not_found() => Owner::Gone,
        Err(e) => return Err(e),
    })
}

fn owner_uids<K: Resource>(obj: &K) -> BTreeSet<String> {
    obj.meta()
        .owner_references
        .iter()
        .map(|r| r.uid.clone())
        .collect()
}

/// Runs the dependent side for kind `K` until `shutdown`.
pub(crate) async fn run<K: Resource + Clone>(client: Client, signals: Signals, shutdown: Shutdown) {
    let cache: Cache<K> = Informers::of(&client).cache();
    cache.add_indexer(BY_OWNER_UID, |o: &K| owner_uids(o).into_iter().collect());
    let lookup = cache.clone();
    signals.register(Arc::new(move |uid: &str| {
        let dependents = lookup.by_index(BY_OWNER_UID, uid);
        let blocking = dependents
            .iter()
            .filter(|d| {
                d.meta()
                    .owner_references
                    .iter()
                    .any(|r| r.uid == uid && r.block_owner_deletion == Some(true))
            })
            .count();
        (dependents.len(), blocking)
    }));
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    let feed = tokio::spawn(feed(cache.clone(), signals.clone(), queue.clone()));
    let worker = async {
        cache.wait_until_ready().await;
        signals.loaded.send_modify(|n| *n += 1);
        while let Some(key) = queue.get().await {
            if let Err(error) = collect(&client, &cache, &signals, &key).await {
                tracing::debug!(kind = K::KIND, object = %key, %error, "garbage collection retried");
                queue.add_rate_limited(key.clone());
            } else {
                queue.forget(&key);
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

/// Queues dependents when they change or an owner of theirs changes; tells owners when
/// a dependent went away or dropped its reference.
async fn feed<K: Resource>(cache: Cache<K>, signals: Signals, queue: WorkQueue<ObjectRef>) {
    let mut changes = cache.subscribe();
    let mut owners = signals.owner_changed.subscribe();
    loop {
        tokio::select! {
            change = changes.recv() => {
                let Some(change) = change else { return };
                let before = change.old.as_deref().map(owner_uids).unwrap_or_default();
                let after = change.new.as_deref().map(owner_uids).unwrap_or_default();
                let mut released: Vec<String> = before.difference(&after).cloned().collect();
                // An owner waiting in the foreground no longer waits for a dependent
                // that stopped blocking it.
                if let (Some(old), Some(new)) = (&change.old, &change.new) {
                    let blocking = |o: &K| -> BTreeSet<String> {
                        o.meta()
                            .owner_references
                            .iter()
                            .filter(|r| r.block_owner_deletion == Some(true))
                            .map(|r| r.uid.clone())
                            .collect()
                    };
                    released.extend(blocking(old).difference(&blocking(new)).cloned());
                }
                if !released.is_empty() {
                    let _ = signals.dependent_gone.send(released);
                }
                let deletion_changed = change.old.as_ref().map(|o| o.meta().deletion_timestamp.is_some())
                    != change.new.as_ref().map(|n| n.meta().deletion_timestamp.is_some());
                let refs_changed = change.old.as_ref().map(|o| &o.meta().owner_references)
                    != change.new.as_ref().map(|n| &n.meta().owner_references);
                if let Some(new) = &change.new
                    && !after.is_empty()
                    && (change.old.is_none() || refs_changed || deletion_changed)
                {
                    queue.add(ObjectRef::from_obj(&**new));
                }
            }
            uid = owners.recv() => match uid {
                Ok(uid) => {
                    for d in cache.by_index(BY_OWNER_UID, &uid) {
                        queue.add(ObjectRef::from_obj(&*d));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    for d in cache.list().iter().filter(|d| !d.meta().owner_references.is_empty()) {
                        queue.add(ObjectRef::from_obj(&**d));
                    }
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// Looks at one dependent: deletes it when no owner is left, drops references to owners
/// that are gone (when another owner is alive) or that orphan it.
async fn collect<K: Resource + Clone>(
    client: &Client,
    cache: &Cache<K>,
    signals: &Signals,
    key: &ObjectRef,
) -> Result<(), Error> {
    let Some(obj) = cache.get(key) else {
        return Ok(());
    };
    let meta = obj.meta();
    if meta.owner_references.is_empty() || meta.deletion_timestamp.is_some() {
        return Ok(());
    }
    let ns = key.namespace.as_deref();
    let (mut solid, mut waiting) = (0, 0);
    let mut drop_uids = BTreeSet::new();
    let mut ending = BTreeSet::new();
    for r in &meta.owner_references {
        match owner_state(client, r, ns).await? {
            Owner::Solid => solid += 1,
            Owner::Orphaning => {
                // Alive until it has released its dependents: it keeps this one.
                solid += 1;
                drop_uids.insert(r.uid.clone());
            }
            Owner::Gone => {
                ending.insert(r.uid.clone());
            }
            Owner::Waiting => {
                waiting += 1;
                ending.insert(r.uid.clone());
            }
        }
    }
    let api: Api<K> = match ns {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let name = meta.name_str();
    if solid == 0 && !ending.is_empty() {
        // Foreground only matters to an object that has dependents of its own.
        let has_dependents = meta
            .uid
            .as_deref()
            .is_some_and(|u| signals.dependents_of(u).0 > 0);
        let params = DeleteParams {
            propagation_policy: Some(if waiting > 0 && has_dependents {
                PropagationPolicy::Foreground
            } else {
                PropagationPolicy::Background
            }),
            // Decided on this version: a dependent changed since (say, adopted) is
            // looked at again rather than deleted.
            preconditions: Some(Preconditions {
                uid: meta.uid.clone(),
                resource_version: meta.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        return match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        };
    }
    if solid > 0 {
        drop_uids.extend(ending);
    }
    if drop_uids.is_empty() {
        return Ok(());
    }
    let mut next = (*obj).clone();
    next.meta_mut()
        .owner_references
        .retain(|r| !drop_uids.contains(&r.uid));
    match api.replace(name, &next).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}
