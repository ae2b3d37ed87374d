//! Feeding caches: [`reflector`] runs one list+watch into a [`Cache`]; [`Informers`] is
//! the shared informer factory — one cache per kind per client, shared by every
//! controller in the process.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use keel_core::Resource;
use keel_core::client::watcher::{self, Event};
use keel_core::client::{Api, Client, ListParams};
use tokio::task::AbortHandle;

use super::cache::Cache;

/// Runs a list+watch of `api` (filtered by `params`) into `cache` until the cache is
/// dropped everywhere else: the initial list marks it ready, a re-list (after `Expired`)
/// replaces the content and reports what was missed.
pub async fn reflector<K: Resource>(api: Api<K>, params: ListParams, cache: Cache<K>) {
    let weak = cache.downgrade();
    drop(cache);
    let stream = watcher::watcher(api, params);
    futures::pin_mut!(stream);
    let mut listed: Option<Vec<Arc<K>>> = None;
    while let Some(event) = stream.next().await {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let cache = Cache::from_inner(inner);
        match event {
            Ok(Event::Init) => listed = Some(Vec::new()),
            Ok(Event::InitApply(obj)) => listed.get_or_insert_with(Vec::new).push(obj),
            Ok(Event::InitDone) => cache.replace_all(listed.take().unwrap_or_default()),
            Ok(Event::Apply(obj)) => cache.apply(obj),
            Ok(Event::Delete(obj)) => cache.delete(&obj),
            Err(e) => {
                tracing::warn!(kind = K::KIND, error = %e, "watch failed; re-listing");
            }
        }
    }
}

/// The per-client registry behind [`Informers`] (kept in [`Client::shared`]).
#[derive(Default)]
pub struct InformerRegistry {
    caches: Mutex<HashMap<TypeId, Entry>>,
}

struct Entry {
    cache: Box<dyn Any + Send + Sync>,
    task: AbortHandle,
}

impl std::fmt::Debug for InformerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InformerRegistry").finish_non_exhaustive()
    }
}

/// The shared informer factory of a client: [`cache`](Self::cache) gives the one cache
/// of a kind (cluster-wide, every object), starting its list+watch on first use. Every
/// `Informers` of the same client (or of its clones) shares the caches.
#[derive(Clone, Debug)]
pub struct Informers {
    client: Client,
    registry: Arc<InformerRegistry>,
}

impl Informers {
    /// The factory of `client`.
    pub fn of(client: &Client) -> Informers {
        Informers {
            client: client.clone(),
            registry: client.shared::<InformerRegistry>(),
        }
    }

    /// The client the caches read from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The shared cache of `K`, started (a task on the current tokio runtime) on first
    /// use. Wait for [`Cache::wait_until_ready`] before trusting it to be complete.
    pub fn cache<K: Resource>(&self) -> Cache<K> {
        let mut caches = self
            .registry
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = caches.get(&TypeId::of::<K>())
            && let Some(cache) = entry.cache.downcast_ref::<Cache<K>>()
        {
            return cache.clone();
        }
        let cache = Cache::<K>::new();
        let task = tokio::spawn(reflector(
            Api::<K>::all(&self.client),
            ListParams::default(),
            cache.clone(),
        ))
        .abort_handle();
        caches.insert(
            TypeId::of::<K>(),
            Entry {
                cache: Box::new(cache.clone()),
                task,
            },
        );
        cache
    }

    /// Stops every cache's list+watch (handed-out caches keep their last content; the
    /// next [`cache`](Self::cache) call starts afresh).
    pub fn shutdown(&self) {
        let mut caches = self
            .registry
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (_, entry) in caches.drain() {
            entry.task.abort();
        }
    }
}
